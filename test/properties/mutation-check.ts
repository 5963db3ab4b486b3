import * as path from 'path';
import { LayerStore } from '../../lib/layer-store';
import type { DriverName } from '../../lib/container/types';
import type { LayerSpec } from './layer-gen';
import { applyMutation, Mutation } from './mutation-gen';
import { features, FeatureName } from './run-config';
import { caseDir, containerTree, importStack, isRoot, removeCase, writeLayerTars } from './stores';
import { referencePrefixes } from './reference';
import { diffDisagreements } from './true-diff';
import { expectSameTree, readDirTree, refToSeen, withoutPhantoms } from './tree-model';

/**
 * The mutations property for one case: a container of `driver` on the chain of `base` (overlay
 * driver: an overlay-format store; copy: an oci-format one), edited by `mutations` while
 * mounted. Its diff must be the true difference of the trees before and after, read in full;
 * and the container committed and exported as an image, imported into a fresh store and mounted
 * again, must show the edited tree. Throws on the first disagreement, saying what was done.
 */
export async function checkMutations(work: string, driver: DriverName, base: LayerSpec[], mutations: Mutation[], on: Partial<Record<FeatureName, boolean>> = features): Promise<void> {
  const dir = caseDir(work);
  const fmt = driver === 'overlay' ? 'overlay' : 'oci';
  const read = (root: string) => (on.strictOverlayListing ? readDirTree(root) : withoutPhantoms(readDirTree(root)));
  try {
    const { store, chain } = await importStack(dir, fmt, writeLayerTars(dir, base, on));
    const c = await store.createContainer(chain[chain.length - 1], { driver });
    const root = await c.mount();
    const before = read(root);
    const ref = referencePrefixes(base);
    const rootTypeOnly = new Set(on.root ? [] : ['/']);
    expectSameTree(`${driver} driver: the mounted container, before any edit, differs from the reference merge`, before, refToSeen(ref[ref.length - 1], { owners: isRoot }), { typeOnly: rootTypeOnly });
    const done = mutations.map((m) => applyMutation(root, m)).filter((d): d is string => d !== null);
    const after = read(root);
    const what = `${driver} driver, after:\n    ${done.join('\n    ') || '(nothing)'}\n`;
    const wrong = diffDisagreements(await c.diff(), before, after);
    if (wrong.length) throw new Error(`${what}the diff is not the true difference:\n  ${wrong.join('\n  ')}`);

    const image = path.join(dir, 'image');
    const exported = store.exportImage(c, { to: image, format: 'oci', tag: 'p', created: '2020-01-01T00:00:00Z' });
    // a name that spells a whiteout would mean a deletion to every reader of the layer: refused, naming it (its .wh. name: the message shows the path as lib/names spells bytes)
    const whiteoutNamed = [...after.keys()].filter((p) => p.slice(p.lastIndexOf('/') + 1).startsWith('.wh.'));
    if (whiteoutNamed.length) {
      const e = await exported.then(
        () => null,
        (err: Error & { code?: string }) => err,
      );
      await c.remove();
      if (!e) throw new Error(`${what}the commit packed ${whiteoutNamed.join(', ')} (a whiteout to every reader) instead of refusing`);
      if (!/^LAYERFS_/.test(e.code ?? '') || !whiteoutNamed.some((p) => e.message.includes(p.slice(p.lastIndexOf('/') + 1)))) throw new Error(`${what}the commit was refused, but not with a layerfs error naming the path: ${e.code}: ${e.message}`);
      return;
    }
    await exported;
    await c.remove();
    const fresh = await LayerStore.open(path.join(dir, 'fresh'), { whiteout: fmt });
    const img = await fresh.importImage(`${image}:p`);
    const again = await containerTree(fresh, img.chain, driver);
    // directories' mtimes moved with their children in the container; a commit need not keep that
    expectSameTree(`${what}committed, exported, imported into a fresh store and mounted, the tree differs from the edited one`, on.strictOverlayListing ? again : withoutPhantoms(again), after, {
      dirMtimes: false,
      typeOnly: new Set(on.root && on.rootChange ? [] : ['/']),
    });
  } finally {
    removeCase(dir);
  }
}
