import * as fs from 'fs';
import * as path from 'path';
import { NativeUnavailableError } from '../errors';

/**
 * The typed face of the layerfs addon: xattrs, device nodes, renameat2, mount(2) and the new
 * mount API, flock. Every call has a synchronous `xSync` (for worker threads, where per-file
 * work runs) and a promise-returning `x` that runs on the libuv pool, off the main thread.
 *
 * Errors look like Node's fs errors: `code` ('EPERM'), negative `errno`, `syscall`, `path`
 * (and `dest` for renameat2). Where the addon is absent (not built, not Linux, or
 * LAYERFS_DISABLE_ADDON=1) this module still loads and every call throws NativeUnavailableError.
 */

export { readMountInfo, parseMountInfo, parseMountOptions, mountsUnder, lastMountAt } from './mountinfo';
import { isMountPoint as isMountPointInInfo, type MountInfo } from './mountinfo';
export type { MountInfo };

/** A path as a string, or as a Buffer for names that are not UTF-8 (taken byte for byte). */
export type PathArg = string | Buffer;

/** An fsconfig parameter: `[key, value]` sets a string, `[key, null]` sets a flag. */
export type FsParam = readonly [key: string, value: PathArg | null];

export interface FsmountOptions {
  /** The `source` parameter (what /proc/self/mountinfo shows as the mount's source). */
  source?: string;
  /** MOUNT_ATTR_* flags of the new mount. */
  mountAttrs?: number;
}

/** A system-call error from the addon, shaped like Node's fs errors. */
export interface NativeError extends Error {
  code: string;
  errno: number;
  syscall: string;
  path?: string;
  dest?: string;
  /** fsmount: what the filesystem logged about the failure, lines like "e overlay: ...". */
  kernelLog?: string[];
}

/** Duck-typed: an Error made by the addon may come from another realm (jest, vm) than the caller's `Error`. */
export function isNativeError(e: unknown, code?: string): e is NativeError {
  if (typeof e !== 'object' || e === null) return false;
  const o = e as Partial<NativeError>;
  return typeof o.code === 'string' && typeof o.errno === 'number' && typeof o.syscall === 'string' && (code === undefined || o.code === code);
}

/**
 * The Linux flag values (the same on every architecture), usable without the addon; a test
 * checks them against the addon's, which come from the system headers.
 */
export const constants = Object.freeze({
  MS_RDONLY: 1,
  MS_NOSUID: 2,
  MS_NODEV: 4,
  MS_NOEXEC: 8,
  MS_REMOUNT: 32,
  MS_BIND: 4096,
  MS_REC: 16384,
  MS_PRIVATE: 262144,
  MNT_FORCE: 1,
  MNT_DETACH: 2,
  UMOUNT_NOFOLLOW: 8,
  RENAME_NOREPLACE: 1,
  RENAME_EXCHANGE: 2,
  RENAME_WHITEOUT: 4,
  XATTR_CREATE: 1,
  XATTR_REPLACE: 2,
  LOCK_SH: 1,
  LOCK_EX: 2,
  LOCK_NB: 4,
  LOCK_UN: 8,
  MOUNT_ATTR_RDONLY: 1,
  MOUNT_ATTR_NOSUID: 2,
  MOUNT_ATTR_NODEV: 4,
  MOUNT_ATTR_NOEXEC: 8,
} as const);

export type NativeConstants = typeof constants;

