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
    const worker = new Worker(workerScript(spec.script), {
      workerData: job,
      // the default, named: where process.env was replaced (jest does), the worker gets the replacement
      env: process.env,
      transferList: opts.transferList,
      resourceLimits: spec.youngGenerationMb === undefined ? undefined : { maxYoungGenerationSizeMb: spec.youngGenerationMb },
    });
    w = worker;
    awaitReply<Result, Out>(worker, spec.script, { signal: opts.signal, onMessage: (m) => opts.onMessage?.(m, handle) }, (end) => {
      if (end.ok) resolve(end.result);
      else if (end.aborted) void worker.terminate().then(() => reject(end.error));
      else reject(end.error);
    });
  });
  return { ...handle, result };
}

const quieted = new WeakSet<Worker>();

/** How one job of a worker ended: its `done` result, or why not (its `error`, a crash, an exit before `done`, the abort). */
export type JobEnd<Result> = { ok: true; result: Result } | { ok: false; error: unknown; aborted: boolean };

/**
 * Listens to `worker` until the job it runs ends, and calls `end` once with how: the first of
 * `done`, `error` (rebuilt as its own class), the worker's crash, its exit, or the abort. Its
 * other messages go to `onMessage` meanwhile. Every listener is removed when it has ended, so a
 * worker kept for another job (WarmWorker) starts clean.
 */
export function awaitReply<Result, Out extends Message>(worker: Worker, script: string, opts: { signal?: AbortSignal; onMessage?: (m: Out) => void }, end: (how: JobEnd<Result>) => void): void {
  // an 'error' with no listener throws: one that comes once the job has ended (none is known) is dropped
  if (!quieted.has(worker)) {
    quieted.add(worker);
    worker.on('error', () => undefined);
  }
  let settled = false;
  const finish = (how: JobEnd<Result>) => {
    if (settled) return;
    settled = true;
    opts.signal?.removeEventListener('abort', onAbort);
    worker.off('message', onMessage);
    worker.off('error', onError);
    worker.off('exit', onExit);
    end(how);
  };
  const onMessage = (m: Reply<Result, Out>) => {
    if (m.type === 'done') finish({ ok: true, result: (m as { result: Result }).result });
    else if (m.type === 'error') finish({ ok: false, error: deserializeError((m as { error: Record<string, unknown> }).error), aborted: false });
    else opts.onMessage?.(m as Out);
  };
  const onError = (e: Error) => finish({ ok: false, error: e, aborted: false });
  const onExit = (code: number) => finish({ ok: false, error: new Error(`worker ${script} exited with code ${code} before finishing`), aborted: false });
  const onAbort = () => finish({ ok: false, error: new AbortedError(), aborted: true });
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  worker.on('message', onMessage);
  worker.on('error', onError);
  worker.on('exit', onExit);
}

/** startWorker, when only the result is wanted. */
export function runWorker<Job, Result, Out extends Message, In extends Message>(spec: WorkerSpec<Job, Result, Out, In>, job: Job, opts: StartOptions<Out, In> = {}): Promise<Result> {
  return startWorker(spec, job, opts).result;
}
