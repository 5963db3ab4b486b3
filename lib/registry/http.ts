import * as tls from 'tls';
import type { Readable } from 'stream';
import type { Dispatcher } from 'undici';
import { AbortedError, LayerfsError, RegistryError } from '../errors';
import { newAgent, request } from './undici';
import { errorFromResponse, isAbort, isPlainHttpAnswer, isRetryableNetworkError, isTlsError, tlsError, unreachableError } from './errors';
import type { ConnectSettings, RegistryOptions, TlsOptions } from './types';

/**
 * One HTTP step of the protocol, with what every step needs: the Authorization of the
 * AuthProvider (never sent to another host), one retry after a 401 challenge, redirects,
 * retries of idempotent steps with backoff and jitter, Retry-After on 429 and 503, and errors
 * that say what the registry said.
 */

export type Method = 'GET' | 'HEAD' | 'PUT' | 'POST' | 'PATCH' | 'DELETE';

export interface HttpRequest {
  method: Method;
  /** a path of the registry (/v2/...), or an absolute or relative URL it gave (an upload Location) */
  path: string | URL;
  headers?: Record<string, string>;
  /** made again for each attempt (a Readable cannot be sent twice) */
  body?: () => Buffer | string | Readable;
  scopes: string[];
  /** may be sent again after a network failure or a 5xx */
  idempotent: boolean;
  /** the statuses this step accepts; any other becomes an error */
  ok: number[];
  /** what a bare 404 means here (MANIFEST_UNKNOWN, BLOB_UNKNOWN...) */
  notFound?: string;
  /** for messages: "manifest foo/bar:latest" */
  what: string;
  signal?: AbortSignal;
  /** never sent twice (a body that cannot be made again): a 429 or 503 waits its Retry-After, then fails to the caller */
  once?: boolean;
  /** follow 3xx (default: for GET and HEAD) */
  redirects?: boolean;
}

export interface HttpResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Dispatcher.ResponseData['body'];
  /** where the answer came from, after redirects */
  url: URL;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const MAX_ERROR_BODY = 64 * 1024;
/** errors of a connection that broke while a body came (worth the whole step again) */
const midBody = new WeakSet<Error>();

/** Ends a response body that will not be read; its error (an abort) goes nowhere. */
export function discard(body: Readable): void {
  body.on('error', () => undefined);
  body.destroy();
}

/** A LayerfsError that the request's own body threw (the source of an upload), found in the cause chain. */
function ownError(e: unknown): LayerfsError | null {
  for (let c: any = e, i = 0; c && i < 5; c = c.cause, i++) if (c instanceof LayerfsError) return c;
  return null;
}

/** A URL for a message: another host's query (a signed CDN URL is a credential for a while) is left out. */
function shown(url: URL, own: boolean): string {
  return own || !url.search ? url.href : `${url.origin}${url.pathname}?…`;
}

export function header(res: { headers: HttpResponse['headers'] }, name: string): string | undefined {
  const v = res.headers[name.toLowerCase()];
  return Array.isArray(v) ? v[0] : v;
}

/** Retry-After in ms: delta-seconds or an HTTP date. */
export function retryAfterMs(value: string | undefined, now = Date.now()): number | undefined {
  if (!value) return undefined;
  if (/^\s*\d+\s*$/.test(value)) return Number(value) * 1000;
  const t = Date.parse(value);
  return Number.isNaN(t) ? undefined : Math.max(0, t - now);
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new AbortedError('registry request'));
    const onAbort = () => {
      clearTimeout(t);
      reject(new AbortedError('registry request'));
    };
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

async function readCapped(body: Readable, max: number): Promise<string> {
  const parts: Buffer[] = [];
  let n = 0;
  for await (const chunk of body) {
    const b = chunk as Buffer;
    if (n < max) parts.push(b.subarray(0, max - n));
    n += b.length;
  }
  return Buffer.concat(parts).toString('utf8');
}

export class Transport {
  private readonly dispatchers = new Map<string, Promise<{ dispatcher: Dispatcher; verify: boolean; owned: boolean }>>();
  /** hosts found to speak plain HTTP while --tls-verify=false allowed it */
  private readonly plain = new Set<string>();
  readonly retries: number;
  readonly backoffMs: number;

