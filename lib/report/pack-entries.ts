import type { ReportEntryType } from './types';

/** One-letter type codes of the embedded rows (the page's script reads the same letters). */
export const TYPE_CODES: Record<ReportEntryType, string> = { file: 'f', dir: 'd', symlink: 'l', char: 'c', block: 'b', fifo: 'p', socket: 's' };

/** An entry about to be embedded: its path (text form), its code (kind letter, type letter, flags) and its row values. */
export interface PackItem {
  path: string;
  code: string;
  values: Array<number | string>;
  dir: boolean;
}

/** The parent directories of every embedded row, each once, shared by all the rows of a page. */
export class DirTable {
  readonly dirs: string[] = [];
  private readonly ids = new Map<string, number>();
  id(dir: string): number {
    let n = this.ids.get(dir);
    if (n === undefined) {
      n = this.dirs.length;
      this.dirs.push(dir);
      this.ids.set(dir, n);
    }
    return n;
  }
}

/** A packed list: flat rows [dir id, name, code, ...values], and what was left out by directory. */
export interface Packed {
  rows: Array<number | string>;
  /** flat [dir id, entries left out under it, their bytes] */
  more: number[];
  total: number;
  shown: number;
}

const parentOf = (p: string) => {
  const i = p.lastIndexOf('/');
  return i <= 0 ? '/' : p.slice(0, i);
};
const depthOf = (p: string) => {
  let n = 0;
  for (let i = 0; i < p.length; i++) if (p.charCodeAt(i) === 47) n++;
  return n;
};

/**
 * Packs entries for the page, at most `max` of them: the shallowest first, so that the top of a
 * tree is whole and what is cut is its deepest part. Each entry left out is counted (with its
 * bytes, `bytesOf`) under its nearest directory that the page will show, which says so.
 */
export function packEntries(items: PackItem[], max: number, table: DirTable, bytesOf: (it: PackItem) => number): Packed {
  let kept = items;
  let dropped: PackItem[] = [];
  if (items.length > max) {
    const order = items.map((it, i) => ({ it, d: depthOf(it.path), i })).sort((a, b) => a.d - b.d || a.i - b.i);
    kept = order.slice(0, max).sort((a, b) => a.i - b.i).map((o) => o.it);
    dropped = order.slice(max).map((o) => o.it);
  }
  const rows: Array<number | string> = [];
  for (const it of kept) {
    const i = it.path.lastIndexOf('/');
    rows.push(table.id(i <= 0 ? '/' : it.path.slice(0, i)), it.path.slice(i + 1), it.code, ...it.values);
  }
  const more: number[] = [];
  if (dropped.length) {
    // the directories the page will have: those embedded, and every ancestor of an embedded row
    const shown = new Set<string>(['/']);
    for (const it of kept) {
      if (it.dir) shown.add(it.path);
      for (let d = parentOf(it.path); !shown.has(d); d = parentOf(d)) shown.add(d);
    }
    const under = new Map<string, { n: number; bytes: number }>();
    for (const it of dropped) {
      let d = parentOf(it.path);
      while (!shown.has(d)) d = parentOf(d);
      const u = under.get(d) ?? { n: 0, bytes: 0 };
      u.n++;
      u.bytes += bytesOf(it);
      under.set(d, u);
    }
    for (const [d, u] of under) more.push(table.id(d), u.n, u.bytes);
  }
  return { rows, more, total: items.length, shown: kept.length };
}
