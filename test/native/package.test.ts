import { spawnSync, SpawnSyncReturns } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

/*
 * The package as a user installs it, with install scripts disabled (pnpm 10 runs none unless
 * told; npm --ignore-scripts): `npm pack` of a copy of this checkout (its prepack makes the
 * prebuilt addon), installed into a fresh project with no network, the dependencies taken from
 * this checkout's node_modules. With the prebuilt binary overlay mounts work; without it the copy
 * driver does, and the CLI says once why and how to fix it.
 */

const root = path.resolve(__dirname, '../..');
const has = (cmd: string, args = ['--version']) => spawnSync(cmd, args, { stdio: 'ignore' }).status === 0;
const missing = [
  process.platform !== 'linux' && 'Linux',
  process.env.LAYERFS_DISABLE_ADDON && 'the addon (LAYERFS_DISABLE_ADDON is set)',
  !has('npm') && 'npm',
  !has('make') && 'make (apt: build-essential)',
  !has('g++') && 'g++ (apt: build-essential)',
  !has('python3') && 'python3 (apt: python3)',
].filter(Boolean);
if (missing.length) console.warn(`package tests skipped: they need ${missing.join(', ')}`);
const d = missing.length ? describe.skip : describe;
const root0 = process.getuid?.() === 0;
if (!missing.length && !root0) console.warn('package test of overlay mounts skipped: it needs root');

