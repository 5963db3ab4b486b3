import * as fs from 'fs';
import { entryType, xattrsOf } from '../view';
import type { Change } from './types';

export type What = NonNullable<Change['what']>[number];

/** Metadata of one side of a comparison. */
export interface Side {
  real: string;
  st: fs.Stats;
}

function sameXattrs(a: string, b: string): boolean {
  const x = xattrsOf(a);
  const y = xattrsOf(b);
  const kx = Object.keys(x);
  if (kx.length !== Object.keys(y).length) return false;
  return kx.every((k) => y[k] !== undefined && x[k].equals(y[k]));
}

/** Byte comparison in 1 MiB chunks. */
export function sameContent(a: string, b: string): boolean {
  const fa = fs.openSync(a, 'r');
  const fb = fs.openSync(b, 'r');
  const ba = Buffer.allocUnsafe(1 << 20);
  const bb = Buffer.allocUnsafe(1 << 20);
  try {
    for (;;) {
      const na = fs.readSync(fa, ba, 0, ba.length, null);
      const nb = fs.readSync(fb, bb, 0, bb.length, null);
      if (na !== nb) return false;
      if (na === 0) return true;
      if (!ba.subarray(0, na).equals(bb.subarray(0, nb))) return false;
    }
  } finally {
    fs.closeSync(fa);
    fs.closeSync(fb);
  }
}

/**
 * What differs between two entries, metadata first; contents are read only when metadata
 * cannot decide (same size, different mtime) or when asked to always. A directory's mtime is
 * not a change of its own (it moves whenever a child is added or removed).
 */
export function differences(a: Side, b: Side, content: 'auto' | 'always' = 'auto'): What[] {
  const out: What[] = [];
  const ta = entryType(a.st);
  const tb = entryType(b.st);
  if (ta !== tb) return ['type'];
  if ((a.st.mode & 0o7777) !== (b.st.mode & 0o7777)) out.push('mode');
  if (a.st.uid !== b.st.uid || a.st.gid !== b.st.gid) out.push('owner');
  if (ta === 'symlink' && fs.readlinkSync(a.real) !== fs.readlinkSync(b.real)) out.push('target');
  if ((ta === 'char' || ta === 'block') && a.st.rdev !== b.st.rdev) out.push('type');
  if (ta === 'file') {
    if (a.st.size !== b.st.size) out.push('content');
    else if (content === 'always' || Math.trunc(a.st.mtimeMs) !== Math.trunc(b.st.mtimeMs)) {
      if (!sameContent(a.real, b.real)) out.push('content');
    }
  }
  if (ta !== 'dir' && ta !== 'symlink' && Math.floor(a.st.mtimeMs / 1000) !== Math.floor(b.st.mtimeMs / 1000) && !out.includes('content')) {
    // same bytes, new mtime: a touch is a change in a layer (its tar entry differs)
    out.push('mtime');
  }
  if (!sameXattrs(a.real, b.real)) out.push('xattrs');
  return out;
}

export function changeOf(kind: Change['kind'], path: string, side: Side, extra: Partial<Change> = {}): Change {
  const type = entryType(side.st);
  const c: Change = {
    kind,
    path,
    type,
    size: type === 'file' ? side.st.size : 0,
    mode: side.st.mode & 0o7777,
    uid: side.st.uid,
    gid: side.st.gid,
    mtime: Math.floor(side.st.mtimeMs / 1000),
    ...extra,
  };
  if (type === 'symlink') c.target = fs.readlinkSync(side.real);
  if (kind !== 'D') c.source = side.real;
  return c;
}

export function byPath(a: Change, b: Change): number {
  return Buffer.compare(Buffer.from(a.path), Buffer.from(b.path));
}

export function joinPath(dir: string, name: string): string {
  return dir === '/' ? '/' + name : dir + '/' + name;
}
