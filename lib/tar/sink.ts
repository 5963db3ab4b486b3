/**
 * Where the pack worker's output bytes go: a file (synchronous writes, this is a worker), or
 * the main thread (1 MiB transferred buffers, paced by credits the main thread sends back as
 * its consumer reads, so memory stays flat however slow the consumer is).
 */
import * as fs from 'fs';
import { Writable } from 'stream';
import type { MessagePort } from 'worker_threads';
import { Sha256Counter } from '../digest';

export const CHUNK_SIZE = 1 << 20;
/** 1 MiB chunks the worker may have in flight to the main thread before it waits for credit */
export const INITIAL_CREDITS = 4;

/** main thread -> worker: `n` more chunks may be sent */
export interface CreditMessage {
  type: 'credit';
  n: number;
}
/** worker -> main thread: output bytes, the ArrayBuffer transferred */
export interface ChunkMessage {
  type: 'chunk';
  data: ArrayBuffer;
  length: number;
}

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

export class ParentSink extends HashingSink {
  private batch = Buffer.allocUnsafeSlow(CHUNK_SIZE);
  private used = 0;
  private credits = INITIAL_CREDITS;
  private waiting: (() => void) | null = null;
  private readonly onMessage = (m: CreditMessage) => {
    if (m?.type !== 'credit') return;
    this.credits += m.n;
    const w = this.waiting;
    this.waiting = null;
    w?.();
  };

  constructor(private readonly port: MessagePort, hashing: boolean) {
    super(hashing);
    port.on('message', this.onMessage);
  }

  protected put(chunk: Buffer, cb: (e?: Error | null) => void): void {
    let off = 0;
    const step = (): void => {
      while (off < chunk.length) {
        const n = chunk.copy(this.batch, this.used, off);
        this.used += n;
        off += n;
        if (this.used === this.batch.length) {
          if (this.credits === 0) {
            this.waiting = step;
            return;
          }
          this.send();
        }
      }
      cb();
    };
    step();
  }

  _final(cb: (e?: Error | null) => void): void {
    const last = (): void => {
      if (this.used > 0) {
        if (this.credits === 0) {
          this.waiting = last;
          return;
        }
        this.send();
      }
      this.detach();
      cb();
    };
    last();
  }

  _destroy(e: Error | null, cb: (e?: Error | null) => void): void {
    this.detach();
    cb(e);
  }

  private send(): void {
    this.credits--;
    const data = this.batch.buffer as ArrayBuffer;
    const msg: ChunkMessage = { type: 'chunk', data, length: this.used };
    this.port.postMessage(msg, [data]);
    this.batch = Buffer.allocUnsafeSlow(CHUNK_SIZE);
    this.used = 0;
  }

  /** A listener on the port would keep the worker alive after its work is done. */
  private detach(): void {
    this.port.off('message', this.onMessage);
  }
}
