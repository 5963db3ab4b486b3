import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { execFileSync } from 'child_process';
import { LayerStore } from '../../lib/layer-store';
import { selectFiles } from '../../lib/build';
import { nameOfBytes } from '../../lib/names';
import { layerfs } from '../cli/run-cli';

/*
 * What a build takes from its context: every entry, whatever its name's bytes; a directory
 * pattern takes or drops all it holds; a pattern that matches nothing says so; nothing is
 * selected through a symlink.
 */

let work: string;
let store: LayerStore;
beforeAll(async () => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'layerfs-select-'));
  store = await LayerStore.open(path.join(work, 'store'));
});
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

const ctx = (name: string, files: Record<string, string>) => {
  const d = path.join(work, name);
  for (const [p, c] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(d, p)), { recursive: true });
    if (p.endsWith('/')) fs.mkdirSync(path.join(d, p), { recursive: true });
    else fs.writeFileSync(path.join(d, p), c);
  }
  return d;
};
/** The layer's entry names as GNU tar prints them, with C escapes (\n, \377). */
const listing = (digest: string) =>
  execFileSync('bash', ['-c', `gzip -dc '${store.paths.blob(digest)}' | tar --quoting-style=c-maybe -tf -`]).toString().split('\n').filter(Boolean);

test('names with a newline and names that are not UTF-8 are taken, byte for byte', async () => {
  const d = ctx('names', { 'plain': 'p', 'line\nbreak': 'n', 'dir\nwith/inner': 'i' });
  const latin1 = Buffer.concat([Buffer.from(d + '/caf'), Buffer.of(0xe9)]); // "café" in Latin-1
  fs.writeFileSync(latin1, 'latin-1');
  fs.mkdirSync(Buffer.concat([Buffer.from(d + '/'), Buffer.of(0xff, 0xfe)]));
  fs.writeFileSync(Buffer.concat([Buffer.from(d + '/'), Buffer.of(0xff, 0xfe), Buffer.from('/x\ny')]), 'deep');
  const cafe = nameOfBytes(Buffer.from([0x63, 0x61, 0x66, 0xe9]));
  const ff = nameOfBytes(Buffer.of(0xff, 0xfe));
  const picked = selectFiles(d, { warn: (m) => { throw new Error(m); } });
  expect(new Set(picked)).toEqual(new Set(['plain', 'line\nbreak', 'dir\nwith', 'dir\nwith/inner', cafe, ff, `${ff}/x\ny`]));

  const l = await store.buildLayer({ from: d });
  expect(listing(l.digest).sort()).toEqual(['"caf\\351"', '"dir\\nwith/"', '"dir\\nwith/inner"', '"line\\nbreak"', 'plain', '"\\377\\376/"', '"\\377\\376/x\\ny"'].sort());
  const v = store.view(l.chainId);
  expect(v.readFileSync(`/${cafe}`).toString()).toBe('latin-1');
  expect(v.readFileSync(`/${ff}/x\ny`).toString()).toBe('deep');
  expect(v.readFileSync('/dir\nwith/inner').toString()).toBe('i');
  // a pattern matches them too
  expect(selectFiles(d, { include: ['**/*\n*'], warn: () => undefined }).sort()).toEqual(['dir\nwith', 'dir\nwith/inner', ff, `${ff}/x\ny`, 'line\nbreak'].sort());
  expect(selectFiles(d, { include: ['caf?'], warn: () => undefined })).toEqual([cafe]);
});

