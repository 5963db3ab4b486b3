import * as fs from 'fs';
import * as path from 'path';
import * as native from '../native';
import { utimeSeconds } from '../native/times';
import { xattrsOf } from '../view';
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
  const attrs = new Attributes(opts.sourceDateEpoch);
  const links = new Map<string, string>();
  const dirs: Array<{ real: string; st: fs.BigIntStats }> = [];
  const sorted = entries.map((e) => ({ e, rel: String(e.path) })).sort((a, b) => compareTreePaths('/' + a.rel, '/' + b.rel));
  for (const { e, rel } of sorted) {
    const real = path.join(dest, rel);
    if (e.whiteout) {
      fmt.writeWhiteoutSync(path.dirname(real), path.basename(real));
      continue;
    }
    const src = String(e.source);
    const st = fs.lstatSync(src, { bigint: true });
    if (st.isDirectory()) {
      fs.mkdirSync(real, { mode: 0o700 });
      attrs.ownerAndXattrs(real, src, st);
      if (e.opaque) fmt.markOpaqueSync(real);
      dirs.push({ real, st });
      continue;
    }
    if (st.isFile()) {
      const key = `${st.dev}:${st.ino}`;
      const first = st.nlink > 1n ? links.get(key) : undefined;
      if (first) {
        fs.linkSync(first, real); // one inode: its attributes are set
        continue;
      }
      if (st.nlink > 1n) links.set(key, real);
      // EXCL: the target is new; without it libuv truncates the fresh file, and on ext4 a truncate
      // to zero starts writeback at close (auto_da_alloc): a flush per file
      fs.copyFileSync(src, real, fs.constants.COPYFILE_FICLONE | fs.constants.COPYFILE_EXCL);
    } else if (st.isSymbolicLink()) {
      fs.symlinkSync(fs.readlinkSync(src, { encoding: 'buffer' }), real);
    } else if (st.isCharacterDevice() || st.isBlockDevice() || st.isFIFO()) {
      const r = st.rdev;
      native.mknodSync(real, Number(st.mode) & fs.constants.S_IFMT, Number(((r >> 8n) & 0xfffn) | ((r >> 32n) & ~0xfffn)), Number((r & 0xffn) | ((r >> 12n) & ~0xffn)));
    } else {
      continue; // sockets are not layer content (the packer skips them too)
    }
    attrs.all(real, src, st);
  }
  // directories last, deepest first: writing inside them moved their mtimes
  for (let i = dirs.length - 1; i >= 0; i--) attrs.modeAndTimes(dirs[i].real, dirs[i].st);
}

/** Owners (as root), modes, xattrs (not overlay's own) and mtimes, in the order that keeps each. */
class Attributes {
  private readonly asRoot = process.geteuid?.() === 0;
  private readonly xattrs = native.available();

  constructor(private readonly epoch?: number) {}

  ownerAndXattrs(dest: string, src: string, st: fs.BigIntStats): void {
    // chown clears set-id bits and security.capability: owner first
    if (this.asRoot) fs.lchownSync(dest, Number(st.uid), Number(st.gid));
    this.copyXattrs(dest, src);
  }

  all(dest: string, src: string, st: fs.BigIntStats): void {
    if (this.asRoot) fs.lchownSync(dest, Number(st.uid), Number(st.gid));
    if (!st.isSymbolicLink()) fs.chmodSync(dest, Number(st.mode) & 0o7777);
    this.copyXattrs(dest, src);
    const t = this.mtime(st);
    fs.lutimesSync(dest, t, t);
  }

  modeAndTimes(dest: string, st: fs.BigIntStats): void {
    fs.chmodSync(dest, Number(st.mode) & 0o7777);
    const t = this.mtime(st);
    fs.utimesSync(dest, t, t);
  }

  private copyXattrs(dest: string, src: string): void {
    if (!this.xattrs) return;
    for (const [name, value] of Object.entries(xattrsOf(src))) {
      try {
        native.lsetxattrSync(dest, name, value);
      } catch (e) {
        // a user may read xattrs it may not set (security.*, trusted.*); root must get them all
        if (this.asRoot || !native.isNativeError(e, 'EPERM')) throw e;
      }
    }
  }

  private mtime(st: fs.BigIntStats): number {
    const s = utimeSeconds(st.mtimeNs);
    return this.epoch !== undefined && s > this.epoch ? this.epoch : s;
  }
}
