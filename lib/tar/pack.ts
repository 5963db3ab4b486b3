/**
 * Deterministic packing, synchronous (it runs inside the pack worker): walking a directory or
 * an explicit entry list, ordering the entries, and producing the tar bytes into caller-owned
 * buffers.
 *
 * Order and form (the same tree gives the same bytes):
 * - entries sorted by the bytes of their path components; a directory right before its contents;
 *   paths relative, directories end with `/`; no entry for the pack root itself, unless an
 *   explicit list names it (`.`, for a root whose metadata changed): then `./` comes first;
 * - no name of an entry that is not a deletion begins with `.wh.`: every other tool would read it
 *   as a whiteout or an opaque marker, so such a name is refused (UnsafePathError);
 * - the opaque marker `.wh..wh..opq` is the first entry inside its directory; a whiteout sorts
 *   among the names as its tar name `.wh.NAME`;
 * - whiteouts and opaque markers are empty regular files, mode 0644, owner 0:0, mtime 0 (always 0,
 *   with or without sourceDateEpoch, so every whiteout format packs to the same bytes);
 * - hardlinks by inode: the first path of an inode (nlink > 1) in pack order is a regular file,
 *   later paths in the same pack are type `1` entries pointing at it;
 * - owners numeric (opts.owner overrides), mode & 0o7777, mtime whole seconds clamped to
 *   sourceDateEpoch; xattrs except overlay's own; sockets skipped.
 */
import * as fs from 'fs';
import { BadTarError, ChangedMeanwhileError, InvalidArgumentError, UnsafePathError } from '../errors';
import type { WhiteoutFormatName } from '../types';
import { OWNER_XATTR, DEVICE_XATTR, decodeOwner, decodeDevice, ownersInXattr, unprivilegedHost } from '../userns/owner-xattr';
import { inUserNamespace } from '../userns/identity';
import { whiteoutFormat, isOverlayXattr, looksLikeWhiteout, WHITEOUT_NAME_REASON, OCI_WHITEOUT_PREFIX, OCI_OPAQUE_MARKER } from '../whiteout';
import * as native from '../native';
import { nameBytes, nameOfBytes, readListedLinkSync } from '../names';
import { NoFollowDir } from '../native/no-follow-dir';
import { checkUnchanged } from './tree-fingerprint';
import { END_OF_ARCHIVE, type TarHeader, padding } from './header';
import { encodeHeader } from './writer';

/** An entry of an explicit list, as it crosses to the worker (paths may be raw bytes). */
export interface WirePackEntry {
  path: string | Uint8Array;
  source?: string | Uint8Array;
  whiteout?: boolean;
  opaque?: boolean;
  /** the planner saw a regular file (lib/tar/types.ts's PackEntry) */
  file?: boolean;
}

/**
 * `confined`: the tree is another party's (a running container), named so in errors. Every entry
 * is then read at `root/path` without following a symlink at any component (lib/native/no-follow-dir.ts),
 * and a `source` other than that path is refused.
 */
export type WirePackSource = { dir: string | Uint8Array; whiteout?: WhiteoutFormatName } | { root: string | Uint8Array; entries: WirePackEntry[]; confined?: string };

export interface PackTarOptions {
  sourceDateEpoch?: number;
  owner?: { uid: number; gid: number };
  /** every entry's mtime (seconds), instead of its own */
  mtime?: number;
  /** permission bits of regular files (executables keep x where the mode has r) and of directories */
  fileMode?: number;
  dirMode?: number;
}

/** One tar entry: its header bytes and, for a regular file, where its content comes from. */
export interface TarItem {
  header: Buffer;
  /** `path` is the entry's tar path, for error messages */
  /** `confined`: the tree is another party's (its name, and the lstat the file must still match once read) */
  file?: { abs: Buffer; size: number; path: Buffer; dev: bigint; ino: bigint; confined?: { tree: string; st: fs.BigIntStats } };
  /** a regular file's bytes, read whole and checked already (SmallFileReader): they go out after the header */
  data?: Buffer;
  /** an entry of an explicit list, as it was packed (what a PackObserver hears of) */
  listed?: ListedEntry;
}

