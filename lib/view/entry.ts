import * as fs from 'fs';

export type EntryType = 'file' | 'dir' | 'symlink' | 'char' | 'block' | 'fifo' | 'socket';

/** One path of the union, as the topmost layer that has it shows it. */
export interface ViewEntry {
  /** '/etc/passwd'; '/' for the root */
  path: string;
  realPath: string;
  /** index into the layers, 0 = bottom */
  layer: number;
  /**
   * lstat of realPath; a view made with `bigint` (UnionViewOptions) gives fs.BigIntStats here,
   * which its caller reads through Number() (entryType and the whiteout formats do)
   */
  stat: fs.Stats;
  type: EntryType;
}

const { S_IFMT, S_IFREG, S_IFDIR, S_IFLNK, S_IFCHR, S_IFBLK, S_IFIFO } = fs.constants;

export function entryType(st: fs.Stats | fs.BigIntStats): EntryType {
  switch (Number(st.mode) & S_IFMT) {
    case S_IFREG:
      return 'file';
    case S_IFDIR:
      return 'dir';
    case S_IFLNK:
      return 'symlink';
    case S_IFCHR:
      return 'char';
    case S_IFBLK:
      return 'block';
    case S_IFIFO:
      return 'fifo';
    default:
      return 'socket';
  }
}
