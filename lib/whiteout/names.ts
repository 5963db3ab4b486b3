import * as path from 'path';
import { fsPath, nameBytes } from '../names';

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

/** `dir/name`, ready for fs calls: strings are name strings (lib/names), Buffers raw bytes. */
export function joinName(dir: string | Buffer, name: string | Buffer): string | Buffer {
  if (typeof dir === 'string' && typeof name === 'string') return fsPath(path.join(dir, name));
  const bytes = (x: string | Buffer) => (typeof x === 'string' ? nameBytes(x) : x);
  return Buffer.concat([bytes(dir), Buffer.from('/'), bytes(name)]);
}

/** `.wh.` + name, in the name's own representation. */
export function ociWhiteoutName(name: string | Buffer): string | Buffer {
  return typeof name === 'string' ? OCI_WHITEOUT_PREFIX + name : Buffer.concat([Buffer.from(OCI_WHITEOUT_PREFIX), name]);
}
