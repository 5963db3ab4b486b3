import * as zlib from 'zlib';
import type { Transform } from 'stream';
import { UnsupportedError } from '../errors';
import type { Compression } from '../store/types';

/** Compression is told by the first bytes of a stream, never by a file name. */
export function detectCompression(head: Uint8Array): Compression {
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  if (head.length >= 4 && head[0] === 0x28 && head[1] === 0xb5 && head[2] === 0x2f && head[3] === 0xfd) return 'zstd';
  return 'none';
}

type ZstdModule = { CompressStream: new (o?: object) => Transform; DecompressStream: new (o?: object) => Transform };

function zstd(): ZstdModule {
  try {
    return require('zstd-napi') as ZstdModule;
  } catch (e) {
    throw new UnsupportedError(`zstd needs the optional zstd-napi package, which is not installed or did not build (${(e as Error).message})`);
  }
}

/** gunzip in 256 KiB chunks (Node's default 16 KiB chunks halve its throughput). */
export function createDecompressor(c: Exclude<Compression, 'none'>): Transform {
  if (c === 'gzip') return zlib.createGunzip({ chunkSize: 256 << 10 });
  return new (zstd().DecompressStream)();
}

/** gzip output is deterministic: Node writes mtime 0 and no file name into the header. */
export function createCompressor(c: Exclude<Compression, 'none'>, level?: number): Transform {
  if (c === 'gzip') return zlib.createGzip({ level: level ?? 6, chunkSize: 256 << 10 });
  return new (zstd().CompressStream)({ compressionLevel: level ?? 3 });
}
