import * as fs from 'fs';
import { fsPath, nameOfBytes, readListedLinkSync } from '../names';
import * as native from '../native';
import { xattrsOf } from '../view';
import type { EntryType, UnionView } from '../view';
import type { Change, ChangedAspect } from './types';
import { LinkTracker, byChangePath, changeOf, sameContentSync, sameXattrMaps } from './compare';
import { SnapshotReader, SnapshotRecord, SnapshotWriter } from './stat-snapshot-file';
import { standsFor } from '../userns/owner-xattr';
import { compareTreePaths, isUnder } from './walk';
import { NoFollowWalkEntry as WalkEntry, walkTreeNoFollowSync } from './walk-no-follow';

const { S_IFMT, S_IFDIR, S_IFREG, S_IFLNK } = fs.constants;
const NS = 1_000_000_000n;

/**
 * Records the stat snapshot of a materialised copy (see stat-snapshot-file.ts), right after the copy
 * was made: inode, birth time, size, mode, owner, mtime and ctime in ns, link count, device
 * number and symlink target of every entry. Streams: memory stays flat whatever the tree.
 */
export function writeStatSnapshotSync(root: string, manifestFile: string): void {
  // the addon's writes the same bytes without a JS call per entry
  if (native.supports('writeStatSnapshotSync')) native.writeStatSnapshotSync(fsPath(root), fsPath(manifestFile));
  else writeStatSnapshotByWalkSync(root, manifestFile);
}

/** The target of a symlink the walk found (a change under the walk is ChangedMeanwhileError). */
function linkTarget(e: WalkEntry): string {
  return nameOfBytes(readListedLinkSync(e.at, 'the copy', e.path));
}

/** writeStatSnapshotSync with Node's fs (without the addon, and what the test holds the addon's against). */
export function writeStatSnapshotByWalkSync(root: string, manifestFile: string): void {
  const w = new SnapshotWriter(manifestFile);
  try {
    for (const e of walkTreeNoFollowSync(root, 'the copy')) w.add(e, e.st.isSymbolicLink() ? linkTarget(e) : undefined);
  } finally {
    w.close();
  }
}

/**
 * The changes of a copy container: its root walked against the manifest taken when it was
 * made, as two sorted lists merged. An entry whose inode, ctime, mtime, size, mode, owner and
 * link count are all as recorded is unchanged. A file of a new inode or a moved ctime whose size
 * and mtime are as recorded (`cp -p`, a rename over it) is read and held against the chain's
 * file; an entry whose ctime moved is changed in its xattrs if they now differ from the chain's.
 * Only such entries cost a read. A directory with a new inode
 * was removed and recreated: it is reported as such (opaque), with the old children it no longer
 * has as deleted. Sorted by path.
 */
export function snapshotChanges(root: string, manifestFile: string, view: UnionView): Change[] {
  const reader = new SnapshotReader(manifestFile);
  try {
    // a process in the container may be changing it: nothing is walked or read through a symlink
    return new ManifestMerge(view).run(reader, walkTreeNoFollowSync(root, 'the container'));
  } finally {
    reader.close();
  }
}

class ManifestMerge {
  private readonly out: Change[] = [];
  private readonly links = new LinkTracker();
  /** manifest entries below this path need no report: deleted with it, or hidden by the non-directory now in its place */
  private settled: string | null = null;

  constructor(private readonly view: UnionView) {}

  run(reader: SnapshotReader, walk: Generator<WalkEntry>): Change[] {
    let rec = reader.read();
    let now = walk.next();
    while (rec !== null || !now.done) {
      const order = rec === null ? 1 : now.done ? -1 : compareTreePaths(rec.path, now.value.path);
      if (order < 0) {
        this.gone(rec!);
        rec = reader.read();
      } else if (order > 0) {
        const e = now.value as WalkEntry;
        this.report('A', e);
        now = walk.next();
      } else {
        this.compare(rec!, now.value as WalkEntry);
        rec = reader.read();
        now = walk.next();
      }
    }
    this.links.finish(this.out);
    return this.out.sort(byChangePath);
  }

  private gone(rec: SnapshotRecord): void {
    if (this.settled !== null && isUnder(rec.path, this.settled)) return;
    this.out.push(deletedChange(rec));
    if ((rec.mode & S_IFMT) === S_IFDIR) this.settled = rec.path;
  }