/** The shape of the addon (native/build/Release/layerfs.node, or a prebuilt one). */
interface Addon {
  constants: Record<keyof NativeConstants, number>;
  lgetxattrSync(p: PathArg, name: string): Buffer | null;
  lgetxattr(p: PathArg, name: string): Promise<Buffer | null>;
  lsetxattrSync(p: PathArg, name: string, value: Buffer | string, flags: number): void;
  lsetxattr(p: PathArg, name: string, value: Buffer | string, flags: number): Promise<void>;
  llistxattrSync(p: PathArg): string[];
  llistxattr(p: PathArg): Promise<string[]>;
  lremovexattrSync(p: PathArg, name: string): void;
  lremovexattr(p: PathArg, name: string): Promise<void>;
  mknodSync(p: PathArg, mode: number, major: number, minor: number): void;
  mknod(p: PathArg, mode: number, major: number, minor: number): Promise<void>;
  renameat2Sync(oldPath: PathArg, newPath: PathArg, flags: number): void;
  renameat2(oldPath: PathArg, newPath: PathArg, flags: number): Promise<void>;
  mountSync(source: PathArg | null, target: PathArg, fstype: string | null, flags: number, data: string | null): void;
  mount(source: PathArg | null, target: PathArg, fstype: string | null, flags: number, data: string | null): Promise<void>;
  umount2Sync(target: PathArg, flags: number): void;
  umount2(target: PathArg, flags: number): Promise<void>;
  fsmountSync(fstype: string, target: PathArg, params: readonly FsParam[], opts?: FsmountOptions): void;
  fsmount(fstype: string, target: PathArg, params: readonly FsParam[], opts?: FsmountOptions): Promise<void>;
  fsopenProbe(fstype: string, key?: string, value?: string): boolean;
  flockSync(fd: number, operation: number): void;
  flock(fd: number, operation: number): Promise<void>;
  lutimensSync(p: PathArg, atimeSec: number, atimeNsec: number, mtimeSec: number, mtimeNsec: number): void;
  lutimens(p: PathArg, atimeSec: number, atimeNsec: number, mtimeSec: number, mtimeNsec: number): Promise<void>;
  releaseBuffer(ab: ArrayBuffer): boolean;
  copyFdSync(inFd: number, outFd: number): CopyFdResult;
  copyFd(inFd: number, outFd: number): Promise<CopyFdResult>;
  copyEntriesSync(...args: CopyEntriesArgs): void;
  copyEntries(...args: CopyEntriesArgs): Promise<void>;
  writeStatSnapshotSync(root: PathArg, file: PathArg): void;
  readFileAtSync(dirFd: number, name: PathArg, flags: number, buf: Buffer, st: BigInt64Array): number;
  writeStatSnapshot(root: PathArg, file: PathArg): Promise<void>;
  mountRootSync(p: PathArg): number;
  mountRoot(p: PathArg): Promise<number>;
  statMountSync(p: PathArg): { fstype: string; source: string; readOnly: boolean; options: string } | false | null;
  statMount(p: PathArg): Promise<{ fstype: string; source: string; readOnly: boolean; options: string } | false | null>;
}

type CopyEntriesArgs = [rootFd: number, dir: PathArg, dirShown: PathArg, srcDirs: PathArg[], names: PathArg[], stats: BigInt64Array, flags: number, newUid: number, newGid: number];

/** What copyFd did: the source's size, the data bytes it copied, and whether it was a reflink. */
export interface CopyFdResult {
  size: number;
  copied: number;
  cloned: boolean;
}

const missingListeners: Array<(reason: string) => void> = [];

type Loaded = { addon: Addon; file: string; reason?: undefined } | { addon: null; file?: undefined; reason: string; deliberate?: boolean };
let loaded: Loaded | undefined;

/** The package root: the first directory above this file holding native/binding.gyp (lib/ and dist/lib/ sit at different depths). */
function packageRoot(): string | null {
  for (let dir = __dirname; ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, 'native', 'binding.gyp'))) return dir;
    if (path.dirname(dir) === dir) return null;
  }
}

/**
 * Where the addon may be, best first: the one built from source here (native/build/Release,
 * by the install script or `node native/build.js`), then the prebuilt Node-API binary shipped
 * in the package (prebuilds/<platform>-<arch>/, made by `npm run prebuild`, found by node-gyp-build).
 */
function* candidates(root: string, missing: string[]): Generator<string> {
  const built = path.join(root, 'native', 'build', 'Release', 'layerfs.node');
  if (fs.existsSync(built)) yield built;
  else missing.push('it was not built from source');
  // node-gyp-build (and its search of prebuilds/) only when the built addon is missing or fails
  let prebuilt: string;
  try {
    prebuilt = (require('node-gyp-build') as { resolve(dir: string): string }).resolve(root);
  } catch (e) {
    missing.push(`no prebuilt binary: ${(e as Error).message.split('\n')[0]}`);
    return;
  }
  yield prebuilt;
}

function load(): Loaded {
  if (loaded) return loaded;
  const disabled = process.env.LAYERFS_DISABLE_ADDON;
  if (disabled && disabled !== '0') return (loaded = { addon: null, reason: 'disabled by LAYERFS_DISABLE_ADDON', deliberate: true });
  if (process.platform !== 'linux') return (loaded = { addon: null, reason: `the addon is Linux-only, this is ${process.platform}`, deliberate: true });
  const root = packageRoot();
  if (!root) return missingBecause(`no native/binding.gyp found above ${__dirname}`);
  const missing: string[] = [];
  const failed: string[] = [];
  for (const file of candidates(root, missing)) {
    try {
      return (loaded = { addon: require(file) as Addon, file });
    } catch (e) {
      failed.push(`${file} failed to load: ${(e as Error).message.split('\n')[0]}`);
    }
  }
  return missingBecause([...missing, ...failed].join('; '));
}

