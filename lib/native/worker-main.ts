import { parentPort, workerData } from 'worker_threads';
import { serializeError } from '../errors';

/** The body of a worker script: runs `fn(workerData)` and posts `done` or `error`. */
export function workerMain<T>(fn: (data: any, post: (m: Record<string, unknown>) => void) => T | Promise<T>): void {
  const port = parentPort;
  if (!port) throw new Error('workerMain must run inside a worker thread');
  const post = (m: Record<string, unknown>) => port.postMessage(m);
  Promise.resolve()
    .then(() => fn(workerData, post))
    .then(
      (result) => port.postMessage({ type: 'done', result }),
      (e) => port.postMessage({ type: 'error', error: serializeError(e) }),
    );
}
