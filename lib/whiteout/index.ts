import * as fs from 'fs';
import * as path from 'path';
import * as native from '../native';
import type { WhiteoutFormatName } from '../store/types';

/**
 * The three ways a layer directory can record deletions:
 * - `oci`: `.wh.NAME` empty files and a `.wh..wh..opq` file in an opaque directory (the tar form);
 * - `overlay`: a character device 0/0 named NAME, and `trusted.overlay.opaque=y` on an opaque directory;
 * - `overlay-userxattr`: the same with `user.overlay.opaque` (unprivileged overlay mounts).
 */
export const OCI_WHITEOUT_PREFIX = '.wh.';
export const OCI_OPAQUE_MARKER = '.wh..wh..opq';

export type Classified = { kind: 'whiteout'; target: string } | { kind: 'opaque-marker' } | null;

export interface WhiteoutFormat {
  readonly name: WhiteoutFormatName;
  /** record that `name` in `dir` is deleted (hides lower layers) */
  writeWhiteoutSync(dir: string | Buffer, name: string | Buffer): void;
  markOpaqueSync(dir: string | Buffer): void;
  isOpaqueSync(dir: string | Buffer): boolean;
  /** how to read one directory entry, given its lstat */
  classify(name: string, st: fs.Stats): Classified;
  /** remove a whiteout for `name` in `dir` if present (an entry of the same layer wins over its whiteout) */
  removeWhiteoutSync(dir: string | Buffer, name: string | Buffer): void;
  /** xattr names this format reserves (never exported into tars, never copied between formats) */
  readonly reservedXattrPrefixes: string[];
}

/** `.wh.`, `.wh..` and `.wh...` would hide '', '.' or '..': they are not whiteouts. */
export function ociWhiteoutTarget(name: string): string | null {
  if (!name.startsWith(OCI_WHITEOUT_PREFIX) || name === OCI_OPAQUE_MARKER) return null;
  const target = name.slice(OCI_WHITEOUT_PREFIX.length);
  if (target === '' || target === '.' || target === '..' || target.includes('/')) return null;
  return target;
}

export function isOverlayXattr(name: string): boolean {
  return name.startsWith('trusted.overlay.') || name.startsWith('user.overlay.');
}

const join = (dir: string | Buffer, name: string | Buffer): string | Buffer =>
  typeof dir === 'string' && typeof name === 'string' ? path.join(dir, name) : Buffer.concat([Buffer.from(dir), Buffer.from('/'), Buffer.from(name)]);

const prefixed = (name: string | Buffer): string | Buffer => (typeof name === 'string' ? OCI_WHITEOUT_PREFIX + name : Buffer.concat([Buffer.from(OCI_WHITEOUT_PREFIX), name]));

function unlinkIfExists(p: string | Buffer): void {
  try {
    fs.unlinkSync(p);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
}

const oci: WhiteoutFormat = {
  name: 'oci',
  reservedXattrPrefixes: [],
  writeWhiteoutSync(dir, name) {
    fs.writeFileSync(join(dir, prefixed(name)), '', { mode: 0o644 });
  },
  markOpaqueSync(dir) {
    fs.writeFileSync(join(dir, OCI_OPAQUE_MARKER), '', { mode: 0o644 });
  },
  isOpaqueSync(dir) {
    try {
      fs.lstatSync(join(dir, OCI_OPAQUE_MARKER));
      return true;
    } catch {
      return false;
    }
  },
  classify(name, st) {
    if (name === OCI_OPAQUE_MARKER) return { kind: 'opaque-marker' };
    if (!st.isDirectory()) {
      const target = ociWhiteoutTarget(name);
      if (target !== null) return { kind: 'whiteout', target };
    }
    return null;
  },
  removeWhiteoutSync(dir, name) {
    unlinkIfExists(join(dir, prefixed(name)));
  },
};

function overlayFormat(name: 'overlay' | 'overlay-userxattr', ns: 'trusted' | 'user'): WhiteoutFormat {
  const opaqueXattr = `${ns}.overlay.opaque`;
  return {
    name,
    reservedXattrPrefixes: [`${ns}.overlay.`],
    writeWhiteoutSync(dir, n) {
      native.mknodSync(join(dir, n), fs.constants.S_IFCHR | 0o000, 0, 0);
    },
    markOpaqueSync(dir) {
      native.lsetxattrSync(dir, opaqueXattr, Buffer.from('y'));
    },
    isOpaqueSync(dir) {
      const v = native.lgetxattrSync(dir, opaqueXattr);
      return v !== null && v.toString() === 'y';
    },
    classify(_n, st) {
      return st.isCharacterDevice() && st.rdev === 0 ? { kind: 'whiteout', target: _n } : null;
    },
    removeWhiteoutSync(dir, n) {
      const p = join(dir, n);
      try {
        const st = fs.lstatSync(p);
        if (st.isCharacterDevice() && st.rdev === 0) fs.unlinkSync(p);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      }
    },
  };
}

const formats: Record<WhiteoutFormatName, WhiteoutFormat> = {
  oci,
  overlay: overlayFormat('overlay', 'trusted'),
  'overlay-userxattr': overlayFormat('overlay-userxattr', 'user'),
};

export function whiteoutFormat(name: WhiteoutFormatName): WhiteoutFormat {
  const f = formats[name];
  if (!f) throw new Error(`unknown whiteout format ${JSON.stringify(name)}`);
  return f;
}

/** 'overlay' when this process can make a 0/0 device and set trusted.* xattrs in `tmpDir`, else 'oci'. */
export function probeWhiteoutFormat(tmpDir: string): WhiteoutFormatName {
  if (!native.addonStatus().available) return 'oci';
  const dev = path.join(tmpDir, 'probe-whiteout');
  const dir = path.join(tmpDir, 'probe-opaque');
  try {
    native.mknodSync(dev, fs.constants.S_IFCHR, 0, 0);
    fs.mkdirSync(dir);
    native.lsetxattrSync(dir, 'trusted.overlay.opaque', Buffer.from('y'));
    return native.lgetxattrSync(dir, 'trusted.overlay.opaque')?.toString() === 'y' ? 'overlay' : 'oci';
  } catch {
    return 'oci';
  } finally {
    fs.rmSync(dev, { force: true });
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Rewrites the whiteouts and opaque markers of a layer directory from one format to another, in place. */
export function convertWhiteoutsSync(dir: string, from: WhiteoutFormatName, to: WhiteoutFormatName): void {
  if (from === to) return;
  const f = whiteoutFormat(from);
  const t = whiteoutFormat(to);
  const walk = (d: string) => {
    const opaque = f.isOpaqueSync(d);
    if (opaque) {
      if (from === 'oci') fs.unlinkSync(path.join(d, OCI_OPAQUE_MARKER));
      else native.lremovexattrSync(d, `${from === 'overlay' ? 'trusted' : 'user'}.overlay.opaque`);
      t.markOpaqueSync(d);
    }
    for (const name of fs.readdirSync(d)) {
      const p = path.join(d, name);
      const st = fs.lstatSync(p);
      const c = f.classify(name, st);
      if (c?.kind === 'whiteout') {
        fs.unlinkSync(p);
        // an entry of the same layer wins over its whiteout
        if (!fs.existsSync(path.join(d, c.target)) || to === 'oci') t.writeWhiteoutSync(d, c.target);
      } else if (st.isDirectory()) walk(p);
    }
  };
  walk(dir);
}