function missingBecause(reason: string): Loaded {
  loaded = { addon: null, reason };
  for (const l of missingListeners.splice(0)) l(reason);
  return loaded;
}

/**
 * Calls `listener` once, when the addon is found missing or broken (not when it was turned
 * off on purpose with LAYERFS_DISABLE_ADDON, nor off Linux): the CLI tells the user once.
 */
export function onAddonMissing(listener: (reason: string) => void): void {
  if (loaded) {
    if (!loaded.addon && !loaded.deliberate) listener(loaded.reason);
    return;
  }
  missingListeners.push(listener);
}

/** The file the addon was loaded from, or null (for tests and `layerfs fsck`-like reports). */
export function addonFile(): string | null {
  return load().file ?? null;
}

/** Whether the addon loaded, and why not. Loads it on first use. */
export function addonStatus(): { available: boolean; reason?: string } {
  const l = load();
  return l.addon ? { available: true } : { available: false, reason: l.reason };
}

/** Shorthand for `addonStatus().available`. */
export function available(): boolean {
  return load().addon !== null;
}

/** The addon, or NativeUnavailableError naming the operation that needed it. */
function need(operation: string): Addon {
  const l = load();
  if (!l.addon) throw new NativeUnavailableError(operation, l.reason);
  return l.addon;
}

/** Whether the loaded addon has `operation` (an addon built from older sources may lack the newest ones). */
export function supports(operation: keyof Addon): boolean {
  const l = load();
  return l.addon !== null && typeof l.addon[operation] === 'function';
}

/**
 * Detaches `ab` so that its memory is freed now, not when the collector next finds it dead:
 * true if it was. Without the addon (or one built before it had this) nothing happens, and
 * false. Every view of `ab` is empty afterwards: the caller must hold the only ones.
 */
export function releaseBuffer(ab: ArrayBuffer): boolean {
  const l = load();
  return l.addon !== null && typeof l.addon.releaseBuffer === 'function' && l.addon.releaseBuffer(ab);
}

let newMountApi: boolean | undefined;

/**
 * Whether overlays can be mounted through fsopen/fsconfig with `lowerdir+` (kernel 6.8+, and
 * the privilege to mount): probed once. False without the addon.
 */
export function hasNewMountApi(): boolean {
  if (newMountApi === undefined) {
    const l = load();
    newMountApi = l.addon !== null && l.addon.fsopenProbe('overlay', 'lowerdir+', '/');
  }
  return newMountApi;
}

// Extended attributes of the path itself (never following a final symlink).

/** The value of xattr `name`, or null when the file has none by that name. */
export function lgetxattrSync(p: PathArg, name: string): Buffer | null {
  return need('lgetxattr').lgetxattrSync(p, name);
}
export async function lgetxattr(p: PathArg, name: string): Promise<Buffer | null> {
  return need('lgetxattr').lgetxattr(p, name);
}

/** Sets xattr `name`; `flags` is 0, XATTR_CREATE or XATTR_REPLACE. */
export function lsetxattrSync(p: PathArg, name: string, value: Buffer | string, flags = 0): void {
  need('lsetxattr').lsetxattrSync(p, name, value, flags);
}
export async function lsetxattr(p: PathArg, name: string, value: Buffer | string, flags = 0): Promise<void> {
  return need('lsetxattr').lsetxattr(p, name, value, flags);
}

/** The names of the xattrs the caller may see (trusted.* only as root). */
export function llistxattrSync(p: PathArg): string[] {
  return need('llistxattr').llistxattrSync(p);
}
export async function llistxattr(p: PathArg): Promise<string[]> {
  return need('llistxattr').llistxattr(p);
}

/**
 * Every xattr of `p` itself (never following a symlink), names with values in the order the
 * kernel lists them; [] without the addon. An xattr removed between the listing and the read is
 * left out. The one place that reads a file's xattrs: the view, the packer and the content index.
 */
