/**
 * How the apply worker reads a file (or a range of it, an archive's member): synchronous reads on
 * the worker's own thread, into a few reused buffers. bench/hashing.ts measures this same reader.
 */
import * as fs from 'fs';

/** 1 MiB a read: 256 KiB to 2 MiB hash at the same speed; fewer pieces mean fewer blob writes and gunzip calls */
export const READ_CHUNK = 1 << 20;
/** buffers the file is read into: one being decompressed, one queued behind it, one being read */
const READ_BUFFERS = 4;

/**
 * A file (or `length` bytes of it from `start`) in READ_CHUNK pieces, read into a few buffers
 * that are reused: a piece's buffer is read into again only after `release(piece)` (the
 * decompressor is done with it). A fresh buffer per read would leave gigabytes of garbage for
 * the collector to catch up with, which shows in the peak RSS.
 *
 * The reads are synchronous, for the worker thread only (they block it, not the process). A
 * read on the libuv pool copied the bytes on another core, and this thread then hashed them out
 * of that core's cache: 24% more CPU for the same file, and slower once the other core is busy
 * (issue 17). A file not in the page cache still has the disk reading ahead: the kernel reads
 * ahead of sequential reads (read_ahead_kb) while this thread hashes.
 */
export class FileChunks {
  private readonly free: Buffer[] = [];
  private made = 0;
  private wake: (() => void) | null = null;

  constructor(private readonly path: string, private readonly start = 0, private readonly length?: number) {}

  release = (piece: Buffer): void => {
    this.free.push(Buffer.from(piece.buffer, piece.byteOffset - (piece.byteOffset % READ_CHUNK), READ_CHUNK));
    const w = this.wake;
    this.wake = null;
    w?.();
  };

  private async buffer(): Promise<Buffer> {
    for (;;) {
      const b = this.free.pop();
      if (b) return b;
      if (this.made < READ_BUFFERS) {
        this.made++;
        return Buffer.allocUnsafeSlow(READ_CHUNK);
      }
      await new Promise<void>((r) => (this.wake = r));
    }
  }

  private short(pos: number): Error {
    return new Error(`${this.path} ended after ${pos - this.start} of the ${this.length} bytes at offset ${this.start} (was it changed while being read?)`);
  }

  async *chunks(): AsyncGenerator<Buffer> {
    const fd = fs.openSync(this.path, 'r');
    try {
      const end = this.length === undefined ? Infinity : this.start + this.length;
      for (let pos = this.start; pos < end; ) {
        const b = await this.buffer();
        const want = Math.min(READ_CHUNK, end - pos);
        let n = 0;
        while (n < want) {
          const r = fs.readSync(fd, b, n, want - n, pos + n);
          if (r === 0) break;
          n += r;
        }
        if (n === 0) {
          this.release(b);
          if (end !== Infinity) throw this.short(pos);
          return;
        }
        pos += n;
        if (n < want && end !== Infinity) throw this.short(pos);
        yield b.subarray(0, n);
      }
    } finally {
      fs.closeSync(fd);
    }
  }
}
