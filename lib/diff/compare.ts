import * as fs from 'fs';
import { byteOrder, fsPath, readlinkNameSync } from '../names';
import { entryType, xattrsOf } from '../view';
import type { Change, ChangedAspect } from './types';
import { ownersInXattr, standsFor, unprivilegedHost } from '../userns/owner-xattr';
import { inUserNamespace } from '../userns/identity';

let recordsDevices: boolean | undefined;
/** A device is kept as a record (lib/userns/owner-xattr.ts) by a process in a user namespace, or an ordinary user with none. */
const devicesRecorded = () => (recordsDevices ??= inUserNamespace() || unprivilegedHost());

/** One side of a comparison: where the entry is, and its lstat. */
export interface Side {
  real: string;
  st: fs.Stats;
}

/**
 * How two entries are compared. Metadata always comes first. Equal metadata is no proof of equal
 * bytes (`cp -p`, `rsync -a`, `tar -x` and SOURCE_DATE_EPOCH builds keep size and mtime), so two
 * regular files of the same size are read as `content` allows: 'auto' unless both are one inode
 * (or empty), 'always' even then, 'never' not at all.
 */
export interface ComparePolicy {
  content: 'auto' | 'always' | 'never';
  /** a different mtime (whole seconds, what a tar header holds) is a change even with equal bytes */
  mtime: boolean;
}

/**
 * A container's diff: its changes are what a commit packs, and an mtime is part of a layer
 * entry. An upper file of the lower file's size is read (only the change costs a read).
 */
export const CONTAINER_POLICY: ComparePolicy = { content: 'auto', mtime: true };

const CHUNK = 1 << 20;
let bufA: Buffer | undefined;
let bufB: Buffer | undefined;

/**
 * Byte comparison of two regular files in 1 MiB chunks. Neither is followed if it is a symlink
 * now, nor waited on if it is a fifo: a path that is no regular file any more is a difference.
 */
export function sameContentSync(a: string, b: string): boolean {
  bufA ??= Buffer.allocUnsafe(CHUNK);
  bufB ??= Buffer.allocUnsafe(CHUNK);
  const fa = openRegular(a);
  if (fa === null) return false;
  try {
    const fb = openRegular(b);
    if (fb === null) return false;
    try {
      for (;;) {
        const na = readFull(fa, bufA);
        const nb = readFull(fb, bufB);
        if (na !== nb) return false;
        if (na === 0) return true;
        if (bufA.compare(bufB, 0, nb, 0, na) !== 0) return false;
      }
    } finally {
      fs.closeSync(fb);
    }
  } finally {
    fs.closeSync(fa);
  }
}

const { O_RDONLY, O_NOFOLLOW, O_NONBLOCK } = fs.constants;

/** An fd of the regular file at `p`; null when `p` is a symlink or anything but a regular file. */
function openRegular(p: string): number | null {
  let fd: number;
  try {
    fd = fs.openSync(fsPath(p), O_RDONLY | O_NOFOLLOW | O_NONBLOCK);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ELOOP' || (e as NodeJS.ErrnoException).code === 'ENXIO') return null;
    throw e;
  }
  if (fs.fstatSync(fd).isFile()) return fd;
  fs.closeSync(fd);
  return null;
}

/** Fills `buf` unless the file ends first (a short read is not the end of a file). */
function readFull(fd: number, buf: Buffer): number {
  let off = 0;
  while (off < buf.length) {
    const n = fs.readSync(fd, buf, off, buf.length - off, null);
    if (n === 0) break;
    off += n;
  }
  return off;
}

export function sameXattrMaps(x: Record<string, Buffer>, y: Record<string, Buffer>): boolean {
  const kx = Object.keys(x);
  if (kx.length !== Object.keys(y).length) return false;
  return kx.every((k) => y[k] !== undefined && x[k].equals(y[k]));
}

/** Whole seconds, as a tar header holds an mtime. */
export const seconds = (st: { mtimeMs: number }) => Math.floor(st.mtimeMs / 1000);

/**
 * What differs between `a` (before) and `b` (after); [] when nothing does. A directory's mtime
 * and size are never a change of their own: they move whenever a child comes or goes.
 */
