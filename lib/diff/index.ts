/**
 * Change sets, every source giving the same sorted `Change` records: an overlay upperdir walked
 * against the lower chain (cost follows the change), a copy walked against its stat snapshot,
 * and tree against tree (directories or chains). The `...Async` forms keep big walks off the
 * main thread.
 */
export type { Change, ChangedAspect, TreeInput, DiffTreesOptions, AsyncDiffOptions } from './types';
export { overlayChanges } from './overlay-changes';
export type { OverlayChangesOptions } from './overlay-changes';
export { writeStatSnapshotSync, snapshotChanges } from './stat-snapshot';
export { diffTrees } from './trees';
export { overlayChangesAsync, snapshotChangesAsync, diffTreesAsync } from './async';
export { compareTreePaths } from './walk';
export { sizesBefore, textSides } from './change-sides';
export type { TextSidesOptions } from './change-sides';
