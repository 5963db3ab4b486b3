import * as fs from 'fs';
import * as path from 'path';
import * as native from '../native';
import { fsPath, nameOfBytes } from '../names';
import { Attributes, metaOf, splitDev } from '../drivers/materialise';
import type { EntryMeta } from '../drivers/materialise';
import { whiteoutFormat } from '../whiteout';
import { compareTreePaths } from '../diff';
import type { WhiteoutFormatName } from '../store/types';
import type { PackEntry } from '../tar/types';

export interface LayerDirOptions {
  /** mtimes are clamped to this (seconds), as in the tarball */
  sourceDateEpoch?: number;
}

/**
 * Builds a committed layer's directory from the entries that were packed, each taken from the
 * container's own files (a reflink where the filesystem can, else an in-kernel copy): the tarball
 * is never read back or extracted. Whiteouts and opaque markers are written in the store's
 * format; overlay's own xattrs are left behind. Hardlinks among the entries stay hardlinks. Runs
 * synchronously (in the commit worker).
 */
export function buildLayerDirSync(entries: PackEntry[], dest: string, whiteout: WhiteoutFormatName, opts: LayerDirOptions = {}): void {
  const fmt = whiteoutFormat(whiteout);
  // the copy driver's attributes (owner first, then mode, xattrs not overlay's own, times), mtimes clamped as in the tarball
  const attrs = new Attributes();
  const epoch = opts.sourceDateEpoch;
  const meta = (st: fs.BigIntStats): EntryMeta => {
    const m = metaOf(st);
    const t = epoch !== undefined && m.mtime > epoch ? epoch : m.mtime;
    return { ...m, atime: t, mtime: t };
  };
  const links = new Map<string, string>();
  const dirs: Array<{ real: string; meta: EntryMeta }> = [];
  const sorted = entries.map((e) => ({ e, rel: nameOf(e.path) })).sort((a, b) => compareTreePaths('/' + a.rel, '/' + b.rel));
  for (const { e, rel } of sorted) {
    const real = path.join(dest, rel);
    if (e.whiteout) {
      fmt.writeWhiteoutSync(path.dirname(real), path.basename(real));
      continue;
    }
    const src = nameOf(e.source!);
    const st = fs.lstatSync(fsPath(src), { bigint: true });
    if (st.isDirectory()) {
      fs.mkdirSync(fsPath(real), { mode: 0o700 });
      const m = meta(st);
      attrs.owner(real, src, m);
      if (e.opaque) fmt.markOpaqueSync(real);
      dirs.push({ real, meta: m });
      continue;
    }
    if (st.isFile()) {
      const key = `${st.dev}:${st.ino}`;
      const first = st.nlink > 1n ? links.get(key) : undefined;
      if (first) {
        fs.linkSync(fsPath(first), fsPath(real)); // one inode: its attributes are set
        continue;
      }
      if (st.nlink > 1n) links.set(key, real);
      // EXCL: the target is new; without it libuv truncates the fresh file, and on ext4 a truncate
      // to zero starts writeback at close (auto_da_alloc): a flush per file
      fs.copyFileSync(fsPath(src), fsPath(real), fs.constants.COPYFILE_FICLONE | fs.constants.COPYFILE_EXCL);
    } else if (st.isSymbolicLink()) {
      fs.symlinkSync(fs.readlinkSync(fsPath(src), { encoding: 'buffer' }), fsPath(real));
    } else if (st.isCharacterDevice() || st.isBlockDevice() || st.isFIFO()) {
      const { major, minor } = splitDev(st.rdev);
      native.mknodSync(fsPath(real), Number(st.mode) & fs.constants.S_IFMT, major, minor);
    } else {
      continue; // sockets are not layer content (the packer skips them too)
    }
    attrs.all(real, src, meta(st));
  }
  // directories last, deepest first: writing inside them moved their mtimes
  for (let i = dirs.length - 1; i >= 0; i--) attrs.modeAndTimes(dirs[i].real, dirs[i].meta);
}

/** A pack entry's path as a name string (lib/names). */
const nameOf = (p: string | Buffer) => (typeof p === 'string' ? p : nameOfBytes(p));
