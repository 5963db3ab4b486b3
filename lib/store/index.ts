export { StoreCore, refOf } from './store-core';
export type { StoreConfig, OpenOptions } from './store-core';
export { StorePaths, defaultStoreDir } from './paths';
export * from './types';