/** npm as a user runs it: none of the npm_* variables of an `npm test` around us. */
function npm(args: string[], cwd: string): SpawnSyncReturns<string> {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k)));
  const r = spawnSync('npm', args, { cwd, env: { ...env, npm_config_update_notifier: 'false', npm_config_fund: 'false', npm_config_audit: 'false' }, encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`npm ${args.join(' ')} failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
  return r;
}

/** The packages this one needs at run time (not dev), as top-level names in node_modules: from package-lock.json. */
function runtimePackages(): string[] {
  const lock = JSON.parse(fs.readFileSync(path.join(root, 'package-lock.json'), 'utf8')) as { packages: Record<string, { dev?: boolean }> };
  return Object.entries(lock.packages)
    .filter(([k, v]) => k.startsWith('node_modules/') && !k.slice(13).includes('node_modules/') && !v.dev)
    .map(([k]) => k.slice(13));
}

const WARNING = /the layerfs native addon is not available/g;

d('the npm package, installed with install scripts disabled', () => {
  let work: string;
  let files: string[];
  let app: string;
  let installed: string;
  const cli = (args: string[], env: NodeJS.ProcessEnv = {}) => {
    const r = spawnSync(process.execPath, [path.join(installed, 'bin', 'layerfs'), ...args], { cwd: app, env: { ...process.env, NO_COLOR: '1', ...env }, encoding: 'utf8' });
    return { code: r.status, stdout: r.stdout, stderr: r.stderr };
  };

  beforeAll(() => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'layerfs-package-'));
    // a copy of the checkout: packing builds dist/ and the prebuilt addon there, not here
    const pkg = path.join(work, 'pkg');
    // the whole checkout but what a build makes or fetches (the build may need any of it: scripts/, bench/'s test harness)
    const made = new Set(['node_modules', 'dist', 'prebuilds', '.git', 'test-artifacts']);
    const skips = [path.join(root, 'native', 'build'), path.join(root, 'bench', '.cache')];
    for (const f of fs.readdirSync(root).filter((f) => !made.has(f))) {
      fs.cpSync(path.join(root, f), path.join(pkg, f), { recursive: true, filter: (src) => !skips.some((skip) => src === skip || src.startsWith(skip + path.sep)) });
    }
    // the checkout's dependencies, linked one by one; node-addon-api copied: node-gyp writes the
    // makefile of a dependency's .gyp at that file's path taken relative to the build directory,
    // and through a link that path led out of the temp directory (to <tmpdir>/work/main/...)
    const deps = fs.realpathSync(path.join(root, 'node_modules'));
    fs.mkdirSync(path.join(pkg, 'node_modules'));
    for (const e of fs.readdirSync(deps)) {
      if (e === 'node-addon-api') fs.cpSync(path.join(deps, e), path.join(pkg, 'node_modules', e), { recursive: true });
      else fs.symlinkSync(path.join(deps, e), path.join(pkg, 'node_modules', e));
    }
    fs.mkdirSync(path.join(work, 'out'));
    // (the scripts' output shares stdout with npm's: the tarball is read for what it holds)
    npm(['pack', '--pack-destination', path.join(work, 'out')], pkg);
    const tarball = path.join(work, 'out', fs.readdirSync(path.join(work, 'out')).find((f) => f.endsWith('.tgz'))!);
    files = spawnSync('tar', ['-tzf', tarball], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean).map((f) => f.replace(/^package\//, ''));

    // a fresh project; its dependencies are copied in so that npm has nothing to fetch
    app = path.join(work, 'app');
    fs.mkdirSync(path.join(app, 'node_modules'), { recursive: true });
    fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', private: true }));
    for (const name of runtimePackages()) {
      const src = path.join(root, 'node_modules', name);
      if (fs.existsSync(src)) fs.cpSync(fs.realpathSync(src), path.join(app, 'node_modules', name), { recursive: true, verbatimSymlinks: true });
    }
    npm(['install', '--offline', '--ignore-scripts', '--no-package-lock', tarball], app);
    installed = path.join(app, 'node_modules', 'layerfs');
    fs.mkdirSync(path.join(work, 'ctx'));
    fs.writeFileSync(path.join(work, 'ctx', 'hello'), 'hi');
  }, 20 * 60_000);
  afterAll(() => {
    if (!work) return;
    for (const s of ['s1', 's2']) {
      const store = path.join(work, s);
      if (!fs.existsSync(store)) continue;
      for (const c of (JSON.parse(cli(['--store', store, '--json', 'ls']).stdout || '{}').containers ?? []) as { id: string }[]) cli(['--store', store, 'rm', c.id]);
    }
    fs.rmSync(work, { recursive: true, force: true });
  });

  test('npm pack ships the prebuilt Node-API binary, the compiled library and the sources, and no build from source', () => {
    const wanted = [`prebuilds/${os.platform()}-${os.arch()}/layerfs.napi.node`, 'dist/lib/index.js', 'bin/layerfs', 'native/binding.gyp', 'native/build.js', 'native/local-headers.js', 'native/src/addon.cc', 'package.json'];
    expect(wanted.filter((f) => !files.includes(f))).toEqual([]);
    expect(files.filter((f) => f.startsWith('native/build/') || f.startsWith('test/') || f.startsWith('lib/'))).toEqual([]);
    // no install script ran: nothing was built from source in the installed package
    expect(fs.existsSync(path.join(installed, 'native', 'build'))).toBe(false);
  });

  (root0 ? test : test.skip)('the prebuilt addon loads, and overlay mounts work', () => {
    const status = spawnSync(process.execPath, ['-e', "const n = require('layerfs/dist/lib/native'); console.log(JSON.stringify({ status: n.addonStatus(), file: n.addonFile() }))"], { cwd: app, encoding: 'utf8' });
    expect(JSON.parse(status.stdout)).toEqual({ status: { available: true }, file: path.join(fs.realpathSync(installed), 'prebuilds', `${os.platform()}-${os.arch()}`, 'layerfs.napi.node') });
    const store = path.join(work, 's1');
    const layer = cli(['--store', store, '--json', 'layer', 'build', path.join(work, 'ctx')]);
    expect(layer.code).toBe(0);
    const c = cli(['--store', store, '--json', 'create', JSON.parse(layer.stdout).chainId, '--driver', 'overlay', '--name', 'ov']);
    expect(c.code).toBe(0);
    const mounted = cli(['--store', store, 'mount', 'ov']);
    expect(mounted.code).toBe(0);
    const merged = mounted.stdout.trim();
    const line = fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n').find((l) => l.split(' ')[4] === merged);
    expect(line).toMatch(/ - overlay /);
    expect(fs.readFileSync(path.join(merged, 'hello'), 'utf8')).toBe('hi');
    fs.writeFileSync(path.join(merged, 'new'), 'n');
    expect(cli(['--store', store, 'diff', 'ov']).stdout.trim()).toBe('A /new');
    for (const r of [layer, c, mounted]) expect(r.stderr).not.toMatch(WARNING);
    expect(cli(['--store', store, 'rm', 'ov']).code).toBe(0);
  });

  test('without the binaries the copy driver works, and the CLI says once why and how to fix it', () => {
    fs.rmSync(path.join(installed, 'prebuilds'), { recursive: true, force: true });
    const store = path.join(work, 's2');
    const layer = cli(['--store', store, '--json', 'layer', 'build', path.join(work, 'ctx')]);
    expect(layer.code).toBe(0);
    expect(layer.stderr.match(WARNING)).toHaveLength(1);
    expect(layer.stderr).toContain('npm rebuild layerfs');
    expect(layer.stderr).toContain('not built from source');
    const chain = JSON.parse(layer.stdout).chainId; // stdout is still one JSON document
    const c = cli(['--store', store, '--json', 'create', chain, '--name', 'cp', '--mount']);
    expect(c.code).toBe(0);
    expect(JSON.parse(c.stdout).driver).toBe('copy');
    expect(c.stderr.match(WARNING)).toHaveLength(1);
    const root = cli(['--store', store, 'mount', 'cp']).stdout.trim();
    fs.writeFileSync(path.join(root, 'new'), 'n');
    expect(cli(['--store', store, 'diff', 'cp']).stdout.trim()).toBe('A /new');
    const ov = cli(['--store', store, '--json', 'create', chain, '--driver', 'overlay']);
    expect(ov.code).toBe(1);
    expect(JSON.parse(ov.stdout).error).toMatchObject({ code: 'LAYERFS_UNSUPPORTED', message: expect.stringContaining('addon') });
    // turned off on purpose: nothing to say
    expect(cli(['--store', store, 'ls'], { LAYERFS_DISABLE_ADDON: '1' }).stderr).not.toMatch(WARNING);
  });
});
