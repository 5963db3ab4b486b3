/**
 * importImage applies the layers of an image side by side (the biggest first) and publishes
 * them bottom first: the layers it makes are the ones a one-by-one import makes, and a failing
 * layer leaves no layer above it, no staging and no image record.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { createHash } from 'crypto';
import { Readable } from 'stream';
import { LayerStore } from '../../lib/layer-store';
import { writeImage } from '../../lib/image';
import { gzip, rawTar } from '../fixtures/hostile-tar';

const sha = (b: Buffer) => 'sha256:' + createHash('sha256').update(b).digest('hex');

let dir: string;
beforeAll(() => {
  if (!fs.existsSync(path.resolve(__dirname, '../../dist/lib/tar/apply.worker.js'))) throw new Error('build with `npx tsc -p tsconfig.json` first');
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'layerfs-import-pipeline-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** Layers that lean on the ones below: implicit parents, a whiteout, an opaque directory; the biggest is not the bottom one. */
function layerTars(): Buffer[] {
  const big = Buffer.alloc(6 << 20);
  for (let i = 0; i < big.length; i += 4096) big.writeUInt32LE(i * 7, i);
  return [
    rawTar([
      { name: 'usr/', type: '5', mode: 0o755, mtime: 1000000000 },
      { name: 'usr/lib/', type: '5', mode: 0o750, mtime: 1100000000 },
      { name: 'usr/lib/a', body: 'a', mtime: 1100000000 },
      { name: 'srv/', type: '5', mode: 0o700, mtime: 1200000000 },
      { name: 'srv/old', body: 'old', mtime: 1200000000 },
    ]),
    rawTar([
      { name: 'usr/lib/b', body: 'b', mtime: 1300000000 }, // implicit parents usr, usr/lib
      { name: 'srv/.wh.old', body: '' },
    ]),
    rawTar([{ name: 'usr/lib/big', body: big, mtime: 1400000000 }]),
    rawTar([
      { name: 'srv/.wh..wh..opq', body: '' },
      { name: 'srv/new', body: 'n', mtime: 1500000000 },
    ]),
  ];
}

async function makeImage(name: string, tars: Buffer[], diffIds = tars.map(sha)): Promise<string> {
  const blobs = tars.map(gzip);
  const out = path.join(dir, name);
  await writeImage(out, {
    format: 'oci-archive',
    tag: 'latest',
    config: { architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: diffIds } },
    layers: blobs.map((b) => ({ descriptor: { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: sha(b), size: b.length }, open: () => Readable.from([b]) })),
  });
  return out;
}

function tree(root: string): string[] {
  const out: string[] = [];
  const walk = (rel: string) => {
    const p = path.join(root, rel);
    const st = fs.lstatSync(p);
    const body = st.isFile() ? sha(fs.readFileSync(p)) : '';
    out.push(`${rel || '.'} ${st.mode.toString(8)} ${rel === '' || st.isCharacterDevice() ? '' : st.mtimeMs} ${st.uid}:${st.gid} ${body}`);
    if (st.isDirectory()) for (const n of fs.readdirSync(p).sort()) walk(rel ? `${rel}/${n}` : n);
  };
  walk('');
  return out;
}

test('the layers made side by side are the ones a one-by-one import makes', async () => {
  const tars = layerTars();
  const image = await makeImage('good.oci.tar', tars);
  const side = await LayerStore.open(path.join(dir, 'store-side'));
  const rec = await side.importImage(image, { name: 'img' });
  const one = await LayerStore.open(path.join(dir, 'store-one'));
  let parent: string | null = null;
  for (const t of tars) parent = (await one.importLayer(Readable.from([gzip(t)]), { parent })).chainId;
  expect(rec.chain).toBe(parent);
  const a = side.chainSync(rec.chain);
  const b = one.chainSync(parent!);
  expect(a.map((l) => [l.chainId, l.diffId, l.digest, l.size, l.parent])).toEqual(b.map((l) => [l.chainId, l.diffId, l.digest, l.size, l.parent]));
  for (const [i, l] of a.entries()) {
    expect(tree(side.paths.layerDiff(l.chainId))).toEqual(tree(one.paths.layerDiff(b[i].chainId)));
    expect(fs.readFileSync(side.paths.blob(l.digest)).equals(gzip(tars[i]))).toBe(true);
  }
  // the implicit parents of layer 1 took the metadata of layer 0's directories
  const usrLib = fs.statSync(path.join(side.paths.layerDiff(a[1].chainId), 'usr/lib'));
  expect([usrLib.mode & 0o7777, usrLib.mtimeMs]).toEqual([0o750, 1100000000000]);
  expect(fs.readdirSync(side.paths.tmpDir)).toEqual([]);
  // imported again: nothing to do, the same record
  const again = await side.importImage(image, { name: 'img' });
  expect(again.layers).toEqual(rec.layers);
});

test('a bad lower layer stops the layers above it, even the one started first: nothing above it is kept', async () => {
  const tars = layerTars();
  const ids = tars.map(sha);
  ids[1] = 'sha256:' + '0'.repeat(64);
  const image = await makeImage('bad.oci.tar', tars, ids);
  const store = await LayerStore.open(path.join(dir, 'store-bad'));
  const e = await store.importImage(image).catch((x) => x);
  expect(e).toMatchObject({ code: 'LAYERFS_DIGEST_MISMATCH', expected: ids[1] });
  expect(e.message).toContain('layer 1');
  await new Promise((r) => setTimeout(r, 200));
  // only layer 0 (complete and verified) may be there
  const layers = await store.listLayers();
  expect(layers.map((l) => l.diffId).filter((d) => d !== ids[0])).toEqual([]);
  expect(fs.readdirSync(store.paths.tmpDir)).toEqual([]);
  expect(fs.readdirSync(store.paths.imagesDir)).toEqual([]);
  const blobs = fs.readdirSync(path.dirname(store.paths.blob(ids[0])));
  expect(blobs.length).toBeLessThanOrEqual(1);
});

test('an abort stops every layer and leaves nothing half-made', async () => {
  const image = await makeImage('abort.oci.tar', layerTars());
  const store = await LayerStore.open(path.join(dir, 'store-abort'));
  const ac = new AbortController();
  const p = store.importImage(image, { signal: ac.signal, onProgress: () => ac.abort() });
  await expect(p).rejects.toMatchObject({ code: 'LAYERFS_ABORTED' });
  await new Promise((r) => setTimeout(r, 200));
  expect(fs.readdirSync(store.paths.tmpDir)).toEqual([]);
  expect(fs.readdirSync(store.paths.imagesDir)).toEqual([]);
});
