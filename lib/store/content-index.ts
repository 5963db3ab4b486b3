import * as fs from 'fs';
import * as path from 'path';
import { hexOf, sha256OfFdSync } from '../digest';
import * as native from '../native';
import { byteOrder, fsPath, nameOfBytes, readdirNamesSync, readlinkNameSync } from '../names';

/**
 * The content index of a layer (on disk layers/<id>/manifest.json, the name older stores have).
 *
 * One line of the index: what the unpacked layer held when it was published, the
 * layer's root directory (`/`) first. Content and metadata: fsck holds the directory against it,
 * and a chmod, chown, touch or xattr change (the overlay opaque marker included) is a difference.
 * Indexes written before the metadata fields were added have the first six fields only (and no
 * root line): only those are compared.
 */
export type IndexLine = [
  path: string,
  type: string,
  mode: number,
  size: number,
  sha256: string | null,
  target: string | null,
  uid?: number,
  gid?: number,
  /** nanoseconds since the epoch, as a decimal string */
  mtime?: string,
  /** name -> hex value, sorted by name; null when they could not be read (no addon) */
  xattrs?: Record<string, string> | null,
];

/** Opens for reading without moving the atime (O_NOATIME: the owner or root only), else as usual. */
function openNoAtime(p: string): number {
  try {
    return fs.openSync(fsPath(p), fs.constants.O_RDONLY | (fs.constants.O_NOATIME ?? 0));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EPERM') throw e;
    return fs.openSync(fsPath(p), 'r');
  }
}

function hashFile(p: string): string {
  const fd = openNoAtime(p);
  try {
    return hexOf(sha256OfFdSync(fd));
  } finally {
    fs.closeSync(fd);
  }
}

function typeOf(st: fs.BigIntStats): string {
  return st.isFile() ? 'file' : st.isDirectory() ? 'dir' : st.isSymbolicLink() ? 'symlink' : st.isCharacterDevice() ? `char:${st.rdev}` : st.isBlockDevice() ? `block:${st.rdev}` : st.isFIFO() ? 'fifo' : 'socket';
}

/** The xattrs of `p` (not following a symlink), hex values by name; null without the addon. */
function xattrsOf(p: string): Record<string, string> | null {
  if (!native.available()) return null;
  return xattrRecord(native.readXattrsSync(fsPath(p)));
}

/** Xattrs as an index line holds them: hex values by name, sorted by name. */
function xattrRecord(entries: Array<[string, Buffer]>): Record<string, string> {
  const out: Record<string, string> = {};
  if (entries.length === 0) return out;
  for (const [n, v] of [...entries].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))) out[n] = v.toString('hex');
  return out;
}

function lineOf(real: string, p: string, known: Map<number, string> | undefined): IndexLine {
  const st = fs.lstatSync(fsPath(real), { bigint: true });
  return lineWith(st, real, p, st.isFile() ? (known?.get(Number(st.ino)) ?? hashFile(real)) : null);
}

function lineWith(st: fs.BigIntStats, real: string, p: string, digest: string | null, read?: ReadEntry): IndexLine {
  const file = st.isFile();
  const target = !st.isSymbolicLink() ? null : read?.linkname ? nameOfBytes(read.linkname) : readlinkNameSync(real);
  const xattrs = read ? (native.available() ? xattrRecord(read.xattrs) : null) : xattrsOf(real);
  return [p, typeOf(st), Number(st.mode & 0o7777n), file ? Number(st.size) : 0, digest, target, Number(st.uid), Number(st.gid), String(st.mtimeNs), xattrs];
}

/** What a reader of the tree (a commit's pack) has read of an entry already: its lstat, every xattr, a symlink's target. */
export interface ReadEntry {
  st: fs.BigIntStats;
  xattrs: Array<[string, Buffer]>;
  linkname?: Buffer;
}

