import * as fs from 'fs';
import * as native from '../native';
import { NotFoundError } from '../errors';

const { LOCK_EX } = native.constants;

/** Opens the container directory for locking, or NotFoundError when it is gone (removed meanwhile). */
function openDir(dir: string, id: string): number {
  try {
    return fs.openSync(dir, 'r');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new NotFoundError(id, `no container ${id} in the store`);
    throw e;
  }
}

/**
 * Runs `fn` holding an exclusive flock on the container's directory, so two processes (or two
 * calls in one) never mount, unmount or remove one container at the same time. The lock goes
 * with the descriptor, so a crashed holder releases it. Without the addon there is nothing to
 * mount and no flock: `fn` just runs.
 */
export async function withContainerLock<T>(dir: string, id: string, fn: () => Promise<T>): Promise<T> {
  if (!native.available()) return fn();
  const fd = openDir(dir, id);
  try {
    // held elsewhere: wait for it on the libuv pool, off the main thread
    if (!native.tryFlockSync(fd, LOCK_EX)) await native.flock(fd, LOCK_EX);
    return await fn();
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Runs `fn` holding an exclusive flock on directory `dir`, waiting for it on this thread: for
 * critical sections of a few file operations (a name's claim). Without the addon `fn` just runs.
 * With `onMissing`, a directory that is not there, or is no longer the one locked, runs that instead.
 */
export function withDirLockSync<T>(dir: string, fn: () => T, onMissing?: () => T): T {
  if (!native.available()) return fn();
  let fd: number;
  try {
    fd = fs.openSync(dir, 'r');
  } catch (e) {
    if (onMissing && (e as NodeJS.ErrnoException).code === 'ENOENT') return onMissing();
    throw e;
  }
  try {
    native.flockSync(fd, LOCK_EX);
    // with onMissing: the directory locked must still be the one at that name (not removed, nor
    // removed and made again, while this waited)
    if (onMissing && fs.statSync(dir, { throwIfNoEntry: false })?.ino !== fs.fstatSync(fd).ino) return onMissing();
    return fn();
  } finally {
    fs.closeSync(fd);
  }
}

/** Like withContainerLock, but synchronous, and gives up (returns undefined) at once when another holder has it or the container is gone. */
export function ifContainerUnlockedSync<T>(dir: string, id: string, fn: () => T): T | undefined {
  if (!native.available()) return fn();
  let fd: number;
  try {
    fd = openDir(dir, id);
  } catch {
    return undefined;
  }
  try {
    if (!native.tryFlockSync(fd, LOCK_EX)) return undefined;
    return fn();
  } finally {
    fs.closeSync(fd);
  }
}
