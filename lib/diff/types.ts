import type { EntryType } from '../view';

/** One entry of a diff, as every source of changes reports it (sorted by path). */
export interface Change {
  kind: 'A' | 'C' | 'D';
  /** absolute inside the root: '/etc/passwd' */
  path: string;
  /** the entry's type after the change (before it, for 'D') */
  type: EntryType;
  size: number;
  mode: number;
  uid: number;
  gid: number;
  /** seconds */
  mtime: number;
  /** symlink target */
  target?: string;
  /** for 'C': which aspects changed */
  what?: Array<'type' | 'content' | 'mode' | 'owner' | 'mtime' | 'xattrs' | 'target' | 'link' | 'recreated'>;
  /** a directory that hides everything lower (removed and recreated); its lower children are reported as 'D' too */
  opaque?: boolean;
  /** where the new entry can be read (absent for 'D') */
  source?: string;
}
