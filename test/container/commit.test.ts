import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { createHash } from 'crypto';
import * as zlib from 'zlib';
import { LayerStore } from '../../lib/layer-store';
import { commitContainer } from '../../lib/container/commit';
import { applyLayer } from '../../lib/tar/apply-in-worker';
import { whiteoutFormat } from '../../lib/whiteout';
import * as native from '../../lib/native';
import type { DriverName } from '../../lib/container/types';
import { diffSnapshots, snapshotTree } from '../fixtures/tree';
import { makeTempDir } from '../fixtures/tmp';
import { applyScript, hasAddon, importChain, isRoot, lines, removeWork, writeBaseTars } from '../diff/scripted';
import { listTar } from './tar-listing';
import { hasTool } from '../fixtures/peers';

const canOverlay = isRoot && hasAddon;
if (!canOverlay) console.warn('commit: the overlay driver tests are skipped: mounting needs root and the native addon');
const cases: Array<[DriverName, jest.Describe]> = [
  ['overlay', canOverlay ? describe : describe.skip],
  ['copy', describe],
];

const sha256 = (file: string) => 'sha256:' + createHash('sha256').update(fs.readFileSync(file)).digest('hex');
/** The tree as a tar can carry it: the root's own record left out. */
const snapshot = (t: Parameters<typeof snapshotTree>[0]) => snapshotTree(t, { ignore: (p) => p === '/' });

/** VFS_CAP_REVISION_2: cap_net_raw effective and permitted */
const CAPABILITY = '0100000200200000000000000000000000000000';

/** The scripted change, plus what only root may make: a file capability and a device node. */
function change(root: string): string[] {
  const expected = applyScript(root);
  if (isRoot && hasAddon) {
    fs.writeFileSync(path.join(root, 'cap-file'), 'cap\n');
    native.lsetxattrSync(path.join(root, 'cap-file'), 'security.capability', Buffer.from(CAPABILITY, 'hex'));
    native.mknodSync(path.join(root, 'null-dev'), fs.constants.S_IFCHR | 0o666, 1, 3);
    expected.push('A /cap-file', 'A /null-dev');
  }
  return expected;
}

