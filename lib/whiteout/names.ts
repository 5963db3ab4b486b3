import * as path from 'path';

/** The OCI tar form: `.wh.NAME` hides NAME of the layers below; `.wh..wh..opq` makes its directory opaque. */
export const OCI_WHITEOUT_PREFIX = '.wh.';
export const OCI_OPAQUE_MARKER = '.wh..wh..opq';

/**
 * The name a `.wh.NAME` whiteout hides, or null when `name` is not a whiteout. `.wh.`, `.wh..`
 * and `.wh...` would hide '', '.' or '..': they are ordinary names, never whiteouts.
 */
export function ociWhiteoutTarget(name: string): string | null {
  if (!name.startsWith(OCI_WHITEOUT_PREFIX) || name === OCI_OPAQUE_MARKER) return null;
  const target = name.slice(OCI_WHITEOUT_PREFIX.length);
  if (target === '' || target === '.' || target === '..' || target.includes('/')) return null;
  return target;
}

/** overlayfs's private xattrs: `trusted.overlay.*`, and `user.overlay.*` used with `-o userxattr`. */
export function isOverlayXattr(name: string): boolean {
  return name.startsWith('trusted.overlay.') || name.startsWith('user.overlay.');
}

/** `dir/name`; Buffers keep names that are not UTF-8 byte for byte. */
export function joinName(dir: string | Buffer, name: string | Buffer): string | Buffer {
  if (typeof dir === 'string' && typeof name === 'string') return path.join(dir, name);
  return Buffer.concat([Buffer.from(dir), Buffer.from('/'), Buffer.from(name)]);
}

/** `.wh.` + name, in the name's own representation. */
export function ociWhiteoutName(name: string | Buffer): string | Buffer {
  return typeof name === 'string' ? OCI_WHITEOUT_PREFIX + name : Buffer.concat([Buffer.from(OCI_WHITEOUT_PREFIX), name]);
}
