export { LayerCore } from './layer-core';
export type { ImportLayerOptions } from './import-layer';
