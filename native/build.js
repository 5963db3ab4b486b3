// Builds the Node-API addon at install time. A failed build must not fail the install:
// the copy driver and the `oci` whiteout format work without it, and what needs it says so.
'use strict';
const { spawnSync } = require('child_process');
const path = require('path');

if (process.platform !== 'linux') {
  console.warn('layerfs: the native addon is Linux-only; skipping it (copy driver and oci whiteouts still work)');
  process.exit(0);
}
let gyp;
try {
  gyp = require.resolve('node-gyp/bin/node-gyp.js');
} catch {
  console.warn('layerfs: node-gyp is not installed; the native addon was not built');
  process.exit(0);
}
const args = [gyp, 'rebuild', '--directory', __dirname];
// Build against the headers installed beside this Node when there are any: no download needed.
const headers = path.resolve(path.dirname(process.execPath), '..', 'include', 'node', 'node_api.h');
const fs = require('fs');
if (!process.env.npm_config_nodedir && fs.existsSync(headers)) args.push(`--nodedir=${path.resolve(headers, '..', '..', '..')}`);
const r = spawnSync(process.execPath, args, { stdio: 'inherit' });
if (r.status !== 0) {
  console.warn('layerfs: the native addon could not be built; overlay mounts and overlay whiteouts are unavailable (the copy driver still works)');
}
process.exit(0);
