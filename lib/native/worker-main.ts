import { defineWorker } from '../workers/define';
import { workerSpec } from '../workers';
import type { WorkerMessage } from './workers';

/** The untyped form of lib/workers' defineWorker, for the commit worker until it has a protocol of its own. */
export function workerMain<T>(fn: (data: any, post: (m: Record<string, unknown>) => void) => T | Promise<T>): void {
  defineWorker(workerSpec<unknown, T, WorkerMessage>('a workerMain script'), (job, ctx) => fn(job, (m) => ctx.post(m as WorkerMessage)));
}
