import { parentPort, workerData } from 'worker_threads';
import { serializeError } from '../errors';
import type { Message, Reply, WorkerSpec } from './spec';
import { portMessages } from './port-messages';
import type { WarmJob, WarmSpec } from './warm';

/** What a worker's body may do besides returning its result. */
export interface WorkerContext<Out extends Message, In extends Message> {
  post(m: Out, transfer?: ArrayBuffer[]): void;
  /** the messages the parent sends, in order, until `until` returns true for one (included) */
  received(until: (m: In) => boolean): AsyncGenerator<In>;
}

/**
 * The body of `<name>.worker.ts`: runs `fn` on the job the worker was started with and posts
 * `done` with what it returns, or `error` with what it throws (rebuilt as its own class on the
 * other side).
 */
export function defineWorker<Job, Result, Out extends Message, In extends Message>(spec: WorkerSpec<Job, Result, Out, In>, fn: (job: Job, ctx: WorkerContext<Out, In>) => Result | Promise<Result>): void {
  const port = parentPort;
  if (!port) throw new Error(`${spec.script} must run inside a worker thread`);
  const reply = (m: Reply<Result, Out>, transfer?: ArrayBuffer[]) => port.postMessage(m, transfer);
  const ctx: WorkerContext<Out, In> = {
    post: (m, transfer) => reply(m, transfer),
    async *received(until) {
      for await (const m of portMessages<In>(port)) {
        yield m;
        if (until(m)) return;
      }
    },
  };
  Promise.resolve()
    .then(() => fn(workerData as Job, ctx))
    .then(
      (result) => reply({ type: 'done', result }),
      (e) => reply({ type: 'error', error: serializeError(e) }),
    );
}

/**
 * The body of a warm worker's `<name>.worker.ts` (see WarmWorker): runs `fn` on each job it is
 * sent, one after another, and answers each with `done` or `error`; `post` carries the job's own
 * messages meanwhile.
 */
export function defineWarmWorker<Job, Result, Out extends Message>(spec: WarmSpec<Job, Result, Out>, fn: (job: Job, post: (m: Out) => void) => Result | Promise<Result>): void {
  const port = parentPort;
  if (!port) throw new Error(`${spec.script} must run inside a worker thread`);
  const reply = (m: Reply<Result, Out>) => port.postMessage(m);
  port.on('message', (m: WarmJob<Job>) => {
    if (m?.type !== 'job') return;
    Promise.resolve()
      .then(() => fn(m.job, reply))
      .then(
        (result) => reply({ type: 'done', result }),
        (e) => reply({ type: 'error', error: serializeError(e) }),
      );
  });
}
