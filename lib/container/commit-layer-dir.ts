import * as fs from 'fs';
import * as native from '../native';
import { fsPath, nameOfBytes } from '../names';
import { NoFollowDir } from '../native/no-follow-dir';
import type { TreePath } from '../native/no-follow-dir';
import { ChangedMeanwhileError } from '../errors';
import { Attributes, metaOf, splitDev } from '../drivers/attributes';
import type { EntryMeta } from '../drivers/attributes';
import { FileCopier } from '../drivers/file-copy';
import { whiteoutFormat } from '../whiteout';
import { compareTreePaths } from '../diff';
import type { WhiteoutFormatName } from '../store/types';
import type { PackEntry } from '../tar/types';
import { TreeFingerprint, checkUnchanged } from '../tar/tree-fingerprint';
import { ROOT, refuseWhiteoutNames } from './commit-entries';

export interface LayerDirOptions {
  /** the container's tree the entries are read from (each at `from/path`) */
  from: string;
  /** the container, as errors name it ("container 1f2e") */
  what: string;
  /** mtimes are clamped to this (seconds), as in the tarball */
  sourceDateEpoch?: number;
  /** tests only: runs after each entry is written (a test changes the container there) */
  onEntry?: (rel: TreePath) => void;
}

const { O_RDONLY, O_NONBLOCK } = fs.constants;

/**
 * Builds a committed layer's directory from the entries that were packed, each taken from the
 * container's own files (a reflink where the filesystem can, else an in-kernel copy that keeps
 * holes): the tarball is never read back or extracted. Whiteouts and opaque markers are written
 * in the store's format; overlay's own xattrs are left behind. Hardlinks among the entries stay
 * hardlinks. Runs synchronously (in the commit worker).
 *
 * The container may be changing meanwhile, so neither side follows a symlink anywhere
 * (NoFollowDir): an entry is read at `from/path` with every directory on the way opened from the
 * one above it, and a file is read from the descriptor its lstat was checked against; each entry
 * is written below the new layer's directory the same way, so a symlink the layer has just been
 * given is never walked through. A directory that became a symlink fails the commit with
 * ChangedMeanwhileError.
 */
