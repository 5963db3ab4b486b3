import type { Readable } from 'stream';
import { DigestMismatchError, InvalidArgumentError, RegistryError } from '../errors';
import { isDigest, parseDigest, sha256 } from '../digest';
import { verifiedBlobStream } from './blob-reader';
import { header, Transport, type HttpResponse } from './http';
import { bareMediaType, manifestMediaType } from './manifest-check';
import { checkManifestRef, checkRepository } from './reference';
import { BlobUpload, type BlobOpener } from './upload';
import {
  MANIFEST_ACCEPT,
  OCI_INDEX,
  type BlobDescriptor,
  type CallOptions,
  type GetBlobOptions,
  type GetManifestOptions,
  type Manifest,
  type ManifestHead,
  type Progress,
  type PushBlobOptions,
  type PushBlobResult,
  type PutManifestResult,
  type ReferrerDescriptor,
  type ReferrersOptions,
  type RegistryOptions,
} from './types';

const MAX_MANIFEST = 4 * 1024 * 1024;
const MAX_LIST = 16 * 1024 * 1024;

const pull = (repo: string) => [`repository:${repo}:pull`];
const push = (repo: string) => [`repository:${repo}:pull,push`];

/** The next page of a `Link: <URL>; rel="next"` header, resolved against the page it came with. */
export function nextLink(res: HttpResponse): URL | null {
  const link = header(res, 'link');
  if (!link) return null;
  for (const part of link.split(/,(?=\s*<)/)) {
    const m = /^\s*<([^>]*)>\s*(.*)$/.exec(part);
    if (m && /(^|;)\s*rel="?next"?\s*(;|$)/i.test(m[2])) return new URL(m[1], res.url);
  }
  return null;
}

/** The tag the referrers fallback schema keeps a subject's referrers under: sha256-<hex>. */
export function referrersTag(digest: string): string {
  return parseDigest(digest).replace(':', '-');
}

/**
 * An OCI Distribution (Docker registry API v2) client for one registry host: manifests, blobs,
 * tags and referrers, every call abortable. It speaks HTTP/1.1 over several connections per host
 * (undici), verifies everything it reads, and never falls back to plain HTTP on its own.
 */
export class Registry {
  private readonly t: Transport;

  constructor(readonly host: string, readonly options: RegistryOptions = {}) {
    if (!host || /[/\s@]/.test(host)) throw new InvalidArgumentError(`registry host ${JSON.stringify(host)} is invalid: HOST[:PORT]`);
    this.t = new Transport(host, options);
  }

  private progressOf(opts: CallOptions): ((p: Progress) => void) | undefined {
    const a = this.options.onProgress;
    const b = opts.onProgress;
    return a && b ? (p) => (a(p), b(p)) : (a ?? b);
  }

  /** Closes the connections. */
  close(): Promise<void> {
    return this.t.close();
  }

  /** GET /v2/: is the registry there, and may we talk to it? */
  async ping(opts: CallOptions = {}): Promise<void> {
    const res = await this.t.request({ method: 'GET', path: '/v2/', scopes: [], idempotent: true, ok: [200], what: `registry ${this.host}`, signal: opts.signal });
    await res.body.dump().catch(() => undefined);
  }

  /** A manifest by tag or digest; by digest the body is hashed and must match. */
  async getManifest(repo: string, ref: string, opts: GetManifestOptions = {}): Promise<Manifest> {
    checkRepository(repo);
    checkManifestRef(ref);
    const what = `manifest ${repo}:${ref}`;
    const accept = opts.accept ?? MANIFEST_ACCEPT;
    const { res, body } = await this.t.requestBuffer(
      { method: 'GET', path: `/v2/${repo}/manifests/${ref}`, headers: { accept: accept.join(', ') }, scopes: pull(repo), idempotent: true, ok: [200], notFound: 'MANIFEST_UNKNOWN', what, signal: opts.signal },
      opts.maxSize ?? MAX_MANIFEST,
    );
    const mediaType = manifestMediaType(header(res, 'content-type'), body, what, res.url.href);
    if (!accept.includes(mediaType)) throw new RegistryError('MANIFEST_INVALID', `${what}: asked for ${accept.join(', ')}, got ${mediaType}`, res.url.href, res.status);
    // Docker-Content-Digest is not trusted: the digest is what the body hashes to
    const digest = sha256(body);
    if (isDigest(ref) && digest !== ref) throw new DigestMismatchError(what, ref, digest);
    return { mediaType, digest, size: body.length, body };
  }

