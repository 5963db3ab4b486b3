import { UnionView } from '../view';
import { hasImage, getImageSync, looksLikeImage } from '../image';
import type { LayerStore } from '../layer-store';
import type { ResolvedTree } from './tree-ref';

/** An image argument: the name of an imported image, or a layout/archive path (imported on the way). */
export async function imageChain(store: LayerStore, ref: string, onProgress?: (p: { bytes: number; total?: number }) => void): Promise<string | null> {
  if (hasImage(store, ref)) return getImageSync(store, ref).chain;
  if (looksLikeImage(ref)) return (await store.importImage(ref, { onProgress })).chain;
  return null;
}

/** Image arguments for `diff`: the flattened image. */
export const imageTreeResolvers: Array<(s: LayerStore, r: string) => Promise<ResolvedTree | null>> = [
  async (store, ref) => {
    const chain = await imageChain(store, ref);
    if (chain === null) return null;
    return { input: new UnionView(store.layerDirs(chain), store.whiteout), kind: 'image', cleanup: async () => undefined };
  },
];
