import * as fs from 'fs';
import { createHash, Hash } from 'crypto';
import * as native from '../native';
import { nameBytes, nameOfBytes } from '../names';
import { NoFollowDir } from '../native/no-follow-dir';
import type { TreePath } from '../native/no-follow-dir';
import { metaOf, splitDev } from '../drivers/attributes';
import type { EntryMeta } from '../drivers/attributes';
import { FileCopier } from '../drivers/file-copy';
import { whiteoutFormat, OCI_OPAQUE_MARKER, OCI_WHITEOUT_PREFIX } from '../whiteout';
import type { WhiteoutFormat } from '../whiteout';
import type { WhiteoutFormatName } from '../types';
import type { PackEntry } from '../tar/types';
import { createTarProducer } from '../tar/pack';
import type { ListedEntry, PackObserver } from '../tar/pack';

export interface LayerDirOptions {
  /** the container's tree the entries are read from (each at `from/path`) */
  from: string;
  /** the container, as errors name it ("container 1f2e") */
  what: string;
  /** mtimes are clamped to this (seconds), as in the tarball */
  sourceDateEpoch?: number;
  /** tests only: runs after each entry is written (a test changes the container there) */
  onEntry?: (rel: TreePath) => void;
}

const { O_WRONLY, O_CREAT, O_EXCL, O_NOFOLLOW } = fs.constants;
/** What a file of the layer was created with (its fstat once written). */
type Made = { mode: number; uid: number; gid: number };
/** Files up to this size are written from the bytes the tar read; larger ones (and sparse ones) are cloned or copied in the kernel. */
const WRITE_MAX = 1 << 20;

/**
 * Builds a committed layer's directory as the commit's tarball is packed, in the same pass
 * (a PackObserver): each entry is written from what the pack read of it (its lstat, xattrs,
 * symlink target, and a small file's very bytes), so nothing of the container is read twice and
 * nothing written is read back. A large or sparse file is cloned where the filesystem can, else
 * copied in the kernel keeping its holes, from the descriptor the pack opened. Whiteouts and
 * opaque markers are written in the store's format; overlay's own xattrs are left behind (the
 * pack leaves them out). Hardlinks among the entries stay hardlinks. Synchronous (it runs in
 * the commit worker, or inline for a tiny commit).
 *
 * The container may be changing meanwhile: the pack reads it without following any symlink
 * (lib/native/no-follow-dir.ts), checks that a file is the inode its lstat saw and unchanged
 * once read (else ChangedMeanwhileError). Each entry is written below the new layer's directory
 * the same way, so a symlink the layer has just been given is never walked through.
 */
export class LayerDirBuilder implements PackObserver {
  private readonly fmt: WhiteoutFormat;
  private readonly asRoot = process.geteuid?.() === 0;
  private readonly xattrs = native.available();
  private readonly copier = new FileCopier({ exclusive: true });
  private readonly out: NoFollowDir;
  /** the first path written of each hardlinked inode */
  private readonly links = new Map<string, Buffer>();
  private readonly dirs: Array<{ rel: Buffer; meta: EntryMeta }> = [];
  /** content digests of the files written, by the new file's inode (the layer manifest takes them) */
  readonly known = new Map<number, string>();
  /** the container root's attributes, when its change is an entry */
  rootMeta: EntryMeta | undefined;
  private file: { rel: Buffer; st: fs.BigIntStats; xattrs: Array<[string, Buffer]>; fd: number | null; hash: Hash } | null = null;

  constructor(private readonly dest: string, whiteout: WhiteoutFormatName, private readonly opts: LayerDirOptions) {
    this.fmt = whiteoutFormat(whiteout);
    this.out = new NoFollowDir(dest, `the new layer of ${opts.what}`);
  }