/**
 * An entry of an explicit list as the pack read it: its path in the layer (no `./`, '' for the
 * root), and for content its lstat, the xattrs and symlink target the tar holds, and every
 * xattr the entry has as read (overlay's own too; absent for a hardlink's later names).
 */
export type ListedEntry =
  | { rel: Buffer; kind: 'whiteout' }
  | { rel: Buffer; kind: 'opaque' }
  | { rel: Buffer; kind: 'entry'; st: fs.BigIntStats; xattrs: Array<[string, Buffer]>; linkname?: Buffer; allXattrs?: Array<[string, Buffer]> };

/**
 * Hears of every entry of an explicit list as it is packed, in pack order, and of each regular
 * file's bytes as they go into the tar: a second output made in the same pass (a commit's layer
 * directory), with nothing read twice. Calls are synchronous, inside `TarProducer.fill`.
 */
export interface PackObserver {
  /** an entry, before its content (the opaque marker of a directory comes right after the directory) */
  entry(e: ListedEntry): void;
  /** the file just announced is open at `fd` (checked to be the inode its lstat saw), about to be read */
  fileOpen(fd: number): void;
  /**
   * false: fileOpen may be skipped (then a small file of a confined tree that the list says is
   * one is opened, read and closed by one call of the addon, and no descriptor is there to hand over)
   */
  readonly wantsDescriptor?: boolean;
  /** the next bytes of that file */
  content(chunk: Buffer): void;
  /** that file was read whole, and is as its lstat saw it */
  fileEnd(): void;
}

const SLASH = 0x2f;
const { S_IFMT, S_IFREG, S_IFDIR, S_IFLNK, S_IFCHR, S_IFBLK, S_IFIFO, S_IFSOCK } = fs.constants;
const WH_PREFIX = Buffer.from(OCI_WHITEOUT_PREFIX);
const OPAQUE_MARKER = Buffer.from(OCI_OPAQUE_MARKER);
const NS_PER_S = 1_000_000_000n;

/** A path's bytes: strings are name strings (lib/names), whose escaped bytes come back exact. */
function toBuffer(p: string | Uint8Array): Buffer {
  return typeof p === 'string' ? nameBytes(p) : Buffer.from(p.buffer, p.byteOffset, p.byteLength);
}

const SLASH_BUF = Buffer.from('/');
const ROOT_NAME = Buffer.from('.');

function join(a: Buffer, b: Buffer): Buffer {
  if (a.length === 0) return b;
  return a[a.length - 1] === SLASH ? Buffer.concat([a, b]) : Buffer.concat([a, SLASH_BUF, b]);
}

/** Printable form of a raw path, for error messages. */
function show(p: Buffer): string {
  return nameOfBytes(p);
}

/** Refuses a path with a component that a reader would take for a whiteout or opaque marker. */
function refuseWhiteoutNames(parts: Buffer[], shown: Buffer): void {
  if (parts.some(looksLikeWhiteout)) throw new UnsafePathError(show(shown), WHITEOUT_NAME_REASON);
}

/** Whether `p` is exactly `parts` joined by '/' (no empty, '.' or trailing components were dropped). */
function isJoined(p: Buffer, parts: Buffer[]): boolean {
  if (parts.length === 0) return p.length === 0;
  let n = parts.length - 1;
  for (const c of parts) n += c.length;
  return n === p.length;
}

function joinParts(parts: Buffer[]): Buffer {
  const list: Buffer[] = [];
  for (let i = 0; i < parts.length; i++) {
    if (i) list.push(SLASH_BUF);
    list.push(parts[i]);
  }
  return Buffer.concat(list);
}

function splitPath(p: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let start = 0;
  for (let i = 0; i <= p.length; i++) {
    if (i === p.length || p[i] === SLASH) {
      if (i > start) out.push(p.subarray(start, i));
      start = i + 1;
    }
  }
  return out;
}