  constructor(readonly host: string, readonly options: RegistryOptions) {
    this.retries = options.retries ?? 5;
    this.backoffMs = options.backoffMs ?? 200;
  }

  /** The signal of a call joined with the client's. */
  signal(signal?: AbortSignal): AbortSignal | undefined {
    const all = [signal, this.options.signal].filter((s): s is AbortSignal => !!s);
    return all.length === 0 ? undefined : all.length === 1 ? all[0] : AbortSignal.any(all);
  }

  /** The registry's base URL: https unless plainHttp says otherwise (or a --tls-verify=false host answered in HTTP). */
  baseUrl(): URL {
    const http = this.options.plainHttp?.(this.host) || this.plain.has(this.host);
    return new URL(`${http ? 'http' : 'https'}://${this.host}/`);
  }

  backoff(attempt: number): number {
    return Math.min(10_000, this.backoffMs * 2 ** attempt) * (0.5 + Math.random());
  }

  private dispatcher(host: string): Promise<{ dispatcher: Dispatcher; verify: boolean; owned: boolean }> {
    let d = this.dispatchers.get(host);
    if (!d) {
      d = (async () => {
        const t: TlsOptions = (await this.options.tls?.(host)) ?? {};
        const connect: ConnectSettings = { rejectUnauthorized: t.verify !== false };
        // extra CAs are trusted beside the system's, not instead of them
        if (t.ca?.length) connect.ca = [...tls.rootCertificates, ...t.ca];
        if (t.cert) connect.cert = t.cert;
        if (t.key) connect.key = t.key;
        const given = this.options.dispatcher?.(host, connect);
        if (given) return { dispatcher: given, verify: t.verify !== false, owned: false };
        const dispatcher = newAgent({
          connections: this.options.jobs ?? 6,
          pipelining: 1,
          allowH2: this.options.http2 ?? false,
          headersTimeout: this.options.idleTimeoutMs ?? 60_000,
          bodyTimeout: this.options.idleTimeoutMs ?? 60_000,
          connect,
        });
        return { dispatcher, verify: t.verify !== false, owned: true };
      })();
      d.catch(() => this.dispatchers.delete(host));
      this.dispatchers.set(host, d);
    }
    return d;
  }

  async close(): Promise<void> {
    const all = [...this.dispatchers.values()];
    this.dispatchers.clear();
    // a dispatcher the options gave is theirs to close (it may serve other clients)
    await Promise.all(
      all.map(async (p) => {
        const d = await p.catch(() => null);
        if (d?.owned) await d.dispatcher.close().catch(() => undefined);
      }),
    );
  }

