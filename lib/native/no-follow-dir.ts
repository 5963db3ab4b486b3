import * as fs from 'fs';
import { ChangedMeanwhileError, InvalidArgumentError, UnsupportedError } from '../errors';
import { fsPath, nameBytes, nameOfBytes, printable } from '../names';

/** A path inside a tree, relative to its root: a name string (lib/names: surrogateescape), or its bytes. */
export type TreePath = string | Buffer;

const { O_RDONLY, O_DIRECTORY, O_NOFOLLOW } = fs.constants;
const PROC_FD = '/proc/self/fd/';
const SLASH = 0x2f;

/** What a lookup's error code says happened to a component that was a directory. */
const MOVED: Record<string, string> = {
  ELOOP: 'a symlink is where a directory was',
  ENOTDIR: 'something that is not a directory is on the way',
  ENOENT: 'a directory on the way is gone',
};

let procUsable: boolean | undefined;

/**
 * A directory tree whose paths are resolved without ever following a symlink in it, at any
 * component, however the tree changes meanwhile: for trees another party can change (a running
 * container) and trees built from what such a party made (a layer being committed, where a
 * symlink of the container is about to be written).
 *
 * Each directory on the way is opened from the one above it, one component at a time, with
 * O_DIRECTORY | O_NOFOLLOW: a symlink there fails (ELOOP), and since a component is one name,
 * never "..", nothing can lead above the root (what openat2's RESOLVE_BENEATH |
 * RESOLVE_NO_SYMLINKS gives, with no addon needed). Node's fs has no call relative to a
 * directory descriptor, so a name is handed to it as `/proc/self/fd/N/NAME`: the kernel jumps to
 * the directory open at N (the magic link, which names that very directory whatever happened to
 * its path), then looks NAME up in it. Only calls that do not follow a final symlink may be given such a path (lstat, readlink,
 * mkdir, symlink, link, mknod, the l*xattr calls, open with O_NOFOLLOW or O_EXCL); `open` and
 * `lstat` here add what that takes. The directories on the current path stay open (sorted walks
 * ask for the same ones again and again) until `close`.
 *
 * A component that is not a directory any more fails the call with ChangedMeanwhileError (code
 * LAYERFS_CHANGED_MEANWHILE). A directory already open is read as it is: moved or deleted, it is
 * still the directory that was opened, and never one outside the tree. /proc must be mounted.
 */
export class NoFollowDir {
  private readonly rootFd: number;
  /** the directories open on the way to the last path asked for, top first */
  private readonly stack: Array<{ name: Buffer; fd: number }> = [];

  /** `root` itself is trusted (the store's own path); `what` names the tree in errors ("container 1f2e"). */
  constructor(readonly root: string | Buffer, readonly what: string) {
    if (procUsable === undefined) procUsable = fs.existsSync(PROC_FD + '0') || fs.existsSync('/proc/self/fd');
    if (!procUsable) throw new UnsupportedError(`reading or writing ${what} without following symlinks needs /proc mounted (names are looked up in a directory through /proc/self/fd)`);
    this.rootFd = fs.openSync(root, O_RDONLY | O_DIRECTORY);
  }

  close(): void {
    this.truncate(0);
    fs.closeSync(this.rootFd);
  }

  /** The tree's root, as a path for Node's fs (it is a directory this process opened). */
  rootPath(): string {
    return PROC_FD + this.rootFd;
  }

  /**
   * `rel` as a path for a Node fs call that does not follow its last component: the directories
   * above it are reached by descriptor. The path is valid until the next call on this tree.
   */
  at(rel: TreePath): string | Buffer {
    const { dir, name } = this.dirAt(rel);
    return typeof name === 'string' ? fsPath(dir + '/' + name) : Buffer.concat([Buffer.from(dir + '/'), name]);
  }

  /** The directory that holds `rel` (as a path: /proc/self/fd/N) and its last component. */
  dirAt(rel: TreePath): { dir: string; name: TreePath } {
    const parts = this.split(rel);
    const last = parts.pop()!;
    const fd = this.descend(parts, rel);
    return { dir: PROC_FD + fd, name: typeof rel === 'string' ? nameOfBytes(last) : last };
  }

  /** Opens `rel` with `flags`, never following a symlink at its last component either (O_NOFOLLOW). */
  open(rel: TreePath, flags: number, mode?: number): number {
    const p = this.at(rel);
    try {
      return fs.openSync(p, flags | O_NOFOLLOW, mode);
    } catch (e) {
      throw this.moved(e, rel, 'a symlink is where a file was');
    }
  }

  /** The lstat of `rel`; ChangedMeanwhileError when it is gone. */
  lstat(rel: TreePath): fs.BigIntStats {
    return this.lstatAt(this.at(rel), rel);
  }

  /**
   * `at(rel)` and the lstat of what it names, the directories on the way looked up once for both.
   */
  atWithLstat(rel: Buffer): { path: Buffer; st: fs.BigIntStats } {
    const { dirFd, name } = this.entryAt(rel);
    const p = NoFollowDir.pathIn(dirFd, name);
    return { path: p, st: this.lstatAt(p, rel) };
  }

