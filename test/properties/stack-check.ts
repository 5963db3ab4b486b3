import type { LayerSpec } from './layer-gen';
import { referencePrefixes } from './reference';
import { features, FeatureName } from './run-config';
import { FORMATS, canOverlay, caseDir, containerTree, importStack, isRoot, removeCase, writeLayerTars } from './stores';
import { expectSameTree, readViewTree, refToSeen, withoutPhantoms } from './tree-model';

/**
 * The stacks property for one chain: `layers` written as tars, imported into a fresh store of
 * each whiteout format; for every prefix, the UnionView equals the reference merge, and a copy
 * container and (overlay format, as root) an overlay mount equal the UnionView. Throws on the
 * first disagreement, saying where.
 */
export async function checkStack(work: string, layers: LayerSpec[], on: Partial<Record<FeatureName, boolean>> = features): Promise<void> {
  const typeOnly = new Set(on.root ? [] : ['/']);
  const dir = caseDir(work);
  try {
    const tars = writeLayerTars(dir, layers, on);
    const refs = referencePrefixes(layers);
    for (const fmt of FORMATS) {
      const { store, chain } = await importStack(dir, fmt, tars);
      for (const [i, top] of chain.entries()) {
        const where = `${fmt} store, layers 0..${i}`;
        const view = readViewTree(store.view(top));
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
