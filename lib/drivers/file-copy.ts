import * as fs from 'fs';
import { fsArg } from '../names';
import * as native from '../native';

const { COPYFILE_EXCL, COPYFILE_FICLONE, COPYFILE_FICLONE_FORCE } = fs.constants;

/** Errors that say "this filesystem (pair) cannot clone", as opposed to a real failure. */
const NO_CLONE = new Set(['ENOTSUP', 'EOPNOTSUPP', 'EXDEV', 'EINVAL', 'ENOSYS', 'ENOTTY', 'EBADF']);

const BLOCK = 4096;
const CHUNK = 1 << 20;

/**
 * Copies regular files for the copy driver, synchronously (it runs in a worker thread).
 *
 * A file is cloned with a reflink where the filesystem can (XFS with reflink=1, btrfs): no data
 * is copied and extents are shared until written. Otherwise `copyFile` uses copy_file_range.
 *
 * Sparse files: copy_file_range on ext4 writes the holes out as zeros (measured: a 64 MiB file
 * with 4 KiB of data became 64 MiB on disk), and Node has no SEEK_DATA/SEEK_HOLE. So a file
 * whose allocated blocks are fewer than its size goes to the addon's copyFd, which clones where
 * it can and else copies only the data extents (SEEK_DATA/SEEK_HOLE). Without the addon it is
 * cloned if the filesystem can (a clone keeps the holes), else copied in 1 MiB chunks where runs
 * of all-zero 4 KiB blocks are skipped, leaving holes, and the size set by ftruncate: the copy is
 * sparse wherever the source was (zero blocks that were allocated become holes too, as with
 * `cp --sparse=auto`).
 *
 * `src` may be /proc/self/fd/N (a file the caller opened without following symlinks), `dest` a
 * path whose last component must not be followed: the target is always created with O_EXCL.
 *
 * `exclusive`: every target is new (a materialised copy). The copy then creates it with O_EXCL
 * and skips the check for an existing file and its truncation to zero. That truncation is what
 * costs: on ext4 a file truncated to zero is flushed when it is closed (auto_da_alloc, the guard
 * for the replace-by-truncate pattern), so each small file started its own writeback.
 */
export class FileCopier {
  /** whether FICLONE works between source and target; learnt from the first sparse file */
  private canClone: boolean | undefined;
  private readonly buf = Buffer.allocUnsafe(CHUNK);
  private readonly zeros = Buffer.alloc(BLOCK);
  private readonly excl: number;
  private readonly copyFd = native.supports('copyFdSync');
  bytes = 0;

  constructor(opts: { exclusive?: boolean } = {}) {
    this.excl = opts.exclusive ? COPYFILE_EXCL : 0;
  }

  /**
   * Copies `src` to `dest`. Returns true when `dest` got the source's whole mode with it (copyFile
   * sets it, set-id bits included; a write by a process without CAP_FSETID clears those), false
   * when the caller must set the mode (the sparse copy creates the file 0600).
   */
  copy(srcName: string | Buffer, destName: string | Buffer, st: { size: number; blocks: number }): boolean {
    const src = fsArg(srcName);
    const dest = fsArg(destName);
    this.bytes += st.size;
    const sparse = st.size > 0 && st.blocks * 512 < st.size;
    if (!sparse) {
      fs.copyFileSync(src, dest, COPYFILE_FICLONE | this.excl);
      return true;
    }
    if (this.copyFd) {
      this.copyHoles(src, dest);
      return false;
    }
    if (this.canClone !== false) {
      try {
        fs.copyFileSync(src, dest, COPYFILE_FICLONE_FORCE | this.excl);
        this.canClone = true;
        return true;
      } catch (e) {
        if (!NO_CLONE.has((e as NodeJS.ErrnoException).code ?? '')) throw e;
        this.canClone = false;
      }
    }
    this.copySparse(src, dest, st.size);
    return false;
  }

  /** The addon's copy: a clone, or the data extents only. */
  private copyHoles(src: string | Buffer, dest: string | Buffer): void {
    const inFd = fs.openSync(src, 'r');
    try {
      const outFd = fs.openSync(dest, this.excl ? 'wx' : 'w', 0o600);
      try {
        native.copyFdSync(inFd, outFd);
      } finally {
        fs.closeSync(outFd);
      }
    } finally {
      fs.closeSync(inFd);
    }
  }

  private copySparse(src: string | Buffer, dest: string | Buffer, size: number): void {
    const inFd = fs.openSync(src, 'r');
    try {
      const outFd = fs.openSync(dest, this.excl ? 'wx' : 'w', 0o600);
      try {
        for (let pos = 0; pos < size; ) {
          const n = fs.readSync(inFd, this.buf, 0, Math.min(CHUNK, size - pos), pos);
          if (n === 0) break;
          this.writeNonZeroRuns(outFd, n, pos);
          pos += n;
        }
        fs.ftruncateSync(outFd, size);
      } finally {
        fs.closeSync(outFd);
      }
    } finally {
      fs.closeSync(inFd);
    }
  }

  /** Writes the first `n` bytes of the buffer at `pos`, skipping all-zero blocks. */
  private writeNonZeroRuns(fd: number, n: number, pos: number): void {
    let runStart = -1;
    for (let off = 0; off < n; off += BLOCK) {
      const end = Math.min(off + BLOCK, n);
      const zero = this.zeros.compare(this.buf, off, end, 0, end - off) === 0;
      if (!zero && runStart < 0) runStart = off;
      if (zero && runStart >= 0) {
        fs.writeSync(fd, this.buf, runStart, off - runStart, pos + runStart);
        runStart = -1;
      }
    }
    if (runStart >= 0) fs.writeSync(fd, this.buf, runStart, n - runStart, pos + runStart);
  }
}
