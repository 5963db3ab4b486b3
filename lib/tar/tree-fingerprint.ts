import * as fs from 'fs';
import { ChangedMeanwhileError } from '../errors';
import { nameOfBytes, printable } from '../names';

/**
 * Fails when the file open at `fd` changed since `st` (its lstat before the read): same inode,
 * size and ctime (a write, chmod, chown or xattr change all move the ctime). A reader of a live
 * tree (a commit's one pass over a container) calls it once a file is read.
 */
export function checkUnchanged(fd: number, st: fs.BigIntStats, tree: string, rel: string | Buffer): void {
  const now = fs.fstatSync(fd, { bigint: true });
  if (now.ino !== st.ino || now.dev !== st.dev || now.size !== st.size || now.ctimeNs !== st.ctimeNs) {
    throw new ChangedMeanwhileError(tree, printable(typeof rel === 'string' ? rel : nameOfBytes(rel)), 'the file changed while it was read');
  }
}
