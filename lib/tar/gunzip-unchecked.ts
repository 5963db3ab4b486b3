/**
 * gunzip without the CRC-32, for a stream whose uncompressed bytes are hashed and checked against
 * a DiffID anyway: the sha256 covers every byte the CRC would, so the CRC only costs time (about
 * 0.3 CPU-s per GiB here: gunzip of the bench's 1 GiB layer 1.21 CPU-s, raw inflate 0.88). zlib
 * computes it whenever it parses the gzip wrapper itself, so the wrapper is parsed here (RFC 1952)
 * and only the deflate data goes to zlib's raw inflate, on the thread pool as gunzip does. Members
 * follow one another as in Go's reader: a member, its 8-byte trailer (the size is checked), then
 * the end or another member; anything else is an error.
 */
import * as zlib from 'zlib';

/** a header longer than this (a file name or comment with no end) is refused, not buffered */
const MAX_HEADER = 64 << 10;

/** Where the deflate data starts in `b` (the member's header is parsed), or -1 when `b` does not hold the whole header yet. */
export function gzipHeaderLength(b: Buffer): number {
  if (b.length >= 1 && b[0] !== 0x1f) throw new Error('not a gzip member (its first byte is not 0x1f)');
  if (b.length >= 2 && b[1] !== 0x8b) throw new Error('not a gzip member (its second byte is not 0x8b)');
  if (b.length < 10) return -1;
  if (b[2] !== 8) throw new Error(`the gzip member uses compression method ${b[2]}, not deflate (8)`);
  const flags = b[3];
  if (flags & 0xe0) throw new Error(`the gzip member header has reserved flags set (0x${flags.toString(16)})`);
  let at = 10;
  if (flags & 4) {
    if (b.length < at + 2) return -1;
    at += 2 + b.readUInt16LE(at);
    if (b.length < at) return -1;
  }
  // a file name, then a comment, each ended by a zero byte
  for (const bit of [8, 16]) {
    if ((flags & bit) === 0) continue;
    const end = b.indexOf(0, at);
    if (end < 0) return -1;
    at = end + 1;
  }
  if (flags & 2) at += 2; // the header's own CRC-16, not checked either
  return b.length < at ? -1 : at;
}

/** Bytes of the input and the input chunk they belong to (released once they are used up). */
interface Piece {
  bytes: Buffer;
  owner: Buffer | null;
}

/**
 * The decompressed bytes of a gzip stream (one or more members), in chunks of at most
 * `chunkSize`, produced only as fast as they are read. `release` hears of each input chunk once
 * nothing reads its bytes any more. Errors say what is wrong with the stream.
 */
export async function* gunzipUnchecked(source: AsyncIterable<Buffer>, chunkSize: number, release?: (chunk: Buffer) => void): AsyncGenerator<Buffer> {
  const it = source[Symbol.asyncIterator]();
  const pending: Piece[] = [];
  let inputDone = false;
  const next = async (): Promise<Piece | null> => {
    if (pending.length) return pending.shift()!;
    if (inputDone) return null;
    const r = await it.next();
    if (r.done) {
      inputDone = true;
      return null;
    }
    return { bytes: r.value, owner: r.value };
  };
  const used = (p: Piece) => {
    if (p.owner !== null) release?.(p.owner);
  };
  /** the bytes up to where `enough` says they suffice (at: -1 when the input ended first), or null at the end of the input; over `n` bytes is an error */
  const take = async (n: number, enough: (b: Buffer) => number): Promise<{ bytes: Buffer; at: number } | null> => {
    const parts: Piece[] = [];
    let bytes: Buffer = Buffer.alloc(0);
    for (;;) {
      const p = await next();
      if (p === null) return parts.length ? { bytes, at: -1 } : null;
      parts.push(p);
      bytes = parts.length === 1 ? p.bytes : Buffer.concat([bytes, p.bytes]);
      const at = enough(bytes);
      if (at >= 0) {
        // copied (a header, a trailer: a few bytes), as the chunks they came in may be released now
        const taken = Buffer.from(bytes.subarray(0, at));
        // the bytes after `at` go back for what follows; a copy owns no input chunk
        const single = parts.length === 1;
        if (at < bytes.length) pending.unshift({ bytes: bytes.subarray(at), owner: single ? p.owner : null });
        if (!single || at >= bytes.length) for (const q of parts) used(q);
        return { bytes: taken, at };
      }
      if (bytes.length > n) throw new Error(`the gzip member header is over ${n} bytes`);
    }
  };

  let members = 0;
  let stopped = false;
  try {
    for (;;) {
      const head = await take(MAX_HEADER, gzipHeaderLength).catch((e: Error) => {
        throw members === 0 ? e : new Error(`unexpected bytes after gzip member ${members}: ${e.message}`);
      });
      if (head === null) {
        if (members === 0) throw new Error('unexpected end of file (the gzip stream is empty)');
        return;
      }
      if (head.at < 0) throw new Error(members === 0 ? 'unexpected end of file (in the gzip header)' : 'unexpected bytes after the last gzip member (a truncated member header)');
      members++;
      const z = zlib.createInflateRaw({ chunkSize });
      const feeding = feed(z, next, used, () => stopped);
      feeding.catch(() => undefined); // an input error also destroys z: it surfaces below, through the iteration
      let size = 0;
      try {
        for await (const out of z as AsyncIterable<Buffer>) {
          size += out.length;
          yield out;
        }
      } finally {
        if (!z.destroyed) z.destroy();
      }
      const after = await feeding;
      if (after !== null) pending.unshift(after);
      const trailer = await take(8, (b) => (b.length >= 8 ? 8 : -1));
      if (trailer === null || trailer.at < 0) throw new Error('unexpected end of file (in the gzip trailer)');
      const isize = trailer.bytes.readUInt32LE(4);
      if (isize !== size % 2 ** 32) throw new Error(`the gzip trailer gives the member's size as ${isize} bytes (mod 2^32), it inflated to ${size}`);
    }
  } finally {
    stopped = true;
    for (const p of pending.splice(0)) used(p);
    if (!inputDone) await it.return?.();
  }
}

/**
 * Writes the member's deflate data into `z`, one piece at a time (each write waited for, so that
 * z.bytesWritten says where the deflate data ended): the rest of the piece it ended in is returned,
 * null when the input ended first (z then fails with an unexpected end).
 */
async function feed(z: zlib.InflateRaw, next: () => Promise<Piece | null>, used: (p: Piece) => void, stopped: () => boolean): Promise<Piece | null> {
  let fed = 0;
  try {
    for (let p = await next(); p !== null && !stopped() && !z.destroyed; p = await next()) {
      const before = fed;
      fed += p.bytes.length;
      const piece = p;
      await new Promise<void>((resolve, reject) => z.write(piece.bytes, (e) => (e ? reject(e) : resolve())));
      if (z.bytesWritten < fed) {
        z.end();
        return { bytes: p.bytes.subarray(z.bytesWritten - before), owner: p.owner };
      }
      used(p);
    }
    if (!z.destroyed) z.end();
    return null;
  } catch (e) {
    z.destroy(e as Error);
    throw e;
  }
}