export function readXattrsSync(p: PathArg): Array<[string, Buffer]> {
  if (!available()) return [];
  const out: Array<[string, Buffer]> = [];
  for (const name of llistxattrSync(p)) {
    const value = lgetxattrSync(p, name);
    if (value !== null) out.push([name, value]);
  }
  return out;
}

export function lremovexattrSync(p: PathArg, name: string): void {
  need('lremovexattr').lremovexattrSync(p, name);
}
export async function lremovexattr(p: PathArg, name: string): Promise<void> {
  return need('lremovexattr').lremovexattr(p, name);
}

/** Creates a device node or fifo: `mode` includes the type (fs.constants.S_IFCHR, S_IFBLK, S_IFIFO). */
/** Linux's dev_t layout (the glibc major/minor macros): what mknodSync takes, from a stat's rdev. */
export function splitDev(rdev: number | bigint): { major: number; minor: number } {
  const r = BigInt(rdev);
  return { major: Number(((r >> 8n) & 0xfffn) | ((r >> 32n) & ~0xfffn)), minor: Number((r & 0xffn) | ((r >> 12n) & ~0xffn)) };
}

export function mknodSync(p: PathArg, mode: number, major = 0, minor = 0): void {
  need('mknod').mknodSync(p, mode, major, minor);
}
export async function mknod(p: PathArg, mode: number, major = 0, minor = 0): Promise<void> {
  return need('mknod').mknod(p, mode, major, minor);
}

/** rename with RENAME_NOREPLACE, RENAME_EXCHANGE or RENAME_WHITEOUT. */
export function renameat2Sync(oldPath: PathArg, newPath: PathArg, flags = 0): void {
  need('renameat2').renameat2Sync(oldPath, newPath, flags);
}
export async function renameat2(oldPath: PathArg, newPath: PathArg, flags = 0): Promise<void> {
  return need('renameat2').renameat2(oldPath, newPath, flags);
}

/**
 * mount(2), for binds, remounts and propagation changes. Its options are cut silently at one
 * page: mount overlays with fsmount instead.
 */
export function mountSync(source: PathArg | null, target: PathArg, fstype: string | null, flags = 0, data: string | null = null): void {
  need('mount').mountSync(source, target, fstype, flags, data);
}
export async function mount(source: PathArg | null, target: PathArg, fstype: string | null, flags = 0, data: string | null = null): Promise<void> {
  return need('mount').mount(source, target, fstype, flags, data);
}

/** umount2(2) with MNT_DETACH, MNT_FORCE or UMOUNT_NOFOLLOW. */
export function umount2Sync(target: PathArg, flags = 0): void {
  need('umount2').umount2Sync(target, flags);
}
export async function umount2(target: PathArg, flags = 0): Promise<void> {
  return need('umount2').umount2(target, flags);
}

/**
 * Mounts `fstype` on `target` through the new mount API: fsopen, one fsconfig per parameter
 * (overlay's `lowerdir+` may repeat, once per lower, top first), create, fsmount, move_mount.
 * A failure's message carries what the kernel logged about it (also in `kernelLog`).
 */
export function fsmountSync(fstype: string, target: PathArg, params: readonly FsParam[], opts: FsmountOptions = {}): void {
  need('fsmount').fsmountSync(fstype, target, params, opts);
}
export async function fsmount(fstype: string, target: PathArg, params: readonly FsParam[], opts: FsmountOptions = {}): Promise<void> {
  return need('fsmount').fsmount(fstype, target, params, opts);
}

/**
 * flock(2) on an open descriptor. The promise variant of a blocking lock waits on a libuv pool
 * thread (there are 4 by default; UV_THREADPOOL_SIZE raises it), never on the main thread.
 */
export function flockSync(fd: number, operation: number): void {
  need('flock').flockSync(fd, operation);
}
export async function flock(fd: number, operation: number): Promise<void> {
  return need('flock').flock(fd, operation);
}

/** flock(2) with LOCK_NB added: false when another descriptor holds the lock (EWOULDBLOCK). */
export function tryFlockSync(fd: number, operation: number): boolean {
  try {
    flockSync(fd, operation | constants.LOCK_NB);
    return true;
  } catch (e) {
    if (isNativeError(e, 'EWOULDBLOCK') || isNativeError(e, 'EAGAIN')) return false;
    throw e;
  }
}

/**
 * Waits for a flock by trying it every `intervalMs`: no pool thread is held while another holds
 * the lock (a blocking flock would take one of libuv's four). `beforeWait` runs before each
 * wait and may throw (an abort, a deadline).
 */
