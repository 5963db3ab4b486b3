import type { EntryType, UnionView } from '../view';
import type { WhiteoutFormatName } from '../types';

/** Which aspects of an entry a 'C' change touched. */
export type ChangedAspect =
  | 'type'
  /** the bytes differ (from a copy manifest: or the file was written to, its size or mtime moved) */
  | 'content'
  /** the mtime moved (whole seconds), the bytes did not */
  | 'mtime'
  | 'mode'
  | 'owner'
  | 'xattrs'
  | 'target'
  /**
   * unchanged itself, but another name of its inode was added or changed: a layer must carry both
   * to keep them one file; or (overlay) a copy-up took it out of the lower file's hardlink group
   */
  | 'link'
  /** a directory removed and made again: it hides everything the layers below hold under it */
  | 'recreated';

/** One entry of a diff, as every source of changes reports it (sorted by path, byte order). */
export interface Change {
  kind: 'A' | 'C' | 'D';
  /** absolute inside the root: '/etc/passwd' ('/' for the root itself) */
  path: string;
  /** the entry's type after the change (before it, for 'D') */
  type: EntryType;
  /** bytes, for regular files; else 0 */
  size: number;
  /** permission bits with setuid/setgid/sticky (st_mode & 0o7777) */
  mode: number;
  uid: number;
  gid: number;
  /** whole seconds since the epoch */
  mtime: number;
  /** symlink target */
  target?: string;
  /** for 'C': which aspects changed */
  what?: ChangedAspect[];
  /** a directory that hides everything lower (removed and recreated); the lower children it hides are reported as 'D' */
  opaque?: boolean;
  /** where the entry can be read now (absent for 'D'); what a commit packs */
  source?: string;
}

/** A tree for diffTrees: a directory on disk, or the union view of a chain. */
export type TreeInput = string | UnionView;

/** A TreeInput as it crosses to a worker thread. */
export type WireTree = { dir: string } | { layerDirs: string[]; whiteout: WhiteoutFormatName };

export interface DiffTreesOptions {
  /** 'auto' (default): read two files of equal size unless they are one inode; 'always': even then */
  compareContent?: 'auto' | 'always';
  /**
   * Count a different mtime (whole seconds) as a change even when the bytes are equal. Default
   * false: two trees made at different times are the same when their contents are.
   */
  mtime?: boolean;
}

export interface AsyncDiffOptions {
  signal?: AbortSignal;
}
