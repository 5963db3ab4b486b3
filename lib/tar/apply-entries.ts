/**
 * The applier itself, synchronous, in the thread that runs it (the apply worker,
 * lib/tar/apply.worker.ts): LayerApplier writes each tar entry the reader hands it. The calling
 * side, which starts that worker and feeds it, is lib/tar/apply-in-worker.ts.
 */
import * as fs from 'fs';
import { createHash } from 'crypto';
import * as native from '../native';
import { fsPath, nameOfBytes } from '../names';
import { BadTarError, LayerfsError, LimitExceededError, UnsafePathError, UserNamespaceError } from '../errors';
import { inUserNamespace } from '../userns/identity';
import { OWNER_XATTR, DEVICE_XATTR, encodeOwner, encodeDevice, ownersInXattr, unprivilegedHost } from '../userns/owner-xattr';
import { whiteoutFormat, isOverlayXattr, ociWhiteoutTarget, OCI_OPAQUE_MARKER, WhiteoutFormat } from '../whiteout';
import type { WhiteoutFormatName } from '../types';
import type { UnionView } from '../view';
import { xattrsOf } from '../view';
import type { TarLimits } from './types';
import { displayName, EntrySink, ReadHeader } from './reader';
import { LayerIndex, keyBytes, keyOf, splitName } from './apply-paths';
import { setTimesSync } from '../native/times';
import { inheritedRootMeta, setLayerRootSync } from './layer-root';

interface DirMeta {
  depth: number;
  mode: number;
  atimeNs: bigint;
  mtimeNs: bigint;
}

const SLASH = Buffer.from('/');
const OPAQUE_MARKER = Buffer.from(OCI_OPAQUE_MARKER);
/** xattr failures that mean "not permitted or not supported here": skipped with a warning */
const XATTR_SKIP = new Set(['EPERM', 'EACCES', 'ENOTSUP', 'EOPNOTSUPP', 'LAYERFS_NO_ADDON']);

const isWhiteoutName = (b: Buffer) => b.length >= 4 && b[0] === 0x2e && b[1] === 0x77 && b[2] === 0x68 && b[3] === 0x2e;

/** Names the tar entry in an fs error (keeping its code: the store maps ENOSPC), or says which limit it hit. */
function withEntry(e: unknown, entry: string): unknown {
  if (e instanceof LayerfsError || !(e instanceof Error)) return e;
  const err = e as NodeJS.ErrnoException & { entry?: string };
  if (err.code === 'ENAMETOOLONG') return new LimitExceededError(entry, 'the path is longer than the filesystem allows (ENAMETOOLONG)');
  if (err.entry === undefined) {
    err.entry = entry;
    err.message = `${err.message} (tar entry ${JSON.stringify(entry)})`;
  }
  return err;
}

/**
 * Writes tar entries into a fresh, empty layer directory with synchronous fs calls (it runs in a
 * worker thread). It keeps an index of every path it made and checks each entry against it
 * instead of stat-ing the target: nothing is written outside the target, nothing through a
 * symlink or a non-directory (including ones this layer made), and later entries win by
 * unlinking first, so a multiply-linked inode is never written into.
 *
 * Decisions: devices are made only as root with the addon, else skipped with a warning (fifos
 * need no root: they are made whenever the addon is there); a whiteout under a non-directory of
 * this layer (umoci writes `.wh.` entries under a directory it replaced with a file) is refused,
 * as containerd and buildah do.
 */