  entry(e: ListedEntry): void {
    const { rel } = e;
    if (e.kind === 'whiteout') {
      const { dir, name } = this.out.dirAt(rel);
      this.fmt.writeWhiteoutSync(dir, name);
      this.markerTimes(this.fmt.name === 'oci' ? joinBytes(dir, OCI_WHITEOUT_PREFIX, name) : joinBytes(dir, '', name));
      return this.written(rel);
    }
    if (e.kind === 'opaque') {
      const dir = this.out.at(rel);
      this.fmt.markOpaqueSync(dir);
      if (this.fmt.name === 'oci') this.markerTimes(joinBytes(dir, '', OCI_OPAQUE_MARKER));
      return;
    }
    const { st, xattrs } = e;
    const m = this.meta(st);
    if (rel.length === 0) {
      // the layer's root is there already (the store's own directory)
      this.rootMeta = m;
      this.chown(this.dest, m);
      this.setXattrs(this.dest, xattrs);
      return this.written(rel);
    }
    const to = this.out.at(rel);
    if (st.isDirectory()) {
      fs.mkdirSync(to, { mode: 0o700 });
      this.chown(to, m);
      this.setXattrs(to, xattrs);
      this.dirs.push({ rel, meta: m });
      return this.written(rel);
    }
    if (st.isFile()) {
      const key = `${st.dev}:${st.ino}`;
      const first = st.nlink > 1n ? this.links.get(key) : undefined;
      if (first !== undefined) {
        linkSync(this.out, first, rel); // one inode: its attributes are set
        return this.written(rel);
      }
      if (st.nlink > 1n) this.links.set(key, rel);
      // written from the pack's reads, or copied from its descriptor once it is open
      const small = st.size <= BigInt(WRITE_MAX) && !(st.size > 0n && st.blocks * 512n < st.size);
      // made with its mode (the umask may take bits off: fileEnd checks), so most files need no chmod
      const fd = small ? fs.openSync(to, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, Number(st.mode) & 0o777) : null;
      this.file = { rel, st, xattrs, fd, hash: createHash('sha256') };
      return;
    }
    if (st.isSymbolicLink()) fs.symlinkSync(e.linkname!, to);
    else {
      const { major, minor } = splitDev(st.rdev);
      native.mknodSync(to, Number(st.mode) & fs.constants.S_IFMT, major, minor);
    }
    this.attributes(to, m, xattrs, st.isSymbolicLink());
    this.written(rel);
  }

  fileOpen(fd: number): void {
    const f = this.file!;
    if (f.fd === null) this.copier.copy('/proc/self/fd/' + fd, this.out.at(f.rel), { size: Number(f.st.size), blocks: Number(f.st.blocks) });
  }

  content(chunk: Buffer): void {
    const f = this.file!;
    f.hash.update(chunk);
    if (f.fd !== null) {
      for (let off = 0; off < chunk.length; ) off += fs.writeSync(f.fd, chunk, off, chunk.length - off);
    }
  }

  fileEnd(): void {
    const f = this.file!;
    this.file = null;
    const to = this.out.at(f.rel);
    let ino: number;
    let made: Made | undefined;
    if (f.fd !== null) {
      const now = fs.fstatSync(f.fd);
      ino = now.ino;
      made = { mode: now.mode & 0o7777, uid: now.uid, gid: now.gid };
      fs.closeSync(f.fd);
    } else ino = fs.lstatSync(to).ino;
    this.known.set(ino, f.hash.digest('hex'));
    this.attributes(to, this.meta(f.st), f.xattrs, false, made);
    this.written(f.rel);
  }

  /**
   * Once the pack has ended: directories get their modes and times, deepest first (writing
   * inside them moved their mtimes; they are this process's own, in its staging directory: the
   * last component may be followed), then the root.
   */
  finish(): void {
    for (let i = this.dirs.length - 1; i >= 0; i--) this.modeAndTimes(this.out.at(this.dirs[i].rel), this.dirs[i].meta);
    if (this.rootMeta) this.modeAndTimes(this.dest, this.rootMeta);
  }

  close(): void {
    if (this.file?.fd != null) fs.closeSync(this.file.fd);
    this.file = null;
    this.out.close();
  }

  /** The copy driver's attributes, mtimes clamped as in the tarball, whole seconds as its headers hold them (its import sets the atime to the mtime). */
  private meta(st: fs.BigIntStats): EntryMeta {
    const m = metaOf(st);
    const epoch = this.opts.sourceDateEpoch;
    const t = Math.floor(epoch !== undefined && m.mtime > epoch ? epoch : m.mtime);
    return { ...m, atime: t, mtime: t };
  }

