import type { Worker } from 'worker_threads';
import { AbortedError, deserializeError } from '../errors';
import { lazy } from '../lazy';
import { workerScript } from './spec';
import type { Message, Reply, WorkerSpec } from './spec';

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
      let settled = false;
      const finish = (keep: boolean, fn: () => void) => {
        if (settled) return;
        settled = true;
        opts.signal?.removeEventListener('abort', onAbort);
        w.off('message', onMessage);
        w.off('error', onError);
        w.off('exit', onExit);
        if (keep && this.idle === null) {
          w.unref();
          this.idle = w;
          fn();
          return;
        }
        void w.terminate().then(fn, fn);
      };
      const onMessage = (m: Reply<Result, Out>) => {
        if (m.type === 'done') finish(true, () => resolve((m as { result: Result }).result));
        else if (m.type === 'error') finish(false, () => reject(deserializeError((m as { error: Record<string, unknown> }).error)));
        else opts.onMessage?.(m as Out);
      };
      const onError = (e: Error) => finish(false, () => reject(e));
      const onExit = (code: number) => finish(false, () => reject(new Error(`worker ${this.spec.script} exited with code ${code} before finishing`)));
      const onAbort = () => finish(false, () => reject(new AbortedError()));
      opts.signal?.addEventListener('abort', onAbort, { once: true });
      w.on('message', onMessage);
      w.on('error', onError);
      w.on('exit', onExit);
      const message: WarmJob<Job> = { type: 'job', job };
      w.postMessage(message);
    });
  }
}