export class LayerApplier {
  private readonly index = new LayerIndex();
  private readonly dirs = new Map<string, DirMeta>();
  private readonly fmt: WhiteoutFormat;
  private readonly oci: boolean;
  private readonly root: Buffer;
  private readonly canMknod: boolean;
  /** root of a user namespace: a device becomes an empty file that says what it stands for (DEVICE_XATTR) */
  private readonly devicePlaceholders: boolean;
  private readonly addon: boolean;
  /** an ordinary user with no user namespace keeps owners (and devices) in xattrs, and chowns nothing (lib/userns/owner-xattr.ts) */
  private readonly hostSingle: boolean;
  /** owners are given with chown */
  private readonly chowns: boolean;
  private openFd: number | null = null;
  /** Implicit parent directories waiting for the lower chain (when it is given late, see setLower): their depth. */
  private readonly implicit = new Map<string, number>();
  /**
   * Implicit parents that took (or, waiting in `implicit`, will take) the lower copy's metadata:
   * an explicit entry, a whiteout or an opaque marker later in the tar takes it back, so that the
   * order of the entries does not change the tree.
   */
  private readonly inherited = new Set<string>();
  /** names whose lower copies a `.wh.` entry of this layer hides, and directories it makes opaque */
  private readonly whitedOut = new Set<string>();
  private readonly opaqueDirs = new Set<string>();
  private lowerPending: boolean;
  /**
   * overlay format: names whose lower copy a `.wh.` entry hid while this layer had its own entry
   * there (no device could be made): a directory made there later must be opaque, as the oci
   * format's `.wh.` file says
   */
  private readonly hidesLower = new Set<string>();
  readonly warnings: string[] = [];
  /** content digests of the files written, by inode (forgotten when the file is unlinked): the layer's manifest needs no second read */
  readonly digests = new Map<number, string>();

  /**
   * `lower`: the chain below this layer. A parent directory the tar has no entry for takes the
   * lower copy's owner, mode, times and xattrs (as an overlay copy-up would), or it would hide
   * them behind 0755 root-owned "now" metadata. `'later'`: the chain below is still being
   * written (layers of one image are applied side by side); implicit parents are noted, and take
   * its metadata in setLower, which must come before finish.
   *
   * `chainKnown`: `lower` is the layer's own chain (null: it is the bottom layer), not merely
   * absent. Then, in the overlay formats, a whiteout that hides nothing (its name is in no layer
   * below, or its directory is hidden or made opaque by this layer) is not kept: overlayfs lists a
   * whiteout device in a directory no lower layer shares as a name that lstat cannot find. The oci
   * format keeps its `.wh.` files, which are the tar's own entries and never listed.
   */
  constructor(
    target: string,
    whiteout: WhiteoutFormatName,
    private readonly limits: TarLimits,
    private readonly applyOwners: boolean,
    private readonly durable = false,
    private lower: UnionView | null | 'later' = null,
    private readonly chainKnown = false,
  ) {
    this.lowerPending = lower === 'later';
    this.root = Buffer.from(target);
    this.fmt = whiteoutFormat(whiteout);
    this.oci = whiteout === 'oci';
    this.addon = native.addonStatus().available;
    // root in a user namespace may make whiteouts (0/0) but no real device
    this.canMknod = process.getuid?.() === 0 && this.addon && !inUserNamespace();
    this.hostSingle = applyOwners && unprivilegedHost();
    this.chowns = applyOwners && !this.hostSingle;
    this.devicePlaceholders = !this.canMknod && this.addon && (process.getuid?.() === 0 || this.hostSingle);
  }

  /** The reader's callback: applies one entry, returning where its data goes (regular files). */
  entry(h: ReadHeader): EntrySink | null {
    const entry = displayName(h.name);
    try {
      return this.apply(h, entry);
    } catch (e) {
      throw withEntry(e, entry);
    }
  }

  /** Closes what an interrupted entry left open (the worker calls it whatever happened). */
  dispose(): void {
    if (this.openFd !== null) fs.closeSync(this.openFd);
    this.openFd = null;
  }

  private real(k: string): Buffer {
    return k === '' ? this.root : Buffer.concat([this.root, SLASH, keyBytes(k)]);
  }

