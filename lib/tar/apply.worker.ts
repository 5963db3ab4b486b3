/**
 * Worker thread: reads a layer (from a file, or chunks the main thread transfers), hashes it as
 * received (digest; unless the sender checks it), keeps it as the blob when asked, decompresses it (told by its magic bytes),
 * hashes the tar (DiffID), parses it and writes every entry with synchronous fs calls. A file is
 * read here too, synchronously (lib/tar/file-chunks.ts); gunzip (libuv threadpool) overlaps with
 * the work done here.
 */
import * as fs from 'fs';
import { Sha256Counter } from '../digest';
import { BadTarError, InvalidArgumentError, LayerfsError, LimitExceededError, UnsupportedError } from '../errors';
import { defineWorker } from '../workers/define';
import type { WorkerContext } from '../workers/define';
import { receiveChunks, returnChunk } from '../workers/chunk-channel';
import { decompressChunks, detectCompression, unsupportedCompression } from './compression';
import { LayerApplier } from './apply-entries';
import { FileChunks } from './file-chunks';
import { TarReader } from './reader';
import { UnionView } from '../view';
import { writeContentIndexSync } from '../store/content-index';
import { DEFAULT_TAR_LIMITS, TarLimits } from './types';
import type { Compression } from '../types';
import { APPLY_WORKER, STREAM_CHUNK } from './apply.protocol';
import type { ApplyWorkerResult, LowerMessage, LowerWantedMessage, ProgressMessage } from './apply.protocol';
import { lazy } from '../lazy';

const v8Module = lazy<typeof import('v8')>(() => require('v8'));
const vmModule = lazy<typeof import('vm')>(() => require('vm'));

const PROGRESS_BYTES = 64 << 20;
const PROGRESS_MS = 200;
/** decompressed bytes between two minor collections (see collectChunks) */
const COLLECT_EVERY = 8 << 20;

/**
 * Every decompressed chunk (a new 256 KiB buffer from gunzip or zstd) is garbage once applied,
 * but V8 sees only a small object per chunk and collects on external memory pressure, about
 * every 32 MiB of them: per layer in flight, that is the largest part of an import's peak RSS
 * above the threads' own heaps. A minor collection (a scavenge of this worker's small young
 * heap, well under a millisecond) every COLLECT_EVERY bytes frees them sooner. Node exposes gc()
 * only behind a V8 flag, set here (it changes nothing else); without it nothing is collected early.
 */
function minorCollector(): () => void {
  try {
    v8Module().setFlagsFromString('--expose-gc');
    const gc = vmModule().runInNewContext('gc') as ((o: { type: 'minor' }) => void) | undefined;
    if (typeof gc === 'function') return () => gc({ type: 'minor' });
  } catch {
    // a Node that refuses the flag: collections come when V8 wants them
  }
  return () => undefined;
}

/** The chain below, when the main thread sends it (the message comes once, after a LowerWantedMessage). */
async function lowerFromParent(ctx: WorkerContext<ProgressMessage | LowerWantedMessage, LowerMessage>): Promise<string[]> {
  for await (const m of ctx.received((m) => m.type === 'lower')) if (m.type === 'lower') return m.dirs;
  throw new Error('the parent sent no chain below');
}

/** The first bytes (enough for every magic number), and all the chunks again from the start. */
async function sniff(source: AsyncIterable<Buffer>): Promise<{ head: Buffer; chunks: AsyncGenerator<Buffer> }> {
  const it = source[Symbol.asyncIterator]();
  const first: Buffer[] = [];
  let n = 0;
  let done = false;
  while (n < 8) {
    const r = await it.next();
    if (r.done) {
      done = true;
      break;
    }
    first.push(r.value);
    n += r.value.length;
  }
  async function* chunks(): AsyncGenerator<Buffer> {
    try {
      yield* first;
      while (!done) {
        const r = await it.next();
        if (r.done) done = true;
        else yield r.value;
      }
    } finally {
      if (!done) await it.return?.();
    }
  }
  return { head: first.length === 1 ? first[0] : Buffer.concat(first), chunks: chunks() };
}

function writeAll(fd: number, b: Buffer): void {
  for (let o = 0; o < b.length; ) o += fs.writeSync(fd, b, o);
}

/** The target must be a fresh empty directory: the safety checks trust that only this layer wrote into it. */
function checkTarget(target: string): void {
  const st = fs.lstatSync(target, { throwIfNoEntry: false });
  if (!st?.isDirectory()) throw new InvalidArgumentError(`the apply target ${target} is not a directory`);
  if (fs.readdirSync(target).length > 0) throw new InvalidArgumentError(`the apply target ${target} is not empty`);
}

