import * as fs from 'fs';
import { NoFollowDir } from '../native/no-follow-dir';
import type { UnionView } from '../view';
import type { WhiteoutFormat } from '../whiteout';
import type { Change } from '../diff';
import type { PackEntry } from '../tar/types';
import { UnsafePathError } from '../errors';
import { nameOfBytes } from '../names';
import { looksLikeWhiteout, WHITEOUT_NAME_REASON } from '../whiteout';

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
      const e: PackEntry = { path: rel, source: c.source ?? o.base + c.path };
      if (opaque.has(c.path)) e.opaque = true;
      // what the diff's lstat saw (the pack may then open it without an lstat of its own)
      else if (c.type === 'file') e.file = true;
      entries.set(rel, e);
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
  const out = [...entries.values()];
  refuseWhiteoutNames(out);
  return out;
}

/**
 * Refuses entries with a component named `.wh.*` (UnsafePathError, naming the path), as the packer
 * does. Both the tarball and the layer directory are built from the same entries, in two workers
 * at once: checking here, before either starts, makes the refusal the error whichever side would
 * have met the name first (the layer directory's build would meet `d/.wh..wh..opq` as a second
 * opaque marker, EEXIST).
 */
export function refuseWhiteoutNames(entries: PackEntry[]): void {
  for (const e of entries) {
    const parts = typeof e.path === 'string' ? e.path.split('/') : splitBytes(e.path);
    if (parts.some(looksLikeWhiteout)) throw new UnsafePathError(typeof e.path === 'string' ? e.path : nameOfBytes(e.path), WHITEOUT_NAME_REASON);
  }
}

function splitBytes(p: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let start = 0;
  for (let i = 0; i <= p.length; i++) {
    if (i === p.length || p[i] === 0x2f) {
      out.push(p.subarray(start, i));
      start = i + 1;
    }
  }
  return out;
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
