export { StoreCore, refOf } from './store-core';
export type { StoreConfig, ImportLayerOptions, OpenOptions } from './store-core';
export { StorePaths, defaultStoreDir } from './paths';
export * from './types';
