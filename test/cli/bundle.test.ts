import { execFileSync, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { canMount, cleanup, tempDir } from '../drivers/helpers';
import { layerfs } from './run-cli';

/*
 * The bundled CLI (dist/lib/cli/layerfs.js, scripts/bundle-cli.js) does what the compiled
 * modules do: the same output for commands that load the addon, start workers (import, commit)
 * and go through commander; it keeps one code cache per command; and a bundle older than the
 * modules is not used.
 */

const REPO = path.resolve(__dirname, '../..');
const CLI_DIR = path.join(REPO, 'dist', 'lib', 'cli');
const BUNDLE = path.join(CLI_DIR, 'layerfs.js');

let work: string;
beforeAll(() => {
  execFileSync(process.execPath, [path.join(REPO, 'scripts', 'bundle-cli.js')], { cwd: REPO, stdio: 'pipe' });
  work = tempDir('cli-bundle');
  const a = path.join(work, 'a');
  fs.mkdirSync(path.join(a, 'etc'), { recursive: true });
  fs.writeFileSync(path.join(a, 'etc', 'os-release'), 'ID=test\n');
  fs.symlinkSync('etc/os-release', path.join(a, 'link'));
  execFileSync('tar', ['--numeric-owner', '-cf', path.join(work, 'a.tar'), '-C', a, '.']);
}, 60_000);
afterAll(() => cleanup(work));

const caches = () => fs.readdirSync(CLI_DIR).filter((f) => f.endsWith('.v8cache'));

/** One session of commands in a store of its own, through one entry; what each printed (ids made equal). */
function session(entry: 'bundle' | 'modules'): string[] {
  const store = path.join(work, `store-${entry}`);
  const env = { LAYERFS_CLI_ENTRY: entry };
  const run = (...args: string[]) => {
    const r = layerfs(['--store', store, ...args], { env });
    return `${args[0]} ${r.code}\n${r.stdout}${r.stderr}`;
  };
  const driver = canMount ? 'overlay' : 'copy';
  const out: string[] = [];
  out.push(run('--version'), run('--help'));
  const imported = layerfs(['--store', store, '--json', 'import', path.join(work, 'a.tar')], { env });
  out.push(`import ${imported.code}\n${imported.stdout}`);
  const chain = imported.json().chainId as string;
  const made = layerfs(['--store', store, 'create', chain, '--driver', driver, '--name', 'c', '--mount'], { env });
  out.push(`create ${made.code} ${made.stderr}`);
  const root = made.stdout.trim().split('\n').pop()!;
  fs.writeFileSync(path.join(root, 'new-file'), 'n');
  fs.rmSync(path.join(root, 'link'));
  out.push(run('diff', 'c'), run('umount', 'c'), run('mount', 'c').replace(store, 'STORE'), run('commit', 'c'), run('umount', 'c', 'c'), run('rm', 'c'), run('mount', 'nope'), run('--json', 'umount', 'nope'));
  const ids = /[0-9a-f]{64}/g;
  const created = out.flatMap((o) => o.match(ids) ?? []);
  return out.map((o) => o.split(store).join('STORE').replace(ids, (m) => (m === chain.slice(7) ? m : `ID${created.indexOf(m)}`)));
}

describe('the bundled CLI', () => {
  test('prints what the compiled modules print, addon and workers included', () => {
    for (const c of caches()) fs.rmSync(path.join(CLI_DIR, c));
    const bundled = session('bundle');
    expect(bundled).toEqual(session('modules'));
    expect(bundled.find((o) => o.startsWith('commit'))).toMatch(/^commit 0\n/);
    expect(bundled.find((o) => o.startsWith('diff'))).toContain('A /new-file');
  }, 120_000);

  test('keeps one code cache per command, made by its first run and used by the next', () => {
    const names = caches();
    for (const command of ['import', 'create', 'mount', 'umount', 'diff', 'commit', 'rm']) expect(names.some((n) => n.endsWith(`.${command}.v8cache`))).toBe(true);
    const mount = path.join(CLI_DIR, names.find((n) => n.endsWith('.mount.v8cache'))!);
    const before = fs.statSync(mount).mtimeMs;
    const r = layerfs(['--store', path.join(work, 'store-bundle'), 'mount', 'nope'], { env: { LAYERFS_CLI_ENTRY: 'bundle' } });
    expect(r.stderr).toContain('no container "nope"');
    expect(fs.statSync(mount).mtimeMs).toBe(before); // accepted, so not written again
  });

  test("a registry command's code cache is used by its next run too, made under the flags it sets (wasm at the baseline tier)", () => {
    const copy = (to: string) => layerfs(['--store', path.join(work, 'store-bundle'), 'copy', `oci:${path.join(work, 'no-layout')}:t`, `oci:${path.join(work, to)}:t`], { env: { LAYERFS_CLI_ENTRY: 'bundle' } });
    const first = copy('to-1');
    expect(first.code).not.toBe(0);
    const cache = caches().find((n) => n.endsWith('.copy.v8cache'));
    expect(cache).toBeDefined();
    const before = fs.statSync(path.join(CLI_DIR, cache!));
    expect(copy('to-2').code).toBe(first.code);
    const after = fs.statSync(path.join(CLI_DIR, cache!));
    // accepted, so not written again (written at exit through a temp file and a rename: a new inode)
    expect([after.ino, after.mtimeMs]).toEqual([before.ino, before.mtimeMs]);
  });

  test('a bundle older than the compiled modules is not used', () => {
    const main = path.join(CLI_DIR, 'main.js');
    const st = fs.statSync(main);
    const old = fs.statSync(BUNDLE);
    try {
      fs.utimesSync(BUNDLE, old.atime, new Date(st.mtimeMs - 10_000));
      const insisted = layerfs(['--version'], { env: { LAYERFS_CLI_ENTRY: 'bundle' } });
      expect(insisted.code).toBe(1);
      expect(insisted.stderr).toContain('is older than main.js (run `npm run build`)');
      // by default the modules run instead
      const r = spawnSync(process.execPath, [path.join(REPO, 'bin', 'layerfs'), '--version'], { encoding: 'utf8' });
      expect(r.stdout.trim()).toBe(JSON.parse(fs.readFileSync(path.join(REPO, 'package.json'), 'utf8')).version);
    } finally {
      fs.utimesSync(BUNDLE, old.atime, old.mtime);
    }
  });
});

test('the code cache is named by the command, not by the value of --store', () => {
  const { cachePath } = require('../../lib/cli/entry') as typeof import('../../lib/cli/entry');
  expect(path.basename(cachePath('b1', ['--store', 'many', 'mount', 'probe']))).toBe('layerfs.js.b1.mount.v8cache');
  expect(path.basename(cachePath('b1', ['--store=many', 'umount', 'probe']))).toBe('layerfs.js.b1.umount.v8cache');
  expect(path.basename(cachePath('b1', ['--json']))).toBe('layerfs.js.b1.none.v8cache');
});

test('pull, push and copy keep wasm at the baseline tier; the other commands do not', () => {
  const { wasmAtBaseline } = require('../../lib/cli/entry') as typeof import('../../lib/cli/entry');
  expect(wasmAtBaseline(['--store', 'pull', 'pull', 'HOST/r:t'])).toBe(true);
  expect(wasmAtBaseline(['--tls-verify=false', 'push', 'img', 'HOST/r:t'])).toBe(true);
  expect(wasmAtBaseline(['copy', 'oci:a', 'oci:b'])).toBe(true);
  expect(wasmAtBaseline(['--store', 'push', 'mount', 'c'])).toBe(false);
  expect(wasmAtBaseline(['image', 'import', 'a.tar'])).toBe(false);
});
