import { Readable } from 'stream';
import { AbortedError, LayerfsError, RegistryError, SizeMismatchError } from '../errors';
import { isAbort } from './errors';
import { header, sleep, type HttpResponse, type Transport } from './http';
import type { BlobDescriptor, Progress, PushBlobResult } from './types';

/**
 * A blob upload (distribution spec, "pushing blobs"): POST opens a session, then either one PUT
 * with the whole blob (small blobs) or PATCHes and an empty PUT with the digest. By default one
 * PATCH streams the whole blob (as containerd and containers/image do: a PATCH per 16 MiB costs
 * distribution a round trip and a saved hash state each); `chunkSize` sends it in chunks of that
 * size instead, and a registry that refuses the whole blob in one PATCH (413) gets chunks of
 * STREAM_FALLBACK_CHUNK from where it stands. Each answer's Location is the session's newest URL,
 * relative or absolute, its query kept. A failed PATCH asks the session where it stands (GET,
 * Range: 0-N) and goes on from there, the rest again in one PATCH (or in chunks); a session the
 * registry forgot, or will not go on with, is opened again.
 */

export type BlobOpener = (offset: number) => Readable | Promise<Readable>;

export interface UploadSettings {
  monolithicMax: number;
  /** PATCH chunks of this size (raised to the session's OCI-Chunk-Min-Length); none: the whole rest of the blob in one PATCH */
  chunkSize?: number;
  onProgress?: (p: Progress) => void;
}

const OCTETS = 'application/octet-stream';
/** the chunk size after a registry answered 413 to a PATCH of the whole blob */
export const STREAM_FALLBACK_CHUNK = 16 << 20;

/** The session URL an answer gives, resolved against where the answer came from. */
export function locationOf(res: HttpResponse, what: string): URL {
  const loc = header(res, 'location');
  if (!loc) throw new RegistryError('PROTOCOL', `${what}: the registry answered ${res.status} with no Location`, res.url.href, res.status);
  return new URL(loc, res.url);
}

/** `url` with `digest=D` added to whatever query it has, byte for byte (re-encoding a signed query could break it). */
export function withDigest(url: URL, digest: string): URL {
  const u = new URL(url.href);
  u.search = (u.search ? `${u.search}&` : '?') + `digest=${encodeURIComponent(digest)}`;
  return u;
}

/** Bytes taken from a stream n at a time, each piece its own Readable (one PATCH body). */
class Pieces {
  private readonly it: AsyncIterator<Buffer>;
  private rest: Buffer | null = null;
  constructor(readonly stream: Readable) {
    this.it = stream[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  }
  take(n: number, what: string): Readable {
    const self = this;
    async function* piece(): AsyncGenerator<Buffer> {
      let left = n;
      while (left > 0) {
        let b = self.rest;
        self.rest = null;
        if (!b) {
          const r = await self.it.next();
          if (r.done) throw new SizeMismatchError(`${what} (the source ended early)`, n, n - left);
          b = Buffer.isBuffer(r.value) ? r.value : Buffer.from(r.value);
        }
        if (b.length > left) {
          self.rest = b.subarray(left);
          b = b.subarray(0, left);
        }
        left -= b.length;
        yield b;
      }
    }
    return Readable.from(piece(), { objectMode: false });
  }
  close(): void {
    this.stream.destroy();
  }
}

/**
 * The offset the session has reached, from its Range header (`0-N`, or `bytes=0-N`). `0-0` is
 * what distribution says of an empty session as well as of one byte: it is taken as empty, unless
 * `refusedAtZero` (a PATCH from 0 was just refused with 416, so the session holds that byte).
 */
export function uploadedUpTo(res: HttpResponse, refusedAtZero = false): number {
  const r = header(res, 'range');
  const m = r ? /^(?:bytes=)?0-(\d+)$/.exec(r.trim()) : null;
  if (!m) return 0;
  const end = Number(m[1]);
  return end === 0 && !refusedAtZero ? 0 : end + 1;
}

export class BlobUpload {
  private sent = 0;
  constructor(
    private readonly t: Transport,
    private readonly repo: string,
    private readonly desc: BlobDescriptor,
    private readonly open: BlobOpener,
    private readonly settings: UploadSettings,
    private readonly signal?: AbortSignal,
  ) {}

  private get what(): string {
    return `blob ${this.desc.digest} to ${this.repo}`;
  }

  private get scopes(): string[] {
    return [`repository:${this.repo}:pull,push`];
  }

  private progress(bytes: number, event: Progress['event']): void {
    this.settings.onProgress?.({ direction: 'push', digest: this.desc.digest, bytes, total: this.desc.size, event });
  }

