import * as fs from 'fs';
import * as path from 'path';
import * as native from '../native';
import { UnionView, xattrsOf } from '../view';
import type { WhiteoutFormatName } from '../store/types';
import { FileCopier } from './file-copy';

export interface MaterialiseJob {
  /** the chain's layer directories, bottom first */
  layers: string[];
  whiteout: WhiteoutFormatName;
  /** the directory to create and fill */
  root: string;
  /** where the stat manifest goes */
  manifest: string;
}

export interface MaterialiseResult {
  entries: number;
  /** bytes of regular files (clones count in full) */
  bytes: number;
}

type Stat = fs.Stats | fs.BigIntStats;

const PROGRESS_EVERY = 1000;

/**
 * Copies the union of a chain into `root`, synchronously (run it in a worker thread: per-file
 * work must not be one awaited call per syscall). The UnionView decides what is visible, so
 * whiteouts and opaque directories are honoured in every store format. Lower layers are only
 * read. Hardlinks inside the chain stay hardlinks (grouped by the source's device and inode).
 * Owners are set when running as root, xattrs when the addon is there; directories get their
 * modes and mtimes last, deepest first, once nothing more is written inside them.
 */
export function materialiseSync(job: MaterialiseJob, post?: (m: Record<string, unknown>) => void): MaterialiseResult {
  const view = new UnionView(job.layers, job.whiteout);
  const attrs = new Attributes();
  const copier = new FileCopier();
  const links = new Map<string, string>();
  const dirs: Array<{ dest: string; st: Stat }> = [];
  let entries = 0;
  let sawRoot = false;
  fs.mkdirSync(job.root, { mode: 0o700 });

  for (const e of view.walkSync()) {
    entries++;
    if (post && entries % PROGRESS_EVERY === 0) post({ type: 'progress', entries, bytes: copier.bytes });
    const st = e.stat as Stat;
    if (e.path === '/') {
      sawRoot = true;
      attrs.owner(job.root, e.realPath, st);
      dirs.push({ dest: job.root, st });
      continue;
    }
    const dest = path.join(job.root, e.path);
    if (st.isDirectory()) {
      fs.mkdirSync(dest, { mode: 0o700 });
      attrs.owner(dest, e.realPath, st);
      dirs.push({ dest, st });
      continue;
    }
    if (st.isFile()) {
      if (Number(st.nlink) > 1) {
        const key = `${st.dev}:${st.ino}`;
        const first = links.get(key);
        if (first) {
          // one inode: its attributes are already set
          fs.linkSync(first, dest);
          continue;
        }
        links.set(key, dest);
      }
      copier.copy(e.realPath, dest, { size: Number(st.size), blocks: Number(st.blocks) });
    } else if (st.isSymbolicLink()) {
      fs.symlinkSync(fs.readlinkSync(e.realPath, { encoding: 'buffer' }), dest);
    } else if (st.isCharacterDevice() || st.isBlockDevice() || st.isFIFO()) {
      const { major, minor } = splitDev(st.rdev);
      native.mknodSync(dest, Number(st.mode) & 0o170000, major, minor);
    } else {
      // sockets belong to a running process, not to a filesystem image
      continue;
    }
    attrs.all(dest, e.realPath, st);
  }
  if (!sawRoot) {
    const top = view.lookupSync('/');
    if (top) dirs.unshift({ dest: job.root, st: top.stat as Stat });
    // no layers: an empty tree with the usual root mode
    else fs.chmodSync(job.root, 0o755);
  }
  for (let i = dirs.length - 1; i >= 0; i--) attrs.modeAndTimes(dirs[i].dest, dirs[i].st);
  return { entries, bytes: copier.bytes };
}

/** Linux's dev_t layout (the glibc major/minor macros). */
function splitDev(rdev: number | bigint): { major: number; minor: number } {
  const r = BigInt(rdev);
  return { major: Number(((r >> 8n) & 0xfffn) | ((r >> 32n) & ~0xfffn)), minor: Number((r & 0xffn) | ((r >> 12n) & ~0xffn)) };
}

/** Seconds, as precise as a double holds them (Node's utimes takes no nanoseconds). */
function seconds(st: Stat, which: 'mtime' | 'atime'): number {
  const ns = (st as fs.BigIntStats)[`${which}Ns`];
  return typeof ns === 'bigint' ? Number(ns) / 1e9 : Number((st as fs.Stats)[`${which}Ms`]) / 1e3;
}

/** Sets owners, xattrs, modes and times on the copy, as far as this process may. */
class Attributes {
  private readonly asRoot = process.geteuid?.() === 0;
  private readonly xattrs = native.available();

  owner(dest: string, real: string, st: Stat): void {
    if (this.asRoot) fs.lchownSync(dest, Number(st.uid), Number(st.gid));
    this.copyXattrs(dest, real);
  }

  /** For everything but directories, whose mode and times wait until their contents are in. */
  all(dest: string, real: string, st: Stat): void {
    // chown clears set-id bits and security.capability: owner first, then mode and xattrs
    if (this.asRoot) fs.lchownSync(dest, Number(st.uid), Number(st.gid));
    if (!st.isSymbolicLink()) fs.chmodSync(dest, Number(st.mode) & 0o7777);
    this.copyXattrs(dest, real);
    fs.lutimesSync(dest, seconds(st, 'atime'), seconds(st, 'mtime'));
  }

  modeAndTimes(dest: string, st: Stat): void {
    fs.chmodSync(dest, Number(st.mode) & 0o7777);
    fs.utimesSync(dest, seconds(st, 'atime'), seconds(st, 'mtime'));
  }

  private copyXattrs(dest: string, real: string): void {
    if (!this.xattrs) return;
    for (const [name, value] of Object.entries(xattrsOf(real))) {
      try {
        native.lsetxattrSync(dest, name, value);
      } catch (e) {
        // a user may read xattrs it may not set (security.capability); root must get them all
        if (this.asRoot || !native.isNativeError(e, 'EPERM')) throw e;
      }
    }
  }
}

/** Gives `dir` the attributes of the chain's root directory (an overlay's upper root is its merged root). */
export function copyRootAttributes(view: UnionView, dir: string): void {
  const top = view.lookupSync('/');
  if (!top) return;
  const attrs = new Attributes();
  attrs.owner(dir, top.realPath, top.stat as Stat);
  attrs.modeAndTimes(dir, top.stat as Stat);
}
