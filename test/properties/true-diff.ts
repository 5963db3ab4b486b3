import type { Change } from '../../lib/diff/types';
import { fromSurrogateEscape, Seen, SeenTree } from './tree-model';

/**
 * The true difference of two trees read in full (contents included), in the shape a container
 * diff reports it, written from what a diff means rather than from lib/diff:
 * - A: every path the tree now has that it did not (all the way down a new directory);
 * - D: the topmost path that is gone (what was under a deleted directory goes with it);
 * - C: a path of the same type whose mode, owner, xattrs, content, symlink target or (not for
 *   directories, whose mtimes move with their children) mtime differ; or whose type changed
 *   (nothing under a directory replaced by a file is reported, everything under a directory
 *   that replaced a file is added);
 * - C for an unchanged file that shares its inode with an added or changed one: a commit must
 *   pack both names to keep them one file.
 * A 'C' (link) of a file whose hardlink names differ between the trees is allowed besides: it is
 * how the overlay driver reports a name a copy-up took out of its group (the commit must carry it).
 */
export function trueDiff(before: SeenTree, after: SeenTree): Map<string, 'A' | 'C' | 'D'> {
  const out = new Map<string, 'A' | 'C' | 'D'>();
  for (const [p, a] of after) {
    const b = before.get(p);
    if (!b) out.set(p, 'A');
    else if (changed(b, a)) out.set(p, 'C');
  }
  for (const p of before.keys()) {
    if (after.has(p) || p === '/') continue;
    const parent = parentOf(p);
    if (before.get(parent)?.type === 'dir' && after.get(parent)?.type === 'dir') out.set(p, 'D');
  }
  for (const [p, a] of after) {
    if (out.has(p) || a.type !== 'file' || !a.links) continue;
    if (a.links.some((o) => out.get(o) === 'A' || out.get(o) === 'C')) out.set(p, 'C');
  }
  return out;
}

export const parentOf = (p: string) => {
  const i = p.lastIndexOf('/');
  return i <= 0 ? '/' : p.slice(0, i);
};

/** Whether the file at `p` is in both trees with other hardlink names in each. */
function linksMoved(before: SeenTree, after: SeenTree, p: string): boolean {
  const b = before.get(p);
  const a = after.get(p);
  return b?.type === 'file' && a?.type === 'file' && JSON.stringify(b.links ?? []) !== JSON.stringify(a.links ?? []);
}

function changed(b: Seen, a: Seen): boolean {
  if (b.type !== a.type) return true;
  const same = (x: unknown, y: unknown) => JSON.stringify(x) === JSON.stringify(y);
  if (b.mode !== a.mode || b.uid !== a.uid || b.gid !== a.gid || !same(b.xattrs, a.xattrs)) return true;
  if (b.content !== a.content || b.target !== a.target) return true;
  return a.type !== 'dir' && b.mtime !== a.mtime;
}

/**
 * The disagreements between a container's diff and the true difference; [] when none. A 'C'
 * of a directory that says only that it was recreated is allowed where nothing else changed:
 * it is how a driver tells that a directory hides what lies below it, and the trees cannot show
 * that. Each reported record must also carry the entry's metadata (of `after`; of `before` for
 * 'D').
 */
export function diffDisagreements(changes: Change[], before: SeenTree, after: SeenTree, ignore: Set<string> = new Set()): string[] {
  const want = trueDiff(before, after);
  for (const p of ignore) want.delete(p);
  const out: string[] = [];
  const seen = new Set<string>();
  for (const reported of changes) {
    const c = { ...reported, path: fromSurrogateEscape(reported.path) };
    if (ignore.has(c.path)) continue;
    if (seen.has(c.path)) out.push(`${c.path}: reported twice`);
    seen.add(c.path);
    const w = want.get(c.path);
    if (w === undefined) {
      // a name split off its hardlink group (an overlay copy-up) is a change the trees show only as links
      if (c.kind === 'C' && c.what?.length === 1 && c.what[0] === 'link' && linksMoved(before, after, c.path)) continue;
      const onlyRecreated = c.kind === 'C' && c.type === 'dir' && c.what?.length === 1 && c.what[0] === 'recreated';
      if (!onlyRecreated) out.push(`${c.path}: reported ${c.kind}${c.what ? ` (${c.what.join(',')})` : ''}, but it did not change`);
      continue;
    }
    if (w !== c.kind) {
      out.push(`${c.path}: reported ${c.kind}${c.what ? ` (${c.what.join(',')})` : ''}, the true difference is ${w}`);
      continue;
    }
    const side = (c.kind === 'D' ? before : after).get(c.path)!;
    const meta: Array<[string, unknown, unknown]> = [
      ['type', c.type, side.type],
      ['mode', c.mode, side.mode],
      ['uid', c.uid, side.uid],
      ['gid', c.gid, side.gid],
      ['mtime', c.mtime, side.type === 'dir' ? c.mtime : side.mtime],
      ['size', c.size, side.type === 'file' ? side.size : 0],
      ['target', c.target, side.target],
    ];
    for (const [f, got, exp] of meta) if (got !== exp) out.push(`${c.path}: the ${c.kind} record says ${f} ${JSON.stringify(got)}, the tree has ${JSON.stringify(exp)}`);
  }
  for (const [p, w] of want) if (!seen.has(p)) out.push(`${p}: not reported; the true difference is ${w}`);
  return out.sort();
}
