/**
 * applyLayer, from the calling thread: starts an apply worker (lib/tar/apply.worker.ts, which runs
 * the reader and the applier of lib/tar/apply-entries.ts), feeds it the input (a path, a range of
 * a file, or a stream over the windowed chunk channel of lib/workers) and collects its result.
 */
import * as fs from 'fs';
import { MessageChannel, MessagePort } from 'worker_threads';
import { finished, type Readable } from 'stream';
import { AbortedError, DigestMismatchError, SizeMismatchError } from '../errors';
import { verifiedDigestOf } from '../digest';
import { ChunkSender, startWorker } from '../workers';
import { isHandedOver, releaseChunks } from './handed-over';
import type { RunningWorker, WorkerHandle } from '../workers';
import type { ApplyOptions, ApplyResult } from './types';
import { APPLY_WORKER, STREAM_CHUNK } from './apply.protocol';
import type { ApplyWorkerData, ApplyWorkerResult, LowerMessage } from './apply.protocol';
import { setLayerRootFromChainSync } from './layer-root';
import { rewriteRootLineSync } from '../store/content-index';

/** A stretch of a file (a member of an archive, read in place by the worker). */
export interface FileRange {
  path: string;
  start: number;
  length: number;
}

export interface ApplyLayerOptions extends Omit<ApplyOptions, 'lowerDirs'> {
  /**
   * The layer directories below (bottom first): implicit parent directories take their metadata.
   * A function when the chain below is still being written: it is called once the whole tar is
   * applied. The worker waits for it before it finishes the directories' metadata when the
   * entries need the chain (implicit parents, whiteouts); otherwise the worker ends first, and
   * only a root with no entry of its own waits, here, for the chain's root metadata.
   */
  lowerDirs?: string[] | (() => Promise<string[]>);
  /**
   * What the layer must be (its blob's size and digest, its DiffID), checked in that order once
   * it is applied; a mismatch fails the call, naming `what`. With a DiffID to check, gzip's own
   * CRC-32 is not computed: the sha256 covers every byte it would (lib/tar/gunzip-unchecked.ts).
   */
  expect?: ExpectedLayer;
}

export interface ExpectedLayer {
  /** how the errors name the layer, e.g. `layer 2 (sha256:…)` */
  what: string;
  size?: number;
  digest?: string;
  diffId?: string;
}

function checkExpected(r: ApplyResult, e: ExpectedLayer): void {
  if (e.size !== undefined && e.size !== r.size) throw new SizeMismatchError(e.what, e.size, r.size);
  if (e.digest && e.digest !== r.digest) throw new DigestMismatchError(`${e.what}: blob digest`, e.digest, r.digest);
  if (e.diffId && e.diffId !== r.diffId) throw new DigestMismatchError(`${e.what}: DiffID (rootfs.diff_ids)`, e.diffId, r.diffId);
}

export function isFileRange(x: unknown): x is FileRange {
  const r = x as FileRange | null;
  return typeof r === 'object' && r !== null && typeof r.path === 'string' && Number.isSafeInteger(r.start) && Number.isSafeInteger(r.length) && !('pipe' in r);
}

/**
 * Applies a layer tarball (plain, gzip or zstd, told by its bytes) into `target`, an existing empty
 * directory: hashing the bytes as received (digest) and uncompressed (DiffID) and optionally
 * keeping them as the blob (`opts.blobPath`, created here, removed again on failure), all in one
 * pass in a worker thread. On any error or abort it rejects once the worker has stopped, having
 * written nothing outside `target`; removing `target` is the caller's business.
 */
export async function applyLayer(input: Readable | string | FileRange, target: string, opts: ApplyLayerOptions): Promise<ApplyResult> {
  const { beforeLower, ...result } = await applyInWorker(input, target, opts);
  try {
    if (opts.expect) checkExpected(result, opts.expect);
    if (!beforeLower || typeof opts.lowerDirs !== 'function') return result;
    // the worker ended without the chain below (nothing of its entries needed it), so it held no memory
    // while the layers below were written; the layer is done, as always, only once they are
    const dirs = await opts.lowerDirs();
    if (!beforeLower.rootFromChain) return result;
    const warnings = [...(result.warnings ?? [])];
    setLayerRootFromChainSync(target, dirs, opts.whiteout, beforeLower.owners, opts.durable === true, (w) => warnings.push(w));
    // the worker's content index has the root as it was before
    if (opts.manifestPath) rewriteRootLineSync(target, opts.manifestPath);
    return { ...result, warnings };
  } catch (e) {
    if (opts.blobPath) await fs.promises.rm(opts.blobPath, { force: true });
    throw e;
  }
}

