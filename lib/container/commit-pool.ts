import { Worker } from 'worker_threads';
import { AbortedError, deserializeError } from '../errors';
import { workerScript } from '../native/workers';
import type { CommitJobResult, CommitLayerJob } from './commit-job';

/**
 * One warm commit worker, kept between commits: starting a worker and compiling the commit code
 * in it costs tens of milliseconds, a large part of a commit of a few thousand files. An idle
 * worker is unref'd (it never keeps the process alive); a commit that finds it busy starts
 * another, which is kept if the first is gone by then. A worker whose job failed or was aborted
 * is terminated (its job may have left it in any state).
 */
let idle: Worker | null = null;

export function runCommitJobInWorker(job: CommitLayerJob, opts: { signal?: AbortSignal; onMessage?: (m: Record<string, unknown>) => void } = {}): Promise<CommitJobResult> {
  return new Promise<CommitJobResult>((resolve, reject) => {
    if (opts.signal?.aborted) return reject(new AbortedError());
    const w = idle ?? new Worker(workerScript('container/commit-worker'));
    idle = null;
    w.ref();
    let settled = false;
    const finish = (keep: boolean, fn: () => void) => {
      if (settled) return;
      settled = true;
      opts.signal?.removeEventListener('abort', onAbort);
      w.off('message', onMessage);
      w.off('error', onError);
      w.off('exit', onExit);
      if (keep && idle === null) {
        w.unref();
        idle = w;
        fn();
        return;
      }
      // the job's staging is removed once the worker is gone: nothing writes into it after
      void w.terminate().then(fn, fn);
    };
    const onMessage = (m: Record<string, unknown>) => {
      if (m.type === 'done') finish(true, () => resolve(m.result as CommitJobResult));
      else if (m.type === 'error') finish(false, () => reject(deserializeError(m.error as Record<string, unknown>)));
      else opts.onMessage?.(m);
    };
    const onError = (e: Error) => finish(false, () => reject(e));
    const onExit = (code: number) => finish(false, () => reject(new Error(`the commit worker exited with code ${code} before finishing`)));
    const onAbort = () => finish(false, () => reject(new AbortedError()));
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    w.on('message', onMessage);
    w.on('error', onError);
    w.on('exit', onExit);
    w.postMessage({ type: 'job', job });
  });
}