/**
 * Paths, types, modes, sizes, content digests, owners, mtimes and xattrs of a layer directory,
 * its root (`/`) first, then sorted; paths and targets are name strings (lib/names).
 * `known`: content digests already computed while the files were written, by inode.
 */
/** Every line of the tree's content index, in order, each handed to `each` as it is made. */
function eachManifestLine(dir: string, known: Map<number, string> | undefined, each: (line: IndexLine) => void): void {
  each(lineOf(dir, '/', known));
  const walk = (real: string, rel: string) => {
    for (const n of readdirNamesSync(real).sort(byteOrder)) {
      const r = path.join(real, n);
      const p = rel + '/' + n;
      const line = lineOf(r, p, known);
      each(line);
      if (line[1] === 'dir') walk(r, p);
    }
  };
  walk(dir, '');
}

export function contentIndexSync(dir: string, known?: Map<number, string>): IndexLine[] {
  const out: IndexLine[] = [];
  eachManifestLine(dir, known, (l) => out.push(l));
  return out;
}

/**
 * A tree's content index made in two steps, for a tree whose files are being read meanwhile by
 * someone who hashes them (a flip commit walks the container's upper directory while the pack
 * reads it): `walk` reads every entry below the root, hashing no file; `write` takes the content
 * digests computed meanwhile (by inode), hashes any file they lack, and writes the index with the
 * root's line as the root is then. The tree must not change between the two but at its root.
 */
export class DeferredContentIndex {
  /** the lines below the root, in index order; a file's digest is filled in by `write` */
  private readonly lines: Array<{ line: IndexLine; real: string; ino: number }> = [];
  constructor(private readonly dir: string) {}

  /**
   * `read`: entries read already, by index path (`/a/b`), as the tree is now: their lines are
   * made from that (a commit that packed them first, on the same thread), the rest are read.
   */
  walk(read?: Map<string, ReadEntry>): this {
    const walk = (real: string, rel: string) => {
      for (const n of readdirNamesSync(real).sort(byteOrder)) {
        // (a name is one component: joined as it is, with no normalizing)
        const r = real + '/' + n;
        const p = rel + '/' + n;
        const known = read?.get(p);
        const st = known ? known.st : fs.lstatSync(fsPath(r), { bigint: true });
        const line = lineWith(st, r, p, null, known);
        this.lines.push({ line, real: r, ino: Number(st.ino) });
        if (line[1] === 'dir') walk(r, p);
      }
    };
    walk(this.dir.replace(/\/+$/, '') || '/', '');
    return this;
  }

  write(file: string, known: Map<number, string>): void {
    const text = [JSON.stringify(lineOf(this.dir, '/', known))];
    for (const { line, real, ino } of this.lines) {
      if (line[1] === 'file') line[4] = known.get(ino) ?? hashFile(real);
      text.push(JSON.stringify(line));
    }
    fs.writeFileSync(file, text.join('\n') + '\n');
  }
}

function writeAllSync(fd: number, b: Buffer): void {
  for (let o = 0; o < b.length; ) o += fs.writeSync(fd, b, o);
}

