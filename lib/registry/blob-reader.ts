import { createHash, type Hash } from 'crypto';
import { markVerified } from '../digest';
import { Readable } from 'stream';
import { AbortedError, DigestMismatchError, LayerfsError, RegistryError, SizeMismatchError } from '../errors';
import { isAbort, isRetryableNetworkError, unreachableError } from './errors';
import { discard, header, sleep, type HttpResponse } from './http';
import type { BlobDescriptor, Progress } from './types';

/**
 * A blob's bytes as they come off the socket, verified on the way: more bytes than the descriptor
 * says fail at once, and the end is only reached when the size and the sha256 match. A connection
 * cut in the middle is resumed with `Range: bytes=N-`, taken only as a 206 whose Content-Range
 * starts at N. A 200 to a Range is not the rest: the stream fails with
 * LAYERFS_REGISTRY_RANGE_IGNORED (the bytes before N went on already; a caller that holds them
 * only as a kept partial download starts again from byte 0, see lib/image/store-image.ts).
 */

export interface BlobSource {
  /** GET the blob from `offset` on (a Range header when offset > 0) */
  open(offset: number, signal?: AbortSignal): Promise<HttpResponse>;
  retries: number;
  backoff(attempt: number): number;
}

/** The kind of error a 200 to a Range request gives (see above). */
export const RANGE_IGNORED = 'RANGE_IGNORED';

/** Checks the answer to a GET from `offset`: from 0 a 200, from N a 206 whose Content-Range starts at N. */
export function rangeAnswer(res: HttpResponse, offset: number, size: number, what: string): void {
  if (offset === 0) return;
  if (res.status === 200) {
    discard(res.body);
    throw new RegistryError(RANGE_IGNORED, `${what}: asked for bytes ${offset}- of ${size} to resume, the registry answered 200 (the whole blob) instead of 206 with the rest; the bytes had so far are not reused: pull again, to read the blob from its first byte`, res.url.href, res.status);
  }
  const cr = header(res, 'content-range');
  const m = cr ? /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(cr.trim()) : null;
  if (!m || Number(m[1]) !== offset || (m[3] !== '*' && Number(m[3]) !== size) || Number(m[2]) >= size) {
    discard(res.body);
    throw new RegistryError('PROTOCOL', `${what}: asked for bytes ${offset}- of ${size}, the registry answered 206 with Content-Range ${JSON.stringify(cr ?? null)}`, res.url.href, res.status);
  }
}

export function verifiedBlobStream(
  source: BlobSource,
  desc: BlobDescriptor,
  first: HttpResponse | null,
  start: { offset: number; hash?: Hash },
  what: string,
  signal?: AbortSignal,
  onProgress?: (p: Progress) => void,
): Readable {
  const hash = start.hash ?? createHash('sha256');
  let offset = start.offset;
  let started = false;
  async function* bytes(): AsyncGenerator<Buffer> {
    started = true;
    let res = first;
    let resumes = 0;
    if (res) rangeAnswer(res, offset, desc.size, what);
    while (offset < desc.size) {
      if (!res) {
        res = await source.open(offset, signal);
        rangeAnswer(res, offset, desc.size, what);
        onProgress?.({ direction: 'pull', digest: desc.digest, bytes: offset, total: desc.size, event: 'resumed' });
      }
      const body = res.body;
      const url = res.url;
      let cut: unknown = null;
      try {
        for await (const raw of body) {
          const chunk = raw as Buffer;
          if (offset + chunk.length > desc.size) throw new SizeMismatchError(what, desc.size, offset + chunk.length);
          hash.update(chunk);
          offset += chunk.length;
          onProgress?.({ direction: 'pull', digest: desc.digest, bytes: offset, total: desc.size, event: 'bytes' });
          yield chunk;
        }
      } catch (e) {
        if (e instanceof LayerfsError) throw e;
        if (isAbort(e, signal)) throw new AbortedError(what);
        cut = e;
      } finally {
        if (!body.destroyed) discard(body);
      }
      res = null;
      if (offset >= desc.size) break;
      // cut short, by an error or by an early end: resume where it stopped
      if (cut !== null && !isRetryableNetworkError(cut)) throw unreachableError(url.host, url.href, cut);
      if (resumes >= source.retries) {
        if (cut !== null) throw unreachableError(url.host, url.href, cut);
        throw new SizeMismatchError(what, desc.size, offset);
      }
      await sleep(source.backoff(resumes++), signal);
    }
    const digest = 'sha256:' + hash.digest('hex');
    if (digest !== desc.digest) throw new DigestMismatchError(what, desc.digest, digest);
    onProgress?.({ direction: 'pull', digest: desc.digest, bytes: offset, total: desc.size, event: 'done' });
  }
  const stream = Readable.from(bytes(), { objectMode: false, highWaterMark: 1 << 16 });
  // destroyed before the first read: the generator never ran, so the answer it holds is ended here
  stream.once('close', () => {
    if (!started && first && !first.body.destroyed) discard(first.body);
  });
  // it ends only after the size and digest checks above: a consumer of the whole blob need not hash it again (from an offset, its bytes are only the rest)
  return start.offset === 0 ? markVerified(stream, desc.digest) : stream;
}