export async function pollFlock(fd: number, operation: number, intervalMs: number, beforeWait?: () => void): Promise<void> {
  while (!tryFlockSync(fd, operation)) {
    beforeWait?.();
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/**
 * Copies the regular file open at `inFd` into the empty file open for writing at `outFd`, holes
 * kept: a reflink where the filesystem can, else only the data extents (SEEK_DATA/SEEK_HOLE)
 * with copy_file_range, and the size set at the end.
 */
export function copyFdSync(inFd: number, outFd: number): CopyFdResult {
  return need('copyFd').copyFdSync(inFd, outFd);
}
export async function copyFd(inFd: number, outFd: number): Promise<CopyFdResult> {
  return need('copyFd').copyFd(inFd, outFd);
}

/** copyEntries: the values per entry in `stats`: its source directory's index, then the source's lstat fields in this order. */
export const COPY_ENTRY_FIELDS = ['src', 'mode', 'uid', 'gid', 'size', 'blocks', 'rdev', 'atimeNs', 'mtimeNs'] as const;
/** copyEntries flags: chown each entry to the source's owner (where it did not get it new); copy xattrs (overlay's own excepted). */
export const COPY_OWNERS = 1;
export const COPY_XATTRS = 2;

/** One directory's entries for copyEntries. */
export interface CopyEntriesBatch {
  /** descriptor of the copy's root */
  rootFd: number;
  /** the directory under the root ('' for the root itself), '/'-separated, reached without following symlinks */
  dir: PathArg;
  /** its path for error messages */
  dirShown: PathArg;
  /** the source directories the entries come from */
  srcDirs: PathArg[];
  names: PathArg[];
  /** COPY_ENTRY_FIELDS.length values per entry */
  stats: BigInt64Array;
  flags: number;
  /** the owner every new entry gets without a chown; null when it is not known (a set-group-ID root) */
  newOwner: { uid: number; gid: number } | null;
}

function batchArgs(b: CopyEntriesBatch): CopyEntriesArgs {
  return [b.rootFd, b.dir, b.dirShown, b.srcDirs, b.names, b.stats, b.flags, b.newOwner?.uid ?? -1, b.newOwner?.gid ?? -1];
}

/**
 * The copy driver's per-directory copy: each entry made new in `dir` (a regular file with its
 * data, holes kept; a directory; a symlink; a device or fifo), with its owner (COPY_OWNERS),
 * xattrs (COPY_XATTRS), mode and times; directories get only their owner and xattrs. Every call
 * is relative to a descriptor of `dir`, opened from the root one component at a time with
 * O_NOFOLLOW: a symlink on the way fails (ENOTDIR). Stops at the first error, which names the
 * entry; what was made before it stays.
 */
export function copyEntriesSync(b: CopyEntriesBatch): void {
  need('copyEntries').copyEntriesSync(...batchArgs(b));
}
export async function copyEntries(b: CopyEntriesBatch): Promise<void> {
  return need('copyEntries').copyEntries(...batchArgs(b));
}

/**
 * Writes the stat snapshot of the tree at `root` into `file` (made 0600, or emptied): the same
 * bytes as lib/diff/stat-snapshot-file.ts's writer given lib/diff's no-follow walk of the tree,
 * with nothing listed or stat'ed through a symlink.
 */
export function writeStatSnapshotSync(root: PathArg, file: PathArg): void {
  need('writeStatSnapshot').writeStatSnapshotSync(root, file);
}

const NS = 1_000_000_000n;
/** Whole seconds (floored) and the nanoseconds past them, of a time in ns. */
function split(ns: bigint): [number, number] {
  let s = ns / NS;
  let r = ns % NS;
  if (r < 0n) {
    s -= 1n;
    r += NS;
  }
  return [Number(s), Number(r)];
}

/** The fields readFileAtSync writes: the fstat before the read, its xattr names' bytes, the fstat after it. */
export const READ_FILE_AT_FIELDS = ['ino', 'dev', 'mode', 'nlink', 'uid', 'gid', 'rdev', 'size', 'blksize', 'blocks', 'atimeNs', 'mtimeNs', 'ctimeNs', 'xattrBytes', 'afterIno', 'afterDev', 'afterSize', 'afterCtimeNs'] as const;

/**
 * A small regular file read whole, in one call: `name` opened in the directory open at `dirFd`
 * with `flags` (O_NOFOLLOW is the caller's to give), fstat'ed, its xattr list measured, read
 * into `buf` from its start (its size and one byte more, to see a file that grew), fstat'ed
 * again, closed. `st` (BigInt64Array, READ_FILE_AT_FIELDS) gets both fstats. Returns the bytes
 * read; -1 when what was opened is not a regular file, -2 when it has buf.length bytes or more
 * (nothing read; `st` holds its fstat). Throws NativeUnavailableError without the addon
 * (supports('readFileAtSync') says whether it is there).
 */
export function readFileAtSync(dirFd: number, name: PathArg, flags: number, buf: Buffer, st: BigInt64Array): number {
  return need('readFileAt').readFileAtSync(dirFd, name, flags, buf, st);
}

/**
 * Whether `p` (symlinks followed) is the root of a mount, from one statx (STATX_ATTR_MOUNT_ROOT):
 * null where that cannot be told (no addon, an addon built without it, a kernel before 5.8 that
 * does not report the attribute, or a statx error other than a missing path), so the caller reads
 * mountinfo instead. A missing path is no mount point.
 */
export function mountRootSync(p: PathArg): boolean | null {
  if (!supports('mountRootSync')) return null;
  try {
    const r = load().addon!.mountRootSync(p);
    return r < 0 ? null : r === 1;
  } catch (e) {
    if (isNativeError(e, 'ENOENT') || isNativeError(e, 'ENOTDIR')) return false;
    return null;
  }
}

/**
 * Whether something is mounted on `p` itself: one statx where the kernel tells (mountRootSync),
 * else mountinfo, or the snapshot `mounts` when given. Reading and parsing all of mountinfo
 * costs in proportion to the mounts of the machine, and it was read for every mount, unmount
 * and diff of a mounted overlay.
 */
export function isMountPoint(p: string, mounts?: MountInfo[]): boolean {
  if (mounts === undefined) {
    const root = mountRootSync(p);
    if (root !== null) return root;
  }
  return isMountPointInInfo(p, mounts);
}

/** What statMountSync tells of a mount: mountinfo's fields of it that a check of its options needs. */
export type MountedFs = Pick<MountInfo, 'fstype' | 'source' | 'superOptions'>;

/**
 * The topmost mount on `p` (symlinks followed) from statx and statmount (Linux 6.11 for its
 * options), without reading mountinfo: its type, source and superblock options as mountinfo
 * writes them (`rw` or `ro` first, paths escaped); undefined when nothing is mounted on `p`
 * (or `p` is missing); null where the kernel or the addon cannot tell.
 */
export function statMountSync(p: PathArg): MountedFs | undefined | null {
  if (!supports('statMountSync')) return null;
  try {
    const r = load().addon!.statMountSync(p);
    if (r === null) return null;
    if (r === false) return undefined;
    return { fstype: r.fstype, source: r.source, superOptions: (r.readOnly ? 'ro' : 'rw') + (r.options ? ',' + r.options : '') };
  } catch (e) {
    if (isNativeError(e, 'ENOENT') || isNativeError(e, 'ENOTDIR')) return undefined;
    return null;
  }
}

/**
 * Sets the access and modification times of the path itself (utimensat with
 * AT_SYMLINK_NOFOLLOW) to the nanosecond: Node's lutimes cuts them to microseconds.
 */
export function lutimensSync(p: PathArg, atimeNs: bigint, mtimeNs: bigint): void {
  needLutimens().lutimensSync(p, ...split(atimeNs), ...split(mtimeNs));
}
export async function lutimens(p: PathArg, atimeNs: bigint, mtimeNs: bigint): Promise<void> {
  return needLutimens().lutimens(p, ...split(atimeNs), ...split(mtimeNs));
}

/** Whether lutimens can run: the addon is there and was built with it (an older build lacks it). */
export function hasLutimens(): boolean {
  const l = load();
  return l.addon !== null && typeof l.addon.lutimensSync === 'function';
}

function needLutimens(): Addon {
  const a = need('lutimens');
  if (typeof a.lutimensSync !== 'function') throw new NativeUnavailableError('lutimens', 'the addon was built before it had lutimens: rebuild it (node native/build.js)');
  return a;
}

/** The addon's own constants, read from the system headers at build time (for the test that checks `constants`). */
export function addonConstants(): Record<string, number> {
  return need('constants').constants;
}
