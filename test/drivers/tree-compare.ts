import * as fs from 'fs';
import * as path from 'path';
import { createHash } from 'crypto';
import * as native from '../../lib/native';
import type { UnionView } from '../../lib/view';

/** What a tree holds at one path, as far as a container's tree must match its chain. */
export interface TreeEntry {
  type: string;
  mode: number;
  uid: number;
  gid: number;
  /** microseconds: what the copy driver can set through Node */
  mtimeUs: bigint;
  size?: number;
  sha256?: string;
  target?: string;
  rdev?: number;
  xattrs: string[];
  /** the other paths that are the same file (hardlinks among the visible names) */
  links?: string[];
}

export type TreeSnapshot = Map<string, TreeEntry>;

function typeOf(st: fs.BigIntStats): string {
  if (st.isDirectory()) return 'dir';
  if (st.isFile()) return 'file';
  if (st.isSymbolicLink()) return 'symlink';
  if (st.isCharacterDevice()) return 'char';
  if (st.isBlockDevice()) return 'block';
  if (st.isFIFO()) return 'fifo';
  return 'socket';
}

function entryOf(real: string, st: fs.BigIntStats, xattrs: Array<[string, Buffer]>): TreeEntry {
  const type = typeOf(st);
  const e: TreeEntry = {
    type,
    mode: Number(st.mode & 0o7777n),
    uid: Number(st.uid),
    gid: Number(st.gid),
    mtimeUs: st.mtimeNs / 1000n,
    xattrs: xattrs.filter(([n]) => !/^(trusted|user)\.overlay\./.test(n)).map(([n, v]) => `${n}=${v.toString('hex')}`).sort(),
  };
  if (type === 'file') {
    e.size = Number(st.size);
    e.sha256 = createHash('sha256').update(fs.readFileSync(real)).digest('hex');
  }
  if (type === 'symlink') e.target = fs.readlinkSync(real);
  if (type === 'char' || type === 'block') e.rdev = Number(st.rdev);
  return e;
}

/** Fills in `links` from the files' (dev, ino). */
function linkGroups(snap: TreeSnapshot, ids: Map<string, string>): TreeSnapshot {
  const groups = new Map<string, string[]>();
  for (const [p, id] of ids) groups.set(id, [...(groups.get(id) ?? []), p]);
  for (const [p, id] of ids) {
    const others = groups.get(id)!.filter((o) => o !== p).sort();
    if (others.length) snap.get(p)!.links = others;
  }
  return snap;
}

function diskXattrs(p: string): Array<[string, Buffer]> {
  if (!native.available()) return [];
  return native.llistxattrSync(p).map((n): [string, Buffer] => [n, native.lgetxattrSync(p, n) ?? Buffer.alloc(0)]);
}

/** A directory tree on disk, keyed by '/'-rooted paths. */
export function snapshotDir(root: string): TreeSnapshot {
  const snap: TreeSnapshot = new Map();
  const ids = new Map<string, string>();
  const walk = (rel: string) => {
    const p = path.join(root, rel);
    const st = fs.lstatSync(p, { bigint: true });
    snap.set(rel, entryOf(p, st, diskXattrs(p)));
    if (st.isFile()) ids.set(rel, `${st.dev}:${st.ino}`);
    if (st.isDirectory()) for (const n of fs.readdirSync(p)) walk(path.posix.join(rel, n));
  };
  walk('/');
  return linkGroups(snap, ids);
}

/** The union of a chain, as the UnionView shows it. */
export function snapshotView(view: UnionView): TreeSnapshot {
  const snap: TreeSnapshot = new Map();
  const ids = new Map<string, string>();
  for (const e of view.walkSync()) {
    const st = fs.lstatSync(e.realPath, { bigint: true });
    const xattrs = native.available() ? Object.entries(view.xattrsSync(e.path) as Record<string, Buffer>) : [];
    snap.set(e.path, entryOf(e.realPath, st, xattrs));
    if (st.isFile()) ids.set(e.path, `${st.dev}:${st.ino}`);
  }
  return linkGroups(snap, ids);
}

/** Expects two snapshots to hold the same paths with the same entries (mtimes optional). */
export function sameTree(actual: TreeSnapshot, expected: TreeSnapshot, opts: { mtimes: boolean }): void {
  const strip = (e: TreeEntry | undefined) => {
    if (!e) return e;
    const { mtimeUs, ...rest } = e;
    return opts.mtimes ? { ...rest, mtimeUs: String(mtimeUs) } : rest;
  };
  const diffs: Array<{ path: string; actual?: unknown; expected?: unknown }> = [];
  for (const p of new Set([...actual.keys(), ...expected.keys()])) {
    const a = strip(actual.get(p));
    const b = strip(expected.get(p));
    if (JSON.stringify(a) !== JSON.stringify(b)) diffs.push({ path: p, actual: a, expected: b });
  }
  expect(diffs.sort((x, y) => x.path.localeCompare(y.path))).toEqual([]);
}
