import * as fs from 'fs';
import { NoFollowDir } from '../native/no-follow-dir';
import { byteOrder } from '../names';
import { childPath } from './walk';
import type { WalkEntry } from './walk';

/** A walk entry of a tree another party may be changing. */
export interface NoFollowWalkEntry extends WalkEntry {
  /** the entry, reached without following any symlink, for calls that do not follow its last component (lstat, readlink, l*xattr): valid until the walk goes on */
  at: string | Buffer;
}

/**
 * walkTreeSync for a tree another party may be changing (a copy container's root): the same
 * entries in the same order, but no directory is listed, and no entry is stat'ed, through a
 * symlink (NoFollowDir): a directory swapped for a symlink to a host path is never walked into.
 * A directory that stops being one between its lstat and its listing is skipped as removed (its
 * entry, a directory, was yielded; its new form is seen by the next walk). `real` is the entry's
 * path by name, for reports; reads go through `at`.
 */
export function* walkTreeNoFollowSync(root: string, what: string): Generator<NoFollowWalkEntry> {
  const tree = new NoFollowDir(root, what);
  try {
    // (the root as `/proc/self/fd/N/.`: the directory, not the magic link that names it)
    const rootAt = tree.rootPath() + '/.';
    const top = fs.lstatSync(rootAt, { bigint: true });
    yield { path: '/', real: root, st: top, at: rootAt };
    const open: Array<{ path: string; real: string; rel: string; names: string[]; i: number }> = [{ path: '/', real: root, rel: '', names: sortedNames(tree, ''), i: 0 }];
    while (open.length > 0) {
      const dir = open[open.length - 1];
      if (dir.i === dir.names.length) {
        open.pop();
        continue;
      }
      const name = dir.names[dir.i++];
      const rel = dir.rel ? dir.rel + '/' + name : name;
      const at = tree.at(rel);
      let st: fs.BigIntStats;
      try {
        st = fs.lstatSync(at, { bigint: true });
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
        continue; // removed since the listing
      }
      const p = childPath(dir.path, name);
      yield { path: p, real: dir.real + '/' + name, st, at };
      if (!st.isDirectory()) continue;
      let names: string[];
      try {
        names = sortedNames(tree, rel);
      } catch (e) {
        if ((e as { code?: string }).code === 'LAYERFS_CHANGED_MEANWHILE') continue; // no longer a directory
        throw e;
      }
      open.push({ path: p, real: dir.real + '/' + name, rel, names, i: 0 });
    }
  } finally {
    tree.close();
  }
}

function sortedNames(tree: NoFollowDir, rel: string): string[] {
  return tree.readdirNames(rel).sort(byteOrder);
}
