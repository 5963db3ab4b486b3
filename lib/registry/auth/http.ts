import type { Dispatcher } from 'undici';
import { request } from '../undici';
import { RegistryError } from '../../errors';
import { isAbort, isTlsError, tlsError, unreachableError } from '../errors';

/**
 * The few requests auth makes itself (token requests, login's check of /v2/), through the
 * dispatcher the registry client would use for that host, so TLS and proxies are the same.
 */
export type DispatcherFor = (url: URL) => Dispatcher;

export interface SmallResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** the largest answer read: a token response or an error body */
const MAX_BODY = 1 << 20;

export async function smallRequest(
  url: URL,
  init: { method?: 'GET' | 'POST'; headers?: Record<string, string>; body?: string; signal?: AbortSignal },
  dispatcherFor: DispatcherFor,
): Promise<SmallResponse> {
  let res: Dispatcher.ResponseData;
  try {
    res = await request(url, { method: init.method ?? 'GET', headers: init.headers, body: init.body, signal: init.signal, dispatcher: dispatcherFor(url) });
  } catch (e) {
    throw connectionError(url, e);
  }
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of res.body as AsyncIterable<Buffer>) {
    n += c.length;
    if (n > MAX_BODY) {
      res.body.destroy();
      throw new RegistryError('PROTOCOL', `${url.origin}${url.pathname}: an answer larger than ${MAX_BODY} bytes`, urlText(url), res.statusCode);
    }
    chunks.push(c);
  }
  return { status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) };
}

/** A failed connection as the registry client words it: TLS failures name the flags that mend them. */
export function connectionError(url: URL, e: unknown): Error {
  if (isAbort(e)) return e as Error;
  return isTlsError(e) ? tlsError(url.host, urlText(url), e) : unreachableError(url.host, urlText(url), e);
}

/** a URL for messages and error fields: no query (a token request's query may carry a refresh token's scope, never secrets, but it is long) */
export function urlText(url: URL): string {
  return `${url.origin}${url.pathname}`;
}

/** The registry's (or token server's) own error code and message from a JSON body, if it sent one. */
export function registrySaid(body: Buffer): { code?: string; message?: string } {
  try {
    const j = JSON.parse(body.toString('utf8')) as Record<string, unknown>;
    const errors = j.errors as Array<{ code?: unknown; message?: unknown }> | undefined;
    if (Array.isArray(errors) && errors.length) return { code: str(errors[0].code), message: str(errors[0].message) };
    // OAuth2 (RFC 6749 5.2) and a few token servers' own shapes
    if (typeof j.error === 'string') return { code: j.error.toUpperCase(), message: str(j.error_description) ?? str(j.details) };
    if (typeof j.details === 'string') return { message: j.details };
  } catch {
    // not JSON
  }
  return {};
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

export function header(h: SmallResponse['headers'], name: string): string | undefined {
  const v = h[name.toLowerCase()];
  return Array.isArray(v) ? v.join(', ') : v;
}
