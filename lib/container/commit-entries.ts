import * as fs from 'fs';
import { NoFollowDir } from '../native/no-follow-dir';
import type { UnionView } from '../view';
import type { WhiteoutFormat } from '../whiteout';
import type { Change } from '../diff';
import type { PackEntry } from '../tar/types';

export interface EntryPlanOptions {
  /** the tree the changes' sources are in (upperdir, copy root or merged tree): parent directories come from here */
  base: string;
  /** the chain below the container */
  lower: UnionView;
  /** `base` is an overlay upperdir whose whiteouts are in this format: they are not content */
  baseWhiteouts?: WhiteoutFormat;
  /** the container, as errors name it */
  what?: string;
}

/**
 * What a committed layer holds, from a container's changes: added and changed entries, a `.wh.`
 * entry per deletion, every parent directory (with its metadata as it is now), and the whole
 * contents of a directory marked opaque, since its marker hides everything lower. An opaque
 * marker is kept only for a directory the lower chain has; deletions below it are dropped
 * (the marker already hides them). A change of the root itself (its mode, owner or xattrs) is
 * the entry `.` (packed as `./`).
 */
export function planPackEntriesSync(changes: Change[], o: EntryPlanOptions): PackEntry[] {
  const opaque = new Set<string>();
  // (a layer's root is never opaque: overlayfs ignores a marker there)
  for (const c of changes) if (c.kind === 'C' && c.opaque && c.path !== '/' && o.lower.lookupSync(c.path)?.type === 'dir') opaque.add(c.path);
  const underOpaque = (p: string) => {
    for (let i = p.lastIndexOf('/'); i > 0; i = p.lastIndexOf('/', i - 1)) if (opaque.has(p.slice(0, i))) return true;
    return false;
  };

  const entries = new Map<string, PackEntry>();
  for (const c of changes) {
    const rel = c.path.slice(1);
    if (rel === '') {
      if (c.kind === 'C') entries.set(ROOT, { path: ROOT, source: c.source ?? o.base });
      continue;
    }
    if (c.kind === 'D') {
      if (!underOpaque(c.path)) entries.set(rel, { path: rel, whiteout: true });
    } else {
      entries.set(rel, { path: rel, source: c.source ?? o.base + c.path, ...(opaque.has(c.path) ? { opaque: true } : {}) });
    }
  }
  if (opaque.size) {
    // the container may be changing: its directories are listed without following a symlink
    const tree = new NoFollowDir(o.base, o.what ?? 'the container');
    try {
      for (const dir of opaque) addSubtree(entries, tree, dir.slice(1), o.base + dir, o.baseWhiteouts);
    } finally {
      tree.close();
    }
  }
  for (const rel of [...entries.keys()]) {
    for (let i = rel.lastIndexOf('/'); i > 0; i = rel.lastIndexOf('/', i - 1)) {
      const parent = rel.slice(0, i);
      if (entries.has(parent)) break; // and so are its own parents
      entries.set(parent, { path: parent, source: o.base + '/' + parent });
    }
  }
  return [...entries.values()];
}

/** The path of the layer root's own entry. */
export const ROOT = '.';

/** Everything below `rel` (at `real`, read through `tree`) that is not an entry yet. */
function addSubtree(entries: Map<string, PackEntry>, tree: NoFollowDir, rel: string, real: string, whiteouts?: WhiteoutFormat): void {
  for (const name of tree.readdirNames(rel)) {
    const childReal = real + '/' + name;
    const childRel = rel + '/' + name;
    const st = fs.lstatSync(tree.at(childRel));
    if (whiteouts?.classify(name, st)) continue;
    if (!entries.has(childRel)) entries.set(childRel, { path: childRel, source: childReal });
    if (st.isDirectory()) addSubtree(entries, tree, childRel, childReal, whiteouts);
  }
}