test('a directory named by --include brings all it holds, as --exclude leaves all it holds out', async () => {
  const d = ctx('dirs', { 'src/a.js': 'a', 'src/lib/b.js': 'b', 'src/empty/': '', 'docs/readme': 'r', 'top': 't' });
  const warn: string[] = [];
  const inc = selectFiles(d, { include: ['src'], warn: (m) => warn.push(m) });
  expect(inc).toEqual(['src', 'src/a.js', 'src/empty', 'src/lib', 'src/lib/b.js']);
  expect(selectFiles(d, { include: ['src/'], warn: (m) => warn.push(m) })).toEqual(inc);
  expect(selectFiles(d, { include: ['./src/lib'], warn: (m) => warn.push(m) })).toEqual(['src', 'src/lib', 'src/lib/b.js']);
  expect(selectFiles(d, { exclude: ['src'], warn: (m) => warn.push(m) })).toEqual(['docs', 'docs/readme', 'top']);
  expect(selectFiles(d, { include: ['src'], exclude: ['src/lib'], warn: (m) => warn.push(m) })).toEqual(['src', 'src/a.js', 'src/empty']);
  expect(selectFiles(d, { include: ['{docs,top}'], warn: (m) => warn.push(m) })).toEqual(['docs', 'docs/readme', 'top']);
  expect(selectFiles(d, { include: ['**/*.js'], warn: (m) => warn.push(m) })).toEqual(['src', 'src/a.js', 'src/lib', 'src/lib/b.js']);
  expect(warn).toEqual([]);
  const l = await store.buildLayer({ from: d, include: ['src'], prefix: '/app' });
  expect(store.view(l.chainId).readFileSync('/app/src/lib/b.js').toString()).toBe('b');
});

test('a pattern that matches nothing warns, and fails the build with --strict (exit 1)', async () => {
  const d = ctx('nomatch', { 'a': 'a' });
  const warn: string[] = [];
  expect(selectFiles(d, { include: ['a', 'b*'], warn: (m) => warn.push(m) })).toEqual(['a']);
  expect(warn).toEqual([`the pattern "b*" matches nothing in ${d} (symlinks are not followed)`]);
  expect(() => selectFiles(d, { include: ['b*'], strict: true, warn: () => undefined })).toThrow(expect.objectContaining({ code: 'LAYERFS_NOT_FOUND', message: expect.stringContaining('"b*" matches nothing') }));
  const s = path.join(work, 'cli-store');
  const t = layerfs(['--store', s, 'layer', 'build', d, '--include', 'a', '--include', 'b*']);
  expect(t.code).toBe(0);
  expect(t.stderr).toContain('warning: the pattern "b*" matches nothing');
  const strict = layerfs(['--store', s, '--json', 'layer', 'build', d, '--include', 'b*', '--strict']);
  expect(strict.code).toBe(1);
  expect(strict.json().error).toMatchObject({ code: 'LAYERFS_NOT_FOUND', message: expect.stringContaining('"b*" matches nothing') });
  // nothing selected at all is a failure too, not a layer with nothing in it
  const none = layerfs(['--store', s, 'layer', 'build', d, '--include', 'zzz']);
  expect(none.code).toBe(1);
  expect(none.stderr).toContain('nothing to build');
});

test('includes never follow a symlink out of the context: `link -> /etc` is packed as a symlink, /etc is not read', async () => {
  const d = ctx('links', { 'real/host.txt': 'inside' });
  fs.symlinkSync('/etc', path.join(d, 'link'));
  fs.symlinkSync('real', path.join(d, 'inner'));
  const warn: string[] = [];
  expect(selectFiles(d, { include: ['link/host*'], warn: (m) => warn.push(m) })).toEqual([]);
  expect(warn.join('\n')).toContain('"link/host*" matches nothing');
  expect(selectFiles(d, { include: ['inner/*'], warn: () => undefined })).toEqual([]);
  expect(selectFiles(d, { include: ['**/host*'], warn: () => undefined })).toEqual(['real', 'real/host.txt']);
  const strict = layerfs(['--store', path.join(work, 'cli-store'), 'layer', 'build', d, '--include', 'link/host*', '--strict']);
  expect(strict.code).toBe(1);
  expect(strict.stderr).toContain('"link/host*" matches nothing');
  // the symlink itself is an entry like any other
  const l = await store.buildLayer({ from: d, include: ['link', 'inner'] });
  const v = store.view(l.chainId);
  expect(v.readdirSync('/').sort()).toEqual(['inner', 'link']);
  expect(v.readlinkSync('/link')).toBe('/etc');
  expect(v.readlinkSync('/inner')).toBe('real');
  expect(listing(l.digest).sort()).toEqual(['inner', 'link']);
});