  /** A manifest's descriptor, or null when there is none; HEAD, or GET where HEAD is refused (405, 403) or says too little. */
  async headManifest(repo: string, ref: string, opts: GetManifestOptions = {}): Promise<ManifestHead | null> {
    checkRepository(repo);
    checkManifestRef(ref);
    const accept = opts.accept ?? MANIFEST_ACCEPT;
    const res = await this.t.request({ method: 'HEAD', path: `/v2/${repo}/manifests/${ref}`, headers: { accept: accept.join(', ') }, scopes: pull(repo), idempotent: true, ok: [200, 404, 405, 403], what: `manifest ${repo}:${ref}`, signal: opts.signal });
    await res.body.dump().catch(() => undefined);
    if (res.status === 404) return null;
    const digest = isDigest(ref) ? ref : header(res, 'docker-content-digest');
    const mediaType = bareMediaType(header(res, 'content-type'));
    const size = Number(header(res, 'content-length'));
    if (res.status === 200 && digest && isDigest(digest) && accept.includes(mediaType) && Number.isSafeInteger(size)) return { mediaType, digest, size };
    try {
      const m = await this.getManifest(repo, ref, opts);
      return { mediaType: m.mediaType, digest: m.digest, size: m.size };
    } catch (e) {
      if (e instanceof RegistryError && (e.kind === 'MANIFEST_UNKNOWN' || e.kind === 'NAME_UNKNOWN')) return null;
      throw e;
    }
  }

  /** Puts a manifest under a tag or its digest, with its own media type. A manifest with a `subject` also updates the referrers fallback tag when the registry does not handle it. */
  async putManifest(repo: string, ref: string, mediaType: string, body: Buffer, opts: CallOptions = {}): Promise<PutManifestResult> {
    checkRepository(repo);
    checkManifestRef(ref);
    const what = `manifest ${repo}:${ref}`;
    const digest = sha256(body);
    if (isDigest(ref) && ref !== digest) throw new DigestMismatchError(`${what} (the body to put)`, ref, digest);
    let parsed: { mediaType?: unknown; subject?: { digest?: unknown }; artifactType?: unknown; config?: { mediaType?: unknown }; annotations?: Record<string, string> };
    try {
      parsed = JSON.parse(body.toString('utf8'));
    } catch (e) {
      throw new InvalidArgumentError(`${what}: the body is not JSON (${(e as Error).message})`);
    }
    if (typeof parsed.mediaType === 'string' && parsed.mediaType !== mediaType) throw new InvalidArgumentError(`${what}: put as ${mediaType} but the body says mediaType ${parsed.mediaType}`);
    const res = await this.t.request({
      method: 'PUT',
      path: `/v2/${repo}/manifests/${ref}`,
      headers: { 'content-type': mediaType },
      body: () => body,
      scopes: push(repo),
      idempotent: true,
      ok: [201, 200],
      notFound: 'NAME_UNKNOWN',
      what,
      signal: opts.signal,
    });
    await res.body.dump().catch(() => undefined);
    const said = header(res, 'docker-content-digest');
    if (said && isDigest(said) && said !== digest) throw new DigestMismatchError(`${what} (the registry's Docker-Content-Digest)`, digest, said);
    const location = header(res, 'location');
    const out: PutManifestResult = { digest, ...(location ? { location: new URL(location, res.url).href } : {}) };
    const subject = typeof parsed.subject?.digest === 'string' ? parsed.subject.digest : undefined;
    if (subject && isDigest(subject)) {
      out.subjectHandled = !!header(res, 'oci-subject');
      if (!out.subjectHandled) {
        const artifactType = typeof parsed.artifactType === 'string' ? parsed.artifactType : typeof parsed.config?.mediaType === 'string' ? parsed.config.mediaType : undefined;
        await this.addToReferrersTag(repo, subject, { mediaType, digest, size: body.length, ...(artifactType ? { artifactType } : {}), ...(parsed.annotations ? { annotations: parsed.annotations } : {}) }, opts);
      }
    }
    return out;
  }

