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

/** Why a file of such a name cannot go into a layer (see looksLikeWhiteout). */
export const WHITEOUT_NAME_REASON = 'a name that begins with .wh. is a whiteout to every other tool: a layer cannot hold it as a file (rename it)';

/**
 * Does a reader take `name` for a whiteout or an opaque marker? Every tool but this one reads
 * any `.wh.` name so (or refuses it), so no layer may hold one as a file of its own.
 */
export function looksLikeWhiteout(name: string | Uint8Array): boolean {
  if (typeof name === 'string') return name.startsWith(OCI_WHITEOUT_PREFIX);
  return name.length >= 4 && name[0] === 0x2e && name[1] === 0x77 && name[2] === 0x68 && name[3] === 0x2e;
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
