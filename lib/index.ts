export { LayerStore } from './layer-store';
export * from './errors';
export * from './store/types';
export { defaultStoreDir } from './store/paths';
export { chainId, chainIds, parseDigest, sha256 } from './digest';
export { UnionView } from './view';
export type { ViewEntry, EntryType } from './view';
