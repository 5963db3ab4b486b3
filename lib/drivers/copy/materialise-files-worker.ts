import { parentPort, workerData } from 'worker_threads';
import { serializeError } from '../../errors';
import { FileCopier } from '../file-copy';
import { Attributes } from '../attributes';
import type { FileThreadData, FileThreadMessage } from './materialise-files';

/**
 * The copy driver's second thread (see FileThread): copies the files it is sent, synchronously,
 * counts the weight of each one done in the shared counter, and answers `done` after the end
 * message, or `error` at the first failure.
 */
const port = parentPort;
if (!port) throw new Error('materialise-files-worker must run inside a worker thread');
const data = workerData as FileThreadData;
const done = new Int32Array(data.done);
const copier = new FileCopier({ exclusive: true });
const attrs = new Attributes(data.newOwner);
let failed = false;
port.on('message', (m: FileThreadMessage) => {
  if (failed) return;
  try {
    if (m.type === 'end') {
      port.postMessage({ type: 'done' });
      port.close();
      return;
    }
    for (const f of m.files) {
      const modeSet = copier.copy(f.src, f.dest, f);
      attrs.all(f.dest, f.src, f.meta, modeSet);
      Atomics.add(done, 0, f.weight);
    }
  } catch (e) {
    failed = true;
    port.postMessage({ type: 'error', error: serializeError(e) });
  }
});
