import * as fs from 'fs';
import * as path from 'path';
import { byteOrder, fsPath, readdirNamesSync } from '../names';
import { whiteoutFormat } from '../whiteout';
import { entryType } from '../view/entry';
import type { EntryType } from '../view/entry';
import type { WhiteoutFormatName } from '../types';

/**
 * Per-layer changes and wasted space of a chain, as dive scores an image:
 * every leaf path (a non-directory, or an empty directory) met in a layer is one "node" with
 * its size; a path met in two or more layers (overwritten, duplicated, or deleted later) is
 * an inefficiency, and its cumulative size is wasted space. efficiency = sum of each path's
 * smallest size / sum of every node's size.
 *
 * One deliberate difference from dive: dive books a deleted *directory* as one node at the
 * directory's path (so deleting a directory full of files costs nothing), while here each
 * deleted leaf below it gets a zero-sized node at its own path, so every file deleted by a
 * later layer counts, as it does for single-file whiteouts in dive.
 */
export interface LayerStats {
  index: number;
  added: number;
  changed: number;
  deleted: number;
  /** sum of the sizes of the regular files this layer holds */
  fileBytes: number;
}

/**
 * One entry of a layer as the analysis classified it (what the counts of LayerStats count):
 * 'A' added, 'C' changed (written again, or of another type), 'D' deleted (a whiteout, or a
 * child hidden by an opaque directory), '' a directory the layer only passes through (it is a
 * directory below too, so it is neither added nor changed).
 */
export interface LayerEntry {
  path: string;
  kind: 'A' | 'C' | 'D' | '';
  type: EntryType;
  /** bytes of a regular file in this layer; for 'D', the bytes of the regular files that were deleted */
  size: number;
  /** a directory that hides the lower layers' contents */
  opaque?: boolean;
}

export interface AnalyzeOptions {
  /** also list each layer's entries (LayerEntry), for a report that shows the trees */
  entries?: boolean;
}

export interface Inefficiency {
  path: string;
  /** how many layers hold (or delete) this path */
  count: number;
  cumulativeSize: number;
}

export interface EfficiencyReport {
  layers: LayerStats[];
  efficiency: number;
  wastedBytes: number;
  /** sum of fileBytes of every layer */
  sizeBytes: number;
  /** sum of fileBytes of every layer but the first (dive's "user" size) */
  userSizeBytes: number;
  /** wastedBytes / userSizeBytes */
  wastedUserPercent: number;
  /** largest first */
  inefficiencies: Inefficiency[];
  /** with `entries`: each layer's entries, bottom layer first */
  entries?: LayerEntry[][];
}

interface PathData {
  count: number;
  cumulative: number;
  min: number;
}

interface Present {
  dir: boolean;
  size: number;
  type: EntryType;
}