async function applyInWorker(input: Readable | string | FileRange, target: string, opts: ApplyLayerOptions): Promise<ApplyWorkerResult> {
  if (opts.signal?.aborted) throw new AbortedError('applying a layer');
  const lowerLater = typeof opts.lowerDirs === 'function' ? opts.lowerDirs : null;
  const data: ApplyWorkerData = {
    target,
    whiteout: opts.whiteout,
    blobPath: opts.blobPath,
    applyOwners: opts.applyOwners ?? process.getuid?.() === 0,
    limits: opts.limits ?? {},
    total: opts.total,
    durable: opts.durable,
    manifestPath: opts.manifestPath,
    lowerDirs: lowerLater ? undefined : (opts.lowerDirs as string[] | undefined),
    lowerLater: lowerLater !== null,
    diffIdChecked: opts.expect?.diffId !== undefined,
  };
  let worker: WorkerHandle<ApplyWorkerResult, LowerMessage> | undefined;
  // the chain below could not be had (its import failed): that error ends this apply too
  let lowerError: unknown;
  const sendLower = (w: RunningWorker<LowerMessage>) => {
    lowerLater!().then(
      (dirs) => w.post({ type: 'lower', dirs }),
      (e) => {
        lowerError ??= e;
        void w.terminate();
      },
    );
  };
  const run = (d: ApplyWorkerData, transferList?: MessagePort[]) => {
    worker = startWorker(APPLY_WORKER, d, {
      signal: opts.signal,
      transferList,
      onMessage: (m, w) => {
        if (m.type === 'lower-wanted') {
          if (lowerLater) sendLower(w);
        } else opts.onProgress?.({ bytes: m.bytes, total: m.total, entries: m.entries });
      },
    });
    return worker.result;
  };

  // listen at once: an input that fails while the blob is being created must not go unhandled
  let earlyError: unknown;
  const onEarlyError = (e: unknown) => (earlyError ??= e);
  if (isStream(input)) input.on('error', onEarlyError);

  let blobCreated = false;
  try {
    if (opts.blobPath) {
      // made here, new (O_EXCL); written later without O_TRUNC (see lib/tar/apply.worker.ts)
      await (await fs.promises.open(opts.blobPath, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL, 0o644)).close();
      blobCreated = true;
    }
    if (typeof input === 'string') return await run({ ...data, path: input });
    if (isFileRange(input)) return await run({ ...data, path: input.path, start: input.start, length: input.length, total: data.total ?? input.length });
    if (earlyError !== undefined) throw earlyError;
    const digest = verifiedDigestOf(input);
    if (digest === undefined) return await applyStream(input, data, run, null);
    // a stream that checks its own digest: this thread writes the blob, the worker neither hashes the bytes again nor writes them
    return await applyStream(input, { ...data, blobPath: undefined, digest }, run, { blobPath: opts.blobPath, durable: opts.durable === true, signal: opts.signal });
  } catch (e) {
    await worker?.terminate(); // nothing may write once this call has returned
    if (blobCreated) await fs.promises.rm(opts.blobPath!, { force: true });
    throw earlyError ?? lowerError ?? e;
  } finally {
    if (isStream(input)) input.off('error', onEarlyError);
  }
}

function isStream(input: Readable | string | FileRange): input is Readable {
  return typeof input !== 'string' && !isFileRange(input);
}

/** bytes a stream input may have in flight to the worker: four chunks keep it busy (see STREAM_CHUNK) */
const STREAM_WINDOW = 4 * STREAM_CHUNK;

/** What this thread does for a stream that checks its own digest: it keeps the blob, and has the stream's word on a failure. */
interface VerifiedInput {
  blobPath: string | undefined;
  durable: boolean;
  signal: AbortSignal | undefined;
}