  private apply(h: ReadHeader, entry: string): EntrySink | null {
    const parts = splitName(h.name, entry, 'name', this.limits.maxPathDepth);
    if (parts.length === 0) {
      // the root directory itself ("./", or "/" as umoci insert writes it): only its metadata
      if (h.type !== 'dir') throw new UnsafePathError(entry, 'a non-directory at the root of the layer');
      this.dirs.set('', { depth: 0, mode: h.mode, atimeNs: h.atimeNs, mtimeNs: h.mtimeNs });
      this.metadata(this.root, h, entry, false);
      return null;
    }
    if (isWhiteoutName(parts[parts.length - 1])) return this.whiteoutEntry(parts, entry, h);
    this.ensureParents(parts, entry);
    const k = keyOf(parts);
    const real = this.real(k);
    switch (h.type) {
      case 'dir': {
        if (this.index.get(k) !== 'dir') {
          const wasWhiteout = this.clear(k);
          fs.mkdirSync(real, 0o755);
          this.index.set(k, 'dir');
          if (wasWhiteout || this.hidesLower.has(k)) this.recreated(real);
        } else {
          // made before (implicitly, or by an earlier entry): this entry is its metadata, and
          // nothing the lower copy or that entry gave it stays (as with the entry first)
          this.implicit.delete(k);
          this.inherited.delete(k);
          this.stripXattrs(real, h.xattrs, entry);
        }
        this.dirs.set(k, { depth: parts.length, mode: h.mode, atimeNs: h.atimeNs, mtimeNs: h.mtimeNs });
        this.metadata(real, h, entry, false);
        return null;
      }
      case 'file':
        this.clear(k);
        return this.file(k, real, h, entry);
      case 'symlink':
        this.clear(k);
        fs.symlinkSync(h.linkname, real);
        this.index.set(k, 'symlink');
        this.metadata(real, h, entry, false);
        return null;
      case 'link':
        this.hardlink(k, real, h, entry);
        return null;
      default:
        this.special(k, real, h, entry);
        return null;
    }
  }

  /** Every parent must be a directory of this layer; missing ones are made (0755). */
  private ensureParents(parts: Buffer[], entry: string): void {
    if (parts.length === 1 || this.index.get(keyOf(parts, parts.length - 1)) === 'dir') return; // its own parents were checked when it was made
    let k = '';
    for (let i = 0; i < parts.length - 1; i++) {
      k = i === 0 ? parts[0].toString('latin1') : k + '/' + parts[i].toString('latin1');
      const kind = this.index.get(k);
      if (kind === 'dir') continue;
      if (kind !== undefined && kind !== 'whiteout') {
        throw new UnsafePathError(entry, `its parent ${JSON.stringify(displayName(keyBytes(k)))} is a ${kind === 'symlink' ? 'symlink' : 'non-directory'} in this layer`);
      }
      const wasWhiteout = this.clear(k);
      const real = this.real(k);
      fs.mkdirSync(real, 0o755);
      this.index.set(k, 'dir');
      if (wasWhiteout || this.hidesLower.has(k)) this.recreated(real);
      else this.inheritFromLower(k, i + 1, real);
    }
  }

  /**
   * A directory this layer deleted (whiteout) and made again hides the lower one's contents: in
   * the overlay formats, where the whiteout device had to give way, it is made opaque (the oci
   * format keeps the `.wh.` file, which says the same).
   */
  private recreated(real: Buffer): void {
    if (!this.oci) this.fmt.markOpaqueSync(real);
  }

  private inheritFromLower(k: string, depth: number, real: Buffer): void {
    if (this.lowerHidden(k)) return; // a fresh directory: the lower one is hidden by this layer
    this.inherited.add(k);
    if (this.lower === 'later') {
      this.implicit.set(k, depth);
      return;
    }
    this.inherit(k, depth, real);
  }

  private inherit(k: string, depth: number, real: Buffer): void {
    if (!this.lower || this.lower === 'later') return;
    const below = this.lower.lookupSync('/' + nameOfBytes(keyBytes(k)));
    if (!below || below.type !== 'dir') return;
    if (this.chowns) fs.lchownSync(real, below.stat.uid, below.stat.gid);
    for (const [name, value] of Object.entries(xattrsOf(below.realPath))) {
      try {
        native.lsetxattrSync(real, name, value);
      } catch {
        this.warnings.push(`could not copy xattr ${name} to the implicit parent ${below.path}`);
      }
    }
    const t = fs.lstatSync(fsPath(below.realPath), { bigint: true });
    this.dirs.set(k, { depth, mode: below.stat.mode & 0o7777, atimeNs: t.atimeNs, mtimeNs: t.mtimeNs });
  }

  /** Whether a whiteout or opaque marker of this layer hides the lower copy of `k`. */
  private lowerHidden(k: string): boolean {
    if (this.whitedOut.size === 0 && this.opaqueDirs.size === 0) return false;
    if (this.whitedOut.has(k)) return true;
    for (let i = k.lastIndexOf('/'); i !== -1; i = k.lastIndexOf('/', i - 1)) {
      const up = k.slice(0, i);
      if (this.whitedOut.has(up) || this.opaqueDirs.has(up)) return true;
    }
    return this.opaqueDirs.has('') && k !== '';
  }

