import type { StoreCore } from '../store/store-core';
import type { StoreContributor } from '../store/check';
import { listImagesSync } from './image-records';

/** What images add to fsck, gc and removeLayer: each record holds its chain and its layers' blobs. */
export function imageContributor(store: StoreCore): StoreContributor {
  return {
    users: () => listImagesSync(store).map((i) => ({ kind: 'image' as const, id: i.name, chain: i.chain, blobs: (i.layers ?? []).map((l) => l.digest) })),
  };
}
