import * as fs from 'fs';
import { isUtf8 } from 'buffer';
import * as native from '../../lib/native';
import type { UnionView } from '../../lib/view';
import type { RefTree } from './reference';
import { contentBytes } from './layer-gen';

/**
 * Trees as the properties compare them: every path with its type, mode, owner, mtime (whole
 * seconds), size, content, symlink target, user.* xattrs and the other names of its hardlink
 * group. Read in full from a directory, from a UnionView, or made from the reference merge;
 * a field that is null is not known (the reference cannot say it) and is not compared.
 */

export interface Seen {
  type: string;
  mode: number | null;
  uid: number | null;
  gid: number | null;
  mtime: number | null;
  size?: number;
  /** the content, readable: short ones as text, runs of one byte as `x*700` */
  content?: string;
  target?: string;
  xattrs: Record<string, string> | null;
  /** the other paths of the same file (hardlinks), sorted */
  links?: string[];
}

export type SeenTree = Map<string, Seen>;

export function describeContent(b: Buffer): string {
  if (b.length > 8 && b.every((x) => x === b[0])) return `${String.fromCharCode(b[0])}*${b.length}`;
  return isUtf8(b) ? JSON.stringify(b.toString('utf8')) : `hex:${b.toString('hex')}`;
}

/** A name read as bytes: UTF-8 where it is, else latin1 (so 0xff reads as U+00FF, as layer-gen writes it). */
export const nameOf = (b: Buffer) => (isUtf8(b) ? b.toString('utf8') : b.toString('latin1'));

const userXattrs = (all: Record<string, Buffer>) =>
  Object.fromEntries(
    Object.keys(all)
      .filter((k) => k.startsWith('user.') && !k.startsWith('user.overlay.'))
      .sort()
      .map((k) => [k, all[k].toString('utf8')]),
  );

function typeOf(st: fs.Stats): string {
  if (st.isDirectory()) return 'dir';
  if (st.isFile()) return 'file';
  if (st.isSymbolicLink()) return 'symlink';
  if (st.isCharacterDevice()) return `char ${st.rdev}`;
  return 'other';
}

function seenOf(st: fs.Stats, read: () => Buffer, readlink: () => string, xattrs: Record<string, Buffer>): Seen {
  const type = typeOf(st);
  const s: Seen = { type, mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, mtime: Math.floor(st.mtimeMs / 1000), xattrs: userXattrs(xattrs) };
  if (type === 'file') {
    const b = read();
    s.size = b.length;
    s.content = describeContent(b);
  }
  if (type === 'symlink') s.target = readlink();
  return s;
}

function withLinks(t: SeenTree, ids: Map<string, string>): SeenTree {
  const groups = new Map<string, string[]>();
  for (const [p, id] of ids) groups.set(id, [...(groups.get(id) ?? []), p]);
  for (const [p, id] of ids) {
    const others = groups.get(id)!.filter((o) => o !== p).sort();
    if (others.length) t.get(p)!.links = others;
  }
  return t;
}

function diskXattrs(p: Buffer): Record<string, Buffer> {
  if (!native.available()) return {};
  return Object.fromEntries(native.llistxattrSync(p).map((n) => [n, native.lgetxattrSync(p, n) ?? Buffer.alloc(0)]));
}

/**
 * A directory tree on disk, read in full (names as bytes, nothing followed). A name the
 * directory lists but lstat does not find (what overlayfs shows for a whiteout device in a
 * directory only one layer has) is an entry of type 'listed, but ENOENT'.
 */
export function readDirTree(root: string): SeenTree {
  const t: SeenTree = new Map();
  const ids = new Map<string, string>();
  const walk = (real: Buffer, p: string) => {
    const st = fs.lstatSync(real, { throwIfNoEntry: false });
    if (!st) {
      t.set(p, { type: PHANTOM, mode: null, uid: null, gid: null, mtime: null, xattrs: null });
      return;
    }
    t.set(p, seenOf(st, () => fs.readFileSync(real), () => fs.readlinkSync(real, 'utf8'), diskXattrs(real)));
    if (st.isFile()) ids.set(p, `${st.dev}:${st.ino}`);
    if (!st.isDirectory()) return;
    for (const n of fs.readdirSync(real, { encoding: 'buffer' })) walk(Buffer.concat([real, Buffer.from('/'), n]), (p === '/' ? '/' : p + '/') + nameOf(n));
  };
  walk(Buffer.from(root), '/');
  return withLinks(t, ids);
}

