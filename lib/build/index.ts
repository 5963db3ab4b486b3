export { buildLayer } from './build-layer';
export type { BuildLayerOptions, BuiltLayer } from './build-layer';
export { buildImage } from './build-image';
export type { BuildImageOptions, ImageConfigOptions } from './build-image';
export { selectFiles } from './select';