  /**
   * The lower copies at and under `k` (only under it, for an opaque directory) are hidden now:
   * the implicit parents made there with their metadata become fresh directories, as when the
   * whiteout or marker comes first in the tar.
   */
  private hideLower(k: string, opaque: boolean): void {
    (opaque ? this.opaqueDirs : this.whitedOut).add(k);
    for (const d of [...this.inherited]) {
      const hit = k === '' ? d !== '' : (!opaque && d === k) || d.startsWith(k + '/');
      if (!hit) continue;
      this.inherited.delete(d);
      if (this.implicit.delete(d)) continue; // waiting for the lower chain: it gets nothing now
      const real = this.real(d);
      this.stripXattrs(real, null, displayName(keyBytes(d)));
      if (this.chowns) fs.lchownSync(real, 0, 0);
      this.dirs.delete(d); // its mode stays as made (0755), its times unknown
    }
  }

  /** Removes the xattrs of `real` that `keep` does not have (overlay's own stay: opaque markers). */
  private stripXattrs(real: Buffer, keep: Map<string, Buffer> | null, entry: string): void {
    if (!this.addon) return;
    for (const name of native.llistxattrSync(real)) {
      if (isOverlayXattr(name) || keep?.has(name)) continue;
      try {
        native.lremovexattrSync(real, name);
      } catch (e) {
        if (!XATTR_SKIP.has((e as NodeJS.ErrnoException).code ?? '')) throw e;
        this.warnings.push(`could not remove xattr ${name} of ${entry}: ${(e as Error).message}`);
      }
    }
  }

  /** Whether the chain below is still awaited (the constructor was given `'later'` and setLower has not come). */
  get waitingForLower(): boolean {
    return this.lowerPending;
  }

  /** The chain below, now complete: the implicit parents made so far take its metadata. */
  setLower(lower: UnionView | null): void {
    this.lower = lower;
    this.lowerPending = false;
    for (const [k, depth] of this.implicit) {
      if (this.index.get(k) !== 'dir') continue;
      try {
        this.inherit(k, depth, this.real(k));
      } catch (e) {
        throw withEntry(e, displayName(keyBytes(k)));
      }
    }
    this.implicit.clear();
  }

  /** Removes what this layer already has at `k` (later entries win); true when that was a whiteout. */
  private clear(k: string): boolean {
    const kind = this.index.get(k);
    if (kind === undefined) return false;
    if (kind === 'whiteout') {
      if (!this.oci) {
        const i = k.lastIndexOf('/');
        this.fmt.removeWhiteoutSync(this.real(i === -1 ? '' : k.slice(0, i)), keyBytes(k.slice(i + 1)));
      }
      this.index.delete(k);
      return true;
    }
    // the inode numbers freed here are handed out again at once (ext4, tmpfs): forget their digests
    if (kind === 'dir') {
      this.forgetDigests(this.real(k), true);
      fs.rmSync(this.real(k), { recursive: true, force: true }); // never follows symlinks
    } else if (kind !== 'skipped') {
      this.forgetDigests(this.real(k), false);
      fs.unlinkSync(this.real(k));
    }
    this.index.delete(k, (gone) => {
      this.dirs.delete(gone);
      this.implicit.delete(gone);
      this.inherited.delete(gone);
      if (gone !== k) this.hidesLower.delete(gone); // its whiteout went with the directory
    });
    return false;
  }

  /**
   * Drops the cached content digests of the regular files at `real` (under it, for a directory)
   * before they are unlinked: a later file of this layer that is not written through `file` (an
   * oci whiteout marker) may get the same inode number, and must not inherit the digest.
   */
  private forgetDigests(real: Buffer, dir: boolean): void {
    if (this.digests.size === 0) return;
    if (!dir) {
      const st = fs.lstatSync(real, { throwIfNoEntry: false });
      if (st?.isFile()) this.digests.delete(st.ino);
      return;
    }
    for (const e of fs.readdirSync(real, { withFileTypes: true, encoding: 'buffer' })) {
      const p = Buffer.concat([real, SLASH, e.name]);
      if (e.isDirectory()) this.forgetDigests(p, true);
      else if (e.isFile()) this.forgetDigests(p, false);
    }
  }

