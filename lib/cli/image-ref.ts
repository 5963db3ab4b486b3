import * as fs from 'fs';
import { parseImageRef } from '../image/ref';
import type { LayerStore } from '../layer-store';
import type { ResolvedTree } from './tree-ref';

/**
 * Whether `ref` can name an image file or directory at all: an image path must exist, and
 * checking that is a few stat calls, while deciding what it holds needs the image code.
 */
function mayBeImagePath(ref: string): boolean {
  try {
    return fs.existsSync(parseImageRef(ref).path);
  } catch {
    return false;
  }
}

/**
 * An image argument: the name of an imported image, or a layout/archive path, whose layers are
 * imported on the way with no image record (a record would claim a name the user never gave).
 */
export async function imageChain(store: LayerStore, ref: string, onProgress?: (p: { bytes: number; total?: number }) => void): Promise<string | null> {
  const imported = store.importedImage(ref);
  if (imported) return imported.chain;
  if (mayBeImagePath(ref) && (require('../image/open') as typeof import('../image/open')).looksLikeImage(ref)) {
    return (await (require('../image/store-image') as typeof import('../image/store-image')).importImageLayers(store, ref, { onProgress })).chain;
  }
  return null;
}

/** Image arguments for `diff`: the flattened image. */
export const imageTreeResolvers: Array<(s: LayerStore, r: string) => Promise<ResolvedTree | null>> = [
  async (store, ref) => {
    const chain = await imageChain(store, ref);
    if (chain === null) return null;
    const { UnionView } = require('../view') as typeof import('../view');
    return { input: new UnionView(store.layerDirs(chain), store.whiteout), kind: 'image', cleanup: async () => undefined };
  },
];
