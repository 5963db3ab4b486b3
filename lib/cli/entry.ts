// `import x = require()`: the plain require, where `import * as` gets tsc's __importStar, which
// builds fs's namespace (a getter for each of its hundred exports) at every start: a millisecond
// (this file is not bundled, so it does not share the bundle's helper)
import fs = require('fs');
import path = require('path');

// required where used, not through lib/lazy.ts: each file the loader resolves is a fraction of a millisecond of every start
const vmModule = (): typeof import('vm') => require('vm');
const moduleModule = (): typeof import('module') => require('module');
const mainModule = (): typeof import('./main') => require('./main');

/*
 * What bin/layerfs starts. A short command costs mostly Node's start plus loading the CLI, so
 * the CLI is also built as one file (dist/lib/cli/layerfs.js, by `npm run build`: see
 * scripts/bundle-cli.js) and compiled from a V8 code cache beside it, one per command (each
 * holds what that command compiled the first time it ran): no module resolution per file, and
 * no parse of the code that runs. The bundle lives beside main.js, so the paths
 * its modules find from __dirname (the addon above, the worker scripts under dist/lib) are the
 * same ones. It is used only when it is at least as new as main.js: a checkout rebuilt by `tsc`
 * alone runs the compiled modules, as it does when the bundle is missing or will not load.
 *
 * LAYERFS_CLI_ENTRY=modules runs the modules; =bundle insists on the bundle (tests use both).
 */

type Main = (argv: string[]) => Promise<void>;

/**
 * The first line of the bundle names its build (V8 itself checks no more of a cache's source than
 * its length); the second starts the module wrapper (scripts/bundle-cli.js writes it wrapped, so
 * the text read is compiled as it is: no copy of it made by concatenation at every start).
 */
const BUILD_LINE = /^\/\/ layerfs bundle ([0-9a-z]+)\n\(function \(exports, require, module, __filename, __dirname\) \{ /;

export function bundlePath(): string {
  return path.join(__dirname, 'layerfs.js');
}

/**
 * `layerfs.js.<build>.<command>.v8cache`: the command is the first word of the line that could be
 * one, not counting the value of `--store` (a store named `tmp` would give every command one cache).
 */
export function cachePath(build: string, argv: string[]): string {
  return path.join(__dirname, `layerfs.js.${build}.${commandOf(argv)}.v8cache`);
}

/** The first word of the line that could be a command, not counting the value of `--store`. */
function commandOf(argv: string[]): string {
  return argv.find((a, i) => /^[a-z]{1,16}$/.test(a) && argv[i - 1] !== '--store') ?? 'none';
}

/**
 * The commands that talk to a registry keep WebAssembly at V8's baseline tier. undici parses
 * HTTP/1.1 with llhttp compiled to WebAssembly; once the parser is hot (a pull parses a gigabyte
 * of bodies), V8 compiles it again with TurboFan on a background thread, which for a moment holds
 * 15-25 MB (seen with strace and smaps: one malloc arena of a V8 platform thread): the peak RSS
 * of a CLI pull, 133-145 MiB with it and 127-131 MiB without, the pull no slower (its parser's
 * cost is the copy of each socket read into its memory, not its code). The CLI is a process of
 * its own; the library leaves V8's flags to the process it runs in. Set here, before the bundle
 * is compiled: a code cache carries the flags it was made under, and one made after a change
 * would be refused at every next start.
 */
const BASELINE_WASM_COMMANDS = new Set(['pull', 'push', 'copy']);

export function wasmAtBaseline(argv: string[]): boolean {
  return BASELINE_WASM_COMMANDS.has(commandOf(argv));
}

/** The bundle's main, or why it is not used. */
function loadBundle(argv: string[]): Main | string {
  const file = bundlePath();
  let src: string;
  try {
    if (fs.statSync(file).mtimeMs < fs.statSync(path.join(__dirname, 'main.js')).mtimeMs) return `${file} is older than main.js (run \`npm run build\`)`;
    // ASCII (the bundler escapes everything else): latin1 makes the one-byte string V8 keeps, with no UTF-8 decoding
    src = fs.readFileSync(file, 'latin1');
  } catch (e) {
    return `${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`;
  }
  const build = BUILD_LINE.exec(src)?.[1];
  if (!build) return `${file} does not name its build on its first line, or is not wrapped on its second (run \`npm run build\`)`;
  const vm = vmModule();
  const Module = moduleModule();
  const cache = cachePath(build, argv);
  let cachedData: Buffer | undefined;
  try {
    cachedData = fs.readFileSync(cache);
  } catch {
    // none yet: made after this command
  }
  const script = new vm.Script(src, { filename: file, cachedData });
  const mod = { exports: {} as { main?: Main } };
  (script.runInThisContext() as (...a: unknown[]) => void).call(mod.exports, mod.exports, Module.createRequire(file), mod, file, __dirname);
  if (typeof mod.exports.main !== 'function') return `${file} exports no main`;
  if (!cachedData || script.cachedDataRejected) {
    // the first run of a command (or the first after another Node, or other flags, rejected the cache) makes it, with what it compiled
    process.once('exit', () => writeCache(cache, script.createCachedData()));
  }
  return mod.exports.main;
}

function writeCache(file: string, data: Buffer): void {
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    fs.writeFileSync(tmp, data);
    fs.renameSync(tmp, file);
  } catch {
    // a package directory this user may not write: the next start compiles again
    fs.rmSync(tmp, { force: true });
  }
}

export function start(argv: string[]): Promise<void> {
  if (wasmAtBaseline(argv)) (require('v8') as typeof import('v8')).setFlagsFromString('--liftoff-only');
  const want = process.env.LAYERFS_CLI_ENTRY;
  if (want !== 'modules') {
    const main = loadBundle(argv);
    if (typeof main === 'function') return main(argv);
    if (want === 'bundle') {
      process.stderr.write(`layerfs: LAYERFS_CLI_ENTRY=bundle, but the bundled CLI cannot be used: ${main}\n`);
      process.exitCode = 1;
      return Promise.resolve();
    }
  }
  return mainModule().main(argv);
}
