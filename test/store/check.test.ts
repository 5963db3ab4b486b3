import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { execFileSync } from 'child_process';
import { LayerStore } from '../../lib/layer-store';

let work: string;
beforeEach(() => (work = fs.mkdtempSync(path.join(os.tmpdir(), 'layerfs-check-'))));
afterEach(() => fs.rmSync(work, { recursive: true, force: true }));

function tarOf(name: string, files: Record<string, string>): string {
  const src = path.join(work, 'src-' + name);
  for (const [p, c] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(src, p)), { recursive: true });
    fs.writeFileSync(path.join(src, p), c);
  }
  const out = path.join(work, name + '.tar.gz');
  execFileSync('tar', ['-czf', out, '-C', src, '.']);
  return out;
}

test('fsck reports a tampered layer by path and a bad blob; --repair re-extracts the layer', async () => {
  const store = await LayerStore.open(path.join(work, 's'));
  const l = await store.importLayer(tarOf('a', { 'etc/a': 'a', 'etc/b': 'b', c: 'c' }));
  expect((await store.fsck()).problems).toEqual([]);
  const diff = store.paths.layerDiff(l.chainId);
  fs.writeFileSync(path.join(diff, 'etc/a'), 'tampered');
  fs.writeFileSync(path.join(diff, 'extra'), 'x');
  fs.rmSync(path.join(diff, 'c'));
  const r = await store.fsck();
  expect(r.problems).toHaveLength(1);
  expect(r.problems[0]).toMatchObject({ kind: 'layer', id: l.chainId, paths: ['added /extra', 'changed /etc/a', 'removed /c'] });
  const fixed = await store.fsck({ repair: true });
  expect(fixed.problems[0].repaired).toBe(true);
  expect(fs.readFileSync(path.join(diff, 'etc/a'), 'utf8')).toBe('a');
  expect((await store.fsck()).problems).toEqual([]);
  // a blob whose bytes no longer match its name
  const blob = store.paths.blob(l.digest);
  const b = fs.readFileSync(blob);
  b[10] ^= 1;
  fs.writeFileSync(blob, b);
  const bad = await store.fsck();
  expect(bad.problems.map((p) => p.kind)).toEqual(['blob']);
  expect(bad.problems[0].message).toContain(l.digest.slice(7));
});

test('removeLayer refuses a layer in use; gc frees what nothing references', async () => {
  const store = await LayerStore.open(path.join(work, 's'));
  const a = await store.importLayer(tarOf('a', { a: 'a' }));
  const b = await store.importLayer(tarOf('b', { b: 'b' }), { parent: a.chainId });
  const c = await store.createContainer(b.chainId, { driver: 'copy' });
  await expect(store.removeLayer(a.chainId)).rejects.toMatchObject({ code: 'LAYERFS_IN_USE' });
  await expect(store.removeLayer(b.chainId)).rejects.toMatchObject({ code: 'LAYERFS_IN_USE', users: [`container ${c.id}`] });
  const lone = await store.importLayer(tarOf('lone', { lone: '1' }));
  const stray = path.join(store.paths.blobsDir, 'f'.repeat(64));
  fs.writeFileSync(stray, 'stray');
  const g1 = await store.gc();
  expect(g1.blobs).toEqual(['sha256:' + 'f'.repeat(64)]);
  expect(g1.layers).toEqual([]);
  const g2 = await store.gc({ layers: true });
  expect(g2.layers).toEqual([lone.chainId]);
  expect(g2.blobs).toEqual([lone.digest]);
  expect(g2.bytes).toBeGreaterThan(0);
  expect(store.hasLayer(a.chainId) && store.hasLayer(b.chainId)).toBe(true);
  await c.remove();
  await store.removeLayer(b.chainId);
  await store.removeLayer(a.chainId);
  expect(await store.listLayers()).toEqual([]);
});

test('durable imports and commits publish complete layers', async () => {
  const store = await LayerStore.open(path.join(work, 's'));
  const l = await store.importLayer(tarOf('d', { a: 'a' }), { durable: true });
  const c = await store.createContainer(l.chainId, { driver: 'copy' });
  fs.writeFileSync(path.join(await c.mount(), 'b'), 'b');
  const m = await c.commit({ durable: true });
  expect(store.view(m.chainId).readFileSync('/b').toString()).toBe('b');
  expect((await store.fsck()).problems).toEqual([]);
  await c.remove();
});