  /**
   * Owner first (chown clears set-id bits and security.capability), then mode, xattrs, times.
   * `made`: the mode and owner the entry was created with, when known. Each call dirties the inode in the
   * journal, and right after a container wrote its change the journal is busy with its
   * writeback: an owner that is already this process's and a mode that is already right are
   * left alone.
   */
  private attributes(to: string | Buffer, m: EntryMeta, xattrs: Array<[string, Buffer]>, symlink: boolean, made?: Made): void {
    const chowned = this.chown(to, m, made);
    const want = m.mode & 0o7777;
    if (!symlink && (made === undefined || made.mode !== want || (chowned && (want & 0o6000) !== 0))) fs.chmodSync(to, want);
    this.setXattrs(to, xattrs);
    fs.lutimesSync(to, m.atime, m.mtime);
  }

  /**
   * A whiteout or opaque marker the layer was just given (an oci marker file, an overlay 0/0
   * device) takes the times its tar entry has: 0, as every marker is packed (lib/tar/pack.ts), so
   * the layer directory and its tar agree on every time. An entry of this layer that kept the
   * name (an overlay whiteout over a directory makes it opaque instead) keeps its own.
   */
  private markerTimes(p: Buffer): void {
    const st = fs.lstatSync(p, { throwIfNoEntry: false });
    if (st && !st.isDirectory()) fs.lutimesSync(p, 0, 0);
  }

  private modeAndTimes(to: string | Buffer, m: EntryMeta): void {
    fs.chmodSync(to, m.mode & 0o7777);
    fs.utimesSync(to, m.atime, m.mtime);
  }

  /** Sets the owner (as root), unless `made` says the entry has it already. Returns whether a chown was made. */
  private chown(to: string | Buffer, m: EntryMeta, made?: Made): boolean {
    if (!this.asRoot) return false;
    if (made && m.uid === made.uid && m.gid === made.gid) return false;
    fs.lchownSync(to, m.uid, m.gid);
    return true;
  }

  private setXattrs(to: string | Buffer, xattrs: Array<[string, Buffer]>): void {
    if (!this.xattrs) return;
    for (const [name, value] of xattrs) {
      try {
        native.lsetxattrSync(to, name, value);
      } catch (e) {
        // a user may read xattrs it may not set (security.capability); root must get them all
        if (this.asRoot || !native.isNativeError(e, 'EPERM')) throw e;
      }
    }
  }

  private written(rel: Buffer): void {
    this.opts.onEntry?.(nameOfBytes(rel));
  }
}

/**
 * The layer directory of `entries` alone (the pass of the commit, its tar discarded): for tests
 * that change the container between entries, and for a caller that has the tarball already.
 */
export function buildLayerDirSync(entries: PackEntry[], dest: string, whiteout: WhiteoutFormatName, opts: LayerDirOptions): void {
  const builder = new LayerDirBuilder(dest, whiteout, opts);
  try {
    const producer = createTarProducer({ root: opts.from, entries, confined: opts.what }, { sourceDateEpoch: opts.sourceDateEpoch }, builder);
    const buf = Buffer.allocUnsafe(1 << 20);
    while (producer.fill(buf) === buf.length);
    builder.finish();
  } finally {
    builder.close();
  }
}

/** A second name in the new layer for the file first written at `first`. */
function linkSync(out: NoFollowDir, first: Buffer, rel: Buffer): void {
  const slash = first.lastIndexOf(0x2f);
  const dirFd = out.openDir(slash < 0 ? '' : first.subarray(0, slash));
  try {
    const name = slash < 0 ? first : first.subarray(slash + 1);
    fs.linkSync(Buffer.concat([Buffer.from(`/proc/self/fd/${dirFd}/`), name]), out.at(rel));
  } catch (e) {
    throw Object.assign(e as Error, { message: `${(e as Error).message} (linking ${JSON.stringify(nameOfBytes(rel))} to ${JSON.stringify(nameOfBytes(first))})` });
  } finally {
    fs.closeSync(dirFd);
  }
}

/** `dir/` + `prefix` + `name` as bytes (a name from the layer need not be UTF-8). */
function joinBytes(dir: string | Buffer, prefix: string, name: TreePath): Buffer {
  const d = typeof dir === 'string' ? Buffer.from(dir) : dir;
  const n = typeof name === 'string' ? nameBytes(name) : name;
  return Buffer.concat([d, Buffer.from('/' + prefix), n]);
}