  /** POST ?mount=D&from=REPO: 201 is mounted; 202 opens a session for a plain upload; an error falls back to one. */
  async mount(from: string): Promise<'mounted' | URL | null> {
    const path = `/v2/${this.repo}/blobs/uploads/?mount=${encodeURIComponent(this.desc.digest)}&from=${encodeURIComponent(from)}`;
    try {
      const res = await this.t.request({ method: 'POST', path, scopes: [...this.scopes, `repository:${from}:pull`], idempotent: false, ok: [201, 202], what: `mount of ${this.what} from ${from}`, signal: this.signal });
      await res.body.dump().catch(() => undefined);
      if (res.status === 201) return 'mounted';
      this.learn(res);
      return header(res, 'location') ? locationOf(res, this.what) : null;
    } catch (e) {
      if (e instanceof AbortedError || isAbort(e, this.signal)) throw e;
      return null; // any mount error: upload it instead
    }
  }

  private minChunk = 0;

  async start(): Promise<URL> {
    const res = await this.t.request({ method: 'POST', path: `/v2/${this.repo}/blobs/uploads/`, scopes: this.scopes, idempotent: true, ok: [202], notFound: 'NAME_UNKNOWN', what: `upload of ${this.what}`, signal: this.signal });
    await res.body.dump().catch(() => undefined);
    this.learn(res);
    return locationOf(res, this.what);
  }

  /** A session's answer may set the smallest chunk it takes. */
  private learn(res: HttpResponse): void {
    const min = Number(header(res, 'oci-chunk-min-length'));
    if (Number.isSafeInteger(min) && min > 0) this.minChunk = min;
  }

  /** Uploads from a session (`at`, or a new one); returns the bytes sent. */
  async upload(at: URL | null): Promise<PushBlobResult> {
    let session = at ?? (await this.start());
    for (let attempt = 0; ; attempt++) {
      try {
        if (this.desc.size <= this.settings.monolithicMax) await this.putWhole(session);
        else await this.chunks(session);
        this.progress(this.desc.size, 'done');
        return { how: 'uploaded', bytes: this.sent };
      } catch (e) {
        if (this.sourceFailure) throw this.sourceFailure;
        if (!this.worthAnotherSession(e) || attempt >= this.t.retries) throw e;
        await sleep(this.t.backoff(attempt), this.signal);
        // the last step may have landed before its answer was lost
        if (await this.exists()) {
          this.progress(this.desc.size, 'done');
          return { how: 'uploaded', bytes: this.sent };
        }
        session = await this.start();
      }
    }
  }

  async exists(): Promise<boolean> {
    const res = await this.t.request({ method: 'HEAD', path: `/v2/${this.repo}/blobs/${this.desc.digest}`, scopes: this.scopes, idempotent: true, ok: [200, 404], what: this.what, signal: this.signal });
    await res.body.dump().catch(() => undefined);
    return res.status === 200 && Number(header(res, 'content-length')) === this.desc.size;
  }

  private worthAnotherSession(e: unknown): boolean {
    if (e instanceof AbortedError || isAbort(e, this.signal)) return false;
    if (!(e instanceof RegistryError)) return false;
    // distribution 2.8 will not go on with a session that a cut PATCH wrote part of (its state
    // token names the offset before it): its status is BLOB_UPLOAD_INVALID, not a 416 of a chunk
    if (e.kind === 'BLOB_UPLOAD_INVALID' && e.status !== 416) return true;
    return e.kind === 'UNREACHABLE' || e.kind === 'UNAVAILABLE' || e.kind === 'BLOB_UPLOAD_UNKNOWN' || e.kind === 'TOOMANYREQUESTS';
  }

  private async putWhole(session: URL): Promise<void> {
    const res = await this.t.request({
      method: 'PUT',
      path: withDigest(session, this.desc.digest),
      headers: { 'content-type': OCTETS, 'content-length': String(this.desc.size) },
      body: () => this.counted(this.openAt(0)),
      scopes: this.scopes,
      idempotent: false,
      ok: [201],
      notFound: 'BLOB_UPLOAD_UNKNOWN',
      what: `upload of ${this.what}`,
      signal: this.signal,
    });
    await res.body.dump().catch(() => undefined);
  }

  /** open(offset) as an async iterable, so a sync or async opener both fit a request body. */
  private async *openAt(offset: number): AsyncGenerator<Buffer> {
    let s: Readable | undefined;
    let n = 0;
    try {
      s = await this.open(offset);
      for await (const b of s) {
        n += (b as Buffer).length;
        if (offset + n > this.desc.size) throw new SizeMismatchError(`${this.what} (the source gave more)`, this.desc.size, offset + n);
        yield b as Buffer;
      }
    } catch (e) {
      // the source's own failure (a file that cannot be read) is the push's error, not the network's
      this.sourceFailure ??= e;
      throw e;
    } finally {
      s?.destroy();
    }
    if (offset + n !== this.desc.size) throw (this.sourceFailure = new SizeMismatchError(`${this.what} (the source ended early)`, this.desc.size, offset + n));
  }

