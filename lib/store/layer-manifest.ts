/**
 * The old name of content-index.ts, kept only for lib/container/commit-job.ts (the commit worker,
 * being reworked); remove this file when that import moves to './content-index'.
 */
export { writeContentIndexSync as writeLayerManifestSync } from './content-index';
