import * as fs from 'fs';
import * as path from 'path';
import { fsPath, readdirNamesSync } from '../names';
import type { Change, TreeInput } from './types';

/**
 * What a report of a diff shows beside the changes: the size a changed file had before, and
 * both sides of small text files. Read from the trees the diff compared, never through a
 * symlink: a tree may be a live container whose processes plant links to the host's files.
 */

export interface TextSidesOptions {
  /** files larger than this on either side are not read (default 64 KiB) */
  maxBytes?: number;
  /** at most this many files (default 200) */
  maxFiles?: number;
}

/** The root a path of the tree lives under, and the path relative to it; null when it is not there. */
function locate(tree: TreeInput, p: string): { root: string; rel: string } | null {
  const rel = p.replace(/^\/+/, '');
  if (typeof tree === 'string') return { root: tree, rel };
  const e = tree.lookupSync(p);
  if (!e) return null;
  return { root: path.resolve(tree.layerDirs[e.layer]), rel };
}

/** lstat of root/rel when every directory on the way is a real directory (no symlink); else null. */
function lstatBeneath(root: string, rel: string): fs.Stats | null {
  const parts = rel.split('/').filter(Boolean);
  let cur = root;
  for (let i = 0; i < parts.length; i++) {
    cur = path.join(cur, parts[i]);
    const st = fs.lstatSync(fsPath(cur), { throwIfNoEntry: false });
    if (!st) return null;
    if (i < parts.length - 1 && !st.isDirectory()) return null;
    if (i === parts.length - 1) return st;
  }
  return null;
}

/** The bytes of a regular file of at most `max` bytes, opened without following a symlink; else null. */
function readSmallFile(root: string, rel: string, max: number): Buffer | null {
  const st = lstatBeneath(root, rel);
  if (!st?.isFile() || st.size > max) return null;
  let fd: number;
  try {
    fd = fs.openSync(fsPath(path.join(root, rel)), fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK);
  } catch {
    return null;
  }
  try {
    const fst = fs.fstatSync(fd);
    if (!fst.isFile() || fst.size > max || fst.ino !== st.ino) return null;
    const buf = Buffer.alloc(fst.size);
    let n = 0;
    while (n < buf.length) {
      const k = fs.readSync(fd, buf, n, buf.length - n, n);
      if (k === 0) break;
      n += k;
    }
    return buf.subarray(0, n);
  } finally {
    fs.closeSync(fd);
  }
}

/** Text when the bytes are UTF-8 with no NUL (what a person would read as text); else null. */
function asText(b: Buffer): string | null {
  if (b.includes(0)) return null;
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(b);
  } catch {
    return null;
  }
}

/** The bytes of the regular files under a directory of a tree, never through a symlink. */
function bytesUnder(tree: TreeInput, p: string): number {
  if (typeof tree !== 'string') {
    let n = 0;
    for (const e of tree.walkSync(p)) if (e.type === 'file') n += e.stat.size;
    return n;
  }
  const top = lstatBeneath(tree, p.replace(/^\/+/, ''));
  if (!top?.isDirectory()) return 0;
  let n = 0;
  const stack = [path.join(tree, p)];
  while (stack.length) {
    const dir = stack.pop()!;
    for (const name of readdirNamesSync(dir)) {
      const child = path.join(dir, name);
      const st = fs.lstatSync(fsPath(child), { throwIfNoEntry: false });
      if (st?.isFile()) n += st.size;
      else if (st?.isDirectory()) stack.push(child);
    }
  }
  return n;
}

/**
 * What each changed path held in `before` (by path): the size of a changed regular file (when it
 * was a regular file there too), and the bytes of the files under a deleted directory.
 */
export function sizesBefore(before: TreeInput | null, changes: Change[]): Map<string, number> {
  const out = new Map<string, number>();
  if (before === null) return out;
  for (const c of changes) {
    if (c.kind === 'D' && c.type === 'dir') out.set(c.path, bytesUnder(before, c.path));
    if (c.kind !== 'C') continue;
    const at = locate(before, c.path);
    const st = at && lstatBeneath(at.root, at.rel);
    if (st?.isFile()) out.set(c.path, st.size);
  }
  return out;
}

/** Both sides of the changed files that are small UTF-8 text files on both sides, for a content diff. */
export function textSides(before: TreeInput | null, after: TreeInput, changes: Change[], opts: TextSidesOptions = {}): Map<string, { before: string; after: string }> {
  const max = opts.maxBytes ?? 64 * 1024;
  const maxFiles = opts.maxFiles ?? 200;
  const out = new Map<string, { before: string; after: string }>();
  if (before === null) return out;
  for (const c of changes) {
    if (out.size >= maxFiles) break;
    if (c.kind !== 'C' || c.type !== 'file' || c.size > max) continue;
    const a = locate(before, c.path);
    const b = locate(after, c.path);
    const bytesA = a && readSmallFile(a.root, a.rel, max);
    const bytesB = bytesA && b && readSmallFile(b.root, b.rel, max);
    const textA = bytesA && asText(bytesA);
    const textB = bytesB && asText(bytesB);
    if (textA !== null && textA !== undefined && textB !== null && textB !== undefined && textA !== textB) out.set(c.path, { before: textA, after: textB });
  }
  return out;
}
