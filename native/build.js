// Builds the Node-API addon from source at install time (into native/build/Release). The
// package also ships prebuilt binaries (prebuilds/, made by native/prebuild.js), so a failed or
// skipped build (pnpm 10, --ignore-scripts) is no loss where one fits; and where none does, the
// copy driver and the `oci` whiteout format still work, and what needs the addon says so.
'use strict';
const { spawnSync } = require('child_process');
const path = require('path');
const localNodedir = require('./local-headers');

if (process.platform !== 'linux') {
  console.warn('layerfs: the native addon is Linux-only; skipping it (copy driver and oci whiteouts still work)');
  process.exit(0);
}
// As an install script, a prebuilt binary that loads here is enough (the node-gyp-build
// convention): no compiler needed. Run by hand (`node native/build.js`), or with
// LAYERFS_BUILD_FROM_SOURCE=1, it always builds.
if (process.env.npm_lifecycle_event === 'install' && !process.env.LAYERFS_BUILD_FROM_SOURCE) {
  try {
    const prebuilt = require('node-gyp-build').resolve(path.resolve(__dirname, '..'));
    require(prebuilt);
    console.log(`layerfs: using the prebuilt addon ${path.relative(path.resolve(__dirname, '..'), prebuilt)}`);
    process.exit(0);
  } catch {
    // none fits this platform or it does not load: build from source
  }
}
let gyp;
try {
  gyp = require.resolve('node-gyp/bin/node-gyp.js');
} catch {
  console.warn('layerfs: node-gyp is not installed; the native addon was not built from source (a prebuilt one is used where it fits)');
  process.exit(0);
}
const args = [gyp, 'rebuild', '--directory', __dirname];
const nodedir = localNodedir();
if (nodedir) args.push(`--nodedir=${nodedir}`);
const r = spawnSync(process.execPath, args, { stdio: 'inherit' });
if (r.status !== 0) {
  console.warn('layerfs: the native addon could not be built from source; the prebuilt one is used where it fits, else overlay mounts and overlay whiteouts are unavailable (the copy driver still works)');
}
process.exit(0);
