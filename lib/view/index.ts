/**
 * A read-only union view of a chain of layer directories in pure TypeScript (no mount): lookup,
 * readdir, stat, read, xattrs and walk through the layers, honouring whiteouts and opaque
 * directories. The oracle that mounted overlays and materialised copies are held against.
 */
export { UnionView } from './union-view';
export { entryType } from './entry';
export type { EntryType, ViewEntry } from './entry';
export { normalisePath, byteOrder } from './paths';
export { xattrsOf, xattrsOfAsync } from './xattrs';
