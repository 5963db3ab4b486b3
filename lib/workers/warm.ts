import type { Worker } from 'worker_threads';
import { AbortedError } from '../errors';
import { lazy } from '../lazy';
import { workerScript } from './spec';
import type { Message, WorkerSpec } from './spec';
import { awaitReply } from './run';

const workerThreadsModule = lazy<typeof import('worker_threads')>(() => require('worker_threads'));

/** What a warm worker is sent: one job after another, each answered by its own `done` or `error`. */
export interface WarmJob<Job> {
  type: 'job';
  job: Job;
}

/** The spec of a worker kept warm between jobs: its jobs come as messages, not as its workerData. */
export type WarmSpec<Job, Result, Out extends Message> = WorkerSpec<Job, Result, Out, WarmJob<Job>>;

/**
 * A worker kept between jobs: starting a worker and compiling its code costs tens of
 * milliseconds, much of a short job. One idle worker is kept, unref'd (it never keeps the
 * process alive); a job that finds it busy starts another, which is kept if the first is gone by
 * then. A worker whose job failed or was aborted is terminated (the job may have left it in any
 * state), and the promise settles once it is gone, so the caller may remove what the job wrote.
 */
export class WarmWorker<Job, Result, Out extends Message> {
  private idle: Worker | null = null;

  constructor(private readonly spec: WarmSpec<Job, Result, Out>) {}

  run(job: Job, opts: { signal?: AbortSignal; onMessage?: (m: Out) => void } = {}): Promise<Result> {
    return new Promise<Result>((resolve, reject) => {
      if (opts.signal?.aborted) return reject(new AbortedError());
      const { Worker } = workerThreadsModule();
      const w = this.idle ?? new Worker(workerScript(this.spec.script));
      this.idle = null;
      w.ref();
      awaitReply<Result, Out>(w, this.spec.script, opts, (end) => {
        if (end.ok && this.idle === null) {
          w.unref();
          this.idle = w;
          resolve(end.result);
          return;
        }
        // a failed or aborted job may have left the worker in any state; a second idle one is not kept
        const settle = () => (end.ok ? resolve(end.result) : reject(end.error));
        void w.terminate().then(settle, settle);
      });
      const message: WarmJob<Job> = { type: 'job', job };
      w.postMessage(message);
    });
  }
}