/** Shared state of one pack: options, and the first path seen of each hardlinked inode. */
class EntryEncoder {
  private readonly links = new Map<string, Buffer>();
  entries = 0;
  constructor(private readonly opts: PackTarOptions) {}

  private mtime(st: fs.BigIntStats): number {
    let s = st.mtimeNs / NS_PER_S;
    if (st.mtimeNs < 0n && st.mtimeNs % NS_PER_S !== 0n) s -= 1n; // floor, not truncate
    const m = this.opts.mtime ?? Number(s);
    return this.opts.sourceDateEpoch !== undefined ? Math.min(m, this.opts.sourceDateEpoch) : m;
  }

  private mode(st: fs.BigIntStats, fmt: number): number {
    const own = Number(st.mode) & 0o7777;
    if (fmt === S_IFDIR && this.opts.dirMode !== undefined) return this.opts.dirMode;
    if (fmt === S_IFREG && this.opts.fileMode !== undefined) {
      const m = this.opts.fileMode;
      return own & 0o111 ? m | ((m & 0o444) >> 2) : m;
    }
    return own;
  }

  /** A whiteout (`.wh.NAME`) or opaque marker: an empty file with fixed metadata. */
  marker(path: Buffer): TarItem {
    this.entries++;
    return { header: encodeHeader({ name: path, type: 'file', mode: 0o644, uid: 0, gid: 0, size: 0, mtime: 0 }) };
  }

  /** The entry for `abs` stored as `path` (no trailing slash); null for what tar cannot hold (sockets). */
  entry(path: Buffer, abs: Buffer, st: fs.BigIntStats, noXattrs = false): TarItem | null {
    // the type from the mode once (each BigIntStats.isX() call makes BigInts of its own)
    const fmt = Number(st.mode) & S_IFMT;
    if (fmt === S_IFSOCK) return null;
    const h: TarHeader = {
      name: path,
      type: 'file',
      mode: this.mode(st, fmt),
      uid: this.opts.owner?.uid ?? Number(st.uid),
      gid: this.opts.owner?.gid ?? Number(st.gid),
      mtime: this.mtime(st),
      size: 0,
    };
    let file: TarItem['file'];
    if (fmt === S_IFDIR) {
      h.name = Buffer.concat([path, SLASH_BUF]);
      h.type = 'dir';
    } else if (fmt === S_IFREG) {
      if (st.nlink > 1n) {
        const key = `${st.dev}:${st.ino}`;
        const first = this.links.get(key);
        if (first) {
          this.entries++;
          h.type = 'link';
          h.linkname = first;
          return { header: encodeHeader(h), listed: { rel: path, kind: 'entry', st, xattrs: [] } };
        }
        this.links.set(key, path);
      }
      const size = Number(st.size);
      h.size = size;
      file = { abs, size, path, dev: st.dev, ino: st.ino };
    } else if (fmt === S_IFLNK) {
      h.type = 'symlink';
      h.linkname = readListedLinkSync(abs, 'the tree being packed', show(path));
    } else if (fmt === S_IFCHR || fmt === S_IFBLK) {
      const { major, minor } = native.splitDev(st.rdev);
      h.type = fmt === S_IFCHR ? 'char' : 'block';
      h.devmajor = major;
      h.devminor = minor;
    } else if (fmt === S_IFIFO) {
      h.type = 'fifo';
    } else {
      return null;
    }
    const allXattrs = noXattrs ? [] : native.readXattrsSync(abs);
    const xattrs = allXattrs.filter(([name]) => !isOverlayXattr(name));
    h.xattrs = xattrs;
    const dev = xattrs.findIndex(([n]) => n === DEVICE_XATTR);
    if (dev >= 0) {
      // a device extracted in a user namespace (lib/userns/owner-xattr.ts): the entry is the device, the record stays behind
      const d = h.type === 'file' && (inUserNamespace() || unprivilegedHost()) ? decodeDevice(xattrs[dev][1]) : null;
      if (d) {
        Object.assign(h, { type: d.type, size: 0, devmajor: d.major, devminor: d.minor });
        file = undefined;
      }
      xattrs.splice(dev, 1);
    }
    if (ownersInXattr() && !this.opts.owner) {
      // single-uid mode: the owner the image gave is kept in an xattr (lib/userns/owner-xattr.ts), which stays behind
      const i = xattrs.findIndex(([n]) => n === OWNER_XATTR);
      const o = i >= 0 ? decodeOwner(xattrs[i][1]) : null;
      if (o) Object.assign(h, o);
      else if (unprivilegedHost()) {
        // with no namespace the files are the user's own: that is 0 inside, as a namespace would show it
        if (h.uid === process.geteuid!()) h.uid = 0;
        if (h.gid === process.getegid!()) h.gid = 0;
      }
      if (i >= 0) xattrs.splice(i, 1);
    }
    this.entries++;
    return { header: encodeHeader(h), file, listed: { rel: path, kind: 'entry', st, xattrs, linkname: h.type === 'symlink' ? h.linkname : undefined, allXattrs } };
  }
}

