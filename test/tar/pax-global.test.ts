/**
 * Global PAX headers (typeflag 'g') are read as Go's archive/tar reads them, as containerd and
 * moby do: their records apply to no entry, and the layer imports. GNU tar, which writes them
 * with `--pax-option`, would apply a global `path` to every later entry.
 */
import * as fs from 'fs';
import * as path from 'path';
import { spawnSync } from 'child_process';
import { applyLayer } from '../../lib/tar/apply-in-worker';
import { metaEntry, paxBody, rawTar } from '../fixtures/hostile-tar';
import { hasTool } from '../fixtures/peers';
import { tempDir, cleanup } from '../drivers/helpers';

let work: string;
beforeAll(() => {
  work = tempDir('pax-global');
});
afterAll(() => cleanup(work));

function target(name: string): string {
  const t = path.join(work, name);
  fs.mkdirSync(t);
  return t;
}

test('a handmade global header with path, linkpath, mtime and owner: every entry keeps its own', async () => {
  const tar = Buffer.concat([
    metaEntry('g', paxBody({ path: '../victim', linkpath: '/etc/shadow', mtime: '5', uid: '7', gid: '7', comment: 'c' }), 'pax_global_header'),
    rawTar([
      { name: 'a/', type: '5' },
      { name: 'a/f', body: 'f\n', mtime: 1700000000 },
      { name: 'a/l', type: '2', linkname: 'f' },
    ]),
  ]);
  const file = path.join(work, 'handmade.tar');
  fs.writeFileSync(file, tar);
  const t = target('handmade');
  const r = await applyLayer(file, t, { whiteout: 'oci' });
  expect(r.entries).toBe(3);
  expect(fs.readdirSync(t)).toEqual(['a']);
  expect(fs.readdirSync(path.join(t, 'a')).sort()).toEqual(['f', 'l']);
  expect(fs.readlinkSync(path.join(t, 'a', 'l'))).toBe('f');
  const st = fs.statSync(path.join(t, 'a', 'f'));
  expect([st.mtimeMs, st.uid]).toEqual([1700000000000, process.getuid?.() === 0 ? 0 : st.uid]);
});

(hasTool('tar') ? test : test.skip)("GNU tar's --pax-option global header (comment and path) imports, the names unchanged", async () => {
  const src = path.join(work, 'gnu-src');
  fs.mkdirSync(path.join(src, 'a'), { recursive: true });
  fs.writeFileSync(path.join(src, 'a', 'f'), 'hi\n');
  const file = path.join(work, 'gnu.tar');
  const r = spawnSync('tar', ['--format=pax', '--pax-option=globexthdr.name=GlobalHead.%n,comment=hello,path=evil/../x', '-cf', file, '-C', src, 'a']);
  expect(r.status).toBe(0);
  // it really holds a global header carrying path
  const raw = fs.readFileSync(file);
  expect(String.fromCharCode(raw[156])).toBe('g');
  expect(raw.subarray(512, 1024).toString('latin1')).toContain('path=evil/../x');
  const t = target('gnu');
  await applyLayer(file, t, { whiteout: 'oci' });
  expect(fs.readdirSync(t)).toEqual(['a']);
  expect(fs.readFileSync(path.join(t, 'a', 'f'), 'utf8')).toBe('hi\n');
});
if (!hasTool('tar')) console.warn('pax-global: the GNU tar case is skipped: install the tar package');
