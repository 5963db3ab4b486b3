import * as path from 'path';
import type { Worker } from 'worker_threads';
import { deserializeError, AbortedError } from '../errors';

/**
 * Per-file work (extract, copy, walk, pack) runs synchronously in a worker thread: an awaited
 * fs call costs ~40 µs, a sync one ~1 µs, and the main thread stays free.
 *
 * Worker scripts are always the compiled JavaScript under dist/lib (under ts-jest this module
 * is loaded from lib/*.ts, and `npm test` builds dist/ first).
 */
export function workerScript(relFromLib: string): string {
  const libRoot = path.resolve(__dirname, '..');
  if (__filename.endsWith('.js')) return path.join(libRoot, relFromLib + '.js');
  return path.join(libRoot, '..', 'dist', 'lib', relFromLib + '.js');
}

export interface WorkerMessage {
  type: 'progress' | 'done' | 'error' | string;
  [k: string]: unknown;
}

/**
 * Runs `script` with `data`, forwards `progress`-type messages to onMessage, and resolves with
 * the `result` of the `done` message. Errors thrown in the worker come back as their own class.
 * On abort the worker is terminated (its caller cleans up what it staged).
 */
export function runWorker<T>(
  relFromLib: string,
  data: unknown,
  opts: { signal?: AbortSignal; onMessage?: (m: WorkerMessage, w: Worker) => void; transferList?: any[]; onStart?: (w: Worker) => void } = {},
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    if (opts.signal?.aborted) return reject(new AbortedError());
    // worker_threads loads with the first worker, not with every command that imports this module
    const { Worker } = require('worker_threads') as typeof import('worker_threads');
    const w = new Worker(workerScript(relFromLib), { workerData: data, transferList: opts.transferList });
    let settled = false;
    const finish = (fn: () => void) => {
      if (settled) return;
      settled = true;
      opts.signal?.removeEventListener('abort', onAbort);
      fn();
    };
    const onAbort = () => {
      finish(() => {
        void w.terminate().then(() => reject(new AbortedError()));
      });
    };
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    w.on('message', (m: WorkerMessage) => {
      if (m.type === 'done') finish(() => resolve(m.result as T));
      else if (m.type === 'error') finish(() => reject(deserializeError(m.error as Record<string, unknown>)));
      else opts.onMessage?.(m, w);
    });
    w.on('error', (e) => finish(() => reject(e)));
    w.on('exit', (code) => finish(() => reject(new Error(`worker ${relFromLib} exited with code ${code} before finishing`))));
    opts.onStart?.(w);
  });
}