function lstat(abs: Buffer): fs.BigIntStats {
  return fs.lstatSync(abs, { bigint: true });
}

/**
 * Walks a directory depth first, each directory's children sorted by their tar names. With a
 * whiteout format, the directory is a layer diff: its whiteouts and opaque directories become
 * `.wh.NAME` entries and `.wh..wh..opq` markers.
 */
function* dirItems(dir: Buffer, format: WhiteoutFormatName | undefined, enc: EntryEncoder): Generator<TarItem> {
  const wf = format ? whiteoutFormat(format) : null;
  type Child = { name: Buffer; abs: Buffer; st: fs.BigIntStats | null };
  // one frame per open directory: its sorted children and the next one to visit
  const stack: Array<{ rel: Buffer; children: Child[]; i: number }> = [];

  const open = function* (abs: Buffer, rel: Buffer): Generator<TarItem> {
    const children: Child[] = [];
    let opaque = false;
    for (const name of fs.readdirSync(abs, { encoding: 'buffer' })) {
      const childAbs = join(abs, name);
      const st = lstat(childAbs);
      if (wf) {
        const kind = wf.classify(name.toString('latin1'), numberStats(st));
        if (kind?.kind === 'opaque-marker') {
          opaque = true;
          continue;
        }
        if (kind?.kind === 'whiteout') {
          const target = Buffer.from(kind.target, 'latin1');
          children.push({ name: Buffer.concat([WH_PREFIX, target]), abs: childAbs, st: null });
          continue;
        }
      }
      refuseWhiteoutNames([name], join(rel, name));
      children.push({ name, abs: childAbs, st });
    }
    if (wf && !opaque && format !== 'oci') opaque = wf.isOpaqueSync(abs);
    children.sort((a, b) => Buffer.compare(a.name, b.name));
    if (opaque) yield enc.marker(join(rel, OPAQUE_MARKER));
    stack.push({ rel, children, i: 0 });
  };

  yield* open(dir, Buffer.alloc(0));
  while (stack.length > 0) {
    const top = stack[stack.length - 1];
    if (top.i >= top.children.length) {
      stack.pop();
      continue;
    }
    const c = top.children[top.i++];
    const rel = join(top.rel, c.name);
    if (c.st === null) {
      yield enc.marker(rel);
      continue;
    }
    const item = enc.entry(rel, c.abs, c.st);
    if (item) yield item;
    if (c.st.isDirectory()) yield* open(c.abs, rel);
  }
}

