import * as fs from 'fs';
import { AsyncLocalStorage } from 'async_hooks';
import * as native from '../native';
import { AbortedError, BusyError } from '../errors';

/**
 * The one store lock: a flock on the store's `lock` file. Whatever adds to the store or relies
 * on what is in it while it works (import, create, commit, remove, build) holds it shared, so
 * many run at once; what deletes what nothing seems to reference (gc, rmi) holds it exclusive,
 * so it never sees an import between publishing a blob or a lower layer and writing the record
 * that references them.
 *
 * Held per async call chain: an operation that runs another one inside (an image import
 * importing its layers) takes the lock once; inside an exclusive hold everything runs. A shared
 * hold cannot become exclusive (that would wait for itself). The lock goes with the descriptor,
 * so a crashed holder releases it.
 *
 * Waiting polls (no libuv thread is held, and the wait can end): shared waits as long as it takes
 * (gc is short), exclusive gives up after `timeoutMs` (default 60 s, LAYERFS_LOCK_TIMEOUT in
 * seconds) with LAYERFS_BUSY, since an import can run for long. Without the addon there is no
 * flock: nothing is locked, and gc must not run while others use the store.
 */
export type StoreLockMode = 'shared' | 'exclusive';

export interface StoreLockOptions {
  /** how long an exclusive hold waits for the others (ms); default 60 s or $LAYERFS_LOCK_TIMEOUT seconds */
  timeoutMs?: number;
  signal?: AbortSignal;
  /** called once, when the lock is busy and the wait begins */
  onWait?: (mode: StoreLockMode) => void;
}

const held = new AsyncLocalStorage<ReadonlyMap<string, StoreLockMode>>();
const POLL_MS = 50;
const DEFAULT_EXCLUSIVE_TIMEOUT_MS = 60_000;

function defaultTimeout(mode: StoreLockMode): number {
  if (mode === 'shared') return Infinity;
  const env = Number(process.env.LAYERFS_LOCK_TIMEOUT);
  return process.env.LAYERFS_LOCK_TIMEOUT && Number.isFinite(env) && env >= 0 ? env * 1000 : DEFAULT_EXCLUSIVE_TIMEOUT_MS;
}

/** Runs `fn` holding the store lock in `mode` (see above). */
export async function withStoreLock<T>(lockFile: string, mode: StoreLockMode, fn: () => Promise<T>, opts: StoreLockOptions = {}): Promise<T> {
  const mine = held.getStore();
  const have = mine?.get(lockFile);
  if (have === 'exclusive' || (have === 'shared' && mode === 'shared')) return fn();
  if (have === 'shared') throw new Error(`the store lock ${lockFile} is held shared by this operation and cannot be taken exclusive inside it`);
  if (!native.available()) return fn();
  const fd = fs.openSync(lockFile, fs.constants.O_RDONLY | fs.constants.O_CREAT, 0o600);
  try {
    const op = mode === 'shared' ? native.constants.LOCK_SH : native.constants.LOCK_EX;
    const timeout = opts.timeoutMs ?? defaultTimeout(mode);
    const deadline = Date.now() + timeout;
    let waited = false;
    for (;;) {
      if (native.tryFlockSync(fd, op)) break;
      if (opts.signal?.aborted) throw new AbortedError(`waiting for the store lock`);
      if (Date.now() >= deadline) {
        const by = mode === 'exclusive' ? 'an import, create, commit or remove' : 'gc or rmi';
        throw new BusyError(`the store is in use: ${by} holds its lock (${lockFile}); gave up after ${Math.round(timeout / 100) / 10} s of waiting. Try again when it is done, or wait longer (lockTimeout, LAYERFS_LOCK_TIMEOUT in seconds)`);
      }
      if (!waited) {
        waited = true;
        opts.onWait?.(mode);
      }
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
    const next = new Map(mine ?? []);
    next.set(lockFile, mode);
    return await held.run(next, fn);
  } finally {
    fs.closeSync(fd); // releases the flock
  }
}