defineWorker(APPLY_WORKER, async (data, ctx): Promise<ApplyWorkerResult> => {
  const limits: TarLimits = { ...DEFAULT_TAR_LIMITS, ...data.limits };
  checkTarget(data.target);
  const total = data.total ?? data.length ?? (data.path ? fs.statSync(data.path).size : undefined);
  const lower = data.lowerLater ? 'later' : data.lowerDirs?.length ? new UnionView(data.lowerDirs, data.whiteout) : null;
  // lowerDirs given (even empty): the layer's own chain, against which a whiteout may hide nothing
  const applier = new LayerApplier(data.target, data.whiteout, limits, data.applyOwners, data.durable, lower, data.lowerLater === true || data.lowerDirs !== undefined);
  // the caller made it, empty: no O_TRUNC, which on ext4 marks the file for a flush at close
  // (auto_da_alloc), so the close of a 1 GiB blob waited for its whole writeback
  const blob = data.blobPath ? fs.openSync(data.blobPath, fs.constants.O_WRONLY) : null;
  try {
    const reader = new TarReader(limits, (h) => applier.entry(h));
    // a digest the sender checks (the stream ends only once it verified) is not computed twice: the bytes are only counted
    const known = data.digest;
    const raw: Pick<Sha256Counter, 'update' | 'digest' | 'bytes'> = known === undefined ? new Sha256Counter() : { bytes: 0, update(b) { this.bytes += b.length; }, digest: () => known };
    let lastPost = { at: Date.now(), bytes: 0 };
    const progress = (force: boolean) => {
      const now = Date.now();
      // the first bytes are always reported, so a caller sees the apply start
      if (!force && lastPost.bytes > 0 && raw.bytes - lastPost.bytes < PROGRESS_BYTES && now - lastPost.at < PROGRESS_MS) return;
      lastPost = { at: now, bytes: raw.bytes };
      const m: ProgressMessage = { type: 'progress', bytes: raw.bytes, total, entries: reader.entries };
      ctx.post(m);
    };

    const file = data.path ? new FileChunks(data.path, data.start, data.length) : null;
    const { head, chunks } = await sniff(file ? file.chunks() : receiveChunks(data.port!));
    const foreign = unsupportedCompression(head);
    if (foreign) throw new UnsupportedError(`the layer is ${foreign}-compressed; layerfs reads plain, gzip and zstd tar streams`);
    const compression = detectCompression(head);
    // errors of the input itself (a read error, ENOSPC on the blob) are not the decompressor's
    const inputErrors = new WeakSet<object>();
    async function* received(): AsyncGenerator<Buffer> {
      try {
        for await (const c of chunks) {
          raw.update(c);
          if (blob !== null) writeAll(blob, c);
          progress(false);
          yield c;
        }
      } catch (e) {
        if (e !== null && typeof e === 'object') inputErrors.add(e);
        throw e;
      }
    }

    const tar = compression === 'none' ? null : new Sha256Counter();
    const collect = compression === 'none' ? null : minorCollector();
    let collectAt = COLLECT_EVERY;
    // each input buffer goes back to be filled again once the decompressor is done with it (the file's, or the sender's)
    const port = data.port;
    const release = file ? file.release : port ? (piece: Buffer) => returnChunk(port, piece, STREAM_CHUNK) : undefined;
    const it = decompressChunks(received(), compression, release, data.diffIdChecked === true)[Symbol.asyncIterator]();
    try {
      for (;;) {
        let r: IteratorResult<Buffer>;
        try {
          r = await it.next();
        } catch (e) {
          if (e instanceof LayerfsError || inputErrors.has(e as object)) throw e;
          const where = reader.currentEntry;
          throw new BadTarError(where, `the ${compression} stream is corrupt or truncated${where === null ? '' : ' inside this entry'}: ${(e as Error).message}`);
        }
        if (r.done) break;
        const chunk = r.value;
        if (tar !== null) {
          tar.update(chunk);
          if (tar.bytes > limits.ratioGraceBytes && tar.bytes - limits.ratioGraceBytes > raw.bytes * limits.maxCompressionRatio) {
            throw new LimitExceededError(reader.currentEntry, `decompression bomb: ${tar.bytes} bytes from ${raw.bytes} ${compression} bytes (over ${limits.maxCompressionRatio} times the input past the first ${limits.ratioGraceBytes} bytes)`);
          }
        }
        const out = tar === null ? raw.bytes : tar.bytes;
        if (out > limits.maxUncompressedBytes) {
          throw new LimitExceededError(reader.currentEntry, `the layer's tar is over ${limits.maxUncompressedBytes} bytes uncompressed, the limit set by ${limits.maxUncompressedSource ?? 'the maxUncompressedBytes limit'}`);
        }
        reader.push(chunk);
        if (collect !== null && out >= collectAt) {
          collectAt = out + COLLECT_EVERY;
          collect();
        }
      }
    } finally {
      await it.return?.(); // on an error: stop the decompressor and close the input
    }
    reader.end();
    // when nothing but (maybe) the root needs the chain below: end now, not holding this worker while the layers below are written
    const beforeLower = applier.waitingForLower ? applier.finishBeforeLower() : null;
    if (beforeLower === null) {
      if (applier.waitingForLower) {
        const dirs = lowerFromParent(ctx); // listening before asking
        ctx.post({ type: 'lower-wanted' });
        applier.setLower(await dirs.then((d) => (d.length ? new UnionView(d, data.whiteout) : null)));
      }
      applier.finish();
    }
    if (data.manifestPath) writeContentIndexSync(data.target, data.manifestPath, applier.digests);
    if (blob !== null && data.durable) fs.fsyncSync(blob);
    progress(true);
    const digest = raw.digest();
    return {
      diffId: tar === null ? digest : tar.digest(),
      digest,
      size: raw.bytes,
      uncompressedSize: tar === null ? raw.bytes : tar.bytes,
      compression: compression as Compression,
      entries: reader.entries,
      warnings: applier.warnings,
      ...(beforeLower ? { beforeLower } : {}),
    };
  } finally {
    applier.dispose();
    if (blob !== null) fs.closeSync(blob);
  }
});