  /** The descriptor of the directory that holds `rel`, and its last component (for *at() calls; valid until the next call on this tree). */
  entryAt(rel: Buffer): { dirFd: number; name: Buffer } {
    const parts = this.split(rel);
    const name = parts.pop()!;
    return { dirFd: this.descend(parts, rel), name };
  }

  /** `name` in the directory open at `dirFd` (from entryAt), as a path for Node's fs. */
  static pathIn(dirFd: number, name: Buffer): Buffer {
    return Buffer.concat([Buffer.from(PROC_FD + dirFd + '/'), name]);
  }

  private lstatAt(p: string | Buffer, rel: TreePath): fs.BigIntStats {
    try {
      return fs.lstatSync(p, { bigint: true });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new ChangedMeanwhileError(this.what, show(rel), 'it is gone', { cause: e });
      throw e;
    }
  }

  /** The names in directory `rel` ('' for the root), read from the directory reached without following. */
  readdir(rel: TreePath): Buffer[] {
    const parts = this.split(rel, true);
    return fs.readdirSync(PROC_FD + this.descend(parts, rel), { encoding: 'buffer' });
  }

  /** readdir as name strings (lib/names). */
  readdirNames(rel: TreePath): string[] {
    return this.readdir(rel).map(nameOfBytes);
  }

  /**
   * Opens directory `rel` apart from the walk (the caller closes it): for a path needed while the
   * walk is elsewhere, such as the first name of a hardlink.
   */
  openDir(rel: TreePath): number {
    const parts = this.split(rel, true);
    if (parts.length === 0) return fs.openSync(this.rootPath(), O_RDONLY | O_DIRECTORY);
    let fd = this.step(this.rootFd, parts[0], rel);
    for (let i = 1; i < parts.length; i++) {
      try {
        const next = this.step(fd, parts[i], rel);
        fs.closeSync(fd);
        fd = next;
      } catch (e) {
        fs.closeSync(fd);
        throw e;
      }
    }
    return fd;
  }

  /** The descriptor of the directory `parts` lead to, opening what the stack does not hold yet. */
  private descend(parts: Buffer[], rel: TreePath): number {
    let keep = 0;
    while (keep < this.stack.length && keep < parts.length && this.stack[keep].name.equals(parts[keep])) keep++;
    this.truncate(keep);
    for (let i = keep; i < parts.length; i++) {
      const fd = this.step(i === 0 ? this.rootFd : this.stack[i - 1].fd, parts[i], rel);
      this.stack.push({ name: parts[i], fd });
    }
    return parts.length === 0 ? this.rootFd : this.stack[parts.length - 1].fd;
  }

  /** Opens the directory `name` (one component) below `dirFd`, following nothing. */
  private step(dirFd: number, name: Buffer, rel: TreePath): number {
    const p = Buffer.concat([Buffer.from(PROC_FD + dirFd + '/'), name]);
    try {
      return fs.openSync(p, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
    } catch (e) {
      // O_DIRECTORY answers ENOTDIR for a symlink too: say which it is
      if ((e as NodeJS.ErrnoException).code === 'ENOTDIR' && fs.lstatSync(p, { throwIfNoEntry: false })?.isSymbolicLink()) {
        throw new ChangedMeanwhileError(this.what, show(rel), `${JSON.stringify(show(name))} is a symlink where a directory was`, { cause: e });
      }
      throw this.moved(e, rel);
    }
  }

  private truncate(n: number): void {
    while (this.stack.length > n) fs.closeSync(this.stack.pop()!.fd);
  }

  /** The error for a lookup that met something other than a directory on the way. */
  private moved(e: unknown, rel: TreePath, loop?: string): unknown {
    const code = (e as NodeJS.ErrnoException).code ?? '';
    if (!(code in MOVED) || (loop && code !== 'ELOOP')) return e;
    return new ChangedMeanwhileError(this.what, show(rel), loop ?? MOVED[code], { cause: e });
  }

  /** The components of `rel`: '' and '.' dropped, '..' refused; at least one unless `mayBeRoot`. */
  private split(rel: TreePath, mayBeRoot = false): Buffer[] {
    const b = typeof rel === 'string' ? nameBytes(rel) : rel;
    const out: Buffer[] = [];
    let start = 0;
    for (let i = 0; i <= b.length; i++) {
      if (i < b.length && b[i] !== SLASH) continue;
      const c = b.subarray(start, i);
      start = i + 1;
      if (c.length === 0 || (c.length === 1 && c[0] === 0x2e)) continue;
      if (c.length === 2 && c[0] === 0x2e && c[1] === 0x2e) throw new InvalidArgumentError(`path ${JSON.stringify(show(rel))} in ${this.what} has a ".." component`);
      out.push(c);
    }
    if (out.length === 0 && !mayBeRoot) throw new InvalidArgumentError(`path ${JSON.stringify(show(rel))} names the root of ${this.what}, not an entry in it`);
    return out;
  }
}

/** A path for messages: a name string with its escaped bytes shown as \xNN. */
function show(p: TreePath): string {
  return printable(typeof p === 'string' ? p : nameOfBytes(p));
}
