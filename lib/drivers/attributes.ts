import * as fs from 'fs';
import * as native from '../native';
import { fsArg, fsPath } from '../names';
import { UnionView, xattrsOf } from '../view';
import { utimeSeconds } from '../native/times';
import { inUserNamespace } from '../userns/identity';

/*
 * What a copy of an entry takes from its source, shared by the copy driver's materialiser and
 * commit's layer-directory build (and the overlay driver's upper root): owner, mode, times, xattrs.
 */

type Stat = fs.Stats | fs.BigIntStats;

const { S_IFMT, S_IFLNK } = fs.constants;

/** What the copy of one entry must get from its source: owner, mode (with its type bits) and times in seconds. */
export interface EntryMeta {
  uid: number;
  gid: number;
  mode: number;
  atime: number;
  mtime: number;
}

/** The owner every new entry of the copy gets without a chown, when it is known. */
export type NewOwner = { uid: number; gid: number } | null;

/**
 * `realPath`: where `st` came from. The view's stats are plain numbers, whose milliseconds (a
 * double) cannot say the microsecond for sure: times are then read again with nanoseconds.
 */
export function metaOf(st: Stat, realPath?: string): EntryMeta {
  const t = typeof (st as fs.BigIntStats).mtimeNs === 'bigint' || realPath === undefined ? st : fs.lstatSync(fsPath(realPath), { bigint: true });
  return { uid: Number(st.uid), gid: Number(st.gid), mode: Number(st.mode), atime: seconds(t, 'atime'), mtime: seconds(t, 'mtime') };
}

/** Linux's dev_t layout: lib/native's (named here too for the commit's layer writer). */
export { splitDev } from '../native';

/** Seconds for utimes, to the source's microsecond (Node's utimes takes no nanoseconds). */
function seconds(st: Stat, which: 'mtime' | 'atime'): number {
  const ns = (st as fs.BigIntStats)[`${which}Ns`];
  return typeof ns === 'bigint' ? utimeSeconds(ns) : Number((st as fs.Stats)[`${which}Ms`]) / 1e3;
}

/**
 * Sets owners, xattrs, modes and times on the copy, as far as this process may. With `newOwner`
 * (the entries it is given were all just made, and got that owner), a chown that would change
 * nothing is skipped.
 */
export class Attributes {
  private readonly asRoot = process.geteuid?.() === 0;
  /** the kernel keeps set-id bits through a write only for CAP_FSETID of the initial user namespace: root of another clears them too */
  private readonly writeKeepsSetId = this.asRoot && !inUserNamespace();
  private readonly xattrs = native.available();

  constructor(readonly newOwner: NewOwner = null) {}

  /** Sets the owner if it differs; returns whether a chown was made. */
  private chown(dest: string | Buffer, m: EntryMeta): boolean {
    if (!this.asRoot) return false;
    if (this.newOwner && m.uid === this.newOwner.uid && m.gid === this.newOwner.gid) return false;
    fs.lchownSync(fsArg(dest), m.uid, m.gid);
    return true;
  }

  owner(dest: string | Buffer, real: string | Buffer, m: EntryMeta): void {
    this.chown(dest, m);
    this.copyXattrs(dest, real);
  }

  /**
   * For everything but directories, whose mode and times wait until their contents are in.
   * `modeSet`: the entry was made with the source's whole mode already.
   */
  all(dest: string | Buffer, real: string | Buffer, m: EntryMeta, modeSet = false): void {
    // chown clears set-id bits and security.capability: owner first, then mode and xattrs
    const chowned = this.chown(dest, m);
    // a write without CAP_FSETID clears set-id bits too
    const modeKept = modeSet && !chowned && (this.writeKeepsSetId || (m.mode & 0o6000) === 0);
    if ((m.mode & S_IFMT) !== S_IFLNK && !modeKept) fs.chmodSync(fsArg(dest), m.mode & 0o7777);
    this.copyXattrs(dest, real);
    fs.lutimesSync(fsArg(dest), m.atime, m.mtime);
  }

  modeAndTimes(dest: string | Buffer, m: EntryMeta): void {
    fs.chmodSync(fsArg(dest), m.mode & 0o7777);
    fs.utimesSync(fsArg(dest), m.atime, m.mtime);
  }

  private copyXattrs(dest: string | Buffer, real: string | Buffer): void {
    if (!this.xattrs) return;
    // an ordinary user sets a user.* xattr only on what it may write: a read-only copy (ro/f 0444,
    // that keeps its owner in user.rootlesscontainers) is made writable to its owner for the while
    let restore: number | null = null;
    try {
      for (const [name, value] of Object.entries(xattrsOf(real))) {
        try {
          try {
            native.lsetxattrSync(fsArg(dest), name, value);
          } catch (e) {
            if (this.asRoot || restore !== null || !native.isNativeError(e, 'EACCES')) throw e;
            const st = fs.lstatSync(fsArg(dest));
            if (st.isSymbolicLink() || st.uid !== process.geteuid?.()) throw e;
            restore = st.mode & 0o7777;
            fs.chmodSync(fsArg(dest), restore | 0o200);
            native.lsetxattrSync(fsArg(dest), name, value);
          }
        } catch (e) {
          // a user may read xattrs it may not set (security.capability); root must get them all
          if (this.asRoot || !native.isNativeError(e, 'EPERM')) throw e;
        }
      }
    } finally {
      if (restore !== null) fs.chmodSync(fsArg(dest), restore);
    }
  }
}

/** Gives `dir` the attributes of the chain's root directory (an overlay's upper root is its merged root). */
export function copyRootAttributes(view: UnionView, dir: string): void {
  const top = view.lookupSync('/');
  if (!top) return;
  const attrs = new Attributes();
  const meta = metaOf(top.stat as Stat, top.realPath);
  attrs.owner(dir, top.realPath, meta);
  attrs.modeAndTimes(dir, meta);
}
