/**
 * A layer's blob as it is kept: written once, front to back, and not read again until an export
 * or a push. So it is written with O_DIRECT where it can be, and takes no page cache.
 *
 * Why: a buffered write copies every byte into a new page-cache page. Measured on these virtual
 * machines, whose host maps a free page on its first touch, a buffered 1 GiB write cost 2.5-4.7 s
 * of system time; the same write with O_DIRECT cost 0.25-0.5 s, the disk doing the rest. A pull
 * or an import is CPU-bound on two cores, and its blob writes were a third of that cost.
 *
 * The bytes are copied into 512 KiB buffers aligned for O_DIRECT (from the addon); a full one is
 * written on the libuv pool while the next fills, so one write is in flight. The last partial
 * block is written through a second, buffered descriptor of the same file. Without the addon, on
 * a filesystem that refuses O_DIRECT (tmpfs, some FUSE), or at the first write it refuses, every
 * byte goes through the buffered descriptor instead, the same way.
 */
import * as fs from 'fs';
import { alignedBuffer, DIRECT_ALIGN } from '../native';

/** bytes of each write: two per file are held (one filling, one being written) */
export const BLOB_PIECE = 512 << 10;

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

export class BlobFile {
  private fill = 0;
  /** file offset of the current buffer's first byte */
  private at = 0;
  private writing: Promise<void> | null = null;
  private failed: unknown = undefined;
  private closed = false;

  private constructor(
    private direct: fs.promises.FileHandle | null,
    private readonly plain: fs.promises.FileHandle,
    private cur: Buffer,
    private next: Buffer,
  ) {}

  /**
   * Opens an existing empty file for writing (it is not truncated: on ext4 a truncation to zero
   * costs a flush at close). `direct: false` writes through the page cache only.
   */
  static async open(file: string, opts: { direct?: boolean } = {}): Promise<BlobFile> {
    const plain = await fs.promises.open(file, fs.constants.O_WRONLY);
    const a = takeBuffer();
    const b = takeBuffer();
    let direct: fs.promises.FileHandle | null = null;
    if (alignedOnes.has(a) && alignedOnes.has(b) && opts.direct !== false && fs.constants.O_DIRECT !== undefined) {
      try {
        direct = await fs.promises.open(file, fs.constants.O_WRONLY | fs.constants.O_DIRECT);
      } catch (e) {
        if (!refusesDirect(e)) {
          await plain.close();
          throw e;
        }
      }
    }
    return new BlobFile(direct, plain, a, b);
  }

  /** Whether the writes bypass the page cache (so far: a refusal at the first write turns it off). */
  get isDirect(): boolean {
    return this.direct !== null;
  }

  /**
   * Appends `chunk` (copied: the caller may reuse or release it at once). Returns a promise only
   * when the caller must wait: a buffer filled while the one before was still being written.
   */
  write(chunk: Buffer): Promise<void> | undefined {
    let waited: Promise<void> | undefined;
    for (let o = 0; o < chunk.length; ) {
      const n = chunk.copy(this.cur, this.fill, o);
      this.fill += n;
      o += n;
      if (this.fill === BLOB_PIECE) {
        if (this.writing !== null || this.failed !== undefined) {
          // the rest of the chunk waits for a free buffer
          waited = this.flushAfter(chunk.subarray(o));
          return waited;
        }
        this.startWrite();
      }
    }
    return undefined;
  }

  private async flushAfter(rest: Buffer): Promise<void> {
    await this.settle();
    this.startWrite();
    const w = this.write(rest);
    if (w) await w;
  }

  /** Writes the full current buffer in the background and swaps to the other one. */
  private startWrite(): void {
    const buf = this.cur;
    const at = this.at;
    this.cur = this.next;
    this.next = buf;
    this.fill = 0;
    this.at += BLOB_PIECE;
    const w = this.writeAt(buf, BLOB_PIECE, at).then(
      () => {
        if (this.writing === w) this.writing = null;
      },
      (e) => {
        if (this.writing === w) this.writing = null;
        this.failed ??= e;
      },
    );
    this.writing = w;
  }

  /** Waits for the write in flight; throws its error, or an earlier one. */
  private async settle(): Promise<void> {
    if (this.writing !== null) await this.writing;
    if (this.failed !== undefined) throw this.failed;
  }

  /** `n` bytes of `buf` at `at`: the whole blocks with O_DIRECT where it is on, the rest buffered. */
  private async writeAt(buf: Buffer, n: number, at: number): Promise<void> {
    let done = 0;
    if (this.direct !== null) {
      const whole = n - (n % DIRECT_ALIGN);
      try {
        while (done < whole) done += (await this.direct.write(buf, done, whole - done, at + done)).bytesWritten;
      } catch (e) {
        if (!refusesDirect(e)) throw e;
        // the filesystem opened it but will not write it so: buffered from here on
        const d = this.direct;
        this.direct = null;
        await d.close();
      }
    }
    while (done < n) done += (await this.plain.write(buf, done, n - done, at + done)).bytesWritten;
  }

  /** Writes what is left; every byte given is in the file once it resolves. */
  async end(): Promise<void> {
    await this.settle();
    if (this.fill > 0) {
      const n = this.fill;
      this.fill = 0;
      await this.writeAt(this.cur, n, this.at);
      this.at += n;
    }
  }

  /** fsync (O_DIRECT does not make the file's metadata durable). */
  async sync(): Promise<void> {
    await this.plain.sync();
  }

  /** Closes the file (a write in flight is waited for, its error dropped: the caller is failing or done). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.writing !== null) await this.writing.catch(() => undefined);
    await Promise.all([this.direct?.close(), this.plain.close()]);
    for (const b of [this.cur, this.next]) if (alignedOnes.has(b) && spare.length < SPARE_MAX) spare.push(b);
  }
}
