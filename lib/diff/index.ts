export type { Change } from './types';
export { overlayChanges } from './overlay-changes';
export { writeManifestSync, manifestChanges } from './manifest';
export { diffTrees } from './trees';
export type { TreeInput } from './trees';