  async request(r: HttpRequest): Promise<HttpResponse> {
    const signal = this.signal(r.signal);
    let url = r.path instanceof URL ? r.path : new URL(r.path, this.baseUrl());
    let method = r.method;
    let attempt = 0;
    let redirects = 0;
    let challenged = false;
    const follow = r.redirects ?? (method === 'GET' || method === 'HEAD');
    for (;;) {
      if (signal?.aborted) throw new AbortedError(r.what);
      // Authorization only for the registry itself: a redirect to a blob store or CDN gets none
      const own = url.host === this.baseUrl().host;
      const headers: Record<string, string> = { 'user-agent': this.options.userAgent ?? 'layerfs', ...r.headers };
      if (own && this.options.auth) {
        const h = await this.options.auth.header(this.host, r.scopes, signal);
        if (h) headers.authorization = h;
      }
      const { dispatcher, verify } = await this.dispatcher(url.host);
      let res: Dispatcher.ResponseData;
      try {
        res = await request(url, { method, headers, body: method === 'GET' || method === 'HEAD' ? undefined : r.body?.(), dispatcher, signal });
      } catch (e) {
        const thrown = ownError(e);
        if (thrown && !(thrown instanceof AbortedError)) throw thrown;
        if (isAbort(e, signal)) throw new AbortedError(r.what);
        if (url.protocol === 'https:' && isTlsError(e)) {
          // --tls-verify=false allows plain HTTP: a host that answers TLS in HTTP is spoken to in HTTP
          if (!verify && own && isPlainHttpAnswer(e) && !this.options.plainHttp?.(this.host)) {
            this.plain.add(this.host);
            url = new URL(url.pathname + url.search, this.baseUrl());
            continue;
          }
          throw tlsError(url.host, shown(url, own), e);
        }
        if (isRetryableNetworkError(e) && r.idempotent && attempt < this.retries) {
          await sleep(this.backoff(attempt++), signal);
          continue;
        }
        throw unreachableError(url.host, shown(url, own), e);
      }
      const status = res.statusCode;
      const result: HttpResponse = { status, headers: res.headers, body: res.body, url };
      if (status === 401 && own && this.options.auth && !challenged) {
        const text = method === 'HEAD' ? '' : await readCapped(res.body, MAX_ERROR_BODY).catch(() => '');
        challenged = true;
        if (await this.options.auth.challenged(this.host, r.scopes, header(result, 'www-authenticate'), signal)) continue;
        throw errorFromResponse(r.what, method, shown(url, own), status, text, r.notFound);
      }
      if (follow && REDIRECTS.has(status) && header(result, 'location')) {
        await res.body.dump().catch(() => undefined);
        if (++redirects > 10) throw new RegistryError('PROTOCOL', `${r.what}: more than 10 redirects (${shown(url, own)})`, shown(url, own), status);
        url = new URL(header(result, 'location')!, url);
        if (status === 303) method = 'GET';
        continue;
      }
      if (r.ok.includes(status)) return result;
      const transient = status === 429 || status === 503 || (status >= 500 && r.idempotent);
      if (transient && attempt < this.retries) {
        const after = status === 429 || status === 503 ? retryAfterMs(header(result, 'retry-after')) : undefined;
        const max = this.options.maxRetryAfterMs ?? 60_000;
        if (after === undefined || after <= max) {
          const text = r.once ? await readCapped(res.body, MAX_ERROR_BODY).catch(() => '') : (await res.body.dump().catch(() => undefined), '');
          await sleep(after ?? this.backoff(attempt), signal);
          attempt++;
          if (r.once) throw errorFromResponse(r.what, method, shown(url, own), status, text, r.notFound);
          continue;
        }
      }
      const text = method === 'HEAD' ? '' : await readCapped(res.body, MAX_ERROR_BODY).catch(() => '');
      throw errorFromResponse(r.what, method, shown(url, own), status, text, r.notFound);
    }
  }

  /** A request whose answer is read whole (manifests, tag lists, small JSON), at most `max` bytes. */
  async requestBuffer(r: HttpRequest, max: number): Promise<{ res: HttpResponse; body: Buffer }> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.readWhole(r, max);
      } catch (e) {
        // the connection broke while the body came: the whole step again, if it may be repeated
        if (!midBody.has(e as Error) || !r.idempotent || attempt >= this.retries) throw e;
        await sleep(this.backoff(attempt), this.signal(r.signal));
      }
    }
  }

  private async readWhole(r: HttpRequest, max: number): Promise<{ res: HttpResponse; body: Buffer }> {
    const res = await this.request(r);
    const declared = Number(header(res, 'content-length'));
    if (declared > max) {
      await res.body.dump().catch(() => undefined);
      throw new RegistryError('PROTOCOL', `${r.what}: the answer is ${declared} bytes, more than the ${max} allowed`, res.url.href, res.status);
    }
    const parts: Buffer[] = [];
    let n = 0;
    try {
      for await (const chunk of res.body) {
        n += (chunk as Buffer).length;
        if (n > max) throw new RegistryError('PROTOCOL', `${r.what}: the answer is more than the ${max} bytes allowed`, res.url.href, res.status);
        parts.push(chunk as Buffer);
      }
    } catch (e) {
      discard(res.body);
      if (e instanceof RegistryError) throw e;
      if (isAbort(e, this.signal(r.signal))) throw new AbortedError(r.what);
      const err = unreachableError(res.url.host, res.url.href, e);
      midBody.add(err);
      throw err;
    }
    return { res, body: Buffer.concat(parts) };
  }
}
