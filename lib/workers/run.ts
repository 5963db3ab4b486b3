import type { Transferable, Worker } from 'worker_threads';
import { deserializeError, AbortedError } from '../errors';
import { workerScript } from './spec';
import type { Message, Reply, WorkerSpec } from './spec';
import { lazy } from '../lazy';

const workerThreadsModule = lazy<typeof import('worker_threads')>(() => require('worker_threads'));

export interface StartOptions<Out extends Message, In extends Message> {
  /** aborting terminates the worker and rejects `result` with AbortedError (the caller cleans up what it staged) */
  signal?: AbortSignal;
  /** the worker's own messages, in order */
  onMessage?: (m: Out, worker: RunningWorker<In>) => void;
  transferList?: Transferable[];
}

/** A started worker: what may be sent to it, and how to stop it. */
export interface RunningWorker<In extends Message> {
  post(m: In, transfer?: Transferable[]): void;
  /** ends the worker whatever it is doing; `result` then rejects (unless it had settled) */
  terminate(): Promise<void>;
}

export interface WorkerHandle<Result, In extends Message> extends RunningWorker<In> {
  /** the `done` result; an error thrown in the worker comes back as its own class */
  readonly result: Promise<Result>;
}

/**
 * Starts the worker of `spec` with `job`. The one way a worker is started, aborted and
 * collected: `result` settles once, with the first of `done`, `error`, the worker's crash, its
 * exit before `done`, or the abort.
 */
export function startWorker<Job, Result, Out extends Message, In extends Message>(spec: WorkerSpec<Job, Result, Out, In>, job: Job, opts: StartOptions<Out, In> = {}): WorkerHandle<Result, In> {
  let w: Worker | null = null;
  const handle: RunningWorker<In> = {
    post: (m, transfer) => w?.postMessage(m, transfer),
    terminate: async () => {
      await w?.terminate();
    },
  };
  const result = new Promise<Result>((resolve, reject) => {
    if (opts.signal?.aborted) return reject(new AbortedError());
    // worker_threads loads with the first worker, not with every command that imports this module
    const { Worker } = workerThreadsModule();
    const worker = new Worker(workerScript(spec.script), { workerData: job, transferList: opts.transferList });
    w = worker;
    let settled = false;
    const finish = (fn: () => void) => {
      if (settled) return;
      settled = true;
      opts.signal?.removeEventListener('abort', onAbort);
      fn();
    };
    const onAbort = () => finish(() => void worker.terminate().then(() => reject(new AbortedError())));
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    worker.on('message', (m: Reply<Result, Out>) => {
      if (m.type === 'done') finish(() => resolve((m as { result: Result }).result));
      else if (m.type === 'error') finish(() => reject(deserializeError((m as { error: Record<string, unknown> }).error)));
      else opts.onMessage?.(m as Out, handle);
    });
    worker.on('error', (e) => finish(() => reject(e)));
    worker.on('exit', (code) => finish(() => reject(new Error(`worker ${spec.script} exited with code ${code} before finishing`))));
  });
  return { ...handle, result };
}

/** startWorker, when only the result is wanted. */
export function runWorker<Job, Result, Out extends Message, In extends Message>(spec: WorkerSpec<Job, Result, Out, In>, job: Job, opts: StartOptions<Out, In> = {}): Promise<Result> {
  return startWorker(spec, job, opts).result;
}
