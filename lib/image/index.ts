export * from './types';
export { openImage, parseImageRef, looksLikeImage } from './open';
export { writeImage } from './write';
export type { WriteImageOptions } from './write';
export { verifyingStream } from './verify';
export { importImage, getImageSync, hasImage, listImagesSync, exportChainImage } from './store-image';
export type { ImageRecord, ImportImageOptions, ExportImageOptions } from './store-image';
export { analyzeLayers } from './efficiency';
export type { EfficiencyReport, LayerStats, Inefficiency } from './efficiency';
