import { createHash, type Hash } from 'crypto';
import { markVerified } from '../digest';
import { markHandedOver } from '../tar/handed-over';
import { finished, Readable } from 'stream';
import { AbortedError, DigestMismatchError, RegistryError, SizeMismatchError } from '../errors';
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

/**
 * bytes a blob stream buffers ahead of its reader: the reader (the apply worker) sets the pace,
 * so the buffer is always full, and the socket's own buffers hold the slack. 1 MiB here and in
 * the layer's PassThrough cost a pull 4-8 MiB of peak RSS for no speed.
 */
export const BLOB_HIGH_WATER = 256 << 10;

/** bytes between two 'bytes' progress events of one blob (one per socket read would be tens of thousands per gigabyte) */
const PROGRESS_STEP = 1 << 20;

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
  let reported = offset;
  // the answer not yet read from (the first one until the first read, or a resume's)
  let pending: HttpResponse | null = first;
  // the body being read, with 'data' handlers: a for-await would hand on whatever is buffered as one new buffer, a copy of every byte
  let body: Readable | null = null;
  let resumes = 0;
  let busy = false;
  const report = (event: Progress['event']) => {
    reported = offset;
    onProgress?.({ direction: 'pull', digest: desc.digest, bytes: offset, total: desc.size, event });
  };
  const stream = new Readable({
    highWaterMark: BLOB_HIGH_WATER,
    read() {
      if (body !== null) body.resume();
      else if (!busy) void next();
    },
    destroy(err, cb) {
      if (body !== null && !body.destroyed) discard(body);
      if (pending !== null && !pending.body.destroyed) discard(pending.body);
      body = null;
      pending = null;
      cb(err);
    },
  });
  const fail = (e: unknown) => {
    if (!stream.destroyed) stream.destroy(e as Error);
  };

  /** Reads the next answer (the first, or a resume's) until it ends, or ends the stream once every byte came and verified. */
  async function next(): Promise<void> {
    busy = true;
    try {
      if (offset >= desc.size) return finish();
      let res = pending;
      pending = null;
      if (res === null) {
        res = await source.open(offset, signal);
        if (stream.destroyed) return discard(res.body);
        rangeAnswer(res, offset, desc.size, what);
        report('resumed');
      } else rangeAnswer(res, offset, desc.size, what);
      read(res);
    } catch (e) {
      fail(e);
    } finally {
      busy = false;
    }
  }

  function read(res: HttpResponse): void {
    const b = res.body;
    body = b;
    const onData = (chunk: Buffer) => {
      if (offset + chunk.length > desc.size) {
        b.off('data', onData);
        discard(b);
        return fail(new SizeMismatchError(what, desc.size, offset + chunk.length));
      }
      hash.update(chunk);
      offset += chunk.length;
      if (offset - reported >= PROGRESS_STEP) report('bytes');
      if (!stream.push(chunk)) b.pause();
    };
    b.on('data', onData);
    finished(b, (e) => {
      b.off('data', onData);
      if (body !== b || stream.destroyed) return;
      body = null;
      if (!b.destroyed) discard(b);
      void ended(res, e ?? null);
    });
  }

  /** An answer's body is over: at the blob's end it is verified; cut short (an error or an early end), the rest is asked for. */
  async function ended(res: HttpResponse, e: Error | null): Promise<void> {
    busy = true;
    try {
      if (e !== null && isAbort(e, signal)) throw new AbortedError(what);
      if (offset < desc.size) {
        if (e !== null && !isRetryableNetworkError(e)) throw unreachableError(res.url.host, res.url.href, e);
        if (resumes >= source.retries) {
          if (e !== null) throw unreachableError(res.url.host, res.url.href, e);
          throw new SizeMismatchError(what, desc.size, offset);
        }
        await sleep(source.backoff(resumes++), signal);
      }
    } catch (err) {
      busy = false;
      return fail(err);
    }
    busy = false;
    if (!stream.destroyed) await next();
  }

  function finish(): void {
    if (offset > reported) report('bytes');
    const digest = 'sha256:' + hash.digest('hex');
    if (digest !== desc.digest) throw new DigestMismatchError(what, desc.digest, digest);
    report('done');
    stream.push(null);
  }

  // it ends only after the size and digest checks above: a consumer of the whole blob need not hash it again (from an offset, its bytes are only the rest);
  // its chunks are the socket's own buffers, held by nothing once read: the reader may free them
  markHandedOver(stream);
  return start.offset === 0 ? markVerified(stream, desc.digest) : stream;
}
