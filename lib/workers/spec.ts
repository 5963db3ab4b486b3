import * as path from 'path';

/** Every message a worker and its parent exchange has a `type`; `done` and `error` are the toolkit's own. */
export interface Message {
  type: string;
}

/**
 * A worker's protocol, named once in its `<name>.protocol.ts` (as the addon's op.h names one
 * operation): the script (`<name>.worker`, relative to lib/), the job it is started with, the
 * result it ends with, the messages it posts while it runs (`Out`) and those it is sent (`In`).
 * Both sides take their types from it, so neither casts.
 */
export interface WorkerSpec<Job, Result, Out extends Message = never, In extends Message = never> {
  readonly script: string;
  /** the young generation of the worker's heap, in MiB (V8's default is sized for a main thread) */
  readonly youngGenerationMb?: number;
  /** never set: carries the types */
  readonly types?: { job: Job; result: Result; out: Out; in: In };
}

export function workerSpec<Job, Result, Out extends Message = never, In extends Message = never>(script: string, opts: { youngGenerationMb?: number } = {}): WorkerSpec<Job, Result, Out, In> {
  return { script, ...opts };
}

/** What a worker posts: its own messages, then one `done` or one `error`. */
export type Reply<Result, Out extends Message> = Out | { type: 'done'; result: Result } | { type: 'error'; error: Record<string, unknown> };

/**
 * Worker scripts are always the compiled JavaScript under dist/lib (under ts-jest this module
 * is loaded from lib/*.ts, and `npm test` builds dist/ first).
 */
export function workerScript(relFromLib: string): string {
  const libRoot = path.resolve(__dirname, '..');
  if (__filename.endsWith('.js')) return path.join(libRoot, relFromLib + '.js');
  return path.join(libRoot, '..', 'dist', 'lib', relFromLib + '.js');
}
