/**
 * PAX times carry nanoseconds (`mtime=1700000000.123456789`); a layer directory keeps them
 * exactly (utimensat through the addon: Node's utimes cuts to microseconds), so the directory and
 * its own tar agree on every time. A tar without a PAX atime gives every entry its mtime as atime;
 * the kernel moves an atime when the entry is read (relatime), so atimes are set, not kept.
 */
import * as fs from 'fs';
import * as path from 'path';
import { gunzipSync } from 'zlib';
import { LayerStore } from '../../lib/layer-store';
import * as native from '../../lib/native';
import { TarReader, type ReadHeader } from '../../lib/tar/reader';
import { DEFAULT_TAR_LIMITS } from '../../lib/tar/types';
import { rawTar } from '../fixtures/hostile-tar';
import { cleanup, tempDir } from '../drivers/helpers';
import { itIf } from '../fixtures/peers';

const NS = 1_000_000_000n;
const MTIME = 1700000000n * NS + 123456789n;
const ATIME = 1600000000n * NS + 1n;
const haveAddon = native.hasLutimens();
if (!haveAddon) console.warn('nanosecond-times: skipped: setting times to the nanosecond needs the native addon');

function entriesOf(tar: Buffer): ReadHeader[] {
  const out: ReadHeader[] = [];
  const r = new TarReader(DEFAULT_TAR_LIMITS, (h) => {
    out.push(h);
    return null;
  });
  r.push(tar[0] === 0x1f ? gunzipSync(tar) : tar);
  r.end();
  return out;
}

async function bytesOf(s: NodeJS.ReadableStream): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of s) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

