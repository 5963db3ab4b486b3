/**
 * Names that are not UTF-8 are kept byte for byte (lib/names): through import in both whiteout
 * formats, the view, a mounted container, diff, commit, export and fsck. The layer holds a
 * Latin-1 name, a name with invalid sequences, a symlink whose target is not UTF-8, a hardlink to
 * such a name, a directory with such a name, and a whiteout of such a name.
 */
import * as fs from 'fs';
import * as path from 'path';
import { spawnSync } from 'child_process';
import { gunzipSync } from 'zlib';
import { LayerStore } from '../../lib/layer-store';
import { nameBytes, nameOfBytes, byteOrder, fsPath, compareTreePaths } from '../../lib/names';
import { TarReader, type ReadHeader } from '../../lib/tar/reader';
import { DEFAULT_TAR_LIMITS } from '../../lib/tar/types';
import type { WhiteoutFormatName } from '../../lib/types';
import type { DriverName } from '../../lib/container/types';
import { rawTar } from '../fixtures/hostile-tar';
import { canMount, cleanup, tempDir } from '../drivers/helpers';
import { itIf } from '../fixtures/peers';

const b = (s: string) => Buffer.from(s, 'latin1');
/** `caf\xe9`: Latin-1 é */
const LATIN1 = b('caf\xe9');
/** invalid sequences: a stray continuation, a lone lead byte before ASCII, an overlong '/', a surrogate's encoding */
const INVALID = Buffer.concat([b('bad'), Buffer.from([0x80, 0xc3, 0x28, 0xc0, 0xaf, 0xed, 0xa0, 0x80, 0xff])]);
const TARGET = b('../t\xe9st\xff');
const DIR = b('dir\xe9');
const GONE = b('gone\xfe');
const FILE_MTIME = 1700000000;

const n = (x: Buffer) => nameOfBytes(x);
const cat = (...p: Buffer[]) => Buffer.concat(p.flatMap((x, i) => (i ? [b('/'), x] : [x])));

function baseTar(): Buffer {
  return rawTar([
    { name: 'd/', type: '5', mode: 0o755 },
    { name: cat(b('d'), LATIN1), body: 'latin1\n', mode: 0o640, mtime: FILE_MTIME },
    { name: cat(b('d'), INVALID), body: 'invalid\n', mtime: FILE_MTIME },
    { name: cat(b('d'), GONE), body: 'to be deleted\n' },
    { name: cat(b('d'), b('link')), type: '2', linkname: TARGET },
    { name: cat(b('d'), b('hard')), type: '1', linkname: cat(b('d'), LATIN1) },
    { name: Buffer.concat([DIR, b('/')]), type: '5', mode: 0o750 },
    { name: cat(DIR, LATIN1), body: 'nested\n' },
  ]);
}

function upperTar(): Buffer {
  return rawTar([
    { name: 'd/', type: '5', mode: 0o755 },
    { name: cat(b('d'), Buffer.concat([b('.wh.'), GONE])), body: '' },
  ]);
}

/** The entries of an uncompressed tar, as the project's reader sees them (names as raw bytes). */
function entriesOf(tar: Buffer): ReadHeader[] {
  const out: ReadHeader[] = [];
  const r = new TarReader(DEFAULT_TAR_LIMITS, (h) => {
    out.push(h);
    return null;
  });
  r.push(tar);
  r.end();
  return out;
}

const streamToBuffer = async (s: NodeJS.ReadableStream) => {
  const parts: Buffer[] = [];
  for await (const c of s) parts.push(c as Buffer);
  const all = Buffer.concat(parts);
  return all[0] === 0x1f && all[1] === 0x8b ? gunzipSync(all) : all;
};

