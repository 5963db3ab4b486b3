/**
 * Deterministic layer packing from the calling thread (packToFile, packStream): the walking, reading, hashing and
 * compressing run in a worker (lib/tar/pack.worker.ts); see lib/tar/pack.ts for the order and
 * form of the entries and lib/tar/writer.ts for the header encoding.
 */
import { Readable } from 'stream';
import { AbortedError } from '../errors';
import { ChunkReceiver, runWorker, startWorker } from '../workers';
import type { ChunkMessage, CreditMessage, RunningWorker } from '../workers';
import type { WhiteoutFormatName } from '../types';
import type { WirePackSource } from './pack';
import { PACK_WORKER } from './pack.protocol';
import type { PackProgressMessage, PackWorkerData } from './pack.protocol';
import type { PackEntry, PackOptions, PackResult } from './types';

/**
 * What to pack: a whole directory (a plain one, or a layer diff whose whiteouts are in the
 * given store format), or an explicit list of entries whose paths are relative to the layer
 * root and whose metadata and content come from `source` (default: `root/path`). With
 * `confined` (the tree's name in errors), the tree is another party's: every entry is read at
 * `root/path` without following a symlink anywhere on the way (see WirePackSource).
 */
export type PackSource = { dir: string | Buffer; whiteout?: WhiteoutFormatName } | { root: string | Buffer; entries: PackEntry[]; confined?: string };

function workerData(source: PackSource, opts: PackOptions, dest?: string): PackWorkerData {
  const wire: WirePackSource = 'dir' in source ? { dir: source.dir, whiteout: source.whiteout ?? opts.whiteout } : { root: source.root, entries: source.entries, confined: source.confined };
  return {
    source: wire,
    opts: { sourceDateEpoch: opts.sourceDateEpoch, owner: opts.owner, mtime: opts.mtime, fileMode: opts.fileMode, dirMode: opts.dirMode, compression: opts.compression ?? 'none' },
    dest,
  };
}

function progressOf(opts: PackOptions) {
  return (m: PackProgressMessage | ChunkMessage) => {
    if (m.type === 'progress') opts.onProgress?.({ bytes: m.bytes, entries: m.entries });
  };
}

/**
 * Packs `source` into the file `dest` (created or truncated), compressed as opts.compression
 * (default none). Returns the DiffID (sha256 of the tar), the digest and size of the file.
 * On failure or abort `dest` may hold part of the output: the caller removes it.
 */
export function packToFile(source: PackSource, dest: string, opts: PackOptions = {}): Promise<PackResult> {
  return runWorker(PACK_WORKER, workerData(source, opts, dest), { signal: opts.signal, onMessage: progressOf(opts) });
}

export type PackReadable = Readable & {
  /** settles when the worker finishes: the DiffID, digest and sizes of what was streamed */
  result: Promise<PackResult>;
};

/**
 * The tar bytes of `source` (compressed as opts.compression, default none) as a stream. The
 * worker sends 1 MiB chunks over the chunk channel of lib/workers, only as fast as the stream is read. Destroying the stream or
 * aborting opts.signal stops the worker.
 */
export function packStream(source: PackSource, opts: PackOptions = {}): PackReadable {
  const stop = new AbortController();
  const signal = opts.signal ? AbortSignal.any([opts.signal, stop.signal]) : stop.signal;
  let worker: RunningWorker<CreditMessage> | null = null;
  // a chunk's credit goes back to the worker once the stream's consumer wants more
  const receiver = new ChunkReceiver((m) => worker?.post(m));
  const credit = () => receiver.consumed();
  let finished = false;
  const out = new Readable({
    highWaterMark: 1 << 20,
    read: credit,
    destroy(err, cb) {
      if (!finished) stop.abort();
      cb(err);
    },
  }) as PackReadable;
  const onMessage = (m: PackProgressMessage | ChunkMessage) => {
    if (m.type === 'chunk') {
      if (out.push(receiver.take(m))) credit();
    } else progressOf(opts)(m);
  };
  const started = startWorker(PACK_WORKER, workerData(source, opts), { signal, onMessage });
  worker = started;
  out.result = started.result.then(
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
