import * as fs from 'fs';
import * as path from 'path';
import { UnionView, entryType } from '../view';
import type { Change } from './types';
import { byPath, changeOf, differences, joinPath, Side } from './compare';

/** A directory on disk, or the union view of a chain. */
export type TreeInput = string | UnionView;

interface Lister {
  children(dir: string): Map<string, Side>;
  root(): Side | null;
}

function lister(t: TreeInput): Lister {
  if (typeof t === 'string') {
    return {
      root: () => ({ real: t, st: fs.lstatSync(t) }),
      children: (dir) => {
        const real = path.join(t, dir);
        const m = new Map<string, Side>();
        for (const n of fs.readdirSync(real)) {
          const r = path.join(real, n);
          m.set(n, { real: r, st: fs.lstatSync(r) });
        }
        return m;
      },
    };
  }
  return {
    root: () => {
      const e = t.lookupSync('/');
      return e ? { real: e.realPath, st: e.stat } : null;
    },
    children: (dir) => {
      const m = new Map<string, Side>();
      for (const n of t.readdirSync(dir)) {
        const e = t.lookupSync(joinPath(dir, n))!;
        m.set(n, { real: e.realPath, st: e.stat });
      }
      return m;
    },
  };
}

/**
 * Tree against tree (two directories, views of chains, or one of each): a sorted merge walk,
 * metadata first, contents only when metadata cannot decide (or always, when asked). An added
 * directory reports its contents as added; a deleted one is reported alone, as `docker diff` does.
 */
export function diffTrees(a: TreeInput, b: TreeInput, opts: { compareContent?: 'auto' | 'always' } = {}): Change[] {
  const la = lister(a);
  const lb = lister(b);
  const out: Change[] = [];
  const content = opts.compareContent ?? 'auto';
  const ra = la.root();
  const rb = lb.root();
  if (ra && rb) {
    const what = differences(ra, rb, content);
    if (what.length) out.push(changeOf('C', '/', rb, { what }));
  }
  const addAll = (dir: string) => {
    for (const [n, s] of lb.children(dir)) {
      const p = joinPath(dir, n);
      out.push(changeOf('A', p, s));
      if (s.st.isDirectory()) addAll(p);
    }
  };
  const walk = (dir: string) => {
    const ca = la.children(dir);
    const cb = lb.children(dir);
    for (const [n, sa] of ca) if (!cb.has(n)) out.push(changeOf('D', joinPath(dir, n), sa));
    for (const [n, sb] of cb) {
      const p = joinPath(dir, n);
      const sa = ca.get(n);
      if (!sa) {
        out.push(changeOf('A', p, sb));
        if (sb.st.isDirectory()) addAll(p);
        continue;
      }
      const what = differences(sa, sb, content);
      if (what.length) out.push(changeOf('C', p, sb, { what }));
      if (entryType(sa.st) === 'dir' && entryType(sb.st) === 'dir') walk(p);
      else if (sb.st.isDirectory()) addAll(p);
    }
  };
  if (ra && rb) walk('/');
  else if (rb) addAll('/');
  return out.sort(byPath);
}
