import * as fs from 'fs';
import * as path from 'path';
import * as native from '../native';
import { NotFoundError } from '../errors';
import { whiteoutFormat, isOverlayXattr, WhiteoutFormat } from '../whiteout';
import type { WhiteoutFormatName } from '../store/types';

export type EntryType = 'file' | 'dir' | 'symlink' | 'char' | 'block' | 'fifo' | 'socket';

export interface ViewEntry {
  /** '/etc/passwd'; '/' for the root */
  path: string;
  realPath: string;
  /** index into the layers, 0 = bottom */
  layer: number;
  /** lstat of realPath */
  stat: fs.Stats;
  type: EntryType;
}

export function entryType(st: fs.Stats): EntryType {
  if (st.isFile()) return 'file';
  if (st.isDirectory()) return 'dir';
  if (st.isSymbolicLink()) return 'symlink';
  if (st.isCharacterDevice()) return 'char';
  if (st.isBlockDevice()) return 'block';
  if (st.isFIFO()) return 'fifo';
  return 'socket';
}

/** '/a//b/../c/' -> '/a/c'; `..` never climbs above the root. */
export function normalisePath(p: string): string {
  return path.posix.resolve('/', p);
}

function lstatOrNull(p: string): fs.Stats | null {
  try {
    return fs.lstatSync(p);
  } catch {
    return null;
  }
}

/**
 * A read-only union of a chain of layer directories, with overlayfs/OCI semantics and no mount:
 * a whiteout in layer L hides the name in layers below L only; an opaque directory in L hides
 * the directory's contents below L; a non-directory hides everything below it, and a directory
 * hides a non-directory below it. It is the oracle the tests hold mounts and copies against.
 */
export class UnionView {
  private readonly fmt: WhiteoutFormat;

  constructor(readonly layerDirs: string[], readonly whiteout: WhiteoutFormatName) {
    this.fmt = whiteoutFormat(whiteout);
  }

  /** Is `name` in directory `dirReal` of one layer hidden from the layers below by a whiteout? */
  private whitedOut(dirReal: string, name: string, st: fs.Stats | null): boolean {
    if (this.whiteout === 'oci') return lstatOrNull(path.join(dirReal, '.wh.' + name)) !== null;
    return st !== null && this.fmt.classify(name, st)?.kind === 'whiteout';
  }

  /**
   * Resolves a directory: the layers (top first) that contribute to it, and the top entry.
   * Returns null when the path is absent or a non-directory sits on the way.
   */
  private resolve(p: string): { entry: ViewEntry; layers: number[] } | null {
    const parts = p === '/' ? [] : p.slice(1).split('/');
    let layers: number[] = [];
    for (let i = this.layerDirs.length - 1; i >= 0; i--) layers.push(i);
    let rel = '';
    let top: ViewEntry | null = null;
    const rootSt = layers.length ? lstatOrNull(this.layerDirs[layers[0]]) : null;
    if (rootSt) top = { path: '/', realPath: this.layerDirs[layers[0]], layer: layers[0], stat: rootSt, type: 'dir' };
    // the root's own opaque flag does not matter: nothing is below the bottom layer's root
    if (!top) return null;
    for (let k = 0; k < parts.length; k++) {
      const name = parts[k];
      const parentRel = rel;
      rel = rel + '/' + name;
      const next: number[] = [];
      let first: ViewEntry | null = null;
      for (const L of layers) {
        const dirReal = this.layerDirs[L] + parentRel;
        const real = dirReal + '/' + name;
        const st = lstatOrNull(real);
        const isWh = st !== null && this.whiteout !== 'oci' && this.fmt.classify(name, st)?.kind === 'whiteout';
        if (st && !isWh) {
          if (this.whiteout === 'oci' && name.startsWith('.wh.') && this.fmt.classify(name, st) !== null) return null;
          if (!first) first = { path: rel, realPath: real, layer: L, stat: st, type: entryType(st) };
          if (!st.isDirectory()) {
            if (next.length === 0) next.push(L);
            break; // a non-directory hides everything below it; below a directory it is itself hidden
          }
          next.push(L);
          if (this.fmt.isOpaqueSync(real)) break;
        }
        if (isWh || this.whitedOut(dirReal, name, st)) break;
      }
      if (!first) return null;
      if (k < parts.length - 1 && first.type !== 'dir') return null;
      top = first;
      layers = first.type === 'dir' ? next : [first.layer];
    }
    return { entry: top, layers };
  }

  lookupSync(p: string): ViewEntry | null {
    return this.resolve(normalisePath(p))?.entry ?? null;
  }

  statSync(p: string): fs.Stats {
    const e = this.lookupSync(p);
    if (!e) throw new NotFoundError(p, `no such path in the view: ${p}`);
    return e.stat;
  }