async function applyStream(input: Readable, data: ApplyWorkerData, run: (d: ApplyWorkerData, t: MessagePort[]) => Promise<ApplyWorkerResult>, verified: VerifiedInput | null): Promise<ApplyWorkerResult> {
  const { port1, port2 } = new MessageChannel();
  const sender = ChunkSender.over(port1, STREAM_WINDOW, STREAM_CHUNK);
  // made empty by applyLayer; not truncated again (see lib/tar/apply.worker.ts: on ext4 that costs a flush at close)
  const blob = verified?.blobPath ? await fs.promises.open(verified.blobPath, fs.constants.O_WRONLY) : null;
  const mode = { drain: false };
  let inputError: unknown;
  const pumping = pump(input, sender, blob, mode)
    .then(async () => {
      if (blob !== null && verified!.durable) await blob.sync();
    })
    .catch((e) => {
      inputError = e;
      sender.fail(`reading the input failed: ${(e as Error)?.message ?? String(e)}`);
    });
  try {
    const r = await run({ ...data, port: port2 }, [port2]);
    await pumping; // the blob written (the worker had the end, so the stream verified)
    if (inputError !== undefined) throw inputError;
    return r;
  } catch (e) {
    // The worker failed first (a flipped byte is a corrupt gzip stream before it is a wrong
    // digest): the stream is read to its end, without sending it on, so that its own check has
    // the last word. It is bounded by the descriptor's size, and a wrong digest is the root cause.
    if (verified !== null && inputError === undefined && !verified.signal?.aborted) {
      mode.drain = true;
      sender.stop();
      await pumping;
    }
    // the input's own error (a digest or size mismatch, a read error) says more than the worker's echo of it
    throw inputError ?? e;
  } finally {
    sender.stop();
    port1.close();
    input.destroy();
    await blob?.close();
  }
}

/**
 * bytes of the input gathered before each write of the blob: with one write in flight, twice
 * this is held per layer (512 KiB against 1 MiB: 4-10 MiB less peak RSS in a pull, no slower)
 */
const BLOB_WRITE = 512 << 10;

/**
 * Sends the input down the chunk channel, reading on only while the window has room, and writes
 * it to `blob` when given (one write in flight, on the thread pool, while the next BLOB_WRITE bytes
 * come in). Once the sender is stopped it returns, or with `mode.drain` reads the rest and drops it.
 * A handed-over input's chunks are released once written and sent (lib/tar/handed-over.ts).
 */
async function pump(input: Readable, sender: ChunkSender, blob: fs.promises.FileHandle | null, mode: { drain: boolean }): Promise<void> {
  let gathered: Buffer[] = [];
  let bytes = 0;
  let writing: Promise<void> | null = null;
  let written: Buffer[] = [];
  const write = async () => {
    if (writing !== null) await writing;
    writing = null;
    // written, and sent on (each chunk's send was awaited before the next); asked each time, as a stream may be marked once its source is known
    if (isHandedOver(input)) releaseChunks(written);
    written = gathered;
    if (bytes === 0) return;
    const w = writeAllv(blob!, gathered, bytes);
    w.catch(() => undefined); // surfaces at the next await of it
    writing = w;
    gathered = [];
    bytes = 0;
  };
  const ended = await eachChunk(input, async (c) => {
    if (sender.stopped) return mode.drain;
    const b: Buffer = typeof c === 'string' ? Buffer.from(c) : (c as Buffer);
    if (blob !== null) {
      gathered.push(b);
      bytes += b.length;
      if (bytes >= BLOB_WRITE) await write();
    }
    const waited = sender.write(b);
    if (waited) await waited;
    return true;
  });
  if (!ended || sender.stopped) return;
  if (blob !== null) {
    await write();
    await writing;
  }
  await sender.end();
}

/**
 * Calls `fn` with each chunk of `input` as it was pushed, the stream paused while `fn`'s promise
 * is pending; true once the input ended, false when `fn` said to stop (false). A for-await over a
 * byte stream would read whatever is buffered as one new buffer, a copy of every byte (about
 * 0.75 s of a 1 GiB pull's main thread) and garbage in the size of the stream's high-water mark.
 */
function eachChunk(input: Readable, fn: (c: Buffer | string) => Promise<boolean>): Promise<boolean> {
  return new Promise<boolean>((resolve, reject) => {
    let settled = false;
    const settle = (e: unknown, v: boolean) => {
      if (settled) return;
      settled = true;
      input.off('data', onData);
      cleanup();
      if (e) reject(e);
      else resolve(v);
    };
    // the end may be emitted while the last chunk's `fn` is still pending: it is settled after it
    let pending: Promise<unknown> = Promise.resolve();
    const onData = (c: Buffer | string) => {
      input.pause();
      pending = fn(c).then(
        (more) => {
          if (!more) settle(null, false);
          else if (!settled) input.resume();
        },
        (e) => settle(e, false),
      );
    };
    const cleanup = finished(input, (e) => (e ? settle(e, false) : void pending.then(() => settle(null, true))));
    input.on('data', onData);
  });
}

async function writeAllv(fh: fs.promises.FileHandle, bufs: Buffer[], total: number): Promise<void> {
  let { bytesWritten } = await fh.writev(bufs);
  if (bytesWritten === total) return;
  const rest = Buffer.concat(bufs).subarray(bytesWritten);
  for (let o = 0; o < rest.length; ) o += (await fh.write(rest, o)).bytesWritten;
}
