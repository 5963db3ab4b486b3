import * as fs from 'fs';
import * as native from '../native';
import { BusyError, UnsupportedError } from '../errors';

const { MNT_DETACH, UMOUNT_NOFOLLOW, MS_BIND, MS_REC, MS_REMOUNT, MS_RDONLY } = native.constants;

/** How often a busy mount is retried (with a growing pause) before falling back to a lazy unmount. */
const BUSY_RETRIES = 5;

export interface UnmountOptions {
  /** Called when a mount stayed busy and was detached lazily (the kernel frees it when its last user goes). */
  onLazy?: (target: string) => void;
  /** Never fall back to a lazy unmount: fail with BusyError instead. */
  noLazy?: boolean;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** The mounts on `dir` or below it, deepest first; none where the platform has no mountinfo. */
export function mountsUnder(dir: string, mounts?: native.MountInfo[]): native.MountInfo[] {
  if (process.platform !== 'linux') return [];
  return native.mountsUnder(dir, mounts);
}

export function isMountPoint(p: string, mounts?: native.MountInfo[]): boolean {
  if (process.platform !== 'linux') return false;
  return native.isMountPoint(p, mounts);
}

/** Unmounts one mount on `target`: plainly, retried while busy; lazily (MNT_DETACH) only as the last resort. */
async function unmountOnce(target: string, opts: UnmountOptions): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await native.umount2(target, UMOUNT_NOFOLLOW);
      return;
    } catch (e) {
      // another process unmounted it first
      if (native.isNativeError(e, 'EINVAL') && !isMountPoint(target)) return;
      if (!native.isNativeError(e, 'EBUSY')) throw e;
      if (attempt >= BUSY_RETRIES) break;
      await sleep(50 * attempt);
    }
  }
  if (opts.noLazy) throw new BusyError(`${target} is busy (a process has a file open or its working directory there); it stays mounted`);
  await native.umount2(target, MNT_DETACH | UMOUNT_NOFOLLOW);
  opts.onLazy?.(target);
}

/** Unmounts everything stacked on `target` itself. */
export async function unmountTarget(target: string, opts: UnmountOptions = {}): Promise<void> {
  while (isMountPoint(target)) await unmountOnce(target, opts);
}

/** Unmounts every mount on `dir` or below it, deepest and topmost first. */
export async function unmountAllUnder(dir: string, opts: UnmountOptions = {}): Promise<void> {
  for (let m = mountsUnder(dir)[0]; m; m = mountsUnder(dir)[0]) await unmountOnce(m.mountPoint, opts);
}

/** Refuses to go on while anything is mounted on or below `dir` (a recursive delete would go through it). */
export function assertNothingMounted(dir: string, what: string): void {
  const left = mountsUnder(dir);
  if (left.length) throw new BusyError(`${what} still has mounts (${left.map((m) => m.mountPoint).join(', ')}); it is not deleted`);
}

export interface ExpectedOverlay {
  /** the upperdir string passed to the kernel, or null for a read-only overlay */
  upper: string | null;
  lowers: number;
  /** options asked as `key=off`: the mount must not show them on */
  off: string[];
}

/**
 * The topmost mount on `target`: from statmount where the kernel has it (no read of mountinfo,
 * which has a line for every mount of the machine), else from mountinfo's line for it.
 */
export function mountAt(target: string): native.MountedFs | undefined {
  const fast = native.statMountSync(target);
  if (fast !== null) return fast;
  let abs = target;
  try {
    abs = fs.realpathSync.native(target);
  } catch {
    // a vanished target has no mount
  }
  return native.lastMountAt(abs);
}

/**
 * Checks that the overlay on `target` is the one that was asked for. mount(2) cuts its options at
 * one page without a word, and a cut at the end of a lowerdir path mounts read-only without the
 * upperdir; so whatever the API, the result is compared with the request. Returns what differs.
 */
export function overlayMismatch(target: string, want: ExpectedOverlay): string | null {
  const m = mountAt(target);
  if (!m) return 'nothing is mounted there';
  if (m.fstype !== 'overlay') return `a ${m.fstype} is mounted there, not an overlay`;
  const opts = native.parseMountOptions(m.superOptions);
  const get = (k: string) => opts.filter(([key]) => key === k).map(([, v]) => v ?? '');
  const upper = get('upperdir');
  if (want.upper !== null && (upper.length !== 1 || upper[0] !== want.upper)) return `upperdir is ${upper.length ? upper.join(',') : 'missing'}, asked for ${want.upper}`;
  if (want.upper === null && upper.length) return `it has an upperdir (${upper[0]}) where none was asked`;
  const lowers = get('lowerdir+').length + get('lowerdir').reduce((n, v) => n + v.split(/(?<!\\):/).filter(Boolean).length, 0);
  if (lowers !== want.lowers) return `it has ${lowers} lower directories, asked for ${want.lowers}`;
  for (const k of want.off) if (get(k).includes('on')) return `${k}=on, asked for ${k}=off`;
  return null;
}

/** overlayMismatch as an error: unmounts the wrong mount, then throws. */
export async function verifyOverlay(target: string, want: ExpectedOverlay): Promise<void> {
  const wrong = overlayMismatch(target, want);
  if (wrong === null) return;
  await unmountTarget(target).catch(() => undefined);
  throw new UnsupportedError(`the overlay mounted on ${target} is not the one asked for: ${wrong}`);
}

/** A read-only bind mount: bind, then remount the bind read-only (a bind takes no flags of its own). */
export async function bindReadOnly(source: string, target: string): Promise<void> {
  await native.mount(source, target, null, MS_BIND | MS_REC);
  try {
    await native.mount(null, target, null, MS_REMOUNT | MS_BIND | MS_RDONLY);
  } catch (e) {
    await unmountTarget(target);
    throw e;
  }
}
