/**
 * Rootless: what an ordinary user needs for overlay containers, in a user namespace held by a
 * helper process (see ARCHITECTURE.md, "Rootless"). Rank 1: it knows nothing of stores; the
 * store (lib/store/rootless.ts) decides when to use it.
 */
export { detectRootless, namespaceBlocker, planMapping, which } from './detect';
export type { RootlessFacts, MappingPlan, HelperFacts } from './detect';
export { subidRanges } from './subid';
export type { SubidRange } from './subid';
export { IDENTITY, parseIdMap, readIdMaps, isIdentity, sameMap, toOutside, mappedFromZero, describeMap } from './idmap';
export type { IdMap, IdRange } from './idmap';
export { currentIdentity, identityMismatch, inUserNamespace } from './identity';
export type { StoreIdentity } from './identity';
export { ensureHolder, liveHolder, readHolder, insideHolder, stopHolder, holderFile, holderPidFile, holderMismatch, HOLDER_FILE, HOLDER_PID_FILE, ENTERED_ENV } from './holder';
export type { HolderRecord } from './holder';
export { nsenterArgv, runInside, probeInside, REEXEC_ENV } from './enter';
export { OWNER_XATTR, encodeOwner, decodeOwner, singleIdNamespace } from './owner-xattr';
export type { Owner } from './owner-xattr';