  private file(k: string, real: Buffer, h: ReadHeader, entry: string): EntrySink {
    const fd = fs.openSync(real, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_NOFOLLOW, 0o600);
    this.openFd = fd;
    this.index.set(k, 'file');
    const hash = createHash('sha256');
    return {
      write: (chunk) => {
        try {
          hash.update(chunk);
          for (let o = 0; o < chunk.length; ) o += fs.writeSync(fd, chunk, o);
        } catch (e) {
          throw withEntry(e, entry);
        }
      },
      end: () => {
        try {
          this.digests.set(fs.fstatSync(fd).ino, hash.digest('hex'));
          if (this.durable) fs.fsyncSync(fd);
          this.openFd = null;
          fs.closeSync(fd);
          this.metadata(real, h, entry, true);
        } catch (e) {
          throw withEntry(e, entry);
        }
      },
    };
  }

  private hardlink(k: string, real: Buffer, h: ReadHeader, entry: string): void {
    const target = splitName(h.linkname, entry, 'hardlink target', this.limits.maxPathDepth);
    const what = JSON.stringify(displayName(h.linkname));
    if (target.length === 0) throw new UnsafePathError(entry, 'a hardlink to the root directory');
    const tk = keyOf(target);
    if (tk === k) throw new UnsafePathError(entry, 'a hardlink to itself');
    const kind = this.index.get(tk);
    // in the index means: made by this layer, under directories only (no traversal, nothing outside)
    if (kind === undefined || kind === 'whiteout') throw new UnsafePathError(entry, `the hardlink target ${what} is not an entry of this layer`);
    if (kind === 'dir') throw new UnsafePathError(entry, `a hardlink to the directory ${what}`);
    if (tk.startsWith(k + '/')) throw new BadTarError(entry, `the hardlink target ${what} is inside the directory this entry replaces`);
    this.clear(k);
    if (kind === 'skipped') {
      this.index.set(k, 'skipped');
      this.warnings.push(`skipped hardlink ${entry}: its target ${what} was skipped`);
      return;
    }
    fs.linkSync(this.real(tk), real); // link(2) does not follow a symlink: it links the symlink itself
    this.index.set(k, kind);
  }

  private special(k: string, real: Buffer, h: ReadHeader, entry: string): void {
    if (h.type === 'char' && h.devmajor === 0 && h.devminor === 0) throw new UnsafePathError(entry, 'a character device 0/0 is an overlay whiteout, not a layer entry');
    this.clear(k); // later wins, even when this one is skipped
    if (h.type !== 'fifo' && !this.canMknod && this.devicePlaceholders) {
      // the file is made with no permissions, and gets the device's once it holds the record
      // (an ordinary user needs write permission to set a user.* xattr: its own, for a moment)
      fs.closeSync(fs.openSync(real, fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_WRONLY | fs.constants.O_NOFOLLOW, this.hostSingle ? 0o600 : 0));
      native.lsetxattrSync(real, DEVICE_XATTR, encodeDevice({ type: h.type === 'char' ? 'char' : 'block', major: h.devmajor, minor: h.devminor }));
      this.index.set(k, 'other');
      this.metadata(real, h, entry, true);
      return;
    }
    const skip = h.type === 'fifo' ? (this.addon ? null : 'creating fifos needs the native addon') : this.canMknod ? null : this.addon && process.getuid?.() === 0 ? 'a user namespace cannot create devices' : 'creating devices needs root and the native addon';
    if (skip !== null) {
      this.index.set(k, 'skipped');
      this.warnings.push(`skipped ${h.type === 'fifo' ? 'fifo' : `${h.type} device`} ${entry}: ${skip}`);
      return;
    }
    const type = h.type === 'char' ? fs.constants.S_IFCHR : h.type === 'block' ? fs.constants.S_IFBLK : fs.constants.S_IFIFO;
    native.mknodSync(real, type | 0o600, h.devmajor, h.devminor);
    this.index.set(k, 'other');
    this.metadata(real, h, entry, true);
  }

