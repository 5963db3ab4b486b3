import * as fs from 'fs';
import * as path from 'path';
import { NotFoundError } from '../errors';
import { fsPath, readdirNamesSync, readlinkNameSync, readlinkName } from '../names';
import { whiteoutFormat, OCI_WHITEOUT_PREFIX, OCI_OPAQUE_MARKER } from '../whiteout';
import type { WhiteoutFormat } from '../whiteout';
import type { WhiteoutFormatName } from '../types';
import { entryType, type ViewEntry } from './entry';
import { normalisePath, byteOrder } from './paths';
import { xattrsOf, xattrsOfAsync } from './xattrs';

/** A path of the union and the layers its directory stack draws on (top first). */
interface Resolved {
  entry: ViewEntry;
  /** for a directory: the layers that have it as a directory, top first; for anything else: [entry.layer] */
  layers: number[];
}

/** A directory of the view resolved once (UnionView.dirStackSync): its path ('' for the root) and its layer stack, cut at an opaque one. */
export interface DirStack {
  readonly rel: string;
  readonly layers: number[];
}

/** The merged children of one directory. */
interface Merged {
  byName: Map<string, ViewEntry>;
  /** for each child directory: the layers that have it as a directory, top first, not yet cut at an opaque one */
  stacks: Map<string, number[]>;
}

/** The one name `.wh.` + name cannot whiten out: it spells the opaque marker. */
const OPAQUE_SUFFIX = OCI_OPAQUE_MARKER.slice(OCI_WHITEOUT_PREFIX.length);

/** How many entries the async walk yields between turns of the event loop. */
const WALK_BATCH = 512;

/** (bigint: fs.BigIntStats in the fs.Stats' place, see UnionViewOptions) */
function lstatOrUndefined(p: string, bigint: boolean): fs.Stats | undefined {
  try {
    return fs.lstatSync(fsPath(p), { throwIfNoEntry: false, bigint: bigint as false });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOTDIR') return undefined;
    throw e;
  }
}

export interface UnionViewOptions {
  /**
   * Entries' stats as fs.BigIntStats (typed fs.Stats still: read their numbers through Number()),
   * for a caller that needs the times to the nanosecond and would else lstat every entry again
   * (the copy driver's materialiser)
   */
  bigint?: boolean;
}

const missing = (p: string) => new NotFoundError(p, `no such path in the view: ${p}`);

/**
 * A read-only union of a chain of layer directories (bottom first), with overlayfs/OCI semantics
 * and no mount. Each path is resolved through the layers from the top:
 * - a whiteout in layer L hides the name in the layers below L only (an entry of that name in L
 *   itself survives);
 * - an opaque directory in L hides the directory's contents of the layers below L;
 * - a non-directory hides everything below it (a lower directory included), and a directory
 *   hides a non-directory below it (and what is below that);
 * - a path whose parent is not a directory is not found.
 * It is the oracle the tests hold mounts and copies against. Two places where a kernel overlay
 * mount shows something else, the view follows what the layers mean: an opaque marking on a
 * layer's root hides the lower layers' roots (overlayfs ignores it there), and a whiteout in a
 * directory that only one layer has is never listed (overlayfs lists it but cannot stat it).
 *
 * Lookups use sync lstat per layer and path component; nothing is cached, so a view over a live
 * upper directory sees its changes (only the roots' opaque markings are read once).
 */
export class UnionView {
  readonly layerDirs: string[];
  readonly whiteout: WhiteoutFormatName;
  private readonly fmt: WhiteoutFormat;
  private readonly oci: boolean;
  /** the layer directories as absolute paths without a trailing slash */
  private readonly roots: string[];
  /** the layers whose root is part of the union, top first (cut at the first opaque root) */
  private rootLayers: number[] | undefined;

  private readonly bigint: boolean;

  constructor(layerDirs: string[], whiteout: WhiteoutFormatName, opts: UnionViewOptions = {}) {
    this.bigint = opts.bigint === true;
    this.layerDirs = layerDirs;
    this.whiteout = whiteout;
    this.fmt = whiteoutFormat(whiteout);
    this.oci = whiteout === 'oci';
    this.roots = layerDirs.map((d) => path.resolve(d));
  }