export function buildLayerDirSync(entries: PackEntry[], dest: string, whiteout: WhiteoutFormatName, opts: LayerDirOptions): { observed: string } {
  // a container file named `.wh.*` is refused before anything is written (as the packer refuses it)
  refuseWhiteoutNames(entries);
  const fmt = whiteoutFormat(whiteout);
  // the copy driver's attributes (owner first, then mode, xattrs not overlay's own, times), mtimes clamped as in the tarball
  const attrs = new Attributes();
  const epoch = opts.sourceDateEpoch;
  const meta = (st: fs.BigIntStats): EntryMeta => {
    const m = metaOf(st);
    // whole seconds, as the tar's headers hold them (and its import sets the atime to the mtime)
    const t = Math.floor(epoch !== undefined && m.mtime > epoch ? epoch : m.mtime);
    return { ...m, atime: t, mtime: t };
  };
  const copier = new FileCopier({ exclusive: true });
  /** the first path written of each hardlinked inode */
  const links = new Map<string, TreePath>();
  const dirs: Array<{ rel: TreePath; meta: EntryMeta }> = [];
  /** the container root's attributes, when its change is an entry (`.`) */
  let rootMeta: EntryMeta | undefined;
  const sorted = entries.map((e) => ({ e, rel: nameOf(e.path) })).sort((a, b) => compareTreePaths('/' + a.rel, '/' + b.rel));
  const seen = new TreeFingerprint();
  const src = new NoFollowDir(opts.from, opts.what);
  const out = new NoFollowDir(dest, `the new layer of ${opts.what}`);
  try {
    for (const { e, rel } of sorted) {
      writeEntry(e, rel);
      opts.onEntry?.(rel);
    }
    // directories last, deepest first: writing inside them moved their mtimes (they are this
    // process's own, in its staging directory: the last component may be followed)
    for (let i = dirs.length - 1; i >= 0; i--) attrs.modeAndTimes(out.at(dirs[i].rel), dirs[i].meta);
    if (rootMeta) attrs.modeAndTimes(dest, rootMeta);
    return { observed: seen.value() };
  } finally {
    src.close();
    out.close();
  }

  function writeEntry(e: PackEntry, rel: TreePath): void {
    if (rel === ROOT) {
      // the layer's root is there already; both roots are the store's own directories
      const st = fs.lstatSync(opts.from, { bigint: true });
      seen.add('', st);
      rootMeta = meta(st);
      attrs.owner(dest, opts.from, rootMeta);
      return;
    }
    if (e.whiteout) {
      const { dir, name } = out.dirAt(rel);
      fmt.writeWhiteoutSync(dir, name);
      return;
    }
    const st = src.lstat(rel);
    seen.add(rel, st);
    const to = out.at(rel);
    let modeSet = false;
    if (st.isDirectory()) {
      fs.mkdirSync(to, { mode: 0o700 });
      const m = meta(st);
      attrs.owner(to, src.at(rel), m);
      if (e.opaque) fmt.markOpaqueSync(out.at(rel));
      dirs.push({ rel, meta: m });
      return;
    }
    if (st.isFile()) {
      const key = `${st.dev}:${st.ino}`;
      const firstName = st.nlink > 1n ? links.get(key) : undefined;
      if (firstName !== undefined) {
        linkSync(out, firstName, rel); // one inode: its attributes are set
        return;
      }
      if (st.nlink > 1n) links.set(key, rel);
      modeSet = copyFile(src, rel, st, out, copier);
    } else if (st.isSymbolicLink()) {
      fs.symlinkSync(fs.readlinkSync(src.at(rel), { encoding: 'buffer' }), out.at(rel));
    } else if (st.isCharacterDevice() || st.isBlockDevice() || st.isFIFO()) {
      const { major, minor } = splitDev(st.rdev);
      native.mknodSync(out.at(rel), Number(st.mode) & fs.constants.S_IFMT, major, minor);
    } else {
      return; // sockets are not layer content (the packer skips them too)
    }
    attrs.all(out.at(rel), src.at(rel), meta(st), modeSet);
  }
}

/**
 * Copies the container's file `rel` into the new layer from the descriptor it was opened at,
 * after checking that it is the inode lstat saw. Returns whether the copy has the source's mode.
 */
function copyFile(src: NoFollowDir, rel: TreePath, st: fs.BigIntStats, out: NoFollowDir, copier: FileCopier): boolean {
  // O_NONBLOCK: should a fifo have taken the name since lstat, open must not hang on it
  const fd = src.open(rel, O_RDONLY | O_NONBLOCK);
  try {
    const now = fs.fstatSync(fd, { bigint: true });
    if (!now.isFile() || now.ino !== st.ino || now.dev !== st.dev) throw new ChangedMeanwhileError(src.what, String(rel), 'another file took its name while it was being committed');
    const modeSet = copier.copy('/proc/self/fd/' + fd, out.at(rel), { size: Number(now.size), blocks: Number(now.blocks) });
    checkUnchanged(fd, st, src.what, rel);
    return modeSet;
  } finally {
    fs.closeSync(fd);
  }
}

/** A second name in the new layer for the file first written at `first`. */
function linkSync(out: NoFollowDir, first: TreePath, rel: TreePath): void {
  const s = String(first);
  const slash = typeof first === 'string' ? first.lastIndexOf('/') : first.lastIndexOf(0x2f);
  const dirFd = out.openDir(slash < 0 ? '' : first.slice(0, slash));
  try {
    const name = slash < 0 ? first : first.slice(slash + 1);
    const old = typeof name === 'string' ? fsPath(`/proc/self/fd/${dirFd}/${name}`) : Buffer.concat([Buffer.from(`/proc/self/fd/${dirFd}/`), name]);
    fs.linkSync(old, out.at(rel));
  } catch (e) {
    throw Object.assign(e as Error, { message: `${(e as Error).message} (linking ${JSON.stringify(String(rel))} to ${JSON.stringify(s)})` });
  } finally {
    fs.closeSync(dirFd);
  }
}

/** A pack entry's path as a name string (lib/names). */
const nameOf = (p: string | Buffer) => (typeof p === 'string' ? p : nameOfBytes(p));