  private sourceFailure: unknown = null;

  /** The same bytes, counted as they are sent. */
  private counted(r: AsyncIterable<Buffer> | Readable): Readable {
    const self = this;
    async function* count(): AsyncGenerator<Buffer> {
      for await (const b of r) {
        self.sent += (b as Buffer).length;
        self.progress(self.sent, 'bytes');
        yield b as Buffer;
      }
    }
    return Readable.from(count(), { objectMode: false });
  }

  private async chunks(session: URL): Promise<void> {
    let url = session;
    let offset = 0;
    // none: each PATCH sends the rest of the blob, straight from the source
    let chunk = this.settings.chunkSize;
    const size = () => (chunk === undefined ? Infinity : Math.max(chunk, this.minChunk));
    let pieces: Pieces | null = null;
    /** the body of a PATCH of n bytes from `from` */
    const bodyFrom = (from: number, n: number): Readable => {
      if (from + n === this.desc.size && !pieces) return this.counted(this.openAt(from));
      pieces ??= new Pieces(Readable.from(this.openAt(from), { objectMode: false }));
      return this.counted(pieces.take(n, this.what));
    };
    /** the source is read from `from` on again (a resume), the next PATCH opening it */
    const restartAt = (from: number) => {
      offset = from;
      pieces?.close();
      pieces = null;
    };
    let recoveries = 0;
    try {
      while (offset < this.desc.size) {
        const n = Math.min(size(), this.desc.size - offset);
        const from = offset;
        try {
          const res = await this.t.request({
            method: 'PATCH',
            path: url,
            headers: { 'content-type': OCTETS, 'content-length': String(n), 'content-range': `${from}-${from + n - 1}` },
            body: (() => {
              let used = false;
              return () => {
                // a PATCH is sent once: a retry goes through the session's status instead
                if (used) throw new RegistryError('PROTOCOL', `${this.what}: a chunk cannot be sent twice`);
                used = true;
                return bodyFrom(from, n);
              };
            })(),
            scopes: this.scopes,
            idempotent: false,
            once: true,
            // 202 is the spec's answer; some registries say 201; 416: the session is elsewhere
            ok: [202, 201, 204, 416],
            notFound: 'BLOB_UPLOAD_UNKNOWN',
            what: `chunk ${from}-${from + n - 1} of ${this.what}`,
            signal: this.signal,
          });
          await res.body.dump().catch(() => undefined);
          if (header(res, 'location')) url = locationOf(res, this.what);
          if (res.status === 416) throw new RegistryError('RANGE_INVALID', `chunk ${from}-${from + n - 1} of ${this.what}: the registry answered 416`, res.url.href, 416);
          const reached = header(res, 'range') ? uploadedUpTo(res) : from + n;
          offset = from + n;
          // the registry kept less (or more) than was sent: go on from where it is
          if (reached !== offset) restartAt(reached);
        } catch (e) {
          if (this.sourceFailure) throw this.sourceFailure;
          if (e instanceof LayerfsError && !(e instanceof RegistryError)) throw e;
          // a registry that will not take the whole blob in one PATCH takes it in chunks
          const tooLarge = e instanceof RegistryError && e.status === 413 && chunk === undefined;
          if (tooLarge) chunk = STREAM_FALLBACK_CHUNK;
          else if (!(e instanceof RegistryError) || !(e.status === 416 || ['UNREACHABLE', 'UNAVAILABLE', 'RANGE_INVALID', 'TOOMANYREQUESTS'].includes(e.kind)) || recoveries >= this.t.retries) throw e;
          else await sleep(this.t.backoff(recoveries++), this.signal);
          // where does the session stand?
          // a session the registry will not go on with fails here, and upload() opens another (worthAnotherSession)
          const st = await this.t.request({ method: 'GET', path: url, scopes: this.scopes, idempotent: true, ok: [204, 200], notFound: 'BLOB_UPLOAD_UNKNOWN', what: `status of ${this.what}`, signal: this.signal });
          await st.body.dump().catch(() => undefined);
          if (header(st, 'location')) url = locationOf(st, this.what);
          restartAt(uploadedUpTo(st, from === 0 && e instanceof RegistryError && e.status === 416));
          this.progress(offset, 'resumed');
        }
      }
    } finally {
      (pieces as Pieces | null)?.close();
    }
    const res = await this.t.request({
      method: 'PUT',
      path: withDigest(url, this.desc.digest),
      headers: { 'content-length': '0' },
      scopes: this.scopes,
      idempotent: false,
      ok: [201],
      notFound: 'BLOB_UPLOAD_UNKNOWN',
      what: `end of the upload of ${this.what}`,
      signal: this.signal,
    });
    await res.body.dump().catch(() => undefined);
  }
}
