import type { LayerSpec, Meta } from './layer-gen';

/**
 * The reference merge: what a chain of layers means, computed from the OCI image-spec layer
 * rules alone (layer.md, "Applying Changesets"), into an in-memory tree. Nothing of lib/ is used.
 *
 * - A whiteout `.wh.NAME` removes NAME (and all under it) from the layers below; an opaque
 *   marker removes every lower child of its directory. Both act on lower layers only: an entry
 *   of the same layer survives them, whatever the order in the tar.
 * - A directory entry over a directory keeps the children and takes the entry's metadata; any
 *   other entry replaces what was at its path, a directory with all its subtree included.
 * - A parent a layer has no entry for is created implicitly: where the chain below has that
 *   directory it keeps the lower metadata; else it is a fresh 0755 root-owned directory whose
 *   mtime the rules do not fix (null: "unknown").
 * - A hardlink names the same file as its target: content and metadata are shared.
 */

/** A regular file's inode: shared by the names of a hardlink group. */
export interface Inode {
  id: number;
  content: string;
  meta: Meta;
}

export type RefNode =
  | { type: 'dir'; mode: number; uid: number; gid: number; mtime: number | null; xattrs: Record<string, string> }
  | { type: 'file'; ino: Inode }
  | { type: 'symlink'; target: string; uid: number; gid: number; mtime: number };

/** '/'-rooted paths ('/', '/a', '/a/b') to what is there. */
export type RefTree = Map<string, RefNode>;

const IMPLICIT = { type: 'dir' as const, mode: 0o755, uid: 0, gid: 0, mtime: null, xattrs: {} };

export const childOf = (dir: string, name: string) => (dir === '/' ? '/' + name : dir + '/' + name);
const abs = (p: string) => '/' + p;
const under = (p: string, dir: string) => (dir === '/' ? p !== '/' : p.startsWith(dir + '/'));

function removeTree(t: RefTree, p: string, keepSelf = false): void {
  for (const k of [...t.keys()]) if (under(k, p) || (!keepSelf && k === p)) t.delete(k);
}

function ancestors(p: string): string[] {
  const parts = p.split('/').filter(Boolean);
  return parts.slice(0, -1).map((_, i) => '/' + parts.slice(0, i + 1).join('/'));
}

/** Every parent of `p` a directory: a non-directory in the way is replaced by an implicit one. */
function ensureParents(t: RefTree, p: string): void {
  for (const a of ancestors(p)) {
    if (t.get(a)?.type === 'dir') continue;
    removeTree(t, a);
    t.set(a, { ...IMPLICIT });
  }
}

let nextInode = 1;

/** The tree after applying `layer` on `lower` (which is not changed). */
export function applyLayer(lower: RefTree, layer: LayerSpec): RefTree {
  const t: RefTree = new Map(lower);
  // whiteouts and opaque markers act on the layers below only: first, whatever their place in the tar
  for (const o of layer) {
    if (o.op === 'whiteout') removeTree(t, abs(o.path));
    if (o.op === 'opaque' && t.get(abs(o.path))?.type === 'dir') removeTree(t, abs(o.path), true);
  }
  const inodes = new Map<string, Inode>();
  for (const o of layer) {
    if (o.op === 'root') {
      t.set('/', { type: 'dir', ...o.meta, xattrs: { ...o.meta.xattrs } });
      continue;
    }
    const p = abs(o.path);
    switch (o.op) {
      case 'whiteout':
        // the marker's own directory is made (and implicit, if need be) like any entry's parent
        ensureParents(t, p);
        break;
      case 'opaque':
        ensureParents(t, childOf(p, '.wh..wh..opq'));
        break;
      case 'dir': {
        ensureParents(t, p);
        if (t.get(p)?.type !== 'dir') removeTree(t, p);
        t.set(p, { type: 'dir', ...o.meta, xattrs: { ...o.meta.xattrs } });
        break;
      }
      case 'file': {
        ensureParents(t, p);
        removeTree(t, p);
        const ino: Inode = { id: nextInode++, content: o.content, meta: o.meta };
        inodes.set(o.path, ino);
        t.set(p, { type: 'file', ino });
        break;
      }
      case 'hardlink': {
        ensureParents(t, p);
        removeTree(t, p);
        const ino = inodes.get(o.target);
        if (!ino) throw new Error(`reference: hardlink ${o.path} to ${o.target}, which is not a file of this layer`);
        inodes.set(o.path, ino);
        t.set(p, { type: 'file', ino });
        break;
      }
      case 'symlink':
        ensureParents(t, p);
        removeTree(t, p);
        t.set(p, { type: 'symlink', target: o.target, uid: o.meta.uid, gid: o.meta.gid, mtime: o.meta.mtime });
        break;
    }
  }
  return t;
}

/** The empty chain: a root of unknown metadata (the layers' roots are compared apart). */
export function emptyTree(): RefTree {
  return new Map([['/', { ...IMPLICIT }]]);
}

/** The tree of each prefix of the chain: result[i] is layers 0..i merged. */
export function referencePrefixes(layers: LayerSpec[]): RefTree[] {
  const out: RefTree[] = [];
  let t = emptyTree();
  for (const l of layers) out.push((t = applyLayer(t, l)));
  return out;
}

/**
 * `layers` without the whiteouts that hide nothing: of a name the chain below does not have, or
 * in a directory the same layer makes opaque. In an overlay-format store such a whiteout device
 * shows in a mounted overlay as a name lstat cannot find (feature strictOverlayListing), which
 * `cp -a` and `mv` of its directory trip over: the mutations property leaves them out until
 * that is fixed.
 */
export function withoutVoidWhiteouts(layers: LayerSpec[]): LayerSpec[] {
  let t = emptyTree();
  return layers.map((l) => {
    const opaque = new Set(l.filter((o) => o.op === 'opaque').map((o) => abs((o as { path: string }).path)));
    const parent = (p: string) => p.slice(0, p.lastIndexOf('/')) || '/';
    const kept = l.filter((o) => o.op !== 'whiteout' || (t.has(abs(o.path)) && !opaque.has(parent(abs(o.path)))));
    t = applyLayer(t, kept);
    return kept;
  });
}
