import { createHash } from 'crypto';
import { execFileSync, spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { CLI, layerfs } from './run-cli';

/*
 * The command line in pipes: data on stdout (`-o -`) stays intact, with the result on stderr,
 * and a reader that goes away early ends the command quietly (exit 141, as SIGPIPE ends coreutils).
 */

let work: string;
let store: string;
let chain: string;
const run = (...args: string[]) => layerfs(['--store', store, ...args]);
const sha256 = (b: Buffer) => 'sha256:' + createHash('sha256').update(b).digest('hex');

beforeAll(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'layerfs-cli-pipes-'));
  store = path.join(work, 'store');
  const a = path.join(work, 'a');
  fs.mkdirSync(a);
  fs.writeFileSync(path.join(a, 'keep'), 'k');
  execFileSync('tar', ['-cf', path.join(work, 'a.tar'), '-C', a, '.']);
  chain = run('--json', 'import', path.join(work, 'a.tar')).json().chainId;
  // a tree whose diff against `a` prints far more than a pipe or a socket pair holds (64 KiB, about 200 KiB)
  const big = path.join(work, 'big');
  fs.mkdirSync(big);
  for (let i = 0; i < 3000; i++) fs.writeFileSync(path.join(big, `${String(i).padStart(5, '0')}-${'n'.repeat(200)}`), '');
});
afterAll(() => {
  for (const c of (run('--json', 'ls').json().containers ?? []) as { id: string }[]) run('rm', c.id);
  fs.rmSync(work, { recursive: true, force: true });
});

function changedContainer(name: string): void {
  expect(run('create', chain, '--driver', 'copy', '--name', name).code).toBe(0);
  const root = run('mount', name).stdout.trim();
  fs.writeFileSync(path.join(root, `fresh-${name}`), 'f');
  fs.rmSync(path.join(root, 'keep'));
}

test('commit -o - writes only the tarball to stdout: it hashes to the DiffID printed on stderr, and tar lists it cleanly', () => {
  changedContainer('plain');
  const r = spawnSync(process.execPath, [CLI, '--store', store, '--json', 'commit', 'plain', '--compress', 'none', '-o', '-']);
  expect(r.status).toBe(0);
  const result = JSON.parse(r.stderr.toString());
  expect(sha256(r.stdout)).toBe(result.diffId);
  expect(sha256(r.stdout)).toBe(result.digest);
  // the same bytes as the blob in the store
  expect(r.stdout.equals(spawnSync(process.execPath, [CLI, '--store', store, 'export', result.chainId, '-o', '-']).stdout)).toBe(true);
  const listing = execFileSync('tar', ['-tf', '-'], { input: r.stdout, stdio: ['pipe', 'pipe', 'pipe'] }).toString();
  expect(listing.split('\n').filter(Boolean).sort()).toEqual(['.wh.keep', 'fresh-plain']);
});

test('commit -o - in a shell pipe, gzip: `commit -o - | tar -tz` lists cleanly and the bytes hash to the digest', () => {
  changedContainer('gz');
  const file = path.join(work, 'gz.out');
  const sh = spawnSync('bash', ['-o', 'pipefail', '-c', `"${process.execPath}" "${CLI}" --store "${store}" commit gz -o - | tee "${file}" | tar -tzf -`], { env: { ...process.env, NO_COLOR: '1' } });
  expect(sh.stderr.toString()).toMatch(/^DiffID: +sha256:[0-9a-f]{64}\nChainID: +sha256:[0-9a-f]{64}\n$/);
  expect(sh.status).toBe(0);
  expect(sh.stdout.toString()).toContain('fresh-gz');
  const chainId = /ChainID: +(\S+)/.exec(sh.stderr.toString())![1];
  const layer = run('--json', 'ls').json().layers.find((l: { chainId: string }) => l.chainId === chainId);
  expect(sha256(fs.readFileSync(file))).toBe(layer.digest);
});

test('export -o -: the exact blob on stdout, its record on stderr (JSON under --json)', () => {
  const r = spawnSync(process.execPath, [CLI, '--store', store, '--json', 'export', chain, '-o', '-']);
  expect(r.status).toBe(0);
  const rec = JSON.parse(r.stderr.toString());
  expect(rec).toMatchObject({ chainId: chain, output: '-' });
  expect(sha256(r.stdout)).toBe(rec.digest);
  expect(r.stdout.equals(fs.readFileSync(path.join(work, 'a.tar')))).toBe(true);
  const t = spawnSync(process.execPath, [CLI, '--store', store, 'export', chain, '-o', '-'], { env: { ...process.env, NO_COLOR: '1' } });
  expect(t.stderr.toString()).toBe(`${rec.digest} -> -\n`);
  expect(t.stdout.equals(r.stdout)).toBe(true);
});

test('an error while stdout carries data goes to stderr, under --json too', () => {
  const r = spawnSync(process.execPath, [CLI, '--store', store, '--json', 'commit', 'no-such-container', '-o', '-']);
  expect(r.status).toBe(1);
  expect(r.stdout.length).toBe(0);
  expect(JSON.parse(r.stderr.toString()).error.code).toBe('LAYERFS_NOT_FOUND');
});

/** Spawns layerfs with stdout on a real pipe and closes the reading end after `afterBytes` bytes (0: at once). */
function closedEarly(args: string[], afterBytes: number): Promise<{ code: number | null; signal: string | null; stderr: string; read: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, '--store', store, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } });
    let read = 0;
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    if (afterBytes === 0) child.stdout.destroy();
    else
      child.stdout.on('data', (d: Buffer) => {
        read += d.length;
        if (read >= afterBytes) child.stdout.destroy();
      });
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stderr, read }));
  });
}

test('a reader that goes away: `diff A B | head -c 1` ends quietly with 141, no stack trace', async () => {
  const big = run('diff', path.join(work, 'a'), path.join(work, 'big'));
  expect(big.stdout.length).toBeGreaterThan(512 << 10);
  const r = await closedEarly(['diff', path.join(work, 'a'), path.join(work, 'big')], 1);
  expect(r.read).toBeGreaterThan(0);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(141);
  // and in a shell, with an OS pipe
  const sh = spawnSync('bash', ['-c', `"${process.execPath}" "${CLI}" --store "${store}" diff "${work}/a" "${work}/big" | head -c 1 >/dev/null; echo "\${PIPESTATUS[0]}"`]);
  expect(sh.stderr.toString()).toBe('');
  expect(sh.stdout.toString()).toBe('141\n');
});

test('a reader gone before the first write: `ls`, `ls --json`, and `export -o -` end quietly with 141', async () => {
  for (const args of [['ls'], ['--json', 'ls'], ['export', chain, '-o', '-']]) {
    const r = await closedEarly(args, 0);
    expect({ args, stderr: r.stderr, code: r.code }).toEqual({ args, stderr: '', code: 141 });
  }
});