  private async addToReferrersTag(repo: string, subject: string, desc: ReferrerDescriptor, opts: CallOptions): Promise<void> {
    const tag = referrersTag(subject);
    let index: { schemaVersion: number; mediaType: string; manifests: ReferrerDescriptor[] } = { schemaVersion: 2, mediaType: OCI_INDEX, manifests: [] };
    try {
      const m = await this.getManifest(repo, tag, { accept: [OCI_INDEX], signal: opts.signal });
      index = JSON.parse(m.body.toString('utf8'));
      if (!Array.isArray(index.manifests)) index.manifests = [];
    } catch (e) {
      if (!(e instanceof RegistryError && (e.kind === 'MANIFEST_UNKNOWN' || e.kind === 'NAME_UNKNOWN'))) throw e;
    }
    if (index.manifests.some((d) => d.digest === desc.digest)) return;
    index.manifests.push(desc);
    await this.putManifest(repo, tag, OCI_INDEX, Buffer.from(JSON.stringify(index)), opts);
  }

  async deleteManifest(repo: string, digest: string, opts: CallOptions = {}): Promise<void> {
    checkRepository(repo);
    parseDigest(digest);
    const res = await this.t.request({ method: 'DELETE', path: `/v2/${repo}/manifests/${digest}`, scopes: [`repository:${repo}:delete`], idempotent: true, ok: [202, 200, 204], notFound: 'MANIFEST_UNKNOWN', what: `manifest ${repo}@${digest}`, signal: opts.signal });
    await res.body.dump().catch(() => undefined);
  }

  /** A blob's descriptor, or null when the repository does not have it. */
  async headBlob(repo: string, digest: string, opts: CallOptions = {}): Promise<BlobDescriptor | null> {
    checkRepository(repo);
    parseDigest(digest);
    const res = await this.t.request({ method: 'HEAD', path: `/v2/${repo}/blobs/${digest}`, scopes: pull(repo), idempotent: true, ok: [200, 404], what: `blob ${repo}@${digest}`, signal: opts.signal });
    await res.body.dump().catch(() => undefined);
    if (res.status === 404) return null;
    const size = Number(header(res, 'content-length'));
    if (!Number.isSafeInteger(size) || size < 0) throw new RegistryError('PROTOCOL', `blob ${repo}@${digest}: HEAD answered 200 without a Content-Length`, res.url.href, res.status);
    return { digest, size };
  }

  /**
   * A blob's bytes, verified while they stream (size and sha256; the stream fails instead of
   * ending when they do not match), resumed with Range after a cut. With `offset`, from there on.
   */
  async getBlob(repo: string, desc: BlobDescriptor, opts: GetBlobOptions = {}): Promise<Readable> {
    checkRepository(repo);
    parseDigest(desc.digest);
    if (!Number.isSafeInteger(desc.size) || desc.size < 0) throw new InvalidArgumentError(`blob ${desc.digest}: size ${desc.size} is not a byte count`);
    const offset = opts.offset ?? 0;
    if (!Number.isSafeInteger(offset) || offset < 0 || offset > desc.size) throw new InvalidArgumentError(`blob ${desc.digest}: offset ${offset} is outside 0..${desc.size}`);
    if (offset > 0 && !opts.hash) throw new InvalidArgumentError(`blob ${desc.digest}: reading from offset ${offset} needs the hash of the bytes before it (opts.hash)`);
    const what = `blob ${repo}@${desc.digest}`;
    const signal = this.t.signal(opts.signal);
    const source = {
      retries: this.t.retries,
      backoff: (n: number) => this.t.backoff(n),
      open: (from: number, s?: AbortSignal) =>
        this.t.request({ method: 'GET', path: `/v2/${repo}/blobs/${desc.digest}`, headers: from > 0 ? { range: `bytes=${from}-` } : {}, scopes: pull(repo), idempotent: true, ok: from > 0 ? [200, 206] : [200], notFound: 'BLOB_UNKNOWN', what, signal: s }),
    };
    // the first request here, so that BLOB_UNKNOWN or DENIED comes from this call, not from the stream
    const first = offset < desc.size ? await source.open(offset, signal) : null;
    return verifiedBlobStream(source, desc, first, { offset, hash: opts.hash }, what, signal, this.progressOf(opts));
  }

