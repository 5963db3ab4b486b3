import type { Message } from '../workers';
import { runWorker as runTyped, workerSpec } from '../workers';

export { workerScript } from '../workers';

export interface WorkerMessage extends Message {
  [k: string]: unknown;
}

/**
 * The untyped form of lib/workers' runWorker, for the commit worker until it has a protocol
 * of its own: the same start, abort and collect, with messages as plain records.
 */
export function runWorker<T>(relFromLib: string, data: unknown, opts: { signal?: AbortSignal; onMessage?: (m: WorkerMessage) => void } = {}): Promise<T> {
  return runTyped(workerSpec<unknown, T, WorkerMessage>(relFromLib), data, { signal: opts.signal, onMessage: (m) => opts.onMessage?.(m) });
}
