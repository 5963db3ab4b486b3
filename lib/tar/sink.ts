/**
 * Where the pack worker's output bytes go: a file (synchronous writes, this is a worker), or
 * the main thread (the windowed chunk channel of lib/workers: 1 MiB transferred buffers, paced
 * by credits the main thread sends back as its consumer reads, so memory stays flat however
 * slow the consumer is).
 */
import * as fs from 'fs';
import { Writable } from 'stream';
import type { MessagePort } from 'worker_threads';
import { CHUNK_SIZE, ChunkSender } from '../workers/chunk-channel';
import { Sha256Counter } from '../digest';

/** A Writable that counts what passes through it, and hashes it when asked (compressed output). */
export abstract class HashingSink extends Writable {
  readonly hash: Sha256Counter | null;
  bytes = 0;
  constructor(hashing: boolean) {
    super({ highWaterMark: CHUNK_SIZE });
    this.hash = hashing ? new Sha256Counter() : null;
  }
  _write(chunk: Buffer, _enc: BufferEncoding, cb: (e?: Error | null) => void): void {
    this.hash?.update(chunk);
    this.bytes += chunk.length;
    this.put(chunk, cb);
  }
  protected abstract put(chunk: Buffer, cb: (e?: Error | null) => void): void;
}

export class FileSink extends HashingSink {
  private fd: number | null;
  constructor(path: string, hashing: boolean) {
    super(hashing);
    this.fd = fs.openSync(path, 'w', 0o644);
  }
  protected put(chunk: Buffer, cb: (e?: Error | null) => void): void {
    try {
      let off = 0;
      while (off < chunk.length) off += fs.writeSync(this.fd!, chunk, off, chunk.length - off);
      cb();
    } catch (e) {
      cb(e as Error);
    }
  }
  _final(cb: (e?: Error | null) => void): void {
    this.closeFd();
    cb();
  }
  _destroy(e: Error | null, cb: (e?: Error | null) => void): void {
    this.closeFd();
    cb(e);
  }
  private closeFd(): void {
    if (this.fd !== null) fs.closeSync(this.fd);
    this.fd = null;
  }
}

/** The pack worker's output to its parent, over the chunk channel (the parent's packStream receives it). */
export class ParentSink extends HashingSink {
  private readonly sender: ChunkSender;

  constructor(port: MessagePort, hashing: boolean) {
    super(hashing);
    this.sender = ChunkSender.over(port);
  }

  protected put(chunk: Buffer, cb: (e?: Error | null) => void): void {
    const waited = this.sender.write(chunk);
    if (waited) waited.then(() => cb(), cb);
    else cb();
  }

  _final(cb: (e?: Error | null) => void): void {
    // no end message: the worker's `done`, which follows on the same port, ends the stream
    const last = (): void => {
      this.sender.detach();
      cb();
    };
    const waited = this.sender.flush();
    if (waited) waited.then(last, cb);
    else last();
  }

  _destroy(e: Error | null, cb: (e?: Error | null) => void): void {
    this.sender.stop();
    cb(e);
  }
}
