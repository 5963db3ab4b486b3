import * as fs from 'fs';
import * as path from 'path';
import { createHash } from 'crypto';
import { spawn } from 'child_process';
import { LayerStore } from '../../lib/layer-store';
import { diffSnapshots, snapshotTree } from '../fixtures/tree';
import { makeTempDir } from '../fixtures/tmp';
import { applyScript, hasAddon, importChain, isRoot, lines, removeWork, writeBaseTars } from '../diff/scripted';

const canOverlay = isRoot && hasAddon;
if (!canOverlay) console.warn('commit-flip: skipped: the overlay driver needs root and the native addon');
const describeIf = canOverlay ? describe : describe.skip;

const sha256 = (file: string) => 'sha256:' + createHash('sha256').update(fs.readFileSync(file)).digest('hex');
const snapshot = (t: Parameters<typeof snapshotTree>[0]) => snapshotTree(t, { ignore: (p) => p === '/' });

describeIf('commit by flip (overlay driver, overlay whiteouts, no compression asked)', () => {
  let work: string;
  let tars: string[];
  let store: LayerStore;
  let chain: string;
  beforeAll(async () => {
    work = makeTempDir('commit-flip');
    tars = await writeBaseTars(work);
    store = await LayerStore.open(path.join(work, 'store'));
    chain = await importChain(store, tars);
  });
  afterEach(async () => {
    for (const c of await store.listContainers()) await c.remove();
  });
  afterAll(() => removeWork(work));

  test('the upper directory becomes the layer: the container is rebased on it, mounted again, with nothing changed; the tar gives the same tree', async () => {
    expect(store.whiteout).toBe('overlay');
    const c = await store.createContainer(chain, { driver: 'overlay' });
    const root = await c.mount();
    const expected = applyScript(root);
    expect(lines(await c.diff()).sort()).toEqual(expected.sort());
    const merged = snapshot(root);
    const ref = await c.commit();
    expect(store.getLayerSync(ref.chainId)).toMatchObject({ parent: chain, deferred: true, compression: 'none', digest: ref.diffId });
    expect(sha256(store.paths.blob(ref.digest))).toBe(ref.diffId);
    // rebased: on the new layer, mounted, the same tree, no changes
    expect(c.chain).toBe(ref.chainId);
    expect(c.isMounted()).toBe(true);
    expect(await c.diff()).toEqual([]);
    expect(diffSnapshots(snapshot(root), merged)).toEqual([]);
    expect(diffSnapshots(snapshot(store.view(ref.chainId)), merged)).toEqual([]);
    // the tar, applied on the chain, gives the same tree
    const other = await LayerStore.open(path.join(work, 'other'));
    const again = await other.importLayer(store.paths.blob(ref.digest), { parent: await importChain(other, tars) });
    expect(again.chainId).toBe(ref.chainId);
    expect(diffSnapshots(snapshot(other.view(again.chainId)), merged)).toEqual([]);
    // fsck: the layer matches its content index
    expect((await store.fsck()).problems).toEqual([]);
    // nothing changed since: the same layer; a new change: a layer on top
    expect(await c.commit()).toEqual(ref);
    fs.writeFileSync(path.join(root, 'after-flip'), 'next\n');
    const next = await c.commit();
    expect(store.getLayerSync(next.chainId).parent).toBe(ref.chainId);
    expect(c.chain).toBe(next.chainId);
    // an export gives the tar, push and image export its gzip form
    const h = createHash('sha256');
    for await (const chunk of store.exportLayer(next.chainId)) h.update(chunk as Buffer);
    expect('sha256:' + h.digest('hex')).toBe(next.diffId);
  });

  test('a container not mounted is flipped and stays unmounted; a busy mount is committed by copying and keeps its chain', async () => {
    const a = await store.createContainer(chain, { driver: 'overlay' });
    fs.writeFileSync(path.join(await a.mount(), 'unmounted'), 'u\n');
    await a.unmount();
    const ra = await a.commit();
    expect(a.chain).toBe(ra.chainId);
    expect(a.isMounted()).toBe(false);
    expect(fs.readFileSync(path.join(store.paths.layerDiff(ra.chainId), 'unmounted'), 'utf8')).toBe('u\n');

    const b = await store.createContainer(chain, { driver: 'overlay' });
    const root = await b.mount();
    fs.writeFileSync(path.join(root, 'busy'), 'b\n');
    // a process whose working directory is in the mount: it cannot be unmounted
    const holder = spawn('sleep', ['30'], { cwd: root, stdio: 'ignore' });
    try {
      await new Promise((r) => setTimeout(r, 200));
      const rb = await b.commit();
      expect(b.chain).toBe(chain);
      expect(b.isMounted()).toBe(true);
      expect(lines(await b.diff())).toEqual(['A /busy']);
      expect(fs.readFileSync(path.join(store.paths.layerDiff(rb.chainId), 'busy'), 'utf8')).toBe('b\n');
      // and the copy's layer is the flip's would have been: a commit again gives it
      expect(await b.commit()).toEqual(rb);
    } finally {
      holder.kill();
    }
  });

  test('a compression asked for commits by copying: the container keeps its chain and its changes', async () => {
    const c = await store.createContainer(chain, { driver: 'overlay' });
    fs.writeFileSync(path.join(await c.mount(), 'gz'), 'g\n');
    const r = await c.commit({ compression: 'gzip' });
    expect(c.chain).toBe(chain);
    expect(lines(await c.diff())).toEqual(['A /gz']);
    expect(r.mediaType).toBe('application/vnd.oci.image.layer.v1.tar+gzip');
  });

  /*
   * A crash in the middle of a flip, left as the dead process would leave it: its note in tmp/
   * under a pid that is gone, the container's upper directory moved into the staging (not yet
   * published), or the layer published and the container's record not yet rebased.
   */
  const deadName = (kind: string) => `999999999.1.${kind}-0123456789ab`;
  const writeIntent = (intent: object) => fs.writeFileSync(path.join(store.paths.tmpDir, deadName('flip') + '.json'), JSON.stringify(intent));

  test('a crash after the upper directory moved into the staging: the next open gives the container its changes back', async () => {
    const c = await store.createContainer(chain, { driver: 'overlay' });
    fs.writeFileSync(path.join(await c.mount(), 'moved-away'), 'm\n');
    await c.unmount();
    const staging = path.join(store.paths.tmpDir, deadName('commit'));
    fs.mkdirSync(staging);
    fs.renameSync(store.paths.containerUpper(c.id), path.join(staging, 'diff'));
    writeIntent({ container: c.id, from: chain, chain: 'sha256:' + '0'.repeat(64), staging });
    const reopened = await LayerStore.open(store.root);
    const again = await reopened.getContainer(c.id);
    expect(again.chain).toBe(chain);
    await again.mount();
    expect(lines(await again.diff())).toEqual(['A /moved-away']);
    expect(fs.readdirSync(reopened.paths.tmpDir)).toEqual([]);
  });

  test('a crash after the layer was published, before the container was rebased: the next open rebases it on that layer', async () => {
    const c = await store.createContainer(chain, { driver: 'overlay' });
    const root = await c.mount();
    fs.writeFileSync(path.join(root, 'published'), 'p\n');
    const merged = snapshot(root);
    const ref = await c.commit();
    await c.unmount();
    // back to how the record and the upper were just after the publish
    const recordFile = store.paths.containerRecord(c.id);
    fs.writeFileSync(recordFile, JSON.stringify({ ...JSON.parse(fs.readFileSync(recordFile, 'utf8')), chain, committed: undefined }));
    fs.rmSync(store.paths.containerUpper(c.id), { recursive: true });
    writeIntent({ container: c.id, from: chain, chain: ref.chainId, staging: path.join(store.paths.tmpDir, deadName('commit')) });
    const reopened = await LayerStore.open(store.root);
    const again = await reopened.getContainer(c.id);
    expect(again.chain).toBe(ref.chainId);
    const r2 = await again.mount();
    expect(await again.diff()).toEqual([]);
    expect(diffSnapshots(snapshot(r2), merged)).toEqual([]);
    expect(fs.readdirSync(reopened.paths.tmpDir)).toEqual([]);
  });
});
