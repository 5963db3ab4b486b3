/**
 * The three ways a layer directory can record deletions, behind one interface:
 * - `oci`: `.wh.NAME` empty files and a `.wh..wh..opq` file in an opaque directory (the tar form);
 * - `overlay`: a character device 0/0 named NAME, and `trusted.overlay.opaque=y` on an opaque directory;
 * - `overlay-userxattr`: the same with `user.overlay.opaque` (unprivileged overlay mounts).
 * The overlay formats need the native addon (mknod, xattrs); `oci` works in pure JS.
 */
export type { WhiteoutFormat, Classified } from './types';
export { OCI_WHITEOUT_PREFIX, OCI_OPAQUE_MARKER, ociWhiteoutTarget, isOverlayXattr, looksLikeWhiteout, WHITEOUT_NAME_REASON } from './names';
export { whiteoutFormat } from './registry';
export { probeWhiteoutFormat } from './probe';
export { convertWhiteoutsSync } from './convert';
