import * as fs from 'fs';
import { parseImageRef } from '../image/ref';
import type { LayerStore } from '../layer-store';
import type { ImageConfig } from '../oci/image-config';
import { lazy } from '../lazy';

const openModule = lazy<typeof import('../image/open')>(() => require('../image/open'));
const storeImageModule = lazy<typeof import('../image/store-image')>(() => require('../image/store-image'));

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
  return (await imageOf(store, ref, onProgress))?.chain ?? null;
}

/** An image argument's chain and config (and its name, when it is an imported image), or null. */
export async function imageOf(store: LayerStore, ref: string, onProgress?: (p: { bytes: number; total?: number }) => void): Promise<{ chain: string; config: ImageConfig; name?: string } | null> {
  const imported = store.importedImage(ref);
  if (imported) return imported;
  if (mayBeImagePath(ref) && openModule().looksLikeImage(ref)) {
    return storeImageModule().importImageLayers(store, ref, { onProgress });
  }
  return null;
}