/** The entries of an explicit list, in pack order; each one's content and metadata come from its source. */
function* listItems(root: Buffer, entries: WirePackEntry[], enc: EntryEncoder, confined?: string, rootName?: string, small?: SmallFileReader): Generator<TarItem> {
  // `root/` as a name string, for the cheap form of the check that an entry is read where it lies
  const rootSlash = rootName === undefined ? undefined : rootName.endsWith('/') ? rootName : rootName + '/';
  const sorted = entries.map((e) => {
    const rel = toBuffer(e.path);
    const parts = splitPath(rel).filter((c) => !(c.length === 1 && c[0] === 0x2e));
    if (parts.some((c) => c.length === 2 && c[0] === 0x2e && c[1] === 0x2e)) {
      throw new InvalidArgumentError(`pack entry path ${JSON.stringify(show(rel))} must name something inside the layer (no "..")`);
    }
    if (parts.length === 0 && (e.whiteout || e.opaque)) throw new InvalidArgumentError(`pack entry path ${JSON.stringify(show(rel))} is the root: it cannot be a whiteout or opaque`);
    refuseWhiteoutNames(parts, rel);
    // the path as its components joined by '/': the path itself when splitting dropped nothing (a list's usual case)
    const joined = isJoined(rel, parts);
    const clean = joined ? rel : joinParts(parts);
    if (e.whiteout) parts[parts.length - 1] = Buffer.concat([WH_PREFIX, parts[parts.length - 1]]);
    const isRoot = parts.length === 0;
    // read at `root/clean` (the source given must be that path when confined); a confined entry
    // below the root is reached through the tree, and its source is needed only to say so in an error
    let source: Buffer | null = null;
    if (confined === undefined || isRoot) source = e.source !== undefined ? toBuffer(e.source) : join(root, clean);
    if (confined !== undefined && !e.whiteout && e.source !== undefined) {
      // equal name strings are equal bytes; anything else is compared as bytes
      const same = !isRoot && joined && rootSlash !== undefined && typeof e.source === 'string' && typeof e.path === 'string' && e.source.length === rootSlash.length + e.path.length && e.source.startsWith(rootSlash) && e.source.endsWith(e.path);
      if (!same) {
        const at = join(root, clean);
        const src = source ?? toBuffer(e.source);
        if (!src.equals(at) && !(isRoot && src.equals(root))) {
          throw new InvalidArgumentError(`pack entry ${JSON.stringify(show(clean))} of ${confined} must be read at ${JSON.stringify(show(at))}, not ${JSON.stringify(show(src))}`);
        }
      }
    }
    // the root's own entry is `./` (the encoder adds the slash)
    const out = isRoot ? ROOT_NAME : e.whiteout ? joinParts(parts) : clean;
    // component order as one string compare: the path's bytes (latin1: one unit per byte) with
    // each '/' made NUL, which sorts below every byte a name can hold
    const key = isRoot ? '' : out.toString('latin1').replaceAll('/', '\0');
    return { key, clean, out, source, e };
  });
  sorted.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i - 1].key === sorted[i].key) throw new InvalidArgumentError(`pack entry ${JSON.stringify(show(sorted[i].out))} is listed twice`);
  }
  const tree = confined !== undefined ? new NoFollowDir(root, confined) : null;
  try {
    for (const s of sorted) {
      if (s.e.whiteout) {
        yield { ...enc.marker(s.out), listed: { rel: s.clean, kind: 'whiteout' } };
        continue;
      }
      // confined: the directories above the entry are reached by descriptor, never through a
      // symlink (the root itself is the caller's own directory)
      const isRoot = s.key === '';
      if (small && tree && s.e.file && !isRoot) {
        const item = small.item(tree, s.clean, s.out, enc);
        if (item) {
          yield item;
          continue;
        }
        // not a small regular file: as any entry
      }
      const found = tree && !isRoot ? tree.atWithLstat(s.clean) : null;
      const abs = found ? found.path : s.source!;
      const st = found ? found.st : lstat(abs);
      if (isRoot && !st.isDirectory()) throw new InvalidArgumentError(`pack entry ${JSON.stringify(show(s.out))} is the root but ${JSON.stringify(show(abs))} is not a directory`);
      const item = enc.entry(s.out, abs, st);
      if (item?.file && confined !== undefined) item.file.confined = { tree: confined, st };
      if (item?.listed) item.listed.rel = isRoot ? Buffer.alloc(0) : s.clean;
      // (the file is opened, by the producer, before this generator goes on: `abs` still holds)
      if (item) yield item;
      if (s.e.opaque) {
        if (!st.isDirectory()) throw new InvalidArgumentError(`pack entry ${JSON.stringify(show(s.out))} is marked opaque but ${JSON.stringify(show(s.source ?? join(root, s.clean)))} is not a directory`);
        yield { ...enc.marker(join(s.out, OPAQUE_MARKER)), listed: { rel: s.clean, kind: 'opaque' } };
      }
    }
  } finally {
    tree?.close();
  }
}