export const PHANTOM = 'listed, but ENOENT';

/** `t` without the names its directory listed but lstat did not find. */
export function withoutPhantoms(t: SeenTree): SeenTree {
  return new Map([...t].filter(([, s]) => s.type !== PHANTOM));
}

/** A name byte the view could not read as UTF-8 comes as U+DC80..U+DCFF (surrogateescape): as latin1 here, like nameOf. */
export const fromSurrogateEscape = (p: string) => p.replace(/[\uDC80-\uDCFF]/g, (c) => String.fromCharCode(c.charCodeAt(0) - 0xdc00));

/** The union of a chain as the UnionView shows it. */
export function readViewTree(view: UnionView): SeenTree {
  const t: SeenTree = new Map();
  const ids = new Map<string, string>();
  for (const e of view.walkSync()) {
    t.set(fromSurrogateEscape(e.path), seenOf(e.stat, () => view.readFileSync(e.path), () => view.readlinkSync(e.path), view.xattrsSync(e.path)));
    if (e.type === 'file') ids.set(fromSurrogateEscape(e.path), `${e.stat.dev}:${e.stat.ino}`);
  }
  return withLinks(t, ids);
}

/** The reference merge as a SeenTree (unknown fields null). */
export function refToSeen(ref: RefTree, opts: { owners: boolean }): SeenTree {
  const t: SeenTree = new Map();
  const ids = new Map<string, string>();
  const owner = (n: number) => (opts.owners ? n : null);
  for (const [p, n] of ref) {
    if (n.type === 'dir') t.set(p, { type: 'dir', mode: n.mode, uid: owner(n.uid), gid: owner(n.gid), mtime: n.mtime, xattrs: { ...n.xattrs } });
    else if (n.type === 'symlink') t.set(p, { type: 'symlink', mode: 0o777, uid: owner(n.uid), gid: owner(n.gid), mtime: n.mtime, target: n.target, xattrs: {} });
    else {
      const b = contentBytes(n.ino.content);
      const m = n.ino.meta;
      t.set(p, { type: 'file', mode: m.mode, uid: owner(m.uid), gid: owner(m.gid), mtime: m.mtime, size: b.length, content: describeContent(b), xattrs: { ...m.xattrs } });
      ids.set(p, String(n.ino.id));
    }
  }
  return withLinks(t, ids);
}

const FIELDS: Array<keyof Seen> = ['type', 'mode', 'uid', 'gid', 'mtime', 'size', 'content', 'target', 'xattrs', 'links'];

export interface CompareOptions {
  /** paths whose metadata is not compared (type only): the root, while its class is known */
  typeOnly?: Set<string>;
  /** skip mtimes of directories (a commit or a write moves them legitimately) */
  dirMtimes?: boolean;
}

/** The differences between two trees, one line per path and field; [] when they agree. */
export function treeDifferences(actual: SeenTree, expected: SeenTree, opts: CompareOptions = {}): string[] {
  const out: string[] = [];
  const paths = [...new Set([...actual.keys(), ...expected.keys()])].sort();
  for (const p of paths) {
    const a = actual.get(p);
    const e = expected.get(p);
    if (!a || !e) {
      out.push(`${p}: ${a ? `unexpected ${JSON.stringify(a)}` : `missing (expected ${JSON.stringify(e)})`}`);
      continue;
    }
    for (const f of FIELDS) {
      if (f !== 'type' && opts.typeOnly?.has(p)) continue;
      if (f === 'mtime' && opts.dirMtimes === false && a.type === 'dir') continue;
      const av = a[f];
      const ev = e[f];
      if (av === null || ev === null) continue;
      if (JSON.stringify(av) !== JSON.stringify(ev)) out.push(`${p}: ${f} is ${fmt(f, av)}, expected ${fmt(f, ev)}`);
    }
  }
  return out;
}

function fmt(f: keyof Seen, v: unknown): string {
  return f === 'mode' && typeof v === 'number' ? '0' + v.toString(8) : JSON.stringify(v);
}

/** Throws (for fast-check to shrink) when the trees differ. */
export function expectSameTree(what: string, actual: SeenTree, expected: SeenTree, opts: CompareOptions = {}): void {
  const d = treeDifferences(actual, expected, opts);
  if (d.length) throw new Error(`${what}:\n  ${d.slice(0, 30).join('\n  ')}${d.length > 30 ? `\n  (${d.length - 30} more)` : ''}`);
}
