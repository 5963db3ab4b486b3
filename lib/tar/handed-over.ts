import { releaseBuffer } from '../native';

/**
 * Streams whose chunks are handed over: once read, the reader holds the only views of their
 * memory and may give it back at once (releaseChunks) rather than leave it to the collector. A
 * pull reads a gigabyte in 64 KiB socket buffers; left as garbage they pile up by tens of
 * megabytes between the mark-compacts that external memory forces (the peak RSS of a pull).
 * Only a stream that makes its own chunks may be marked: a caller's stream may hand on buffers
 * its caller still reads.
 */
const HANDED_OVER = Symbol('layerfs.handedOver');

/** smaller chunks may be slices of Node's shared buffer pool; their memory is not theirs alone */
const RELEASE_MIN = 16 << 10;

export function markHandedOver<T extends object>(stream: T): T {
  (stream as { [HANDED_OVER]?: true })[HANDED_OVER] = true;
  return stream;
}

export function isHandedOver(x: unknown): boolean {
  return typeof x === 'object' && x !== null && (x as { [HANDED_OVER]?: unknown })[HANDED_OVER] === true;
}

/**
 * Frees the memory of chunks read from a handed-over stream, now that nothing reads them (every
 * view of them is empty afterwards). A chunk that is a slice of a larger buffer is left alone:
 * the rest of that buffer may be someone else's. Without the addon nothing happens.
 */
export function releaseChunks(chunks: readonly Buffer[]): void {
  for (const c of chunks) if (c.byteOffset === 0 && c.length >= RELEASE_MIN && c.length === c.buffer.byteLength) releaseBuffer(c.buffer as ArrayBuffer);
}