/** lib/whiteout classifies with ordinary (number) stats. */
function numberStats(st: fs.BigIntStats): fs.Stats {
  const o = Object.create(fs.Stats.prototype) as fs.Stats & Record<string, unknown>;
  for (const [k, v] of Object.entries(st)) o[k] = typeof v === 'bigint' ? Number(v) : v;
  return o;
}

/** Files up to this size that a confined list says are regular files are read by one call of the addon. */
const ONE_CALL_MAX = 64 << 10;
let bigIntStatsProto: object | undefined;

/**
 * A small regular file of a confined tree as one tar item, from one call of the addon
 * (native.readFileAtSync): opened relative to its directory's descriptor (following no
 * symlink), its entry made from that descriptor's fstat (no lstat by path), read whole, and
 * held to what the descriptor path checks: no growth or shrink, the same inode, size and ctime
 * once read. Only for a list entry the planner saw as a regular file: what is opened is not
 * lstat'ed first (open of anything else may do what its driver does on open).
 */
class SmallFileReader {
  private readonly buf = Buffer.allocUnsafeSlow(ONE_CALL_MAX + 1);
  private readonly st = new BigInt64Array(native.READ_FILE_AT_FIELDS.length);
  /** O_NOATIME until a file of another owner refuses it (as TarProducer.openFile) */
  private noAtime = fs.constants.O_NOATIME ?? 0;

  /** The item, or null when what is there is not a regular file of at most ONE_CALL_MAX bytes (nothing read). */
  item(tree: NoFollowDir, rel: Buffer, out: Buffer, enc: EntryEncoder): TarItem | null {
    const { dirFd, name } = tree.entryAt(rel);
    const what = tree.what;
    let n: number;
    try {
      try {
        n = native.readFileAtSync(dirFd, name, OPEN_FLAGS | this.noAtime, this.buf, this.st);
      } catch (e) {
        if (this.noAtime === 0 || (e as NodeJS.ErrnoException).code !== 'EPERM') throw e;
        this.noAtime = 0;
        n = native.readFileAtSync(dirFd, name, OPEN_FLAGS, this.buf, this.st);
      }
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ELOOP') throw new ChangedMeanwhileError(what, show(rel), 'a symlink is where a file was', { cause: e });
      if (code === 'ENOENT') throw new ChangedMeanwhileError(what, show(rel), 'it is gone', { cause: e });
      throw e;
    }
    if (n < 0) return null;
    const a = this.st;
    const size = Number(a[AT.size]);
    if (n > size) throw new BadTarError(show(out), `the file grew while it was being packed (beyond ${size} bytes)`);
    if (n < size) throw new BadTarError(show(out), `the file shrank while it was being packed (${size} bytes expected, ended ${size - n} short)`);
    // what was read is the file as it was stat'ed (checkUnchanged's test)
    if (a[AT.afterIno] !== a[AT.ino] || a[AT.afterDev] !== a[AT.dev] || a[AT.afterSize] !== a[AT.size] || a[AT.afterCtimeNs] !== a[AT.ctimeNs]) throw new ChangedMeanwhileError(what, show(rel), 'the file changed while it was read');
    const st = statsOf(a);
    const abs = NoFollowDir.pathIn(dirFd, name);
    const item = enc.entry(out, abs, st, a[AT.xattrBytes] === 0n);
    if (!item) return null;
    // a later name of a hardlinked inode, or a device record, carries no bytes
    if (item.file) {
      item.data = this.buf.subarray(0, n);
      item.file = undefined;
    }
    if (item.listed) item.listed.rel = rel;
    return item;
  }
}