  /**
   * Pushes a blob unless the repository has it: a mount from `mountFrom` when given (any mount
   * failure falls back to an upload), then one PUT for a small blob, or PATCHes for a large one
   * (one of the whole blob unless `chunkSize` asks for chunks). `open(offset)` gives the blob's
   * bytes from `offset` on, as often as a resume needs.
   */
  async pushBlob(repo: string, desc: BlobDescriptor, open: BlobOpener, opts: PushBlobOptions = {}): Promise<PushBlobResult> {
    checkRepository(repo);
    parseDigest(desc.digest);
    if (!Number.isSafeInteger(desc.size) || desc.size < 0) throw new InvalidArgumentError(`blob ${desc.digest}: size ${desc.size} is not a byte count`);
    const onProgress = this.progressOf(opts);
    const progress = (bytes: number, event: 'exists' | 'mounted') => onProgress?.({ direction: 'push', digest: desc.digest, bytes, total: desc.size, event });
    const had = await this.headBlob(repo, desc.digest, opts);
    if (had && had.size === desc.size) {
      progress(desc.size, 'exists');
      return { how: 'exists', bytes: 0 };
    }
    const up = new BlobUpload(this.t, repo, desc, open, { monolithicMax: this.options.monolithicMax ?? 16 << 20, chunkSize: this.options.chunkSize, onProgress }, this.t.signal(opts.signal));
    let session: URL | null = null;
    if (opts.mountFrom && opts.mountFrom !== repo) {
      checkRepository(opts.mountFrom);
      const m = await up.mount(opts.mountFrom);
      if (m === 'mounted') {
        progress(desc.size, 'mounted');
        return { how: 'mounted', bytes: 0 };
      }
      session = m;
    }
    return up.upload(session);
  }

  async deleteBlob(repo: string, digest: string, opts: CallOptions = {}): Promise<void> {
    checkRepository(repo);
    parseDigest(digest);
    const res = await this.t.request({ method: 'DELETE', path: `/v2/${repo}/blobs/${digest}`, scopes: [`repository:${repo}:delete`], idempotent: true, ok: [202, 200, 204], notFound: 'BLOB_UNKNOWN', what: `blob ${repo}@${digest}`, signal: opts.signal });
    await res.body.dump().catch(() => undefined);
  }

  /** Every tag of a repository, page by page as the Link headers lead (`pageSize` asks for n per page). */
  listTags(repo: string, opts: CallOptions & { pageSize?: number } = {}): Promise<string[]> {
    checkRepository(repo);
    return this.pages(`/v2/${repo}/tags/list`, 'tags', `tags of ${repo}`, pull(repo), 'NAME_UNKNOWN', opts);
  }

  /** Every repository of the registry (GET /v2/_catalog), page by page as the Link headers lead. */
  catalog(opts: CallOptions & { pageSize?: number } = {}): Promise<string[]> {
    return this.pages('/v2/_catalog', 'repositories', `catalog of ${this.host}`, ['registry:catalog:*'], 'NOT_FOUND', opts);
  }