export function analyzeLayers(layers: { dir: string; whiteout: WhiteoutFormatName }[], opts: AnalyzeOptions = {}): EfficiencyReport {
  const data = new Map<string, PathData>();
  const present = new Map<string, Present>(); // the union of the layers seen so far
  const stats: LayerStats[] = [];
  const listed: LayerEntry[][] | undefined = opts.entries ? [] : undefined;

  const node = (p: string, size: number) => {
    const d = data.get(p);
    if (!d) data.set(p, { count: 1, cumulative: size, min: size });
    else {
      d.count++;
      d.cumulative += size;
      d.min = Math.min(d.min, size);
    }
  };
  // children index of the union, so a deleted subtree is found without scanning everything
  const children = new Map<string, Set<string>>();
  const add = (p: string, e: Present) => {
    if (!present.has(p)) {
      const parent = path.posix.dirname(p);
      let set = children.get(parent);
      if (!set) children.set(parent, (set = new Set()));
      set.add(p);
    }
    present.set(p, e);
  };
  const subtree = (p: string): string[] => {
    const out: string[] = [];
    const stack = [...(children.get(p) ?? [])];
    while (stack.length) {
      const k = stack.pop()!;
      out.push(k);
      for (const c of children.get(k) ?? []) stack.push(c);
    }
    return out;
  };
  /** removes these paths from the union, booking a zero-sized node per leaf */
  const remove = (keys: string[]) => {
    for (const k of keys) {
      const e = present.get(k);
      if (!e) continue;
      if (!e.dir || !(children.get(k)?.size)) node(k, 0);
    }
    for (const k of keys) {
      if (!present.delete(k)) continue;
      children.get(path.posix.dirname(k))?.delete(k);
      children.delete(k);
    }
  };

  /** the bytes of the regular files among these paths of the union */
  const bytesOf = (keys: string[]) => keys.reduce((a, k) => a + (present.get(k)?.type === 'file' ? present.get(k)!.size : 0), 0);

  layers.forEach((layer, index) => {
    const fmt = whiteoutFormat(layer.whiteout);
    const s: LayerStats = { index, added: 0, changed: 0, deleted: 0, fileBytes: 0 };
    const list: LayerEntry[] | undefined = listed ? [] : undefined;
    const deleted = (p: string, keys: string[]) => list?.push({ path: p, kind: 'D', type: present.get(p)!.type, size: bytesOf(keys) });
    const own = new Set<string>();
    const entries: { p: string; st: fs.Stats; leaf: boolean }[] = [];
    const whiteouts: string[] = [];
    const opaques: string[] = [];

    const walk = (real: string, p: string) => {
      const names = readdirNamesSync(real).sort(byteOrder);
      if (p !== '/' && fmt.isOpaqueSync(real)) opaques.push(p);
      for (const name of names) {
        const r = path.join(real, name);
        const st = fs.lstatSync(fsPath(r));
        const c = fmt.classify(name, st);
        const child = p === '/' ? '/' + name : p + '/' + name;
        if (c?.kind === 'whiteout') {
          whiteouts.push(p === '/' ? '/' + c.target : p + '/' + c.target);
          continue;
        }
        if (c?.kind === 'opaque-marker') {
          opaques.push(p);
          continue;
        }
        own.add(child);
        const isDir = st.isDirectory();
        const before = entries.length;
        entries.push({ p: child, st, leaf: !isDir });
        if (isDir) {
          walk(r, child);
          if (entries.length === before + 1) entries[before].leaf = true; // an empty directory is a leaf
        }
      }
    };
    walk(layer.dir, '/');

    // deletions first: they hide lower entries only
    for (const w of whiteouts) {
      if (own.has(w) || !present.has(w)) continue;
      s.deleted++;
      const keys = [w, ...subtree(w)];
      if (list) deleted(w, keys);
      remove(keys);
    }
    for (const o of opaques) {
      const hidden = subtree(o).filter((k) => !own.has(k));
      const top = hidden.filter((k) => path.posix.dirname(k) === o);
      s.deleted += top.length;
      if (list) for (const k of top) deleted(k, [k, ...subtree(k)]);
      remove(hidden);
    }
    const opaque = list && new Set(opaques);
    for (const e of entries) {
      const old = present.get(e.p);
      const isDir = e.st.isDirectory();
      let kind: LayerEntry['kind'] = '';
      if (!old) {
        s.added++;
        kind = 'A';
      } else if (!(old.dir && isDir)) {
        s.changed++;
        kind = 'C';
        if (old.dir && !isDir) remove(subtree(e.p).filter((k) => !own.has(k)));
      }
      const size = e.st.isFile() ? e.st.size : 0;
      if (e.st.isFile()) s.fileBytes += size;
      if (e.leaf) node(e.p, size);
      const type = entryType(e.st);
      add(e.p, { dir: isDir, size, type });
      list?.push({ path: e.p, kind, type, size, ...(opaque!.has(e.p) ? { opaque: true } : {}) });
    }
    stats.push(s);
    if (list) listed!.push(list);
  });

  let minimum = 0;
  let discovered = 0;
  let wasted = 0;
  const inefficiencies: Inefficiency[] = [];
  for (const [p, d] of data) {
    minimum += d.min;
    discovered += d.cumulative;
    if (d.count >= 2) {
      wasted += d.cumulative;
      inefficiencies.push({ path: p, count: d.count, cumulativeSize: d.cumulative });
    }
  }
  inefficiencies.sort((a, b) => b.cumulativeSize - a.cumulativeSize || (a.path < b.path ? -1 : 1));
  const sizeBytes = stats.reduce((a, s) => a + s.fileBytes, 0);
  const userSizeBytes = sizeBytes - (stats[0]?.fileBytes ?? 0);
  return {
    layers: stats,
    efficiency: discovered === 0 ? 1 : minimum / discovered,
    wastedBytes: wasted,
    sizeBytes,
    userSizeBytes,
    wastedUserPercent: userSizeBytes === 0 ? 0 : wasted / userSizeBytes,
    inefficiencies,
    ...(listed ? { entries: listed } : {}),
  };
}