/** Where each of readFileAtSync's fields is in its array, by name. */
const AT = Object.fromEntries(native.READ_FILE_AT_FIELDS.map((name, i) => [name, i])) as Record<(typeof native.READ_FILE_AT_FIELDS)[number], number>;
/** the fstat's own fields, named as fs.BigIntStats names them (ino to ctimeNs) */
const STAT_FIELDS = native.READ_FILE_AT_FIELDS.slice(0, AT.ctimeNs + 1);

/** An fs.BigIntStats of readFileAtSync's fstat (the prototype's isFile() and kin read its mode). */
function statsOf(a: BigInt64Array): fs.BigIntStats {
  bigIntStatsProto ??= Object.getPrototypeOf(fs.lstatSync('/', { bigint: true })) as object;
  const o = Object.create(bigIntStatsProto) as Record<string, bigint>;
  for (let i = 0; i < STAT_FIELDS.length; i++) o[STAT_FIELDS[i]] = a[i];
  o.birthtimeNs = 0n;
  o.atimeMs = o.atimeNs / 1_000_000n;
  o.mtimeMs = o.mtimeNs / 1_000_000n;
  o.ctimeMs = o.ctimeNs / 1_000_000n;
  o.birthtimeMs = 0n;
  return o as unknown as fs.BigIntStats;
}

/** The typed array's own fill: Buffer.fill checks its arguments in JS first, a cost per tar entry. */
const zeroFill = Uint8Array.prototype.fill;
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
const OPEN_FLAGS = fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK;

/**
 * Turns tar items into bytes, filling caller-owned buffers: file contents are read straight
 * into the output buffer, one file open at a time.
 */
export class TarProducer {
  private pending: Buffer | null = null;
  private pendingOff = 0;
  /** what goes out once `pending` has: a small file's bytes, read whole already */
  private then: Buffer | null = null;

  private file: { fd: number; remaining: number; item: NonNullable<TarItem['file']> } | null = null;
  private pad = 0;
  private ended = false;
  private readonly probe = Buffer.alloc(1);
  /** O_NOATIME (the owner or root only): reading a file just written would dirty its inode for the atime */
  private noAtime = fs.constants.O_NOATIME ?? 0;
  /** tar bytes produced so far */
  bytes = 0;

  constructor(private readonly items: Iterator<TarItem>, private readonly enc: EntryEncoder, private readonly observer?: PackObserver) {}

  get entries(): number {
    return this.enc.entries;
  }


  /** Fills `out` from the start; returns the bytes written, less than out.length only at the end of the archive. */
  fill(out: Buffer): number {
    let off = 0;
    try {
      while (off < out.length) {
        if (this.pending) {
          const n = this.pending.copy(out, off, this.pendingOff);
          off += n;
          this.pendingOff += n;
          if (this.pendingOff === this.pending.length) {
            this.pending = this.then;
            this.pendingOff = 0;
            this.then = null;
          }
        } else if (this.file) {
          off += this.readFile(out, off);
        } else if (this.pad > 0) {
          const n = Math.min(this.pad, out.length - off);
          zeroFill.call(out, 0, off, off + n);
          off += n;
          this.pad -= n;
        } else if (this.ended) {
          break;
        } else {
          const next = this.items.next();
          if (next.done) {
            this.ended = true;
            this.pending = END_OF_ARCHIVE;
            this.pendingOff = 0;
            continue;
          }
          this.pending = next.value.header;
          this.pendingOff = 0;
          if (this.observer && next.value.listed) this.observer.entry(next.value.listed);
          const data = next.value.data;
          if (data) {
            this.observer?.content(data);
            this.observer?.fileEnd();
            this.then = data;
            this.pad = padding(data.length);
          } else if (next.value.file) this.openFile(next.value.file);
        }
      }
    } catch (e) {
      this.close();
      throw e;
    }
    this.bytes += off;
    return off;
  }

