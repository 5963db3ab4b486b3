import { AbortedError, RegistryError } from '../errors';

/** The registry error codes of the distribution spec and distribution 2.8: a code we know becomes our kind. */
const KNOWN = new Set([
  'BLOB_UNKNOWN',
  'BLOB_UPLOAD_INVALID',
  'BLOB_UPLOAD_UNKNOWN',
  'DIGEST_INVALID',
  'MANIFEST_BLOB_UNKNOWN',
  'MANIFEST_INVALID',
  'MANIFEST_UNKNOWN',
  'MANIFEST_UNVERIFIED',
  'NAME_INVALID',
  'NAME_UNKNOWN',
  'SIZE_INVALID',
  'TAG_INVALID',
  'UNAUTHORIZED',
  'DENIED',
  'UNSUPPORTED',
  'TOOMANYREQUESTS',
  'PAGINATION_NUMBER_INVALID',
  'RANGE_INVALID',
  'UNAVAILABLE',
]);

function kindOfStatus(status: number, notFound: string): string {
  if (status === 401) return 'UNAUTHORIZED';
  if (status === 403) return 'DENIED';
  if (status === 404) return notFound;
  if (status === 416) return 'RANGE_INVALID';
  if (status === 429) return 'TOOMANYREQUESTS';
  if (status >= 500) return 'UNAVAILABLE';
  return 'PROTOCOL';
}

/**
 * The error for an answer the call did not accept: the registry's own `errors[0].code` when it is
 * one we know, else a kind from the status (`notFound` says what a bare 404 means for this call).
 */
export function errorFromResponse(what: string, method: string, url: string, status: number, body: string, notFound = 'NOT_FOUND'): RegistryError {
  let code: string | undefined;
  let message: string | undefined;
  try {
    const parsed = JSON.parse(body) as { errors?: { code?: unknown; message?: unknown; detail?: unknown }[] };
    const first = Array.isArray(parsed.errors) ? parsed.errors[0] : undefined;
    if (first && typeof first.code === 'string') code = first.code;
    if (first && typeof first.message === 'string') message = first.message;
    if (first && first.detail !== undefined && first.detail !== null) {
      const detail = typeof first.detail === 'string' ? first.detail : JSON.stringify(first.detail);
      if (detail && detail !== '{}' && detail.length < 500) message = `${message ?? ''}${message ? ' ' : ''}(${detail})`;
    }
  } catch {
    // not JSON: a proxy's page, or nothing
  }
  const kind = code && KNOWN.has(code) ? code : kindOfStatus(status, notFound);
  const said = code ? `${code}${message ? `: ${message}` : ''}` : body.trim() && body.length < 200 && !/[<{]/.test(body) ? body.trim() : `status ${status}`;
  return new RegistryError(kind, `${what}: the registry answered ${status} (${said}) to ${method} ${url}`, url, status, code, message);
}

const TLS_CODE = /^(ERR_TLS_|ERR_SSL_|CERT_|UNABLE_TO_|SELF_SIGNED_|DEPTH_ZERO_|ERR_OSSL_)/;

function codes(e: unknown): string[] {
  const out: string[] = [];
  for (let c: any = e, i = 0; c && i < 5; c = c.cause, i++) if (typeof c.code === 'string') out.push(c.code);
  return out;
}

export function isTlsError(e: unknown): boolean {
  return codes(e).some((c) => TLS_CODE.test(c)) || /\b(SSL|TLS)\b.*(routines|handshake)|wrong version number|certificate/i.test(String((e as Error)?.message));
}

/** The https client met a server that speaks plain HTTP. */
export function isPlainHttpAnswer(e: unknown): boolean {
  return codes(e).some((c) => c === 'ERR_SSL_WRONG_VERSION_NUMBER' || c === 'ERR_SSL_PACKET_LENGTH_TOO_LONG' || c === 'ERR_SSL_HTTP_REQUEST') || /wrong version number|packet length too long|http request/i.test(String((e as Error)?.message));
}

const RETRYABLE = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_REQ_CONTENT_LENGTH_MISMATCH',
  'UND_ERR_RES_CONTENT_LENGTH_MISMATCH',
  // HTTP/2: a stream reset (RST_STREAM, REFUSED_STREAM) or a GOAWAY ends one request, not the registry
  'ERR_HTTP2_STREAM_ERROR',
  'ERR_HTTP2_STREAM_CANCEL',
  'ERR_HTTP2_SESSION_ERROR',
  'ERR_HTTP2_GOAWAY_SESSION',
  'ERR_HTTP2_INVALID_SESSION',
  'NGHTTP2_REFUSED_STREAM',
  'NGHTTP2_INTERNAL_ERROR',
  'NGHTTP2_CANCEL',
]);

/** A failure of the connection, not of the request: worth another attempt for an idempotent step. */
export function isRetryableNetworkError(e: unknown): boolean {
  return codes(e).some((c) => RETRYABLE.has(c)) || /other side closed|socket hang up|terminated/i.test(String((e as Error)?.message));
}

export function tlsError(host: string, url: string, e: unknown): RegistryError {
  const reason = (e as Error)?.message ?? String(e);
  return new RegistryError(
    'TLS',
    `TLS with ${host} failed: ${reason}. If its certificate comes from a private CA, give that CA with --cert-dir DIR (DIR/*.crt) or in /etc/containers/certs.d/${host}/; --tls-verify=false skips the check (and also allows plain HTTP)`,
    url,
    undefined,
    undefined,
    undefined,
    { cause: e },
  );
}

export function unreachableError(host: string, url: string, e: unknown): RegistryError {
  const code = codes(e)[0];
  return new RegistryError('UNREACHABLE', `cannot reach the registry ${host}: ${(e as Error)?.message ?? e}${code ? ` (${code})` : ''} (${url})`, url, undefined, undefined, undefined, { cause: e });
}

export function isAbort(e: unknown, signal?: AbortSignal): boolean {
  return !!signal?.aborted || (e as Error)?.name === 'AbortError' || e instanceof AbortedError || codes(e).includes('ABORT_ERR');
}
