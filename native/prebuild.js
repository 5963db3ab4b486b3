// `npm run prebuild` (and `npm pack`, through prepack): the prebuilt Node-API binary shipped in
// the package, prebuilds/<platform>-<arch>/layerfs.napi.node, loaded by node-gyp-build where
// nothing was built from source. It is built in a copy of native/ so that native/build (what
// this checkout and its running tests load) is left alone.
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const prebuildify = require('prebuildify');
const localNodedir = require('./local-headers');

const root = path.resolve(__dirname, '..');
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'layerfs-prebuild-'));
fs.copyFileSync(path.join(__dirname, 'binding.gyp'), path.join(work, 'binding.gyp'));
fs.cpSync(path.join(__dirname, 'src'), path.join(work, 'src'), { recursive: true });
const env = { ...process.env };
const nodedir = localNodedir();
if (nodedir) env.npm_config_nodedir = nodedir;
// binding.gyp asks node for node-addon-api's include path: resolve it from this package
env.NODE_PATH = [path.dirname(path.dirname(require.resolve('node-addon-api/package.json'))), env.NODE_PATH].filter(Boolean).join(path.delimiter);
Object.assign(process.env, env);
// a fresh prebuilds/ for this platform: no stale binary of an older source beside the new one
const out = path.join(root, 'prebuilds', `${os.platform()}-${os.arch()}`);
fs.rmSync(out, { recursive: true, force: true });
prebuildify(
  {
    cwd: work,
    out: root,
    name: 'layerfs.napi', // the file is layerfs.napi.node: a Node-API binary, for any Node ABI
    napi: true,
    strip: true,
    targets: [process.versions.node],
    nodeGyp: require.resolve('node-gyp/bin/node-gyp.js'),
    cache: path.join(work, 'cache'),
  },
  (err) => {
    fs.rmSync(work, { recursive: true, force: true });
    if (err) {
      console.error(`layerfs: the prebuilt addon could not be built: ${err.message || err}`);
      process.exit(1);
    }
    for (const f of fs.readdirSync(out)) console.log(path.relative(root, path.join(out, f)));
  },
);
