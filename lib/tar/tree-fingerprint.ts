import * as fs from 'fs';
import { createHash } from 'crypto';
import { ChangedMeanwhileError } from '../errors';
import { nameBytes, nameOfBytes, printable } from '../names';

const MASK = (1n << 128n) - 1n;

/**
 * What one reader of a live tree saw of it, as one value: the sum of a hash of every entry's
 * path, inode, type and mode, size and ctime, in whatever order they were read. Two readers of
 * one tree (a commit's packer and its layer-directory build, each in its own worker) that saw
 * the same entries in the same state get the same fingerprint; a change between their reads
 * (an inode swapped, a file written, chmod, chown, xattrs: all move the ctime) makes them
 * differ. A file changed while it is read is caught by `checkUnchanged`.
 */
export class TreeFingerprint {
  private sum = 0n;
  private count = 0;

  add(rel: string | Buffer, st: fs.BigIntStats): void {
    const h = createHash('sha256').update(typeof rel === 'string' ? nameBytes(rel) : rel).update(`\0${st.dev}:${st.ino}:${st.mode}:${st.size}:${st.ctimeNs}`).digest();
    this.sum = (this.sum + h.readBigUInt64BE(0) * (1n << 64n) + h.readBigUInt64BE(8)) & MASK;
    this.count++;
  }

  /** The fingerprint, as it crosses a worker's boundary. */
  value(): string {
    return `${this.count}:${this.sum.toString(16)}`;
  }
}

/** Fails when the file open at `fd` changed since `st` (its lstat before the read): same inode, size and ctime. */
export function checkUnchanged(fd: number, st: fs.BigIntStats, tree: string, rel: string | Buffer): void {
  const now = fs.fstatSync(fd, { bigint: true });
  if (now.ino !== st.ino || now.dev !== st.dev || now.size !== st.size || now.ctimeNs !== st.ctimeNs) {
    throw new ChangedMeanwhileError(tree, printable(typeof rel === 'string' ? rel : nameOfBytes(rel)), 'the file changed while it was read');
  }
}