  lookupSync(p: string): ViewEntry | null {
    return this.resolve(normalisePath(p), false)?.entry ?? null;
  }

  /**
   * @internal Directory `p` resolved once, for lookups of many of its children (lookupInSync):
   * null when it is no directory of the view. Valid while the layers do not change (a chain's
   * published layers, as a diff's lower side is).
   */
  dirStackSync(p: string): DirStack | null {
    const np = normalisePath(p);
    if (np === '/') return this.roots.length ? { rel: '', layers: this.getRootLayers() } : null;
    const r = this.resolve(np, false);
    if (!r || r.entry.type !== 'dir') return null;
    return { rel: r.entry.path, layers: this.cutAtOpaque(r.entry.path, r.layers) };
  }

  /** @internal lookupSync of the child `name` of a directory dirStackSync resolved: the same entry, the directories above not resolved again. */
  lookupInSync(dir: DirStack | null, name: string): ViewEntry | null {
    return dir ? (this.step(dir.rel, dir.layers, name)?.entry ?? null) : null;
  }

  /** The lstat of the entry; NotFoundError when the path is not in the view. */
  statSync(p: string): fs.Stats {
    const e = this.lookupSync(p);
    if (!e) throw missing(p);
    return e.stat;
  }

  /** The merged names of directory p, whiteouts and markers hidden, sorted by byte order. */
  readdirSync(p: string): string[] {
    return [...this.mergeDir(p).byName.keys()].sort(byteOrder);
  }

  /** The merged entries of directory p (as lookupSync would give each), sorted by name in byte order. */
  readdirEntriesSync(p: string): ViewEntry[] {
    return sortedEntries(this.mergeDir(p));
  }

  readFileSync(p: string): Buffer {
    return fs.readFileSync(fsPath(this.entryOf(p).realPath));
  }

  readlinkSync(p: string): string {
    return readlinkNameSync(this.entryOf(p).realPath);
  }

  /** Every xattr except overlay's own (trusted.overlay.*, user.overlay.*); {} when the addon is absent. */
  xattrsSync(p: string): Record<string, Buffer> {
    return xattrsOf(this.entryOf(p).realPath);
  }

  /** The layers that contribute to directory p, top first, stopping at an opaque one. */
  dirLayersSync(p: string): number[] {
    const np = normalisePath(p);
    const r = this.resolve(np, true);
    if (!r || r.entry.type !== 'dir') throw new NotFoundError(p, `not a directory in the view: ${p}`);
    return r.layers.slice();
  }

  /**
   * Every entry under p (the root by default), depth first, sorted by name in byte order, a
   * directory before its contents, p itself first. Nothing when p is not in the view.
   */
  *walkSync(p = '/'): Generator<ViewEntry> {
    const r = this.resolve(normalisePath(p), false);
    if (!r) return;
    yield r.entry;
    if (r.entry.type !== 'dir') return;
    // each directory's children come from one merge, and its children's layer stacks with them
    const open: Array<{ entries: ViewEntry[]; stacks: Map<string, number[]>; i: number }> = [];
    const push = (dir: string, layers: number[]) => {
      const m = this.merge(dir, layers);
      open.push({ entries: sortedEntries(m), stacks: m.stacks, i: 0 });
    };
    push(r.entry.path, r.layers);
    while (open.length > 0) {
      const top = open[open.length - 1];
      if (top.i === top.entries.length) {
        open.pop();
        continue;
      }
      const e = top.entries[top.i++];
      yield e;
      if (e.type === 'dir') push(e.path, top.stacks.get(e.path.slice(e.path.lastIndexOf('/') + 1))!);
    }
  }