/** Written as it is walked, 64 KiB at a time: a layer of many files never holds its whole index in memory (it shows in an import's peak RSS). */
export function writeContentIndexSync(dir: string, file: string, known?: Map<number, string>): void {
  const fd = fs.openSync(file, 'w');
  try {
    let pending: string[] = [];
    let size = 0;
    const flush = () => {
      const b = Buffer.from(pending.join(''));
      writeAllSync(fd, b);
      pending = [];
      size = 0;
    };
    eachManifestLine(dir, known, (l) => {
      const text = JSON.stringify(l) + '\n';
      pending.push(text);
      size += text.length;
      if (size >= 64 << 10) flush();
    });
    flush();
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Writes `file`'s first line, the root's, again from `dir`'s root as it is now (its metadata was
 * set after the index was written: a layer's root that takes the chain's), keeping the rest as
 * it is. The rest is copied 64 KiB at a time into a file beside it, renamed over `file`.
 */
export function rewriteRootLineSync(dir: string, file: string): void {
  const tmp = `${file}.root.tmp`;
  const from = fs.openSync(file, 'r');
  try {
    const to = fs.openSync(tmp, 'wx');
    try {
      const buf = Buffer.allocUnsafe(64 << 10);
      // the root's line is short (no content, no link target), but xattrs could make it longer than one read
      let pos = 0;
      let n: number;
      let nl = -1;
      do {
        n = fs.readSync(from, buf, 0, buf.length, pos);
        nl = buf.subarray(0, n).indexOf(0x0a);
        if (nl === -1) pos += n;
      } while (nl === -1 && n > 0);
      if (nl === -1) throw new Error(`${file}: no root line`);
      const head = Buffer.from(JSON.stringify(lineOf(dir, '/', undefined)) + '\n');
      writeAllSync(to, head);
      let rest = buf.subarray(nl + 1, n);
      pos += n;
      while (rest.length > 0) {
        writeAllSync(to, rest);
        const m = fs.readSync(from, buf, 0, buf.length, pos);
        pos += m;
        rest = buf.subarray(0, m);
      }
    } finally {
      fs.closeSync(to);
    }
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw e;
  } finally {
    fs.closeSync(from);
  }
  fs.renameSync(tmp, file);
}

export function readContentIndexSync(file: string): IndexLine[] {
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as IndexLine);
}

const octal = (m: number) => m.toString(8).padStart(4, '0');
const seconds = (ns: string) => `${ns.slice(0, -9) || '0'}.${ns.slice(-9).padStart(9, '0')}`;

/** What differs in one path, in words ("mode 0644 -> 0600", "xattr user.x"); [] when it is the same. */
export function lineDifferences(a: IndexLine, b: IndexLine): string[] {
  const out: string[] = [];
  if (a[1] !== b[1]) return [`type ${a[1]} -> ${b[1]}`];
  if (a[2] !== b[2]) out.push(`mode ${octal(a[2])} -> ${octal(b[2])}`);
  if (a[3] !== b[3] || a[4] !== b[4]) out.push('content');
  if (a[5] !== b[5]) out.push(`symlink target ${JSON.stringify(a[5])} -> ${JSON.stringify(b[5])}`);
  if (a.length < 10 || b.length < 10) return out; // a manifest from before the metadata fields
  if (a[6] !== b[6] || a[7] !== b[7]) out.push(`owner ${a[6]}:${a[7]} -> ${b[6]}:${b[7]}`);
  if (a[8] !== b[8]) out.push(`mtime ${seconds(a[8]!)} -> ${seconds(b[8]!)}`);
  const xa = a[9];
  const xb = b[9];
  if (xa && xb) {
    for (const n of [...new Set([...Object.keys(xa), ...Object.keys(xb)])].sort()) {
      if (!(n in xb)) out.push(`xattr ${n} removed`);
      else if (!(n in xa)) out.push(`xattr ${n} added`);
      else if (xa[n] !== xb[n]) out.push(`xattr ${n} changed`);
    }
  }
  return out;
}

/** What differs between a recorded manifest and the directory now: one line per path, saying what differs. */
export function compareContentIndex(recorded: IndexLine[], now: IndexLine[]): string[] {
  const a = new Map(recorded.map((l) => [l[0], l]));
  const b = new Map(now.map((l) => [l[0], l]));
  // an old manifest has no line for the root: nothing to hold it against
  if (!a.has('/')) b.delete('/');
  const out: string[] = [];
  for (const [p, v] of a) {
    const w = b.get(p);
    if (!w) out.push(`removed ${p}`);
    else {
      const d = lineDifferences(v, w);
      if (d.length) out.push(`changed ${p} (${d.join(', ')})`);
    }
  }
  for (const p of b.keys()) if (!a.has(p)) out.push(`added ${p}`);
  return out.sort();
}
