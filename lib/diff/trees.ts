import { byteOrder } from '../view';
import type { Change, DiffTreesOptions, TreeInput } from './types';
import { ComparePolicy, LinkTracker, Side, byChangePath, changeOf, compareSides } from './compare';
import { childPath, lstatListedSync, sortedNamesSync } from './walk';

interface Child {
  name: string;
  side: Side;
}

/** What the merge walk needs of a tree: its root, and a directory's children sorted by name. */
interface Tree {
  root(): Side | null;
  children(dir: string): Child[];
}

function treeOf(t: TreeInput): Tree {
  if (typeof t === 'string') {
    return {
      root: () => ({ real: t, st: lstatListedSync(t) }),
      children: (dir) => {
        const real = dir === '/' ? t : t + dir;
        return sortedNamesSync(real).map((name) => ({ name, side: { real: real + '/' + name, st: lstatListedSync(real + '/' + name) } }));
      },
    };
  }
  return {
    root: () => {
      const e = t.lookupSync('/');
      return e ? { real: e.realPath, st: e.stat } : null;
    },
    children: (dir) =>
      t
        .readdirSync(dir)
        .sort(byteOrder)
        .map((name) => {
          const e = t.lookupSync(childPath(dir, name))!;
          return { name, side: { real: e.realPath, st: e.stat } };
        }),
  };
}

/**
 * Tree against tree (two directories, chains' union views, or one of each): a sorted merge walk
 * of both, metadata first, then the bytes of two files of equal size, unless both are one inode
 * (a layer two chains share): equal size and mtime are no proof of equal bytes. By default an mtime alone is no change (opts.mtime makes it
 * one). An added directory reports its contents as added; a deleted one is reported alone, as
 * `docker diff` does. Sorted by path.
 */
export function diffTrees(a: TreeInput, b: TreeInput, opts: DiffTreesOptions = {}): Change[] {
  return diffTreesWithPolicy(a, b, { content: opts.compareContent ?? 'auto', mtime: opts.mtime ?? false });
}

export function diffTreesWithPolicy(a: TreeInput, b: TreeInput, policy: ComparePolicy): Change[] {
  const ta = treeOf(a);
  const tb = treeOf(b);
  const out: Change[] = [];
  const links = new LinkTracker();

  const report = (kind: 'A' | 'C', p: string, side: Side, what?: Change['what']) => {
    out.push(changeOf(kind, p, side, { what }));
    links.reportedEntry(side.st);
  };
  const addAll = (dir: string) => {
    for (const c of tb.children(dir)) {
      const p = childPath(dir, c.name);
      report('A', p, c.side);
      if (c.side.st.isDirectory()) addAll(p);
    }
  };
  const walk = (dir: string) => {
    const ca = ta.children(dir);
    const cb = tb.children(dir);
    let i = 0;
    let j = 0;
    while (i < ca.length || j < cb.length) {
      const order = i === ca.length ? 1 : j === cb.length ? -1 : byteOrder(ca[i].name, cb[j].name);
      if (order < 0) {
        const c = ca[i++];
        out.push(changeOf('D', childPath(dir, c.name), c.side));
        continue;
      }
      const c = cb[j++];
      const p = childPath(dir, c.name);
      if (order > 0) {
        report('A', p, c.side);
        if (c.side.st.isDirectory()) addAll(p);
        continue;
      }
      const before = ca[i++].side;
      const what = compareSides(before, c.side, policy);
      if (what.length) report('C', p, c.side, what);
      else links.unchangedEntry(p, c.side.real, c.side.st);
      if (c.side.st.isDirectory()) {
        if (before.st.isDirectory()) walk(p);
        else addAll(p);
      }
    }
  };

  const ra = ta.root();
  const rb = tb.root();
  if (ra && rb) {
    const what = compareSides(ra, rb, policy);
    if (what.length) report('C', '/', rb, what);
    if (ra.st.isDirectory() && rb.st.isDirectory()) walk('/');
  } else if (rb?.st.isDirectory()) {
    addAll('/');
  } else if (ra?.st.isDirectory()) {
    for (const c of ta.children('/')) out.push(changeOf('D', childPath('/', c.name), c.side));
  }
  links.finish(out);
  return out.sort(byChangePath);
}
