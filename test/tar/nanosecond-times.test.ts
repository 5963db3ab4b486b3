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
import { TarReader, type TarHeader } from '../../lib/tar/reader';
import { DEFAULT_TAR_LIMITS } from '../../lib/tar/types';
import { rawTar } from '../fixtures/hostile-tar';
import { cleanup, tempDir } from '../drivers/helpers';

const NS = 1_000_000_000n;
const MTIME = 1700000000n * NS + 123456789n;
const ATIME = 1600000000n * NS + 1n;
const haveAddon = native.hasLutimens();
if (!haveAddon) console.warn('nanosecond-times: skipped: setting times to the nanosecond needs the native addon');

function entriesOf(tar: Buffer): TarHeader[] {
  const out: TarHeader[] = [];
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
});
