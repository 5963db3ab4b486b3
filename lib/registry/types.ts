import type { Dispatcher } from 'undici';

/**
 * The seams of the registry client. `AuthProvider` and `TlsOptions` are what lib/registry/auth
 * and lib/registry/config implement; the client knows nothing of credentials, auth files or
 * certs.d, only these calls.
 */

export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
export const DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';
export const DOCKER_LIST = 'application/vnd.docker.distribution.manifest.list.v2+json';
/** What a manifest GET asks for by default: distribution 2.8 answers 404 for an OCI manifest whose type is not in Accept. */
export const MANIFEST_ACCEPT = [OCI_INDEX, OCI_MANIFEST, DOCKER_LIST, DOCKER_MANIFEST];

export interface AuthProvider {
  /** the Authorization header value for a request to `host` needing `scopes` (e.g. "repository:foo/bar:pull"), or undefined for anonymous */
  header(host: string, scopes: string[], signal?: AbortSignal): Promise<string | undefined>;
  /** a 401 came back with this WWW-Authenticate: learn from it (fetch a token, add an insufficient_scope); true = retry the request once */
  challenged(host: string, scopes: string[], wwwAuthenticate: string | undefined, signal?: AbortSignal): Promise<boolean>;
}

export interface TlsOptions {
  /** CAs trusted beside the system's */
  ca?: Buffer[];
  /** a client certificate and its key (PEM) */
  cert?: Buffer;
  key?: Buffer;
  /** false: the certificate is not verified, and plain HTTP is allowed when the host does not speak TLS */
  verify?: boolean;
}

/** What a transfer has done so far; `total` is the descriptor's size. */
export interface Progress {
  direction: 'pull' | 'push';
  digest: string;
  bytes: number;
  total: number;
  /** what happened last: bytes moved, a resume after a cut, a blob found or mounted and so skipped */
  event: 'bytes' | 'resumed' | 'exists' | 'mounted' | 'done';
}

export interface RegistryOptions {
  auth?: AuthProvider;
  /** TLS settings per host (HOST[:PORT]); default: the system CAs, verified */
  tls?: (host: string) => TlsOptions | Promise<TlsOptions>;
  /** hosts spoken to in plain HTTP from the start (never a fallback taken on its own) */
  plainHttp?: (host: string) => boolean;
  /** connections per host; default 6 */
  jobs?: number;
  /** aborts every call of this client (each call also takes its own) */
  signal?: AbortSignal;
  onProgress?: (p: Progress) => void;
  /** how the client reaches a host: default an undici Agent (HTTP/1.1, `jobs` connections) with these TLS settings; lib/registry/config gives a proxy agent here. Asked once per host; `close()` leaves a given dispatcher open (it may serve other clients) */
  dispatcher?: (host: string, connect: ConnectSettings) => Dispatcher;
  /** attempts of an idempotent step before its error is final; default 5 */
  retries?: number;
  /** the first backoff delay in ms (doubled each attempt, with jitter); default 200 */
  backoffMs?: number;
  /** the longest wait a Retry-After may ask for before the client gives up, in ms; default 60000 */
  maxRetryAfterMs?: number;
  /** blobs up to this size go up in one PUT; larger ones in PATCHes (see chunkSize); default 16 MiB */
  monolithicMax?: number;
  /** PATCH chunk size (raised to the registry's OCI-Chunk-Min-Length); default none: the whole blob in one streamed PATCH (a 413 to it: 16 MiB chunks) */
  chunkSize?: number;
  /** HTTP/2 where the server offers it (ALPN); default false: HTTP/1.1 with several connections */
  http2?: boolean;
  /** how long a connection may be silent (waiting for headers, or between body bytes) before it counts as cut; default 60000 */
  idleTimeoutMs?: number;
  /** sent as User-Agent */
  userAgent?: string;
}

/** The undici `connect` options the client derived from TlsOptions (system CAs plus extra ones). */
export interface ConnectSettings {
  ca?: (string | Buffer)[];
  cert?: Buffer;
  key?: Buffer;
  rejectUnauthorized: boolean;
}

/** A blob as the protocol sees it. Structurally an OCI descriptor. */
export interface BlobDescriptor {
  digest: string;
  size: number;
  mediaType?: string;
}

export interface Manifest {
  mediaType: string;
  digest: string;
  size: number;
  body: Buffer;
}

export interface ManifestHead {
  mediaType: string;
  digest: string;
  size: number;
}

export interface CallOptions {
  signal?: AbortSignal;
  /** progress of this call's transfer (beside the client's onProgress) */
  onProgress?: (p: Progress) => void;
}

export interface GetManifestOptions extends CallOptions {
  /** the media types asked for; default MANIFEST_ACCEPT */
  accept?: string[];
  /** the largest manifest read; default 4 MiB */
  maxSize?: number;
}

export interface GetBlobOptions extends CallOptions {
  /** start at this byte (a kept partial download); the stream then gives the bytes from here on */
  offset?: number;
  /** with `offset`: a sha256 Hash (crypto.createHash) that has seen bytes [0, offset), so the whole digest is verified at the end */
  hash?: import('crypto').Hash;
}

export interface PushBlobOptions extends CallOptions {
  /** a repository of the same registry that has the blob: mount it from there */
  mountFrom?: string;
}

export interface PushBlobResult {
  /** how the blob got there */
  how: 'exists' | 'mounted' | 'uploaded';
  /** bytes sent */
  bytes: number;
}

export interface PutManifestResult {
  digest: string;
  /** the registry's Location for it, if it gave one */
  location?: string;
  /** the registry handled the subject (OCI-Subject), or there was none; false: the fallback tag was updated */
  subjectHandled?: boolean;
}

export interface ReferrersOptions extends CallOptions {
  artifactType?: string;
}

export interface ReferrerDescriptor extends BlobDescriptor {
  mediaType: string;
  artifactType?: string;
  annotations?: Record<string, string>;
}
