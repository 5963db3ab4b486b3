/**
 * A layer's blob as it is kept: written once, front to back, and not read again until an export
 * or a push. So it is written with O_DIRECT where it can be, and takes no page cache.
 *
 * Why: a buffered write copies every byte into a new page-cache page. Measured on these virtual
 * machines, whose host maps a free page on its first touch, a buffered 1 GiB write cost 2.5-4.7 s
 * of system time; the same write with O_DIRECT cost 0.25-0.5 s, the disk doing the rest. A pull
 * or an import is CPU-bound on two cores, and its blob writes were a third of that cost.
 *
 * But a direct write waits for the disk, and a buffered one does not: on a slow disk a pull
 * would wait for it. So the disk sets the mix. The bytes are copied into 256 KiB buffers aligned
 * for O_DIRECT (from the addon), three per file; a full one is written direct when no direct write
 * is in flight, else buffered, both on the libuv pool. A fast disk takes every piece direct; a
 * slow one gets one piece direct at a time and the rest buffered, as before. The last partial
 * block is written buffered (through a second descriptor of the same file). Without the addon, on
 * a filesystem that refuses O_DIRECT (some FUSE), or from the first direct write it refuses, every
 * byte goes buffered.
 */
import * as fs from 'fs';
import { alignedBuffer, DIRECT_ALIGN } from '../native';

/** bytes of each write */
export const BLOB_PIECE = 256 << 10;
/** buffers per file: one filling, up to two being written (one direct, one buffered) */
const BUFFERS = 3;

/** aligned buffers given back by closed files, for the next ones (a pull writes several blobs at once) */
const spare: Buffer[] = [];
const SPARE_MAX = 8;
/** the buffers that came from the addon's alignedBuffer (Node's own are only 16-byte aligned) */
const alignedOnes = new WeakSet<Buffer>();

function takeBuffer(): Buffer {
  const s = spare.pop();
  if (s) return s;
  const b = alignedBuffer(BLOB_PIECE);
  if (b === null) return Buffer.allocUnsafeSlow(BLOB_PIECE);
  alignedOnes.add(b);
  return b;
}

/** Errors that say "not with O_DIRECT here", as opposed to a real failure. */
function refusesDirect(e: unknown): boolean {
  const code = (e as NodeJS.ErrnoException)?.code;
  return code === 'EINVAL' || code === 'EOPNOTSUPP' || code === 'ENOTSUP';
}

/** how many of a file's pieces went each way (for tests and measurements) */
export interface BlobFileCounts {
  direct: number;
  buffered: number;
}

export class BlobFile {
  private fill = 0;
  /** file offset of the current buffer's first byte */
  private at = 0;
  private readonly free: Buffer[];
  private readonly inFlight = new Set<Promise<void>>();
  private directBusy = false;
  private failed: unknown = undefined;
  private closed = false;
  readonly counts: BlobFileCounts = { direct: 0, buffered: 0 };

  private constructor(
    private direct: fs.promises.FileHandle | null,
    private readonly plain: fs.promises.FileHandle,
    private cur: Buffer,
    free: Buffer[],
  ) {
    this.free = free;
  }

  /**
   * Opens an existing empty file for writing (it is not truncated: on ext4 a truncation to zero
   * costs a flush at close). `direct: false` writes through the page cache only.
   */
  static async open(file: string, opts: { direct?: boolean } = {}): Promise<BlobFile> {
    const plain = await fs.promises.open(file, fs.constants.O_WRONLY);
    const bufs = Array.from({ length: BUFFERS }, takeBuffer);
    let direct: fs.promises.FileHandle | null = null;
    if (bufs.every((b) => alignedOnes.has(b)) && opts.direct !== false && fs.constants.O_DIRECT !== undefined) {
      try {
        direct = await fs.promises.open(file, fs.constants.O_WRONLY | fs.constants.O_DIRECT);
      } catch (e) {
        if (!refusesDirect(e)) {
          await plain.close();
          throw e;
        }
      }
    }
    return new BlobFile(direct, plain, bufs[0], bufs.slice(1));
  }

  /** Whether whole pieces may still go direct (a refusal at the first direct write turns it off). */
  get isDirect(): boolean {
    return this.direct !== null;
  }

  /**
   * Appends `chunk` (copied: the caller may reuse or release it at once). Returns a promise only
   * when the caller must wait: every buffer full or being written.
   */
  write(chunk: Buffer): Promise<void> | undefined {
    for (let o = 0; o < chunk.length; ) {
      if (this.failed !== undefined) return Promise.reject(this.failed);
      const n = chunk.copy(this.cur, this.fill, o);
      this.fill += n;
      o += n;
      if (this.fill === BLOB_PIECE) {
        this.startWrite();
        if (this.free.length === 0) return this.writeAfterRoom(chunk.subarray(o));
        this.cur = this.free.pop()!;
      }
    }
    return undefined;
  }

  private async writeAfterRoom(rest: Buffer): Promise<void> {
    while (this.free.length === 0 && this.inFlight.size > 0) await Promise.race(this.inFlight);
    if (this.failed !== undefined) throw this.failed;
    this.cur = this.free.pop()!;
    const w = this.write(rest);
    if (w) await w;
  }

  /** Writes the full current buffer in the background; the buffer is free again once written. */
  private startWrite(): void {
    const buf = this.cur;
    const at = this.at;
    this.fill = 0;
    this.at += BLOB_PIECE;
    const direct = this.direct !== null && !this.directBusy;
    if (direct) this.directBusy = true;
    const w: Promise<void> = this.writeAt(buf, BLOB_PIECE, at, direct)
      .catch((e) => {
        this.failed ??= e;
      })
      .finally(() => {
        if (direct) this.directBusy = false;
        this.inFlight.delete(w);
        this.free.push(buf);
      });
    this.inFlight.add(w);
  }

  /** `n` bytes of `buf` at `at`: the whole blocks with O_DIRECT when `direct`, the rest buffered. */
  private async writeAt(buf: Buffer, n: number, at: number, direct: boolean): Promise<void> {
    let done = 0;
    if (direct && this.direct !== null) {
      const whole = n - (n % DIRECT_ALIGN);
      try {
        while (done < whole) done += (await this.direct.write(buf, done, whole - done, at + done)).bytesWritten;
        if (whole > 0) this.counts.direct++;
      } catch (e) {
        if (!refusesDirect(e) || this.direct === null) throw e;
        // the filesystem opened it but will not write it so: buffered from here on
        const d = this.direct;
        this.direct = null;
        await d.close();
      }
    }
    if (done < n) this.counts.buffered++;
    while (done < n) done += (await this.plain.write(buf, done, n - done, at + done)).bytesWritten;
  }

  /** Writes what is left; every byte given is in the file once it resolves. */
  async end(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.race(this.inFlight);
    if (this.failed !== undefined) throw this.failed;
    if (this.fill > 0) {
      const n = this.fill;
      this.fill = 0;
      await this.writeAt(this.cur, n, this.at, true);
      this.at += n;
    }
  }

  /** fsync (O_DIRECT does not make the file's metadata durable). */
  async sync(): Promise<void> {
    await this.plain.sync();
  }

  /** Closes the file (writes in flight are waited for, their errors dropped: the caller is failing or done). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    while (this.inFlight.size > 0) await Promise.race(this.inFlight);
    await Promise.all([this.direct?.close(), this.plain.close()]);
    for (const b of [this.cur, ...this.free]) if (alignedOnes.has(b) && spare.length < SPARE_MAX && !spare.includes(b)) spare.push(b);
  }
}
