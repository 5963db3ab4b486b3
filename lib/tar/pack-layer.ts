/**
 * Deterministic layer packing from the main thread. The walking, reading, hashing and
 * compressing run in a worker (lib/tar/pack-worker.ts); see lib/tar/pack.ts for the order and
 * form of the entries and lib/tar/writer.ts for the header encoding.
 */
import { Readable } from 'stream';
import type { Worker } from 'worker_threads';
import { AbortedError } from '../errors';
import { runWorker, WorkerMessage } from '../native/workers';
import type { WhiteoutFormatName } from '../store/types';
import type { WirePackSource } from './pack';
import type { PackProgressMessage, PackWorkerData } from './pack-worker';
import type { ChunkMessage, CreditMessage } from './sink';
import type { PackEntry, PackOptions, PackResult } from './types';

/**
 * What to pack: a whole directory (a plain one, or a layer diff whose whiteouts are in the
 * given store format), or an explicit list of entries whose paths are relative to the layer
 * root and whose metadata and content come from `source` (default: `root/path`). With
 * `confined` (the tree's name in errors), the tree is another party's: every entry is read at
 * `root/path` without following a symlink anywhere on the way (see WirePackSource).
 */
export type PackSource = { dir: string | Buffer; whiteout?: WhiteoutFormatName } | { root: string | Buffer; entries: PackEntry[]; confined?: string };

const WORKER = 'tar/pack-worker';

function workerData(source: PackSource, opts: PackOptions, dest?: string): PackWorkerData {
  const wire: WirePackSource = 'dir' in source ? { dir: source.dir, whiteout: source.whiteout ?? opts.whiteout } : { root: source.root, entries: source.entries, confined: source.confined };
  return {
    source: wire,
    opts: { sourceDateEpoch: opts.sourceDateEpoch, owner: opts.owner, mtime: opts.mtime, fileMode: opts.fileMode, dirMode: opts.dirMode, compression: opts.compression ?? 'none' },
    dest,
  };
}

function progressOf(opts: PackOptions) {
  return (m: WorkerMessage) => {
    if (m.type === 'progress' && opts.onProgress) {
      const p = m as unknown as PackProgressMessage;
      opts.onProgress({ bytes: p.bytes, entries: p.entries });
    }
  };
}

/**
 * Packs `source` into the file `dest` (created or truncated), compressed as opts.compression
 * (default none). Returns the DiffID (sha256 of the tar), the digest and size of the file.
 * On failure or abort `dest` may hold part of the output: the caller removes it.
 */
export function packToFile(source: PackSource, dest: string, opts: PackOptions = {}): Promise<PackResult> {
  return runWorker<PackResult>(WORKER, workerData(source, opts, dest), { signal: opts.signal, onMessage: progressOf(opts) });
}

export type PackReadable = Readable & {
  /** settles when the worker finishes: the DiffID, digest and sizes of what was streamed */
  result: Promise<PackResult>;
};

/**
 * The tar bytes of `source` (compressed as opts.compression, default none) as a stream. The
 * worker sends 1 MiB chunks only as fast as the stream is read. Destroying the stream or
 * aborting opts.signal stops the worker.
 */
export function packStream(source: PackSource, opts: PackOptions = {}): PackReadable {
  const stop = new AbortController();
  const signal = opts.signal ? AbortSignal.any([opts.signal, stop.signal]) : stop.signal;
  let worker: Worker | null = null;
  let owed = 0; // chunks pushed whose credit is not yet returned to the worker
  const credit = () => {
    if (owed > 0 && worker) {
      const m: CreditMessage = { type: 'credit', n: owed };
      worker.postMessage(m);
      owed = 0;
    }
  };
  let finished = false;
  const out = new Readable({
    highWaterMark: 1 << 20,
    read: credit,
    destroy(err, cb) {
      if (!finished) stop.abort();
      cb(err);
    },
  }) as PackReadable;
  const onMessage = (m: WorkerMessage) => {
    if (m.type === 'chunk') {
      const c = m as unknown as ChunkMessage;
      owed++;
      if (out.push(Buffer.from(c.data, 0, c.length))) credit();
    } else progressOf(opts)(m);
  };
  out.result = runWorker<PackResult>(WORKER, workerData(source, opts), {
    signal,
    onMessage,
    onStart: (w) => {
      worker = w;
    },
  }).then(
    (r) => {
      finished = true;
      out.push(null);
      return r;
    },
    (e: Error) => {
      finished = true;
      if (!out.destroyed) out.destroy(opts.signal?.aborted ? new AbortedError('packing') : e);
      throw e;
    },
  );
  out.result.catch(() => {}); // the stream reports the error; awaiting `result` is optional
  return out;
}
