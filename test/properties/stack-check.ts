import type { LayerSpec } from './layer-gen';
import { referencePrefixes } from './reference';
import { features, FeatureName } from './run-config';
import { FORMATS, canOverlay, caseDir, containerTree, importStack, isRoot, removeCase, writeLayerTars } from './stores';
import { diffTrees } from '../../lib/diff';
import { expectSameTree, fromSurrogateEscape, readViewTree, refToSeen, withoutPhantoms, SeenTree } from './tree-model';
import { diffDisagreements } from './true-diff';

/**
 * The stacks property for one chain: `layers` written as tars, imported into a fresh store of
 * each whiteout format; for every prefix, the UnionView equals the reference merge, and a copy
 * container and (overlay format, as root) an overlay mount equal the UnionView. Throws on the
 * first disagreement, saying where. Also: the tree-vs-tree diff of each prefix against the one
 * below it is the true difference of their trees.
 */
export async function checkStack(work: string, layers: LayerSpec[], on: Partial<Record<FeatureName, boolean>> = features): Promise<void> {
  const typeOnly = new Set(on.root ? [] : ['/']);
  const dir = caseDir(work);
  try {
    const tars = writeLayerTars(dir, layers, on);
    const refs = referencePrefixes(layers);
    for (const fmt of FORMATS) {
      const { store, chain } = await importStack(dir, fmt, tars);
      let below: SeenTree | null = null;
      for (const [i, top] of chain.entries()) {
        const where = `${fmt} store, layers 0..${i}`;
        const view = readViewTree(store.view(top));
        if (below) {
          const changes = diffTrees(store.view(chain[i - 1]), store.view(top), { mtime: true }).map((c) => ({ ...c, path: fromSurrogateEscape(c.path) }));
          const wrong = diffDisagreements(changes, below, view, typeOnly);
          if (wrong.length) throw new Error(`${where}: diffTrees against layers 0..${i - 1} is not the true difference:\n  ${wrong.join('\n  ')}`);
        }
        below = view;
        expectSameTree(`${where}: the UnionView differs from the reference merge`, view, refToSeen(refs[i], { owners: isRoot }), { typeOnly });
        expectSameTree(`${where}: a copy container differs from the UnionView`, await containerTree(store, top, 'copy'), view);
        if (fmt !== 'oci' && canOverlay) {
          const mounted = await containerTree(store, top, 'overlay');
          expectSameTree(`${where}: an overlay mount differs from the UnionView`, on.strictOverlayListing ? mounted : withoutPhantoms(mounted), view);
        }
      }
    }
  } finally {
    removeCase(dir);
  }
}
