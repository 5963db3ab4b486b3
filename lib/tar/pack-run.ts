/**
 * Packing inside a worker (the pack worker, or the commit worker): produces the tar
 * synchronously, and in one pass hashes it (DiffID), compresses it, hashes the compressed bytes
 * (digest) and writes them to a file or streams them to the main thread. Nothing written is ever
 * read back.
 */
import { parentPort } from 'worker_threads';
import { pipeline } from 'stream';
import type { Transform, Writable } from 'stream';
import { Sha256Counter } from '../digest';
import type { Compression } from '../types';
import type { PackResult } from './types';
import { createCompressor } from './compression';
import { createTarProducer, PackTarOptions, TarProducer, WirePackSource } from './pack';
import { CHUNK_SIZE } from '../workers/chunk-channel';
import { FileSink, HashingSink, ParentSink } from './sink';

export interface PackWorkerData {
  source: WirePackSource;
  opts: PackTarOptions & { compression: Compression };
  /** write here; absent: stream the bytes to the parent */
  dest?: string;
}

// a type, not an interface: a caller's post of any record takes it
export type PackProgressMessage = {
  type: 'progress';
  bytes: number;
  entries: number;
};

const PROGRESS_INTERVAL_MS = 100;
/** tar buffers in flight: one being filled while the other is compressed or written */
const POOL_SIZE = 2;

/** Free tar buffers; taking one waits until a write has finished with it. */
class BufferPool {
  private readonly free: Buffer[] = [];
  private waiter: ((b: Buffer) => void) | null = null;
  private failed: Error | null = null;
  private onFail: ((e: Error) => void) | null = null;
  constructor(n: number) {
    for (let i = 0; i < n; i++) this.free.push(Buffer.allocUnsafeSlow(CHUNK_SIZE));
  }
  take(): Buffer | Promise<Buffer> {
    if (this.failed) throw this.failed;
    const b = this.free.pop();
    if (b) return b;
    return new Promise((resolve, reject) => {
      this.waiter = resolve;
      this.onFail = reject;
    });
  }
  give(b: Buffer): void {
    const w = this.waiter;
    this.waiter = this.onFail = null;
    if (w) w(b);
    else this.free.push(b);
  }
  fail(e: Error): void {
    this.failed ??= e;
    const f = this.onFail;
    this.waiter = this.onFail = null;
    f?.(e);
  }
}

/** Packs `data.source` (see PackWorkerData). */
export function pack(data: PackWorkerData, post: (m: PackProgressMessage) => void): Promise<PackResult> {
  return packWith(createTarProducer(data.source, data.opts), data, post);
}

/** Drives `producer` to `data.dest` (a file) or to the parent thread, compressed as asked. */
export async function packWith(producer: TarProducer, data: Pick<PackWorkerData, 'opts' | 'dest'>, post: (m: PackProgressMessage) => void): Promise<PackResult> {
  const { compression } = data.opts;
  const compressor = compression === 'none' ? null : createCompressor(compression);
  // uncompressed, the output is the tar: its digest is the DiffID, no second hash
  const sink: HashingSink = data.dest !== undefined ? new FileSink(data.dest, !!compressor) : new ParentSink(parentPort!, !!compressor);
  const pool = new BufferPool(POOL_SIZE);
  const done = new Promise<void>((resolve, reject) => {
    const streams: Array<Transform | Writable> = compressor ? [compressor, sink] : [sink];
    const finish = (e?: Error | null) => {
      if (e) {
        pool.fail(e);
        reject(e);
      } else resolve();
    };
    if (streams.length === 1) {
      sink.on('error', finish);
      sink.on('finish', () => finish());
    } else pipeline(compressor!, sink, finish);
  });
  done.catch(() => {}); // observed below; the pool rethrows it to the loop meanwhile
  const input: Writable = compressor ?? sink;
  const diff = new Sha256Counter();
  let lastProgress = Date.now();
  try {
    for (;;) {
      const taken = pool.take();
      const buf = taken instanceof Promise ? await taken : taken;
      const n = producer.fill(buf);
      if (n > 0) {
        const chunk = buf.subarray(0, n);
        diff.update(chunk);
        input.write(chunk, () => pool.give(buf));
      }
      const now = Date.now();
      if (now - lastProgress >= PROGRESS_INTERVAL_MS) {
        lastProgress = now;
        post({ type: 'progress', bytes: producer.bytes, entries: producer.entries } satisfies PackProgressMessage);
      }
      if (n < buf.length) break;
    }
  } catch (e) {
    (compressor ?? sink).destroy();
    sink.destroy();
    throw e;
  }
  input.end();
  await done;
  const diffId = diff.digest();
  return {
    diffId,
    digest: sink.hash ? sink.hash.digest() : diffId,
    size: sink.bytes,
    uncompressedSize: diff.bytes,
    compression,
    entries: producer.entries,
  };
}

