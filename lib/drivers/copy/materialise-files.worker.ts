import { defineWorker } from '../../workers/define';
import { FileCopier } from '../file-copy';
import { Attributes } from '../attributes';
import { FILE_THREAD_WORKER } from './materialise.protocol';

/**
 * The copy driver's second thread (see FileThread): copies the files it is sent, synchronously,
 * counts the weight of each one done in the shared counter, and ends after the end message, or
 * at the first failure (which its parent hears as the error).
 */
defineWorker(FILE_THREAD_WORKER, async (data, ctx) => {
  const done = new Int32Array(data.done);
  const copier = new FileCopier({ exclusive: true });
  const attrs = new Attributes(data.newOwner);
  for await (const m of ctx.received((m) => m.type === 'end')) {
    if (m.type !== 'files') continue;
    for (const f of m.files) {
      const modeSet = copier.copy(f.src, f.dest, f);
      attrs.all(f.dest, f.src, f.meta, modeSet);
      Atomics.add(done, 0, f.weight);
    }
  }
});