  /** The layers (indexes, top first) that contribute to directory p, stopping at an opaque one. */
  dirLayersSync(p: string): number[] {
    const r = this.resolve(normalisePath(p));
    if (!r || r.entry.type !== 'dir') throw new NotFoundError(p, `not a directory in the view: ${p}`);
    return r.layers;
  }

  /** Merged entries of directory p, whiteouts and markers hidden, sorted by byte order. */
  readdirSync(p: string): string[] {
    const np = normalisePath(p);
    return [...this.readdirEntries(np).keys()].sort(byteOrder);
  }

  /** name -> its entry, for every visible child of directory np. */
  private readdirEntries(np: string): Map<string, ViewEntry> {
    const r = this.resolve(np);
    if (!r || r.entry.type !== 'dir') throw new NotFoundError(np, `not a directory in the view: ${np}`);
    const out = new Map<string, ViewEntry>();
    const hidden = new Set<string>();
    const rel = np === '/' ? '' : np;
    for (const L of r.layers) {
      const dirReal = this.layerDirs[L] + rel;
      const names = fs.readdirSync(dirReal);
      const hideHere: string[] = [];
      for (const name of names) {
        if (out.has(name) || hidden.has(name)) continue;
        const real = dirReal + '/' + name;
        const st = fs.lstatSync(real);
        const c = this.fmt.classify(name, st);
        if (c?.kind === 'opaque-marker') continue;
        if (c?.kind === 'whiteout') {
          hideHere.push(c.target);
          continue;
        }
        out.set(name, { path: rel + '/' + name, realPath: real, layer: L, stat: st, type: entryType(st) });
      }
      // a whiteout hides lower layers only, so it applies after this layer's own names
      for (const h of hideHere) hidden.add(h);
      for (const name of out.keys()) {
        const e = out.get(name)!;
        if (e.layer === L && e.type !== 'dir') hidden.add(name);
      }
    }
    // a directory whose top entry is a directory merges with lower directories: its entry is the top one
    return out;
  }

  readFileSync(p: string): Buffer {
    const e = this.lookupSync(p);
    if (!e) throw new NotFoundError(p, `no such path in the view: ${p}`);
    return fs.readFileSync(e.realPath);
  }

  readlinkSync(p: string): string {
    const e = this.lookupSync(p);
    if (!e) throw new NotFoundError(p, `no such path in the view: ${p}`);
    return fs.readlinkSync(e.realPath);
  }

  /** Every xattr except overlay's own; {} when the addon is absent. */
  xattrsSync(p: string): Record<string, Buffer> {
    const e = this.lookupSync(p);
    if (!e) throw new NotFoundError(p, `no such path in the view: ${p}`);
    return xattrsOf(e.realPath);
  }

  /** Depth first, sorted, a directory before its contents, the root included. */
  *walkSync(p = '/'): Generator<ViewEntry> {
    const np = normalisePath(p);
    const start = this.lookupSync(np);
    if (!start) return;
    yield start;
    if (start.type !== 'dir') return;
    const stack: Array<{ entries: ViewEntry[]; i: number }> = [{ entries: this.sortedChildren(np), i: 0 }];
    while (stack.length) {
      const top = stack[stack.length - 1];
      if (top.i >= top.entries.length) {
        stack.pop();
        continue;
      }
      const e = top.entries[top.i++];
      yield e;
      if (e.type === 'dir') stack.push({ entries: this.sortedChildren(e.path), i: 0 });
    }
  }

  private sortedChildren(dir: string): ViewEntry[] {
    const m = this.readdirEntries(dir);
    return [...m.keys()].sort(byteOrder).map((n) => m.get(n)!);
  }

  async lookup(p: string): Promise<ViewEntry | null> {
    return this.lookupSync(p);
  }
  async stat(p: string): Promise<fs.Stats> {
    return this.statSync(p);
  }
  async readdir(p: string): Promise<string[]> {
    return this.readdirSync(p);
  }
  async readFile(p: string): Promise<Buffer> {
    const e = this.lookupSync(p);
    if (!e) throw new NotFoundError(p, `no such path in the view: ${p}`);
    return fs.promises.readFile(e.realPath);
  }
  async readlink(p: string): Promise<string> {
    return this.readlinkSync(p);
  }
  async xattrs(p: string): Promise<Record<string, Buffer>> {
    return this.xattrsSync(p);
  }
  async *walk(p = '/'): AsyncGenerator<ViewEntry> {
    yield* this.walkSync(p);
  }
}

export function xattrsOf(real: string): Record<string, Buffer> {
  const out: Record<string, Buffer> = {};
  if (!native.addonStatus().available) return out;
  for (const name of native.llistxattrSync(real).sort()) {
    if (isOverlayXattr(name)) continue;
    const v = native.lgetxattrSync(real, name);
    if (v !== null) out[name] = v;
  }
  return out;
}

export function byteOrder(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}