describe.each(cases)('commit (%s driver)', (driver, describeIf) => {
  describeIf('of the scripted change', () => {
    let work: string;
    let tars: string[];
    let store: LayerStore;
    let chain: string;
    beforeAll(async () => {
      work = makeTempDir('commit');
      tars = await writeBaseTars(work);
      store = await LayerStore.open(path.join(work, 'store'));
      chain = await importChain(store, tars);
    });
    afterEach(async () => {
      for (const c of await store.listContainers()) await c.remove();
    });
    afterAll(() => removeWork(work));

    test('round trip: the layer, here and imported into a fresh store on the same chain, shows the merged tree', async () => {
      const c = await store.createContainer(chain, { driver });
      const root = await c.mount();
      const expected = change(root);
      expect(lines(await c.diff()).sort()).toEqual(expected.sort());
      const ref = await c.commit({ compression: 'gzip' });
      expect(ref.chainId).not.toBe(chain);
      expect(store.getLayerSync(ref.chainId)).toMatchObject({ parent: chain, diffId: ref.diffId, digest: ref.digest, mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip' });
      expect(sha256(store.paths.blob(ref.digest))).toBe(ref.digest);

      const merged = snapshot(root);
      // the layer's directory, taken from the container's files
      expect(diffSnapshots(snapshot(store.view(ref.chainId)), merged)).toEqual([]);
      // the tarball, imported on the same chain in another store
      const other = await LayerStore.open(path.join(work, `other-${driver}`));
      const again = await other.importLayer(store.paths.blob(ref.digest), { parent: await importChain(other, tars) });
      expect(again).toEqual(ref);
      expect(diffSnapshots(snapshot(other.view(again.chainId)), merged)).toEqual([]);
      // a container on the new layer starts with no changes
      const next = await store.createContainer(ref.chainId, { driver });
      await next.mount();
      expect(await next.diff()).toEqual([]);
    });

    test('the tarball: deletions as .wh. entries, opaque markers only over lower directories, hardlinks as links, no overlay xattrs', async () => {
      const c = await store.createContainer(chain, { driver });
      const root = await c.mount();
      change(root);
      // a name of this test's own: the change above, made in the same second as the test before
      // (a quiet machine), has that commit's DiffID, and a commit of a ChainID the store has returns
      // the store's layer (its gzip blob), not a new uncompressed one
      fs.writeFileSync(path.join(root, 'only-in-the-tarball-test'), 'x');
      const ref = await c.commit({ compression: 'none' });
      expect(ref.digest).toBe(ref.diffId);
      const list = await listTar(store.paths.blob(ref.digest));
      const names = list.map((e) => e.name);
      const by = new Map(list.map((e) => [e.name, e]));
      expect(names).toEqual(expect.arrayContaining(['etc/', 'etc/.wh.gone', 'var/', 'var/.wh.log', 'recreate/', 'recreate/.wh..wh..opq', 'recreate/sub/.wh..wh..opq', 'to-dir/', 'to-dir/x', 'new-dir/sub/f']));
      // the markers hide what is below them: no whiteouts under them; none where nothing lower was a directory
      for (const n of ['recreate/.wh.old', 'recreate/sub/.wh.deep', 'to-dir/.wh..wh..opq', 'from-dir/.wh.inner']) expect(names).not.toContain(n);
      // copied up and left as they were: not in the layer
      for (const n of ['moved', 'untouched', 'reverted', 'bin/', 'bin/sh']) expect(names).not.toContain(n);
      // the whole of a recreated directory, unchanged names included
      expect(names).toEqual(expect.arrayContaining(['recreate/fresh', 'recreate/kept-name', 'recreate/sub/']));
      expect(names.indexOf('recreate/.wh..wh..opq')).toBe(names.indexOf('recreate/') + 1);
      for (const w of names.filter((n) => n.includes('.wh.'))) expect(by.get(w)).toMatchObject({ type: 'file', mtime: 0, mode: 0o644, uid: 0, gid: 0 });
      // hardlinks: inside the change, and to a file of the chain (which is packed again)
      expect(by.get('etc/hosts')!.type).toBe('file');
      expect(by.get('hosts-link')).toMatchObject({ type: 'link', linkname: 'etc/hosts' });
      expect([by.get('hard')!.type, by.get('new-file')!.type].sort()).toEqual(['file', 'link']);
      const paxNames = list.flatMap((e) => Object.keys(e.pax));
      expect(paxNames.filter((k) => k.includes('overlay'))).toEqual([]);
      if (hasAddon) expect(Object.keys(by.get('xattr-me')!.pax)).toEqual(expect.arrayContaining(['SCHILY.xattr.user.base', 'SCHILY.xattr.user.flag']));
      if (isRoot && hasAddon) {
        expect(by.get('null-dev')).toMatchObject({ type: 'character-device', devmajor: 1, devminor: 3 });
        expect(by.get('chown-me')).toMatchObject({ uid: 1000, gid: 1000 });
        expect(Object.keys(by.get('cap-file')!.pax)).toContain('SCHILY.xattr.security.capability');
        // its bytes, as GNU tar extracts them (tar-stream reads a pax value as UTF-8, which these bytes are not)
        if (!hasTool('tar')) console.warn('commit: the capability bytes are not checked: GNU tar is missing (apt-get install tar)');
        else {
          const out = path.join(work, `cap-${driver}`);
          fs.mkdirSync(out);
          execFileSync('tar', ['--xattrs', '--xattrs-include=*', '-xpf', store.paths.blob(ref.digest), '-C', out, 'cap-file']);
          expect(native.lgetxattrSync(path.join(out, 'cap-file'), 'security.capability')?.toString('hex')).toBe(CAPABILITY);
        }
      }
    });

    test("the layer directory holds what the tarball holds, whiteouts in the store's format", async () => {
      const c = await store.createContainer(chain, { driver });
      change(await c.mount());
      const ref = await c.commit({ compression: 'none' });
      const applied = path.join(work, `applied-${driver}`);
      fs.mkdirSync(applied);
      await applyLayer(store.paths.blob(ref.digest), applied, { whiteout: store.whiteout });
      const diffDir = store.paths.layerDiff(ref.chainId);
      expect(diffSnapshots(snapshotTree(diffDir), snapshotTree(applied))).toEqual([]);
      const fmt = whiteoutFormat(store.whiteout);
      for (const d of ['recreate', 'recreate/sub', 'to-dir', 'etc', 'new-dir']) expect([d, fmt.isOpaqueSync(path.join(diffDir, d))]).toEqual([d, fmt.isOpaqueSync(path.join(applied, d))]);
      expect(fmt.isOpaqueSync(path.join(diffDir, 'recreate'))).toBe(true);
      expect(fmt.isOpaqueSync(path.join(diffDir, 'to-dir'))).toBe(false);
    });

    test('a larger change with no recreated directory: the layer directory still equals the tarball', async () => {
      const c = await store.createContainer(chain, { driver });
      const root = await c.mount();
      fs.mkdirSync(path.join(root, 'many'));
      for (let i = 0; i < 300; i++) fs.writeFileSync(path.join(root, 'many', `f${i}`), String(i));
      fs.linkSync(path.join(root, 'many/f1'), path.join(root, 'many/f1-link'));
      fs.rmSync(path.join(root, 'etc/gone'));
      const ref = await c.commit({ compression: 'none' });
      const applied = path.join(work, `applied-many-${driver}`);
      fs.mkdirSync(applied);
      await applyLayer(store.paths.blob(ref.digest), applied, { whiteout: store.whiteout });
      expect(diffSnapshots(snapshotTree(store.paths.layerDiff(ref.chainId)), snapshotTree(applied))).toEqual([]);
      expect(diffSnapshots(snapshot(store.view(ref.chainId)), snapshot(root))).toEqual([]);
    });

    test('the same state gives the same bytes; a commit of a layer the store has returns that layer, whose blob gc keeps; SOURCE_DATE_EPOCH clamps mtimes', async () => {
      const c = await store.createContainer(chain, { driver });
      const root = await c.mount();
      change(root);
      // a name of this test's own, as in the tarball test: the same change committed uncompressed by
      // an earlier test within the same second has this one's DiffID, and the store's layer would
      // then be that test's plain tarball
      fs.writeFileSync(path.join(root, 'only-in-the-same-state-test'), 'x');
      const a = await c.commit({ compression: 'gzip' });
      const blobA = fs.readFileSync(store.paths.blob(a.digest));
      const b = await c.commit({ compression: 'gzip' });
      expect(b).toEqual(a);
      // one ChainID, one layer: another compression asked for gives the layer the store holds,
      // not a blob that no record references (gc would delete that one)
      const plain = await c.commit({ compression: 'none' });
      const plain2 = await commitContainer(store, c.record, { compression: 'none', changes: await c.diff() });
      const z = await c.commit({ compression: 'zstd' });
      for (const r of [plain, plain2, z]) expect(r).toEqual(a);
      expect(a.mediaType).toBe('application/vnd.oci.image.layer.v1.tar+gzip');
      expect(sha256(store.paths.blob(a.digest))).toBe(a.digest);
      expect(fs.readFileSync(store.paths.blob(a.digest)).equals(blobA)).toBe(true);
      await store.gc();
      for (const r of [a, b, plain, plain2, z]) {
        const h = createHash('sha256');
        for await (const chunk of store.exportLayer(r.chainId)) h.update(chunk as Buffer);
        expect('sha256:' + h.digest('hex')).toBe(r.digest);
        expect(sha256(store.paths.blob(r.digest))).toBe(r.digest);
      }

      const clamped = await c.commit({ compression: 'none', sourceDateEpoch: 100 });
      expect(clamped.diffId).not.toBe(a.diffId);
      const list = await listTar(store.paths.blob(clamped.digest));
      for (const e of list) expect(e.mtime).toBeLessThanOrEqual(100);
      expect(list.find((e) => e.name === 'new-file')!.mtime).toBe(100);
      expect(Math.floor(fs.lstatSync(path.join(store.paths.layerDiff(clamped.chainId), 'new-file')).mtimeMs / 1000)).toBe(100);
    });

    test('no compression asked: the blob is the tar (deferred); an export compresses it once, gc keeps that blob, fsck checks it', async () => {
      const c = await store.createContainer(chain, { driver });
      const root = await c.mount();
      change(root);
      fs.writeFileSync(path.join(root, 'only-in-the-deferred-test'), 'd');
      const ref = await c.commit();
      const rec = store.getLayerSync(ref.chainId);
      expect(rec).toMatchObject({ deferred: true, compression: 'none', digest: ref.diffId, mediaType: 'application/vnd.oci.image.layer.v1.tar' });
      expect(sha256(store.paths.blob(ref.digest))).toBe(ref.diffId);
      // exportLayer gives the tar: the bytes the DiffID names
      const h = createHash('sha256');
      for await (const chunk of store.exportLayer(ref.chainId)) h.update(chunk as Buffer);
      expect('sha256:' + h.digest('hex')).toBe(ref.diffId);
      // the form an image export or push sends: gzip of those very bytes, made once and kept
      const gz = await store.exportedLayer(ref.chainId);
      expect(gz).toMatchObject({ chainId: ref.chainId, diffId: ref.diffId, compression: 'gzip', mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip' });
      expect(gz.digest).not.toBe(ref.digest);
      const gzBlob = store.paths.blob(gz.digest);
      expect(sha256(gzBlob)).toBe(gz.digest);
      expect(fs.statSync(gzBlob).size).toBe(gz.size);
      expect('sha256:' + createHash('sha256').update(zlib.gunzipSync(fs.readFileSync(gzBlob))).digest('hex')).toBe(ref.diffId);
      const made = fs.statSync(gzBlob).mtimeMs;
      expect(await store.exportedLayer(ref.chainId)).toEqual(gz);
      expect(fs.statSync(gzBlob).mtimeMs).toBe(made);
      // asked for none, or of a layer whose compression was asked: the record as it is
      expect(await store.exportedLayer(ref.chainId, 'none')).toEqual(rec);
      // gc keeps both blobs (the layer's, and its compressed form); fsck finds nothing wrong
      await store.gc();
      expect(fs.existsSync(store.paths.blob(ref.digest))).toBe(true);
      expect(fs.existsSync(gzBlob)).toBe(true);
      expect((await store.fsck()).problems.filter((p) => p.id === ref.chainId || p.id === gz.digest)).toEqual([]);
      // a compressed blob gone (deleted by hand) is made again
      fs.rmSync(gzBlob);
      expect(await store.exportedLayer(ref.chainId)).toEqual(gz);
      expect(sha256(gzBlob)).toBe(gz.digest);
    });

    test('a commit of no changes is an empty layer; a failed commit leaves nothing behind', async () => {
      const c = await store.createContainer(chain, { driver });
      await c.mount();
      const empty = await c.commit({ compression: 'none' });
      expect(await listTar(store.paths.blob(empty.digest))).toEqual([]);
      expect(fs.readdirSync(store.paths.layerDiff(empty.chainId))).toEqual([]);
      // on no layers at all: a base layer
      const bare = await store.createContainer(null, { driver });
      fs.writeFileSync(path.join(await bare.mount(), 'only'), 'o');
      const baseRef = await bare.commit({ compression: 'none' });
      expect(store.getLayerSync(baseRef.chainId).parent).toBeNull();
      expect(baseRef.chainId).toBe(baseRef.diffId);
      expect((await listTar(store.paths.blob(baseRef.digest))).map((e) => e.name)).toEqual(['only']);
      const before = fs.readdirSync(store.paths.layersDir).sort();
      const gone = { kind: 'A' as const, path: '/nowhere', type: 'file' as const, size: 0, mode: 0o644, uid: 0, gid: 0, mtime: 0, source: path.join(work, 'nowhere') };
      // a change whose file is gone: the container changed since its diff
      await expect(commitContainer(store, c.record, { changes: [gone] })).rejects.toMatchObject({ code: 'LAYERFS_CHANGED_MEANWHILE', message: expect.stringContaining('"nowhere": it is gone') });
      expect(fs.readdirSync(store.paths.layersDir).sort()).toEqual(before);
      expect(fs.readdirSync(store.paths.tmpDir)).toEqual([]);
      const aborted = new AbortController();
      aborted.abort();
      await expect(c.commit({ signal: aborted.signal })).rejects.toMatchObject({ code: 'LAYERFS_ABORTED' });
      expect(fs.readdirSync(store.paths.tmpDir)).toEqual([]);
    });
  });
});

(canOverlay ? describe : describe.skip)('commit across drivers', () => {
  let work: string;
  afterAll(() => removeWork(work));

  test('overlay and copy containers with the same changes commit the same bytes (mtimes clamped)', async () => {
    work = makeTempDir('commit-drivers');
    const store = await LayerStore.open(path.join(work, 'store'));
    const chain = await importChain(store, await writeBaseTars(work));
    const epoch = Math.floor(Date.parse('2022-01-01T00:00:00Z') / 1000);
    const refs = [];
    for (const driver of ['overlay', 'copy'] as const) {
      const c = await store.createContainer(chain, { driver });
      change(await c.mount());
      refs.push(await c.commit({ compression: 'gzip', sourceDateEpoch: epoch }));
      await c.remove();
    }
    expect(refs[1]).toEqual(refs[0]);
  });
});
