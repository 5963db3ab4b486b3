import * as zlib from 'zlib';
import { Transform } from 'stream';
import { UnsupportedError } from '../errors';
import type { Compression } from '../types';
import { gunzipUnchecked } from './gunzip-unchecked';

/** Compression is told by the first bytes of a stream, never by a file name. */
export function detectCompression(head: Uint8Array): Compression {
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  if (head.length >= 4 && head[0] === 0x28 && head[1] === 0xb5 && head[2] === 0x2f && head[3] === 0xfd) return 'zstd';
  return 'none';
}

const FOREIGN: Array<[string, number[]]> = [
  ['xz', [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]],
  ['bzip2', [0x42, 0x5a, 0x68]],
  ['lz4', [0x04, 0x22, 0x4d, 0x18]],
];

/** A compression layerfs cannot read, told by its magic bytes (so the error says so, not "bad checksum"). */
export function unsupportedCompression(head: Uint8Array): string | null {
  for (const [name, magic] of FOREIGN) if (head.length >= magic.length && magic.every((b, i) => head[i] === b)) return name;
  return null;
}

type ZstdModule = { CompressStream: new (o?: object) => Transform; DecompressStream: new (o?: object) => Transform };
/** The part of zstd-napi's binding used here (typed locally: the package is optional). */
interface ZstdDCtx {
  decompressStream(dst: Uint8Array, src: Uint8Array): [remaining: number, produced: number, consumed: number];
}
type ZstdBinding = { DCtx: new () => ZstdDCtx };

function missingZstd(e: unknown): UnsupportedError {
  return new UnsupportedError(`zstd needs the optional zstd-napi package, which is not installed or did not build (${(e as Error).message})`);
}

function zstd(): ZstdModule {
  try {
    return require('zstd-napi') as ZstdModule;
  } catch (e) {
    throw missingZstd(e);
  }
}

function zstdBinding(): ZstdBinding {
  try {
    return require('zstd-napi/binding') as ZstdBinding;
  } catch (e) {
    throw missingZstd(e);
  }
}

/** Whether zstd streams can be read and written here. */
export function zstdAvailable(): boolean {
  try {
    zstdBinding();
    return true;
  } catch {
    return false;
  }
}

/** Decompressed chunks are at most this big (zlib's default 16 KiB chunks halve gunzip's throughput). */
const OUT_CHUNK = 256 << 10;

/**
 * A streaming decompressor (Transform). gzip runs on the libuv threadpool and honours
 * backpressure. zstd-napi's stream does not (one input chunk can produce any amount of output at
 * once), so `decompressChunks` reads zstd through the binding instead; this is for trusted input.
 */
export function createDecompressor(c: Exclude<Compression, 'none'>): Transform {
  if (c === 'gzip') return zlib.createGunzip({ chunkSize: OUT_CHUNK });
  return new (zstd().DecompressStream)();
}

/** gzip output is deterministic: Node writes mtime 0 and no file name into the header. */
export function createCompressor(c: Exclude<Compression, 'none'>, level?: number): Transform {
  if (c === 'gzip') return zlib.createGzip({ level: level ?? 6, chunkSize: OUT_CHUNK });
  return new (zstd().CompressStream)({ compressionLevel: level ?? 3 });
}

/**
 * The decompressed bytes of `source`, in chunks of at most 256 KiB, produced only as fast as they
 * are consumed, so memory stays flat even for a decompression bomb. Errors (corrupt or truncated
 * data) are the decompressor's own; the caller names the entry they cut. `hashed`: the caller
 * checks a sha256 of the output (a DiffID), so gzip's CRC-32 is not computed (lib/tar/gunzip-unchecked.ts).
 */
export function decompressChunks(source: AsyncIterable<Buffer>, c: Compression, release?: (chunk: Buffer) => void, hashed = false): AsyncIterable<Buffer> {
  if (c === 'none') return release ? releasingOnNext(source, release) : source;
  if (c === 'zstd') return zstdChunks(release ? releasingOnNext(source, release) : source, zstdBinding());
  if (hashed) return gunzipUnchecked(source, OUT_CHUNK, release);
  const gunzip = zlib.createGunzip({ chunkSize: OUT_CHUNK });
  void pumpInto(source, gunzip, release);
  return gunzip;
}

/**
 * `release` hears of each input chunk once the consumer asks for the next one (for consumers,
 * like the tar reader and zstd, that are done with a chunk by then).
 */
async function* releasingOnNext(source: AsyncIterable<Buffer>, release: (chunk: Buffer) => void): AsyncGenerator<Buffer> {
  for await (const chunk of source) {
    yield chunk;
    release(chunk);
  }
}

/**
 * Writes the input into gunzip, one chunk at a time (gunzip holds at most one besides the one it
 * works on); `release` hears of a chunk when gunzip is done with its bytes. An input error
 * destroys gunzip with it; a consumer that stops early (destroying gunzip) stops the input.
 */
async function pumpInto(source: AsyncIterable<Buffer>, gunzip: zlib.Gunzip, release?: (chunk: Buffer) => void): Promise<void> {
  const it = source[Symbol.asyncIterator]();
  let closed = false;
  let wake: (() => void) | null = null;
  const onClose = () => {
    closed = true;
    wake?.();
  };
  gunzip.once('close', onClose);
  try {
    for (;;) {
      const r = await it.next();
      if (r.done || closed) break;
      const chunk = r.value;
      const more = gunzip.write(chunk, release && (() => release(chunk)));
      if (!more && !closed) {
        await new Promise<void>((resolve) => {
          wake = resolve;
          gunzip.once('drain', resolve);
        });
        gunzip.off('drain', wake!);
        wake = null;
      }
    }
    if (!closed) gunzip.end();
  } catch (e) {
    gunzip.destroy(e as Error);
  } finally {
    gunzip.off('close', onClose);
    if (closed) await it.return?.();
  }
}

async function* zstdChunks(source: AsyncIterable<Buffer>, binding: ZstdBinding): AsyncGenerator<Buffer> {
  const dctx = new binding.DCtx();
  let inFrame = false;
  for await (const chunk of source) {
    let src = chunk;
    for (;;) {
      const dst = Buffer.allocUnsafe(OUT_CHUNK);
      const [remaining, produced, consumed] = dctx.decompressStream(dst, src);
      src = src.subarray(consumed);
      inFrame = remaining !== 0;
      if (produced > 0) yield dst.subarray(0, produced);
      // a full output buffer may leave more to flush: ask again even with no input left
      if (src.length === 0 && produced < dst.length) break;
    }
  }
  if (inFrame) throw new Error('unexpected end of file (the zstd frame is truncated)');
}