(haveAddon ? describe : describe.skip)('times to the nanosecond', () => {
  let work: string;
  let store: LayerStore;
  let tar: Buffer;
  let chain: string;
  beforeAll(async () => {
    work = tempDir('ns-times');
    store = await LayerStore.open(path.join(work, 'store'));
    const pax = { mtime: '1700000000.123456789', atime: '1600000000.000000001' };
    tar = rawTar([
      { name: 'd/', type: '5', pax },
      { name: 'd/f', body: 'x', pax },
      { name: 'd/l', type: '2', linkname: 'f', pax },
      { name: 'd/only-mtime', body: 'y', pax: { mtime: '1700000000.987654321' } },
      { name: 'd/negative', body: 'z', pax: { mtime: '-1.5' } },
      { name: 'd/longer', body: 'w', pax: { mtime: '1700000000.1234567891234' } },
      { name: 'd/.wh.gone', body: '', pax },
    ]);
    const file = path.join(work, 'layer.tar');
    fs.writeFileSync(file, tar);
    chain = (await store.importLayer(file)).chainId;
  });
  afterAll(() => cleanup(work));

  test('the reader keeps them exactly', () => {
    const e = entriesOf(tar);
    expect(e.map((h) => h.mtimeNs)).toEqual([MTIME, MTIME, MTIME, 1700000000n * NS + 987654321n, -1500000000n, 1700000000n * NS + 123456789n, MTIME]);
    expect(e.map((h) => h.atimeNs)).toEqual([ATIME, ATIME, ATIME, 1700000000n * NS + 987654321n, -1500000000n, 1700000000n * NS + 123456789n, ATIME]);
  });

  test('import: files, directories, symlinks and whiteout files get mtime and atime to the nanosecond', () => {
    const dir = store.layerDirs(chain)[0];
    const st = (p: string) => fs.lstatSync(path.join(dir, p), { bigint: true });
    for (const p of ['d', 'd/f', 'd/l', ...(store.whiteout === 'oci' ? ['d/.wh.gone'] : [])]) expect([p, st(p).mtimeNs]).toEqual([p, MTIME]);
    // atimes as the tar says; a directory's or a symlink's moves as soon as it is read (relatime), a file's is not moved by the content index
    expect(st('d/f').atimeNs).toBe(ATIME);
    // no PAX atime: the atime is the mtime
    expect([st('d/only-mtime').mtimeNs, st('d/only-mtime').atimeNs]).toEqual([1700000000n * NS + 987654321n, 1700000000n * NS + 987654321n]);
    expect(st('d/negative').mtimeNs).toBe(-1500000000n);
    expect(st('d/longer').mtimeNs).toBe(1700000000n * NS + 123456789n);
  });

  test('import: a whiteout of a lower name is dated as its entry, a .wh. file in an oci store and a 0/0 device in an overlay one', async () => {
    const file = path.join(work, 'upper.tar');
    fs.writeFileSync(file, rawTar([{ name: 'd/', type: '5', pax: { mtime: '1700000000.123456789' } }, { name: 'd/.wh.f', body: '', pax: { mtime: '1700000000.987654321' } }]));
    const upper = await store.importLayer(file, { parent: chain });
    const dir = store.layerDirs(upper.chainId).at(-1)!;
    const wh = path.join(dir, store.whiteout === 'oci' ? 'd/.wh.f' : 'd/f');
    const st = fs.lstatSync(wh, { bigint: true });
    if (store.whiteout !== 'oci') expect([st.isCharacterDevice(), st.rdev]).toEqual([true, 0n]);
    expect([st.mtimeNs, st.atimeNs]).toEqual([1700000000n * NS + 987654321n, 1700000000n * NS + 987654321n]);
    expect(fs.lstatSync(path.join(dir, 'd'), { bigint: true }).mtimeNs).toBe(MTIME);
    expect((await store.fsck()).problems).toEqual([]);
  });

  test('export gives the same times back (the blob as received), and the view reads them', async () => {
    const out = await bytesOf(store.exportLayer(chain));
    expect(out.equals(tar)).toBe(true);
    expect(entriesOf(out).find((h) => h.name.toString() === 'd/f')!.mtimeNs).toBe(MTIME);
    const e = store.view(chain).lookupSync('/d/f')!;
    expect(fs.lstatSync(e.realPath, { bigint: true }).mtimeNs).toBe(MTIME);
  });

  test('a commit: the layer directory holds the whole seconds its tar holds', async () => {
    const c = await store.createContainer(chain, { driver: 'copy' });
    try {
      const root = await c.mount();
      fs.chmodSync(path.join(root, 'd', 'f'), 0o600);
      const ref = await c.commit();
      const entries = entriesOf(await bytesOf(store.exportLayer(ref.chainId)));
      const f = entries.find((h) => h.name.toString() === 'd/f')!;
      const dir = store.layerDirs(ref.chainId).at(-1)!;
      const st = fs.lstatSync(path.join(dir, 'd', 'f'), { bigint: true });
      expect([st.mtimeNs, st.atimeNs]).toEqual([f.mtimeNs, f.atimeNs]);
      expect(f.mtimeNs).toBe(1700000000n * NS);
    } finally {
      await c.remove();
    }
  });

  const commits: Array<['overlay' | 'copy', 'overlay' | 'oci']> = [['overlay', 'overlay'], ['copy', 'overlay'], ['copy', 'oci']];
  // overlay mounts and overlay whiteouts need root (the copy driver's oci case goes with them: it has not been run as another user)
  for (const [driver, whiteout] of commits) itIf(['root'])(`a commit (${driver} driver, ${whiteout} store): every entry of its tar, directories, symlinks, whiteouts and opaque markers too, has its time in the layer directory`, async () => {
    const own = await LayerStore.open(path.join(work, `store-${driver}-${whiteout}`), { whiteout });
    const base = path.join(work, `base-${driver}-${whiteout}.tar`);
    fs.writeFileSync(base, rawTar([{ name: 'd/', type: '5' }, { name: 'd/f', body: 'x' }, { name: 'd/gone', body: 'g' }, { name: 'e/', type: '5' }, { name: 'e/old', body: 'o' }]));
    const c = await own.createContainer((await own.importLayer(base)).chainId, { driver });
    try {
      const root = await c.mount();
      const at = (p: string) => path.join(root, p);
      fs.mkdirSync(at('new-dir'));
      fs.writeFileSync(at('new-dir/f'), 'f');
      fs.symlinkSync('f', at('new-dir/l'));
      fs.writeFileSync(at('d/f'), 'changed');
      fs.rmSync(at('d/gone'));
      fs.rmSync(at('e'), { recursive: true });
      fs.mkdirSync(at('e'));
      fs.writeFileSync(at('e/new'), 'n');
      for (const p of ['new-dir/f', 'new-dir/l', 'new-dir', 'd/f', 'e/new', 'e']) native.lutimensSync(at(p), 1650000000n * NS + 5n, 1750000000n * NS + 987654321n);
      const ref = await c.commit({ compression: 'none' });
      const dir = own.layerDirs(ref.chainId).at(-1)!;
      const seen: string[] = [];
      for (const h of entriesOf(await bytesOf(own.exportLayer(ref.chainId)))) {
        const name = h.name.toString().replace(/\/$/, '');
        const base = path.basename(name);
        if (whiteout !== 'oci' && base === '.wh..wh..opq') continue; // an xattr of its directory in an overlay store
        // a whiteout is a .wh. file in an oci store, a 0/0 device of the name it hides in an overlay one
        const onDisk = whiteout !== 'oci' && base.startsWith('.wh.') ? path.join(path.dirname(name), base.slice(4)) : name;
        const st = fs.lstatSync(path.join(dir, onDisk === '.' ? '' : onDisk), { bigint: true });
        expect([name, st.mtimeNs]).toEqual([name, h.mtimeNs]);
        seen.push(name);
      }
      expect(seen.sort()).toEqual(['d', 'd/.wh.gone', 'd/f', 'e', ...(whiteout === 'oci' ? ['e/.wh..wh..opq'] : []), 'e/new', 'new-dir', 'new-dir/f', 'new-dir/l']);
    } finally {
      await c.remove();
    }
  });
});
