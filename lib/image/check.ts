import type { StoreCore } from '../store/store-core';
import type { StoreContributor } from '../store/check';
import { listImagesSync } from './image-records';

/** What images add to fsck, gc and removeLayer: each record holds its chain, its layers' blobs, and its manifest and config blobs where the store keeps them. */
export function imageContributor(store: StoreCore): StoreContributor {
  return {
    users: () => listImagesSync(store).map((i) => ({ kind: 'image' as const, id: i.name, chain: i.chain, blobs: [...(i.layers ?? []).map((l) => l.digest), i.manifestDigest, i.configDigest] })),
  };
}