  private openFile(item: NonNullable<TarItem['file']>): void {
    // O_NONBLOCK: should a fifo have replaced the file since lstat, open must not hang on it
    let fd: number;
    const flags = OPEN_FLAGS;
    try {
      try {
        fd = fs.openSync(item.abs, flags | this.noAtime);
      } catch (e) {
        if (this.noAtime === 0 || (e as NodeJS.ErrnoException).code !== 'EPERM') throw e;
        // not this user's file: its atime moves, and so do the rest of this pack's
        this.noAtime = 0;
        fd = fs.openSync(item.abs, flags);
      }
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ELOOP') throw new ChangedMeanwhileError(item.confined?.tree ?? 'the tree being packed', show(item.path), 'a symlink is where a file was', { cause: e });
      throw e;
    }
    // what is read is what was stat'ed: the same inode, still a regular file (numbers are exact
    // for an inode and device that fit in a double, and cost no BigInt allocation)
    const exact = item.ino <= MAX_SAFE && item.dev <= MAX_SAFE;
    const st = exact ? fs.fstatSync(fd) : fs.fstatSync(fd, { bigint: true });
    if (!st.isFile() || (exact ? st.ino !== Number(item.ino) || st.dev !== Number(item.dev) : st.ino !== item.ino || st.dev !== item.dev)) {
      fs.closeSync(fd);
      throw new ChangedMeanwhileError(item.confined?.tree ?? 'the tree being packed', show(item.path), 'another file took its name while it was being packed');
    }
    this.file = { fd, remaining: item.size, item };
    this.observer?.fileOpen(fd);
    if (item.size === 0) this.finishFile();
  }

  /**
   * Reads the current file into `out` at `off`. When the rest of the file fits, it asks for one
   * byte more: getting it means the file grew since lstat (that extra byte is overwritten by
   * what follows), and saves a separate probe read for most files.
   */
  private readFile(out: Buffer, off: number): number {
    const f = this.file!;
    const space = out.length - off;
    const probe = f.remaining < space;
    const n = fs.readSync(f.fd, out, off, probe ? f.remaining + 1 : space, null);
    if (n === 0) throw new BadTarError(show(f.item.path), `the file shrank while it was being packed (${f.item.size} bytes expected, ended ${f.remaining} short)`);
    if (n > f.remaining) throw this.grew();
    this.observer?.content(out.subarray(off, off + n));
    f.remaining -= n;
    if (f.remaining === 0) this.finishFile(probe);
    return n;
  }

  private grew(): BadTarError {
    return new BadTarError(show(this.file!.item.path), `the file grew while it was being packed (beyond ${this.file!.item.size} bytes)`);
  }

  /** Done with the current file; unless its last read already did, check that nothing follows its lstat size. */
  private finishFile(probed = false): void {
    const f = this.file!;
    if (!probed && fs.readSync(f.fd, this.probe, 0, 1, null) !== 0) throw this.grew();
    // another party's file: what was read is the file as it was stat'ed
    if (f.item.confined) checkUnchanged(f.fd, f.item.confined.st, f.item.confined.tree, show(f.item.path));
    this.close();
    this.observer?.fileEnd();
    this.pad = padding(f.item.size);
  }

  private close(): void {
    if (this.file) {
      fs.closeSync(this.file.fd);
      this.file = null;
    }
  }
}

/** The tar producer for a pack source; `observer` hears of an explicit list's entries as they are packed. */
export function createTarProducer(source: WirePackSource, opts: PackTarOptions, observer?: PackObserver): TarProducer {
  const enc = new EntryEncoder(opts);
  const small = observer?.wantsDescriptor === false && native.supports('readFileAtSync') ? new SmallFileReader() : undefined;
  const items = 'dir' in source ? dirItems(toBuffer(source.dir), source.whiteout, enc) : listItems(toBuffer(source.root), source.entries, enc, source.confined, typeof source.root === 'string' ? source.root : undefined, small);
  return new TarProducer(items, enc, observer);
}