  /**
   * `.wh.NAME` hides NAME of the lower layers; `.wh..wh..opq` makes its directory opaque. Both
   * hide lower layers only: an entry of this layer named NAME (before or after the whiteout), or
   * a child of the opaque directory, survives.
   */
  private whiteoutEntry(parts: Buffer[], entry: string, h: ReadHeader): null {
    if (h.type === 'dir') throw new UnsafePathError(entry, 'a whiteout that is a directory');
    const base = parts[parts.length - 1];
    const dirKey = keyOf(parts, parts.length - 1);
    if (parts.length > 1) this.ensureParents(parts, entry); // never a whiteout through a symlink or a file
    const dirReal = this.real(dirKey);
    const ownKey = keyOf(parts);
    if (this.oci) this.clear(ownKey); // a repeated marker gets a fresh inode, like any later entry
    if (base.equals(OPAQUE_MARKER)) {
      this.hideLower(dirKey, true);
      this.fmt.markOpaqueSync(dirReal);
      if (this.oci) this.keepMarkerFile(ownKey, h);
      return null;
    }
    const target = ociWhiteoutTarget(base.toString('latin1'));
    if (target === null) throw new UnsafePathError(entry, `${JSON.stringify(displayName(base))} is not a valid whiteout name (it would hide "", "." or "..")`);
    const name = Buffer.from(target, 'latin1');
    const tk = dirKey === '' ? target : dirKey + '/' + target;
    this.hideLower(tk, false);
    const kind = this.index.get(tk);
    if (this.oci) {
      this.fmt.writeWhiteoutSync(dirReal, name);
      this.keepMarkerFile(ownKey, h);
      if (kind === undefined) this.index.set(tk, 'whiteout');
      return null;
    }
    // overlay: one name holds either this layer's entry or the whiteout device
    if (kind === undefined || kind === 'whiteout' || kind === 'skipped') {
      if (kind === 'skipped') this.index.delete(tk);
      this.fmt.writeWhiteoutSync(dirReal, name);
      this.index.set(tk, 'whiteout');
      // the device is the whiteout entry: it is dated as the tar says, so the layer directory and its tar agree on every time
      setTimesSync(this.real(tk), h.atimeNs, h.mtimeNs);
    } else {
      // this layer's own entry hides the lower NAME now; should a directory take the name later, it must too
      this.hidesLower.add(tk);
      if (kind === 'dir') this.fmt.markOpaqueSync(this.real(tk)); // the lower directory it replaces stays hidden
    }
    return null;
  }

  /** oci whiteout files are layer content: indexed (a later entry may replace them) and dated as the tar says. */
  private keepMarkerFile(k: string, h: ReadHeader): void {
    this.index.set(k, 'file');
    setTimesSync(this.real(k), h.atimeNs, h.mtimeNs);
  }

  private metadata(real: Buffer, h: ReadHeader, entry: string, chmod: boolean): void {
    const single = this.applyOwners && ownersInXattr();
    if (single) {
      // single-uid mode: the file stays 0/0, its owner is kept aside (lib/userns/owner-xattr.ts)
      if (h.uid !== 0 || h.gid !== 0) {
        try {
          native.lsetxattrSync(real, OWNER_XATTR, encodeOwner({ uid: h.uid, gid: h.gid }));
        } catch (e) {
          // Linux allows no user.* xattr on a symlink (umoci warns and goes on too)
          if (h.type !== 'symlink' || !native.isNativeError(e, 'EPERM')) throw e;
          this.warnings.push(`the owner ${h.uid}:${h.gid} of the symlink ${entry} is not kept: a symlink can hold no user.rootlesscontainers xattr, so in single-uid mode it is 0:0 (diff, commit and export say so)`);
        }
      }
    } else if (this.chowns) chownEntry(real, h, entry);
    for (const [name, value] of h.xattrs) {
      if (isOverlayXattr(name)) continue; // overlayfs's own: a layer may not forge whiteouts, redirects or metacopy
      if (single && name === OWNER_XATTR) continue; // the tar header says the owner: a layer's own copy is not obeyed
      if (name === DEVICE_XATTR) continue; // the tar header says what is a device
      try {
        native.lsetxattrSync(real, name, value);
      } catch (e) {
        if (!XATTR_SKIP.has((e as NodeJS.ErrnoException).code ?? '')) throw e;
        this.warnings.push(`skipped xattr ${name} of ${entry}: ${(e as Error).message}`);
      }
    }
    // chmod after chown: chown clears setuid/setgid
    if (chmod) fs.chmodSync(real, h.mode);
    setTimesSync(real, h.atimeNs, h.mtimeNs);
  }