  private async pages(path: string, key: string, what: string, scopes: string[], notFound: string, opts: CallOptions & { pageSize?: number }): Promise<string[]> {
    const out: string[] = [];
    let url: URL | null = new URL(`${path}${opts.pageSize ? `?n=${opts.pageSize}` : ''}`, this.t.baseUrl());
    const seen = new Set<string>();
    while (url) {
      if (seen.has(url.href)) throw new RegistryError('PROTOCOL', `${what}: the Link headers go round in a circle (${url.href})`, url.href);
      seen.add(url.href);
      const { res, body } = await this.t.requestBuffer({ method: 'GET', path: url, scopes, idempotent: true, ok: [200], notFound, what, signal: opts.signal }, MAX_LIST);
      let page: Record<string, unknown>;
      try {
        page = JSON.parse(body.toString('utf8'));
      } catch {
        throw new RegistryError('PROTOCOL', `${what}: the answer is not JSON`, res.url.href, res.status);
      }
      const list = page?.[key];
      if (list !== null && list !== undefined && !(Array.isArray(list) && list.every((t) => typeof t === 'string'))) throw new RegistryError('PROTOCOL', `${what}: "${key}" is not a list of strings`, res.url.href, res.status);
      out.push(...((list as string[] | null | undefined) ?? []));
      url = nextLink(res);
    }
    return out;
  }

  /**
   * The manifests that name `digest` as their subject: the referrers API, or, where the registry
   * has none (404), the fallback tag sha256-<hex>. Filtered by artifactType when asked.
   */
  async referrers(repo: string, digest: string, opts: ReferrersOptions = {}): Promise<ReferrerDescriptor[]> {
    checkRepository(repo);
    parseDigest(digest);
    const what = `referrers of ${repo}@${digest}`;
    const out: ReferrerDescriptor[] = [];
    let url: URL | null = new URL(`/v2/${repo}/referrers/${digest}${opts.artifactType ? `?artifactType=${encodeURIComponent(opts.artifactType)}` : ''}`, this.t.baseUrl());
    let filtered = false;
    let api = true;
    const seen = new Set<string>();
    while (url && !seen.has(url.href)) {
      seen.add(url.href);
      const { res, body } = await this.t.requestBuffer({ method: 'GET', path: url, headers: { accept: OCI_INDEX }, scopes: pull(repo), idempotent: true, ok: [200, 404], what, signal: opts.signal }, MAX_MANIFEST);
      // 404: the registry has no referrers API (distribution-spec), so the fallback tag holds them
      if (res.status === 404 || bareMediaType(header(res, 'content-type')) !== OCI_INDEX) {
        api = false;
        break;
      }
      filtered ||= (header(res, 'oci-filters-applied') ?? '').split(',').map((s) => s.trim()).includes('artifactType');
      out.push(...this.descriptorsOf(body, what, res.url.href));
      url = nextLink(res);
    }
    if (!api) {
      out.length = 0;
      try {
        const m = await this.getManifest(repo, referrersTag(digest), { accept: [OCI_INDEX], signal: opts.signal });
        out.push(...this.descriptorsOf(m.body, what, `/v2/${repo}/manifests/${referrersTag(digest)}`));
      } catch (e) {
        if (!(e instanceof RegistryError && (e.kind === 'MANIFEST_UNKNOWN' || e.kind === 'NAME_UNKNOWN'))) throw e;
      }
    }
    return opts.artifactType && !filtered ? out.filter((d) => d.artifactType === opts.artifactType) : out;
  }

  private descriptorsOf(body: Buffer, what: string, url: string): ReferrerDescriptor[] {
    let index: { manifests?: unknown };
    try {
      index = JSON.parse(body.toString('utf8'));
    } catch {
      throw new RegistryError('PROTOCOL', `${what}: the index is not JSON`, url);
    }
    const list = Array.isArray(index.manifests) ? index.manifests : [];
    return list.filter((d): d is ReferrerDescriptor => !!d && typeof d.digest === 'string' && isDigest(d.digest) && typeof d.mediaType === 'string' && Number.isSafeInteger(d.size));
  }
}