export function compareSides(a: Side, b: Side, policy: ComparePolicy): ChangedAspect[] {
  const ta = entryType(a.st);
  if (ta !== entryType(b.st)) return ['type'];
  const out: ChangedAspect[] = [];
  if ((a.st.mode & 0o7777) !== (b.st.mode & 0o7777)) out.push('mode');
  if (a.st.uid !== b.st.uid || a.st.gid !== b.st.gid) out.push('owner');
  if (ta === 'symlink' && readlinkNameSync(a.real) !== readlinkNameSync(b.real)) out.push('target');
  if ((ta === 'char' || ta === 'block') && a.st.rdev !== b.st.rdev) out.push('type');
  let contentChanged = false;
  if (ta === 'file') {
    if (a.st.size !== b.st.size) contentChanged = true;
    else if (needsRead(a.st, b.st, policy)) contentChanged = !sameContentSync(a.real, b.real);
    if (contentChanged) out.push('content');
  }
  if (policy.mtime && ta !== 'dir' && !contentChanged && seconds(a.st) !== seconds(b.st)) out.push('mtime');
  if (!sameXattrMaps(xattrsOf(a.real), xattrsOf(b.real))) out.push('xattrs');
  return out;
}

/** Must the bytes of two regular files of one size be read to tell whether they differ? */
export function needsRead(a: fs.Stats, b: fs.Stats, policy: ComparePolicy): boolean {
  if (policy.content === 'always') return true;
  if (policy.content === 'never') return false;
  return a.size > 0 && !(a.ino === b.ino && a.dev === b.dev);
}

/** The record of one change, with the metadata of `side` (the entry after the change; before it, for 'D'). */
export function changeOf(kind: Change['kind'], path: string, side: Side, extra: Pick<Change, 'what' | 'opaque'> = {}): Change {
  const type = entryType(side.st);
  const c: Change = {
    kind,
    path,
    type,
    size: type === 'file' ? side.st.size : 0,
    mode: side.st.mode & 0o7777,
    uid: side.st.uid,
    gid: side.st.gid,
    mtime: seconds(side.st),
  };
  if (type === 'symlink') c.target = readlinkNameSync(side.real);
  if (type !== 'symlink' && (ownersInXattr() || (type === 'file' && devicesRecorded()))) {
    // single-uid mode, or a device kept as a record: the change says what the entry stands for, as a commit packs it
    const s = standsFor(c, type === 'file', xattrsOf(side.real));
    c.uid = s.uid;
    c.gid = s.gid;
    if (s.device) Object.assign(c, { type: s.device.type, size: 0 });
  }
  if (extra.what) c.what = extra.what;
  if (extra.opaque) c.opaque = true;
  if (kind !== 'D') c.source = side.real;
  return c;
}

export function byChangePath(a: Change, b: Change): number {
  return byteOrder(a.path, b.path);
}

type AnyStats = fs.Stats | fs.BigIntStats;

/**
 * Hardlinks across the edge of a change: an entry that did not change itself but shares its
 * inode with one that was added or changed is reported too ('C', what: ['link']), so that a
 * commit packs both names and the layer keeps them one file.
 */
export class LinkTracker {
  private readonly reported = new Set<string>();
  private readonly quiet = new Map<string, Array<{ path: string; real: string }>>();

  /** An entry reported as added or changed. */
  reportedEntry(st: AnyStats): void {
    if (st.isFile() && st.nlink > 1) this.reported.add(`${st.dev}:${st.ino}`);
  }

  /** An entry compared and found unchanged. */
  unchangedEntry(path: string, real: string, st: AnyStats): void {
    if (!st.isFile() || st.nlink < 2) return;
    const key = `${st.dev}:${st.ino}`;
    const list = this.quiet.get(key);
    if (list) list.push({ path, real });
    else this.quiet.set(key, [{ path, real }]);
  }

  /** Adds the link changes to `out`. */
  finish(out: Change[]): void {
    for (const [key, list] of this.quiet) {
      if (!this.reported.has(key)) continue;
      for (const q of list) out.push(changeOf('C', q.path, { real: q.real, st: fs.lstatSync(fsPath(q.real)) }, { what: ['link'] }));
    }
  }
}
