export { Registry, nextLink, referrersTag } from './registry';
export { parseReference, formatReference, familiarReference, referenceTarget, checkRepository, DOCKER_HUB, DOCKER_HUB_REGISTRY } from './reference';
export type { Reference } from './reference';
export type { BlobOpener } from './upload';
export * from './types';
