import * as fs from 'fs';
import * as path from 'path';
import { execFileSync } from 'child_process';
import { LayerStore } from '../../lib/layer-store';
import type { DriverName } from '../../lib/container/types';
import { diffSnapshots, snapshotTree } from '../fixtures/tree';
import { makeTempDir } from '../fixtures/tmp';
import { unmet } from '../fixtures/peers';
import { buildUmociFixture, UMOCI_PATHS as P } from '../fixtures/umoci';
import { applyScript, hasAddon, importChain, isRoot, removeWork, writeBaseTars } from '../diff/scripted';
import { addLayer, newLayout } from './oci-layout';

/**
 * The peer check: a committed layer, added as it is to an OCI image on the same lower layers,
 * is unpacked by umoci into the tree the container shows.
 */
const missing = unmet(['umoci', 'root', 'addon']);
if (missing.length) console.warn(`commit peer check skipped: ${missing.join('; ')}`);
const drivers: DriverName[] = ['overlay', 'copy'];
const describeIf = missing.length ? describe.skip : describe;

/** The tree as a tar can carry it: the root's own record left out. */
const snapshot = (t: string) => snapshotTree(t, { ignore: (p) => p === '/' });
const rawUnpack = (layout: string, tag: string, dest: string) => execFileSync('umoci', ['raw', 'unpack', '--image', `${layout}:${tag}`, dest], { stdio: ['ignore', 'pipe', 'pipe'] });

describeIf.each(drivers)('a committed layer unpacked by umoci (%s driver)', (driver) => {
  let work: string;
  beforeAll(() => {
    work = makeTempDir(`commit-umoci-${driver}`);
  });
  afterAll(() => removeWork(work));

  test('on the scripted chain, with the scripted change', async () => {
    const store = await LayerStore.open(path.join(work, 'store'));
    const tars = await writeBaseTars(work);
    const chain = await importChain(store, tars);
    const c = await store.createContainer(chain, { driver });
    const root = await c.mount();
    applyScript(root);
    const ref = await c.commit({ compression: 'gzip' });

    const layout = path.join(work, 'layout');
    newLayout(layout);
    let from: string | null = null;
    for (const [i, tar] of tars.entries()) {
      const l = store.getLayerSync(store.chainSync(chain)[i].chainId);
      addLayer(layout, from, { file: tar, diffId: l.diffId, mediaType: l.mediaType }, `l${i + 1}`);
      from = `l${i + 1}`;
    }
    addLayer(layout, from, { file: store.paths.blob(ref.digest), diffId: ref.diffId, mediaType: ref.mediaType }, 'committed');
    const dest = path.join(work, 'unpacked');
    rawUnpack(layout, 'committed', dest);
    expect(diffSnapshots(snapshot(dest), snapshot(root))).toEqual([]);
    await c.remove();
  });

  test('on the umoci fixture image, changed where its layers are tricky', async () => {
    const fx = await buildUmociFixture();
    const store = await LayerStore.open(path.join(work, 'store-fx'));
    let chain: string | null = null;
    for (const [i, l] of fx.layers.entries()) chain = (await store.importLayer(l.blobPath, { parent: chain, expectDiffId: fx.diffIds[i] })).chainId;
    const c = await store.createContainer(chain, { driver });
    const root = await c.mount();
    const p = (x: string) => path.join(root, x);
    fs.appendFileSync(p(P.motd), 'more\n');
    fs.rmSync(p('/many/g3'), { recursive: true });
    fs.rmSync(p(P.opaqueDir), { recursive: true });
    fs.mkdirSync(p(P.opaqueDir));
    fs.writeFileSync(p(P.opaqueDir + '/again'), 'again\n');
    fs.linkSync(p(P.sh), p('/bin/dash'));
    fs.chmodSync(p(P.setuid), 0o755);
    fs.rmSync(p(P.privateFile));
    fs.writeFileSync(p(P.longName), 'longer name content\n');
    fs.rmSync(p(P.lnkRel));
    fs.symlinkSync('/nowhere', p(P.lnkRel));
    if (hasAddon) execFileSync('setfattr', ['-n', 'user.comment', '-v', 'again', p(P.xattr)]);
    fs.rmSync(p(P.deep));
    fs.mkdirSync(p(P.deep));
    fs.writeFileSync(p(P.deep + '/inside'), 'inside\n');
    const ref = await c.commit({ compression: 'gzip' });

    const layout = path.join(work, 'fx-layout');
    fs.cpSync(fx.layout, layout, { recursive: true });
    addLayer(layout, fx.tag, { file: store.paths.blob(ref.digest), diffId: ref.diffId, mediaType: ref.mediaType }, 'committed');
    const dest = path.join(work, 'fx-unpacked');
    rawUnpack(layout, 'committed', dest);
    expect(diffSnapshots(snapshot(dest), snapshot(root))).toEqual([]);
    await c.remove();
  }, 300_000);
});
