import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { execFileSync } from 'child_process';
import { layerfs } from './run-cli';
import { plainTar } from '../container/tar-listing';

let work: string;
let store: string;
const run = (...args: string[]) => layerfs(['--store', store, ...args]);

beforeAll(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'layerfs-cli-diff-'));
  store = path.join(work, 'store');
  for (const [d, files] of Object.entries({ a: { keep: 'k', gone: 'g', edit: '1' }, b: { keep: 'k', edit: '22', added: 'new' } })) {
    fs.mkdirSync(path.join(work, d));
    for (const [n, c] of Object.entries(files)) {
      fs.writeFileSync(path.join(work, d, n), c);
      fs.utimesSync(path.join(work, d, n), 1e9, 1e9);
    }
  }
  execFileSync('tar', ['-cf', path.join(work, 'a.tar'), '-C', path.join(work, 'a'), '.']);
});
afterAll(() => {
  for (const c of (run('--json', 'ls').json().containers ?? []) as { id: string }[]) run('rm', c.id);
  fs.rmSync(work, { recursive: true, force: true });
});

test('diff of two directories prints docker-diff lines; --json gives records', () => {
  const t = run('diff', path.join(work, 'a'), path.join(work, 'b'));
  expect(t.code).toBe(0);
  expect(t.stdout.split('\n').filter(Boolean).map((l) => l.replace(/ +\(.*\)$/, ''))).toEqual(['A /added', 'C /edit', 'D /gone']);
  const j = run('--json', 'diff', path.join(work, 'a'), path.join(work, 'b')).json();
  expect(j.changes.map((c: any) => [c.kind, c.path])).toEqual([['A', '/added'], ['C', '/edit'], ['D', '/gone']]);
  expect(j.changes[0]).toMatchObject({ type: 'file', size: 3 });
});

test('a layer tarball and a ChainID are trees too; a container diff, commit and commit -o', () => {
  expect(run('diff', path.join(work, 'a.tar'), path.join(work, 'a')).stdout.trim()).toBe('');
  const layer = run('--json', 'import', path.join(work, 'a.tar')).json();
  expect(run('diff', layer.chainId, path.join(work, 'b')).stdout).toContain('A /added');
  const c = run('--json', 'create', layer.chainId, '--driver', 'copy', '--name', 'cli-diff').json();
  const root = run('mount', 'cli-diff').stdout.trim();
  fs.writeFileSync(path.join(root, 'fresh'), 'f');
  fs.rmSync(path.join(root, 'gone'));
  const d = run('diff', 'cli-diff');
  expect(d.code).toBe(0);
  expect(d.stdout.trim().split('\n')).toEqual(['A /fresh', 'D /gone']);
  const out = path.join(work, 'committed.tar.zst');
  const cm = run('--json', 'commit', c.id, '--compress', 'zstd', '-o', out);
  expect(cm.code).toBe(0);
  const ref = cm.json();
  expect(ref.mediaType).toBe('application/vnd.oci.image.layer.v1.tar+zstd');
  const listing = execFileSync('tar', ['-t'], { input: plainTar(fs.readFileSync(out)) }).toString();
  expect(listing).toContain('.wh.gone');
  expect(listing).toContain('fresh');
  expect(run('diff', layer.chainId, ref.chainId).stdout.trim().split('\n')).toEqual(['A /fresh  (1 B)', 'D /gone  (1 B)']);
  expect(run('diff', 'no-such-thing', path.join(work, 'a')).code).toBe(2);
});

test('a cp -p of a file of the same size and mtime over a container file: diff lists it, commit carries its bytes', () => {
  const layer = run('--json', 'import', path.join(work, 'a.tar')).json();
  const c = run('--json', 'create', layer.chainId, '--driver', 'copy', '--name', 'cli-same-size').json();
  const root = run('mount', 'cli-same-size').stdout.trim();
  const host = path.join(work, 'edit-again');
  fs.writeFileSync(host, '9'); // as long as the layer's '1', and as old
  fs.utimesSync(host, 1e9, 1e9);
  execFileSync('cp', ['-p', host, path.join(root, 'edit')]);
  expect(fs.statSync(path.join(root, 'edit')).mtimeMs).toBe(1e12);
  const d = run('diff', 'cli-same-size');
  expect(d.code).toBe(0);
  expect(d.stdout.trim().split('\n')).toEqual(['C /edit']);
  const out = path.join(work, 'same-size.tar');
  expect(run('commit', c.id, '--compress', 'none', '-o', out).code).toBe(0);
  expect(execFileSync('tar', ['-xOf', out, 'edit']).toString()).toBe('9');
});

test('diff --html writes a self-contained page of the changes: two directories, and a container alone', () => {
  const { pageData, rowsOf } = require('../report/page-data') as typeof import('../report/page-data');
  const file = path.join(work, 'dirs.html');
  const t = run('diff', path.join(work, 'a'), path.join(work, 'b'), '--html', file);
  expect(t.code).toBe(0);
  expect(t.stdout).toContain('C /edit');
  const data = pageData(fs.readFileSync(file, 'utf8'));
  expect(rowsOf(data, data.tree.rows, 6).map((r) => [r.path, r.code, r.values[0], r.values[1]])).toEqual([
    ['/added', 'Af', -1, 3],
    ['/edit', 'Cf', 1, 2],
    ['/gone', 'Df', 1, -1],
  ]);
  expect(data.texts).toEqual({ '1': ['@@ -1,1 +1,1 @@', '-1', '+22'] });

  const layer = run('--json', 'import', path.join(work, 'a.tar')).json();
  run('create', layer.chainId, '--driver', 'copy', '--name', 'cli-diff-html');
  const root = run('mount', 'cli-diff-html').stdout.trim();
  fs.writeFileSync(path.join(root, 'edit'), 'three\n');
  // a symlink the container made in place of a file: its target is not read
  fs.rmSync(path.join(root, 'keep'));
  fs.symlinkSync('/etc/passwd', path.join(root, 'keep'));
  const cfile = path.join(work, 'container.html');
  const c = run('diff', 'cli-diff-html', '--html', cfile);
  expect(c.code).toBe(0);
  const html = fs.readFileSync(cfile, 'utf8');
  const cdata = pageData(html);
  expect(rowsOf(cdata, cdata.tree.rows, 6).map((r) => [r.path, r.code])).toEqual([
    ['/edit', 'Cf'],
    ['/keep', 'Cl'],
  ]);
  expect(cdata.texts).toEqual({ '0': ['@@ -1,1 +1,1 @@', '-1', '+three'] });
  expect(html).not.toContain('root:x:0');
  expect(run('diff', 'cli-diff-html', '--html', path.join(work, 'no-such-dir', 'x.html')).code).toBe(1);
});