  /**
   * Each directory under p (the root by default) with its merged children sorted by name in
   * byte order, as walkSync reads them: p first, then depth first. For a caller that works one
   * directory at a time (the copy driver's batches). Nothing when p is not a directory of the view.
   */
  *walkDirsSync(p = '/'): Generator<{ dir: ViewEntry; entries: ViewEntry[] }> {
    const r = this.resolve(normalisePath(p), false);
    if (!r || r.entry.type !== 'dir') return;
    const todo: Array<{ dir: ViewEntry; layers: number[] }> = [{ dir: r.entry, layers: r.layers }];
    while (todo.length > 0) {
      const { dir, layers } = todo.pop()!;
      const m = this.merge(dir.path, layers);
      const entries = sortedEntries(m);
      yield { dir, entries };
      for (let i = entries.length - 1; i >= 0; i--) {
        const e = entries[i];
        if (e.type === 'dir') todo.push({ dir: e, layers: m.stacks.get(e.path.slice(e.path.lastIndexOf('/') + 1))! });
      }
    }
  }

  // Async forms for callers on the main thread. Lookups are a few sync lstats, cheaper than a
  // trip to the thread pool; reads and xattrs go off the thread, and the walk lets the event
  // loop run between batches.

  async lookup(p: string): Promise<ViewEntry | null> {
    return this.lookupSync(p);
  }
  async stat(p: string): Promise<fs.Stats> {
    return this.statSync(p);
  }
  async readdir(p: string): Promise<string[]> {
    return this.readdirSync(p);
  }
  async readdirEntries(p: string): Promise<ViewEntry[]> {
    return this.readdirEntriesSync(p);
  }
  async readFile(p: string): Promise<Buffer> {
    return fs.promises.readFile(fsPath(this.entryOf(p).realPath));
  }
  async readlink(p: string): Promise<string> {
    return readlinkName(this.entryOf(p).realPath);
  }
  async xattrs(p: string): Promise<Record<string, Buffer>> {
    return xattrsOfAsync(this.entryOf(p).realPath);
  }
  async dirLayers(p: string): Promise<number[]> {
    return this.dirLayersSync(p);
  }
  async *walk(p = '/'): AsyncGenerator<ViewEntry> {
    let n = 0;
    for (const e of this.walkSync(p)) {
      yield e;
      if (++n % WALK_BATCH === 0) await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }

  private entryOf(p: string): ViewEntry {
    const e = this.lookupSync(p);
    if (!e) throw missing(p);
    return e;
  }

  private mergeDir(p: string): Merged {
    const np = normalisePath(p);
    const r = this.resolve(np, false);
    if (!r) throw missing(p);
    if (r.entry.type !== 'dir') throw new NotFoundError(p, `not a directory in the view: ${p}`);
    return this.merge(np, r.layers);
  }

  private getRootLayers(): number[] {
    if (this.rootLayers === undefined) {
      const all: number[] = [];
      for (let i = this.roots.length - 1; i >= 0; i--) all.push(i);
      this.rootLayers = this.cutAtOpaque('', all);
    }
    return this.rootLayers;
  }

  /**
   * Resolves a normalised path component by component. For a directory, `layers` is its stack,
   * cut at an opaque layer only when `cutLast` (the walk and readdir cut it as they read).
   */
  private resolve(np: string, cutLast: boolean): Resolved | null {
    if (this.roots.length === 0) return null;
    let layers = this.getRootLayers();
    if (np === '/') {
      const top = this.roots.length - 1;
      const st = fs.lstatSync(fsPath(this.roots[top]), { bigint: this.bigint as false });
      return { entry: { path: '/', realPath: this.roots[top], layer: top, stat: st, type: entryType(st) }, layers };
    }
    let rel = '';
    for (let start = 1; ; ) {
      const slash = np.indexOf('/', start);
      const name = slash < 0 ? np.slice(start) : np.slice(start, slash);
      const r = this.step(rel, layers, name);
      if (r === null) return null;
      rel = r.entry.path;
      if (slash < 0) {
        if (cutLast && r.entry.type === 'dir') r.layers = this.cutAtOpaque(rel, r.layers);
        return r;
      }
      if (r.entry.type !== 'dir') return null;
      layers = this.cutAtOpaque(rel, r.layers);
      start = slash + 1;
    }
  }

  /** `name` in the directory `rel` whose stack is `layers`: its top entry and, for a directory, its stack. */
  private step(rel: string, layers: number[], name: string): Resolved | null {
    let first: ViewEntry | null = null;
    const stack: number[] = [];
    for (let i = 0; i < layers.length; i++) {
      const L = layers[i];
      const dirReal = this.roots[L] + rel;
      const real = dirReal + '/' + name;
      const st = lstatOrUndefined(real, this.bigint);
      if (st !== undefined) {
        const c = this.fmt.classify(name, st);
        if (c === null) {
          if (first === null) first = { path: rel + '/' + name, realPath: real, layer: L, stat: st, type: entryType(st) };
          if (!st.isDirectory()) {
            // a non-directory hides what is below it; under a directory it is hidden and ends the stack
            if (first.layer === L) stack.push(L);
            break;
          }
          stack.push(L);
        } else if (c.kind === 'whiteout' && !this.oci) break;
        // an oci whiteout or marker file spelled like `name` is no entry of this layer
      }
      if (this.oci && i < layers.length - 1 && this.ociWhitedOut(dirReal, name)) break;
    }
    return first === null ? null : { entry: first, layers: stack };
  }

  /** Does directory `dirReal` of one oci layer hold a whiteout for `name`? */
  private ociWhitedOut(dirReal: string, name: string): boolean {
    if (name === OPAQUE_SUFFIX) return false;
    const st = lstatOrUndefined(dirReal + '/' + OCI_WHITEOUT_PREFIX + name, false);
    return st !== undefined && !st.isDirectory();
  }

  /** The stack of directory `rel`, ending at its first opaque layer (the last layer need not be asked). */
  private cutAtOpaque(rel: string, layers: number[]): number[] {
    for (let i = 0; i < layers.length - 1; i++) {
      if (this.fmt.isOpaqueSync(this.roots[layers[i]] + rel)) return layers.slice(0, i + 1);
    }
    return layers;
  }

  /**
   * The visible children of directory `dir` (normalised), whose stack (not yet cut at an opaque
   * layer) is `layers`: each layer's listing from the top, where a name closes once a non-directory,
   * a whiteout (from the next layer down) or an opaque directory ends it.
   */
  private merge(dir: string, layers: number[]): Merged {
    const rel = dir === '/' ? '' : dir;
    const byName = new Map<string, ViewEntry>();
    const stacks = new Map<string, number[]>();
    const closed = new Set<string>();
    for (let i = 0; i < layers.length; i++) {
      const L = layers[i];
      const more = i < layers.length - 1;
      const dirReal = this.roots[L] + rel;
      let hides: string[] | undefined;
      let markerSeen = false;
      for (const name of readdirNamesSync(dirReal)) {
        if (closed.has(name)) continue;
        const real = dirReal + '/' + name;
        const st = lstatOrUndefined(real, this.bigint);
        if (st === undefined) continue; // removed since the listing
        const c = this.fmt.classify(name, st);
        if (c !== null) {
          if (c.kind === 'opaque-marker') markerSeen = true;
          else if (more) (hides ??= []).push(c.target);
          continue;
        }
        const above = byName.get(name);
        if (above === undefined) {
          byName.set(name, { path: rel + '/' + name, realPath: real, layer: L, stat: st, type: entryType(st) });
          if (st.isDirectory()) stacks.set(name, [L]);
          else closed.add(name);
        } else if (st.isDirectory()) {
          stacks.get(name)!.push(L); // above is a directory: a non-directory would have closed the name
        } else {
          closed.add(name); // a non-directory under a directory ends its stack
        }
      }
      if (!more) break;
      // a whiteout hides the layers below only, so it takes effect after its own layer's names
      if (hides) for (const h of hides) closed.add(h);
      if (this.oci ? markerSeen : this.fmt.isOpaqueSync(dirReal)) break;
    }
    return { byName, stacks };
  }
}

function sortedEntries(m: Merged): ViewEntry[] {
  return [...m.byName.keys()].sort(byteOrder).map((n) => m.byName.get(n)!);
}
