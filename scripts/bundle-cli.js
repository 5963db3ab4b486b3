#!/usr/bin/env node
'use strict';
/*
 * Bundles the compiled CLI (dist/lib/cli/main.js and everything it loads, eagerly or lazily)
 * into one file beside it, dist/lib/cli/layerfs.js: see lib/cli/entry.ts for why and how
 * bin/layerfs uses it. Run by `npm run build` after tsc.
 *
 * Left outside the bundle: native addons (the layerfs addon is found from the bundle's own
 * directory, as from main.js; zstd-napi and node-gyp-build find theirs from their own package
 * directories), the packages only some commands load (the registry's HTTP client, TOML, tar
 * streams, ignore files: a bundle twice the size costs every command its reading), and the
 * worker scripts, which stay files of dist/lib that workers start.
 */
const fs = require('fs');
const path = require('path');
const crypto = require('crypto');
const vm = require('vm');
const Module = require('module');

/** What Module.wrap puts around a module: lib/cli/entry.ts checks for the head (its BUILD_LINE). */
const WRAP_HEAD = '(function (exports, require, module, __filename, __dirname) { ';
const WRAP_TAIL = '\n});\n';

/**
 * tsc gives every file that says `import * as fs from 'fs'` its own __importStar, which builds a
 * new namespace object, a getter per export, at each import: fs alone has about a hundred, and
 * some forty modules a short command loads import it (2 ms or more of a start). In the bundle they
 * share one that builds each module's namespace once (a namespace is a read-only view, so one
 * object serves every importer). The helper is matched as tsc writes it; a file whose helper
 * differs keeps its own, and nothing else changes.
 */
const TSC_IMPORT_STAR = /^var __importStar = \(this && this\.__importStar\) \|\| \(function \(\) \{\n[\s\S]*?\n\}\)\(\);\n/m;
const SHARED_IMPORT_STAR = path.join(__dirname, 'bundle-import-star.js');
const sharedImportStar = {
  name: 'shared-import-star',
  setup(build) {
    let shared = 0;
    build.onLoad({ filter: /[\\/]dist[\\/].*\.js$/ }, (args) => {
      const src = fs.readFileSync(args.path, 'utf8');
      if (!TSC_IMPORT_STAR.test(src)) return { contents: src, loader: 'js' };
      shared++;
      return { contents: src.replace(TSC_IMPORT_STAR, `var __importStar = require(${JSON.stringify(SHARED_IMPORT_STAR)}).importStar;\n`), loader: 'js' };
    });
    build.onEnd(() => {
      if (shared === 0) console.warn('bundle-cli: no module has tsc\'s __importStar helper as expected; each keeps its own');
    });
  },
};

const cliDir = path.resolve(__dirname, '..', 'dist', 'lib', 'cli');
const out = path.join(cliDir, 'layerfs.js');
const entry = path.join(cliDir, 'main.js');

async function main() {
  if (!fs.existsSync(entry)) throw new Error(`${entry} is missing: run tsc first`);
  const esbuild = require('esbuild');
  const build = crypto.randomBytes(8).toString('hex');
  const tmp = `${out}.${process.pid}.tmp`;
  await esbuild.build({
    entryPoints: [entry],
    outfile: tmp,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    // lib/cli/entry.ts reads it as latin1
    charset: 'ascii',
    // two thirds of the size, so less to read and hold at every start; identifiers are kept
    // (an error's name is its class's name, and stacks stay readable)
    minifyWhitespace: true,
    minifySyntax: true,
    // packages only some commands need stay in node_modules, loaded when they are; commander is in
    external: ['*.node', 'zstd-napi', 'node-gyp-build', 'undici', 'smol-toml', 'tar-stream', '@balena/dockerignore'],
    banner: { js: `// layerfs bundle ${build}` },
    plugins: [sharedImportStar],
    logLevel: 'warning',
  });
  // the bundle is stored wrapped as Node wraps a module, on the line after the build line (so
  // no line moves): lib/cli/entry.ts compiles the text it read as it is, with no copy of the
  // whole text concatenated and flattened at every start (young-generation garbage of its size)
  const body = fs.readFileSync(tmp, 'latin1');
  const nl = body.indexOf('\n') + 1;
  fs.writeFileSync(tmp, `${body.slice(0, nl)}${WRAP_HEAD}${body.slice(nl)}${WRAP_TAIL}`, 'latin1');
  // old caches name other builds
  for (const f of fs.readdirSync(cliDir)) if (/^layerfs\.js\.[0-9a-z]+\.[a-z]+\.v8cache$/.test(f)) fs.rmSync(path.join(cliDir, f), { force: true });
  fs.renameSync(tmp, out);
  // it loads (the caches are made by the first run of each command: lib/cli/entry.ts)
  const mod = { exports: {} };
  new vm.Script(fs.readFileSync(out, 'latin1'), { filename: out }).runInThisContext().call(mod.exports, mod.exports, Module.createRequire(out), mod, out, cliDir);
  if (typeof mod.exports.main !== 'function') throw new Error(`${out} exports no main`);
  console.log(`bundled the CLI: ${path.relative(process.cwd(), out)} (${(fs.statSync(out).size / 1024).toFixed(0)} KiB)`);
}

main().catch((e) => {
  console.error(`bundle-cli: ${e.message}`);
  process.exit(1);
});