  /** Removes the whiteout devices that hide nothing of the chain below (see the constructor). */
  private dropVoidWhiteouts(): void {
    const lower = this.lower === 'later' ? null : this.lower;
    for (const [k, kind] of [...this.index.entries()]) {
      if (kind !== 'whiteout') continue;
      const i = k.lastIndexOf('/');
      const dir = i === -1 ? '' : k.slice(0, i);
      const visible = !this.lowerHidden(dir) && !this.opaqueDirs.has(dir) && !this.hidesLower.has(dir);
      if (visible && lower?.lookupSync('/' + nameOfBytes(keyBytes(k)))) continue;
      this.fmt.removeWhiteoutSync(this.real(dir), keyBytes(k.slice(i + 1)));
      this.index.delete(k);
    }
  }

  /**
   * Directory modes and times last, deepest first: writing their children changed them. A root
   * with no entry of its own takes the lower chain's, or the fixed default (lib/tar/layer-root.ts).
   */
  finish(): void {
    if (this.lowerPending) throw new Error('LayerApplier.finish before setLower');
    this.finishDirs();
    if (!this.dirs.has('')) setLayerRootSync(this.root, inheritedRootMeta(this.lower === 'later' ? null : this.lower), this.chowns, (w) => this.warnings.push(w));
    if (this.durable) fsyncPath(this.root);
  }

  /** Whether finishing this layer's entries needs the chain below: implicit parents take its metadata, and in the overlay formats the whiteouts that hide nothing are dropped. */
  private get entriesNeedLower(): boolean {
    if (this.implicit.size > 0) return true;
    if (this.chainKnown && !this.oci) for (const [, kind] of this.index.entries()) if (kind === 'whiteout') return true;
    return false;
  }

  /**
   * finish() while the chain below is still being written, when the layer's entries need none of
   * it; null (and nothing done) when they do, and the chain must be waited for (setLower, then
   * finish). A root the tar had no entry for is left as it is: it takes the chain's root metadata
   * later, from the caller (rootFromChain: setLayerRootSync with inheritedRootMeta, then an fsync
   * when durable). So the worker ends at once, and does not hold its memory while the layers
   * below are written; the caller still waits for them.
   */
  finishBeforeLower(): { rootFromChain: boolean; owners: boolean } | null {
    if (!this.lowerPending) throw new Error('LayerApplier.finishBeforeLower: the chain below was given');
    if (this.entriesNeedLower) return null;
    this.finishDirs();
    if (!this.dirs.has('')) return { rootFromChain: true, owners: this.chowns };
    if (this.durable) fsyncPath(this.root);
    return { rootFromChain: false, owners: this.chowns };
  }

  /** Whiteouts that hide nothing dropped, then every directory of the tar its mode and times, deepest first (fsync'ed when durable); not the root unless the tar has it. */
  private finishDirs(): void {
    if (this.chainKnown && !this.oci && !this.lowerPending) this.dropVoidWhiteouts(); // before the directories' times: it changes them
    const dirs = [...this.dirs].sort((a, b) => b[1].depth - a[1].depth);
    for (const [k, d] of dirs) {
      const real = this.real(k);
      fs.chmodSync(real, d.mode);
      setTimesSync(real, d.atimeNs, d.mtimeNs);
    }
    if (this.durable) for (const [k, kind] of this.index.entries()) if (kind === 'dir' && k !== '') fsyncPath(this.real(k));
  }
}

/**
 * lchown, where EINVAL means the owner is not mapped in this user namespace (a subordinate id
 * range smaller than the image's ids): said as containers/storage says it, never written wrong.
 */
function chownEntry(real: Buffer, h: ReadHeader, entry: string): void {
  try {
    fs.lchownSync(real, h.uid, h.gid);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EINVAL') throw e;
    throw new UserNamespaceError(
      `potentially insufficient UIDs or GIDs available in the user namespace (requested ${h.uid}:${h.gid} for ${JSON.stringify('/' + entry.replace(/^\.?\//, ''))}): ` +
        'the owner is not mapped; give the user a larger range in /etc/subuid and /etc/subgid, and use a new store',
    );
  }
}

function fsyncPath(p: Buffer): void {
  const fd = fs.openSync(p, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