describe('names that are not UTF-8', () => {
  test('the name strings round-trip any bytes and sort as the bytes do', () => {
    const names = [LATIN1, INVALID, TARGET, DIR, GONE, b('caf'), Buffer.from('café', 'utf8'), Buffer.from('\u4e00', 'utf8'), Buffer.from('\u{1f600}', 'utf8'), b('\x80'), b('\xff'), Buffer.from('\ufffd', 'utf8')];
    for (const x of names) {
      const s = nameOfBytes(x);
      expect(nameBytes(s)).toEqual(x);
      expect(JSON.parse(JSON.stringify(s))).toBe(s);
    }
    expect(nameOfBytes(Buffer.from('café', 'utf8'))).toBe('café');
    expect(fsPath('plain')).toBe('plain');
    expect(fsPath(n(LATIN1))).toEqual(LATIN1);
    const byBytes = [...names].sort(Buffer.compare).map(n);
    expect(names.map(n).sort(byteOrder)).toEqual(byBytes);
    const paths = ['/a', '/a/b', '/a\xe9', '/a-b', '/a/\udcff'].map((p) => p.replace('\xe9', '\udce9'));
    const sorted = [...paths].sort(compareTreePaths);
    const byTreeBytes = [...paths].sort((x, y) => {
      const [p, q] = [nameBytes(x), nameBytes(y)].map((v) => Buffer.from(v.map((c) => (c === 0x2f ? 0 : c))));
      return Buffer.compare(p, q);
    });
    expect(sorted).toEqual(byTreeBytes);
  });

  const formats: WhiteoutFormatName[] = canMount ? ['oci', 'overlay'] : ['oci'];
  if (!canMount) console.warn('non-UTF-8 names: the overlay whiteout format and overlay mounts are skipped: they need root and the native addon');

  describe.each(formats)('in a store of the %s whiteout format', (whiteout) => {
    let work: string;
    let store: LayerStore;
    let chain: string;
    let base: Buffer;
    beforeAll(async () => {
      work = tempDir('names');
      store = await LayerStore.open(path.join(work, 'store'), { whiteout });
      base = baseTar();
      fs.writeFileSync(path.join(work, 'base.tar'), base);
      fs.writeFileSync(path.join(work, 'upper.tar'), upperTar());
      const a = await store.importLayer(path.join(work, 'base.tar'));
      chain = (await store.importLayer(path.join(work, 'upper.tar'), { parent: a.chainId })).chainId;
    });
    afterAll(async () => {
      for (const c of await store.listContainers()) await c.remove();
      cleanup(work);
    });

    test('import keeps the bytes in the layer directory, and fsck is clean', async () => {
      const diff = store.layerDirs(chain)[0];
      const names = fs.readdirSync(path.join(diff, 'd'), { encoding: 'buffer' });
      expect(names).toEqual(expect.arrayContaining([LATIN1, INVALID, GONE, b('link'), b('hard')]));
      expect(fs.readlinkSync(path.join(diff, 'd', 'link'), { encoding: 'buffer' })).toEqual(TARGET);
      expect(fs.readdirSync(Buffer.from(diff + '/'), { encoding: 'buffer' })).toEqual(expect.arrayContaining([DIR]));
      const report = await store.fsck();
      expect(report.problems).toEqual([]);
    });

    test('the view shows every name, the target and the link, and hides the whited-out one', () => {
      const view = store.view(chain);
      expect(view.readdirSync('/d')).toEqual([n(INVALID), n(LATIN1), 'hard', 'link'].sort(byteOrder));
      expect(view.readdirSync('/')).toEqual(['d', n(DIR)].sort(byteOrder));
      expect(view.readFileSync('/d/' + n(LATIN1)).toString()).toBe('latin1\n');
      expect(view.readFileSync('/d/' + n(INVALID)).toString()).toBe('invalid\n');
      expect(view.readlinkSync('/d/link')).toBe(n(TARGET));
      expect(view.statSync('/d/hard').ino).toBe(view.statSync('/d/' + n(LATIN1)).ino);
      expect(view.statSync('/d/' + n(LATIN1)).mode & 0o7777).toBe(0o640);
      expect(view.lookupSync('/d/' + n(GONE))).toBeNull();
      expect(view.readFileSync('/' + n(DIR) + '/' + n(LATIN1)).toString()).toBe('nested\n');
      expect([...view.walkSync()].map((e) => e.path)).toContain('/' + n(DIR) + '/' + n(LATIN1));
    });

    const drivers: DriverName[] = canMount && whiteout !== 'oci' ? ['overlay', 'copy'] : ['copy'];
    test.each(drivers)('a %s container shows the bytes; diff, commit and export keep them', async (driver) => {
      const c = await store.createContainer(chain, { driver });
      const root = await c.mount();
      try {
        const d = Buffer.from(root + '/d/');
        expect(fs.readdirSync(d, { encoding: 'buffer' }).sort(Buffer.compare)).toEqual([INVALID, LATIN1, b('hard'), b('link')].sort(Buffer.compare));
        expect(fs.readlinkSync(Buffer.concat([d, b('link')]), { encoding: 'buffer' })).toEqual(TARGET);
        expect(fs.readFileSync(Buffer.concat([d, LATIN1])).toString()).toBe('latin1\n');
        expect(fs.statSync(Buffer.concat([d, b('hard')])).ino).toBe(fs.statSync(Buffer.concat([d, LATIN1])).ino);
        // changes: one name deleted, one added, one chmod-ed, a symlink made again with a new non-UTF-8 target
        const NEW = b('new\xe9\xe9');
        const NEW_TARGET = b('\xfe\xff');
        fs.unlinkSync(Buffer.concat([d, INVALID]));
        fs.writeFileSync(Buffer.concat([d, NEW]), 'new\n');
        fs.chmodSync(Buffer.concat([d, LATIN1]), 0o600);
        fs.unlinkSync(Buffer.concat([d, b('link')]));
        fs.symlinkSync(NEW_TARGET, Buffer.concat([d, b('link')]));
        const changes = await c.diff();
        const got = changes.map((ch) => `${ch.kind} ${ch.path}`);
        expect(got).toEqual(expect.arrayContaining([`D /d/${n(INVALID)}`, `A /d/${n(NEW)}`, `C /d/${n(LATIN1)}`, 'C /d/link']));
        // overlayfs copies one name of a lower hardlink up alone (index=off); the copy driver keeps the pair one inode
        if (driver === 'copy') expect(got).toContain('C /d/hard');
        expect(changes.find((ch) => ch.path === '/d/link')!.target).toBe(n(NEW_TARGET));

        const ref = await c.commit();
        const tar = await streamToBuffer(store.exportLayer(ref.chainId));
        const entries = entriesOf(tar);
        const names = entries.map((e) => e.name);
        expect(names).toEqual(expect.arrayContaining([cat(b('d'), NEW), cat(b('d'), LATIN1), cat(b('d'), Buffer.concat([b('.wh.'), INVALID]))]));
        expect(entries.find((e) => e.name.equals(cat(b('d'), b('link'))))!.linkname).toEqual(NEW_TARGET);
        // the hardlink pair is packed as one file and a link to its exact name
        if (driver === 'copy') {
          const pair = entries.filter((e) => e.name.equals(cat(b('d'), LATIN1)) || e.name.equals(cat(b('d'), b('hard'))));
          expect(pair.map((e) => e.type).sort()).toEqual(['file', 'link']);
          const link = pair.find((e) => e.type === 'link')!;
          expect([cat(b('d'), LATIN1), cat(b('d'), b('hard'))]).toContainEqual(link.linkname);
        }

        // the committed layer, imported by its ChainID, shows the same tree; fsck is clean
        const view = store.view(ref.chainId);
        expect(view.readdirSync('/d')).toEqual([n(LATIN1), n(NEW), 'hard', 'link'].sort(byteOrder));
        expect(view.statSync('/d/' + n(LATIN1)).mode & 0o7777).toBe(0o600);
        expect(view.readlinkSync('/d/link')).toBe(n(NEW_TARGET));
        expect((await store.fsck()).problems).toEqual([]);
      } finally {
        await c.remove();
      }
    });

    test('export gives back the imported bytes; the entries carry the exact names', async () => {
      const l = store.chainSync(chain)[0];
      const tar = await streamToBuffer(store.exportLayer(l.chainId));
      expect(tar.equals(base)).toBe(true);
      const names = entriesOf(tar).map((e) => e.name);
      expect(names).toEqual(expect.arrayContaining([cat(b('d'), LATIN1), cat(b('d'), INVALID), cat(DIR, LATIN1)]));
    });

    itIf(['tar'])('GNU tar extracts a committed layer to the same names', async () => {
      const c = await store.createContainer(chain, { driver: 'copy' });
      const root = await c.mount();
      try {
        fs.writeFileSync(Buffer.from(root + '/' + DIR.toString('latin1') + '/x', 'latin1'), 'x\n');
        const ref = await c.commit();
        const file = path.join(work, `commit-${whiteout}.tar`);
        fs.writeFileSync(file, await streamToBuffer(store.exportLayer(ref.chainId)));
        const out = path.join(work, `gnu-${whiteout}`);
        fs.mkdirSync(out);
        const r = spawnSync('tar', ['-xf', file, '-C', out]);
        expect(r.status).toBe(0);
        expect(fs.readdirSync(Buffer.from(out), { encoding: 'buffer' })).toEqual([DIR]);
        expect(fs.readdirSync(Buffer.concat([Buffer.from(out + '/'), DIR]), { encoding: 'buffer' })).toEqual([b('x')]);
      } finally {
        await c.remove();
      }
    });
  });
});