  private compare(rec: SnapshotRecord, e: WalkEntry): void {
    const st = e.st;
    const type = Number(st.mode) & S_IFMT;
    const wasType = rec.mode & S_IFMT;
    if (type !== wasType) {
      this.report('C', e, ['type']);
      if (wasType === S_IFDIR) this.settled = e.path;
      return;
    }
    const same = st.ino === rec.ino && st.birthtimeNs === rec.btimeNs;
    const ctimeMoved = st.ctimeNs !== rec.ctimeNs;
    if (same && !ctimeMoved && st.mtimeNs === rec.mtimeNs && st.size === rec.size && Number(st.nlink) === rec.nlink && Number(st.mode) === rec.mode) {
      // untouched, but another name of its inode may be new (its directory renamed): then both go in the layer
      this.links.unchangedEntry(e.path, e.real, st);
      return;
    }

    const what: ChangedAspect[] = [];
    if ((Number(st.mode) & 0o7777) !== (rec.mode & 0o7777)) what.push('mode');
    if (Number(st.uid) !== rec.uid || Number(st.gid) !== rec.gid) what.push('owner');
    if (type === S_IFREG) {
      // a file written to (its size or mtime moved) counts as new content without a read; one
      // rewritten with its size and mtime kept has a new inode or a moved ctime, and only its bytes tell
      if (st.size !== rec.size || st.mtimeNs !== rec.mtimeNs) what.push('content');
      else if ((!same || ctimeMoved) && !this.sameContentAsChain(e)) what.push('content');
    } else if (type !== S_IFDIR) {
      if (type === S_IFLNK && !same && linkTarget(e) !== rec.target) what.push('target');
      if (type !== S_IFLNK && Number(st.rdev) !== rec.rdev) what.push('type');
      if (secondsOf(st.mtimeNs) !== secondsOf(rec.mtimeNs)) what.push('mtime');
    }
    // a new inode always has a new ctime; ctime alone moves for xattrs (and renames, links, touches of the parent)
    if (ctimeMoved && !this.sameXattrsAsChain(e)) what.push('xattrs');
    const recreatedDir = !same && type === S_IFDIR;
    if (recreatedDir) what.push('recreated');
    if (what.length) this.report('C', e, what, recreatedDir);
    else this.links.unchangedEntry(e.path, e.real, st);
  }

  private sameContentAsChain(e: WalkEntry): boolean {
    const was = this.view.lookupSync(e.path);
    return was !== null && was.type === 'file' && BigInt(was.stat.size) === e.st.size && sameContentSync(was.realPath, e.real);
  }

  private sameXattrsAsChain(e: WalkEntry): boolean {
    const was = this.view.lookupSync(e.path);
    return sameXattrMaps(was ? xattrsOf(was.realPath) : {}, xattrsOf(e.at));
  }

  private report(kind: 'A' | 'C', e: WalkEntry, what?: ChangedAspect[], opaque?: boolean): void {
    this.out.push(changeOf(kind, e.path, { real: e.real, st: fs.lstatSync(e.at) }, { what, opaque }));
    this.links.reportedEntry(e.st);
  }
}

const TYPES: Record<number, EntryType> = {
  [S_IFREG]: 'file',
  [S_IFDIR]: 'dir',
  [S_IFLNK]: 'symlink',
  [fs.constants.S_IFCHR]: 'char',
  [fs.constants.S_IFBLK]: 'block',
  [fs.constants.S_IFIFO]: 'fifo',
};

/** Whole seconds (floored) of a time in ns. */
function secondsOf(ns: bigint): number {
  const s = ns / NS;
  return Number(ns < 0n && ns % NS !== 0n ? s - 1n : s);
}

function deletedChange(rec: SnapshotRecord): Change {
  const type = TYPES[rec.mode & S_IFMT] ?? 'socket';
  // the record keeps no xattrs: in single-uid mode a deleted entry's owner is read as a namespace shows it (the user's own ids are 0)
  const { uid, gid } = standsFor(rec, false, {});
  const c: Change = { kind: 'D', path: rec.path, type, size: type === 'file' ? Number(rec.size) : 0, mode: rec.mode & 0o7777, uid, gid, mtime: secondsOf(rec.mtimeNs) };
  if (rec.target !== undefined) c.target = rec.target;
  return c;
}
