import * as fs from 'fs';
import * as path from 'path';
import { LayerStore } from '../../lib/layer-store';
import { describeIf } from '../fixtures/peers';
import { useTempDir } from '../fixtures/tmp';
import { fileImage, HandLayout } from './image-forms';

/**
 * Image records (issue 19, "Image records"): a default name that cannot collide, no record
 * replaced unless asked, image removal and tags, and a failed record write that leaves nothing.
 */
describeIf(['tar'])('image records', () => {
  const tmp = useTempDir('image-records');
  let n = 0;
  /** A layout holding one image of `files` under the tag `latest`, as umoci and Docker 25+ tag it. */
  const layout = (files: Record<string, string>) => {
    const l = new HandLayout(path.join(tmp(), `layout-${n++}`));
    return { dir: l.dir, ...fileImage(l, files, 'latest') };
  };
  const open = () => LayerStore.open(path.join(tmp(), `store-${n++}`));

  test('unnamed imports are named by their manifest digest: two layouts both tagged latest give two images', async () => {
    const store = await open();
    const a = layout({ a: 'a' });
    const b = layout({ b: 'b' });
    const ra = await store.importImage(a.dir);
    const rb = await store.importImage(b.dir);
    expect(ra).toMatchObject({ name: a.digest, tag: 'latest', manifestDigest: a.digest });
    expect(rb).toMatchObject({ name: b.digest, tag: 'latest' });
    expect((await store.listImages()).map((i) => i.name).sort()).toEqual([a.digest, b.digest].sort());
    // the same image again is the same record, kept as it was
    expect(await store.importImage(`${a.dir}:latest`)).toEqual(ra);
    // and the name resolves, though it looks like a digest
    expect(store.resolveChain(a.digest)).toBe(ra.chain);
    const c = await store.createContainer(a.digest, { driver: 'copy' });
    expect(c.chain).toBe(ra.chain);
    await c.remove();
  });

  test('a name that holds another image: LAYERFS_EXISTS before any layer is read; its layers survive gc --layers; replace when asked', async () => {
    const store = await open();
    const a = layout({ a: 'a' });
    const b = layout({ b: 'b' });
    const ra = await store.importImage(a.dir, { name: 'app' });
    const e = await store.importImage(b.dir, { name: 'app' }).catch((x) => x);
    expect(e).toMatchObject({ code: 'LAYERFS_EXISTS' });
    expect(e.message).toContain('"app"');
    expect(e.message).toContain(a.digest);
    expect(store.hasLayer(b.diffId)).toBe(false);
    expect(await store.getImage('app')).toEqual(ra);
    await store.gc({ layers: true });
    expect(store.hasLayer(ra.chain)).toBe(true);
    // the same image under its own name is no conflict
    expect(await store.importImage(a.dir, { name: 'app' })).toEqual(ra);
    const rb = await store.importImage(b.dir, { name: 'app', replace: true });
    expect((await store.getImage('app')).manifestDigest).toBe(b.digest);
    expect(rb.manifestDigest).toBe(b.digest);
    await expect(store.importImage(a.dir, { name: '' })).rejects.toMatchObject({ code: 'LAYERFS_INVALID_ARGUMENT' });
  });

  test('two imports racing for one name: one record, the other LAYERFS_EXISTS', async () => {
    const store = await open();
    const a = layout({ a: 'a' });
    const b = layout({ b: 'b' });
    const r = await Promise.allSettled([store.importImage(a.dir, { name: 'x' }), store.importImage(b.dir, { name: 'x' })]);
    const won = r.filter((x) => x.status === 'fulfilled');
    const lost = r.filter((x): x is PromiseRejectedResult => x.status === 'rejected');
    expect(won).toHaveLength(1);
    expect(lost.map((x) => x.reason.code)).toEqual(['LAYERFS_EXISTS']);
    expect((await store.getImage('x')).manifestDigest).toBe((won[0] as PromiseFulfilledResult<{ manifestDigest: string }>).value.manifestDigest);
  });

  test('removeImage takes the record and leaves the layers until gc --layers; tagImage gives a second name, never over another image', async () => {
    const store = await open();
    const a = layout({ a: 'a' });
    const b = layout({ b: 'b' });
    const ra = await store.importImage(a.dir, { name: 'app' });
    await store.importImage(b.dir, { name: 'other' });
    expect(await store.tagImage('app', 'app:v1')).toMatchObject({ name: 'app:v1', chain: ra.chain, manifestDigest: a.digest });
    expect(await store.tagImage('app', 'app:v1')).toMatchObject({ name: 'app:v1' });
    await expect(store.tagImage('app', 'other')).rejects.toMatchObject({ code: 'LAYERFS_EXISTS' });
    await expect(store.tagImage('nope', 'x')).rejects.toMatchObject({ code: 'LAYERFS_NOT_FOUND' });
    expect((await store.getImage('other')).manifestDigest).toBe(b.digest);
    expect((await store.removeImage('app')).name).toBe('app');
    await expect(store.getImage('app')).rejects.toMatchObject({ code: 'LAYERFS_NOT_FOUND' });
    await expect(store.removeImage('app')).rejects.toMatchObject({ code: 'LAYERFS_NOT_FOUND' });
    expect(store.hasLayer(ra.chain)).toBe(true);
    await store.gc({ layers: true });
    expect(store.hasLayer(ra.chain)).toBe(true); // app:v1 still reaches it
    await store.removeImage('app:v1');
    expect(store.hasLayer(ra.chain)).toBe(true);
    const g = await store.gc({ layers: true });
    expect(g.layers).toEqual([ra.chain]);
    expect(store.hasLayer(ra.chain)).toBe(false);
    expect((await store.listImages()).map((i) => i.name)).toEqual(['other']);
  });

  test('temporaries a failed or killed record write left: ignored by listings and gc, reported by fsck, removed by fsck --repair and gc', async () => {
    const store = await open();
    const a = layout({ a: 'a' });
    await store.importImage(a.dir, { name: 'app' });
    // a writer that is gone (no such pid), in the form of today and of before
    const stale = ['.app.json.999999999.1.rec-0123456789ab.tmp', '.b.json.999999998.1733000000000.tmp'];
    for (const t of stale) fs.writeFileSync(path.join(store.paths.imagesDir, t), '{"name": "b", "cha');
    // one being written now by this process is left alone
    const live = `.c.json.${process.pid}.1733000000000.tmp`;
    fs.writeFileSync(path.join(store.paths.imagesDir, live), '{');
    expect((await store.listImages()).map((i) => i.name)).toEqual(['app']);
    const report = await store.fsck();
    expect(report.problems.filter((p) => p.kind === 'temporary').map((p) => p.id).sort()).toEqual(stale.map((t) => `images/${t}`).sort());
    expect(fs.readdirSync(store.paths.imagesDir)).toHaveLength(4);
    const repaired = await store.fsck({ repair: true });
    expect(repaired.problems.filter((p) => p.kind === 'temporary').map((p) => [p.id, p.repaired]).sort()).toEqual(stale.map((t) => [`images/${t}`, true]).sort());
    expect(fs.readdirSync(store.paths.imagesDir).sort()).toEqual([live, 'app.json'].sort());
    for (const t of stale) fs.writeFileSync(path.join(store.paths.imagesDir, t), '{');
    await store.gc({ layers: true });
    expect(fs.readdirSync(store.paths.imagesDir).sort()).toEqual([live, 'app.json'].sort());
    expect(store.hasLayer((await store.getImage('app')).chain)).toBe(true);
  });
});
