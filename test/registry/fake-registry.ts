import { createHash, randomBytes } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import * as http from 'http';
import * as net from 'net';

/**
 * A small registry in node http on 127.0.0.1, only for what distribution 2.8 cannot show (429 with
 * Retry-After, a 416 on a chunk, a 201 to a PATCH, redirects to another host, a connection cut in
 * the middle of a blob, tags paged by ?n=, the referrers API). It keeps blobs, uploads and
 * manifests in memory and follows the distribution spec; tests add `hooks` that answer a request
 * their own way, and read `log` to see what the client sent.
 */

export interface FakeRequest {
  method: string;
  url: URL;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/** Answers the request (and returns true), or leaves it to the registry (false). `n` counts the requests so far, from 1. */
export type Hook = (req: FakeRequest, res: http.ServerResponse, n: number) => boolean | Promise<boolean>;

export interface FakeOptions {
  /** sent as OCI-Chunk-Min-Length on a new upload */
  chunkMinLength?: number;
  /** serve GET /v2/<name>/referrers/<digest> */
  referrersApi?: boolean;
  /** answer a PATCH with this status (202 in the spec) */
  patchStatus?: number;
}

const sha = (b: Buffer) => 'sha256:' + createHash('sha256').update(b).digest('hex');

export function sendError(res: http.ServerResponse, status: number, code: string, message: string, headers: Record<string, string> = {}): void {
  const body = JSON.stringify({ errors: [{ code, message, detail: null }] });
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...headers });
  res.end(body);
}

export class FakeRegistry {
  readonly log: FakeRequest[] = [];
  readonly hooks: Hook[] = [];
  readonly blobs = new Map<string, Buffer>();
  readonly manifests = new Map<string, { type: string; body: Buffer }>();
  /** upload id -> bytes so far and the state token its newest Location carries */
  readonly uploads = new Map<string, { repo: string; data: Buffer; state: string }>();
  private readonly sockets = new Set<net.Socket>();

  private constructor(readonly server: http.Server, readonly port: number, readonly options: FakeOptions) {
    server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
  }

  get host(): string {
    return `127.0.0.1:${this.port}`;
  }

  get url(): string {
    return `http://${this.host}`;
  }

  static async start(options: FakeOptions = {}): Promise<FakeRegistry> {
    let fake!: FakeRegistry;
    const server = http.createServer((req, res) => {
      void fake.handle(req, res).catch((e) => {
        if (!res.headersSent) sendError(res, 500, 'UNKNOWN', String(e));
        else res.destroy();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    fake = new FakeRegistry(server, (server.address() as net.AddressInfo).port, options);
    return fake;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** Requests whose method and path match, for assertions. */
  requests(method: string, pathPrefix = ''): FakeRequest[] {
    return this.log.filter((r) => r.method === method && r.url.pathname.startsWith(pathPrefix));
  }

  putBlob(data: Buffer): { digest: string; size: number } {
    const digest = sha(data);
    this.blobs.set(digest, data);
    return { digest, size: data.length };
  }

  putManifest(repo: string, ref: string, type: string, body: Buffer): string {
    const digest = sha(body);
    this.manifests.set(`${repo}@${digest}`, { type, body });
    this.manifests.set(`${repo}:${ref}`, { type, body });
    return digest;
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const parts: Buffer[] = [];
    for await (const c of req) parts.push(c as Buffer);
    const fr: FakeRequest = { method: req.method ?? 'GET', url: new URL(req.url ?? '/', this.url), headers: req.headers, body: Buffer.concat(parts) };
    this.log.push(fr);
    for (const hook of this.hooks) if (await hook(fr, res, this.log.length)) return;
    this.route(fr, res);
  }

  private route(req: FakeRequest, res: http.ServerResponse): void {
    const p = req.url.pathname;
    if (p === '/v2/' || p === '/v2') {
      res.writeHead(200, { 'content-type': 'application/json' });
      return void res.end('{}');
    }
    const m = /^\/v2\/(.+?)\/(blobs\/uploads|blobs|manifests|tags|referrers)\/?(.*)$/.exec(p);
    if (!m) return sendError(res, 404, 'NOT_FOUND', `no route ${p}`);
    const [, repo, kind, rest] = m;
    if (kind === 'blobs') return this.blob(req, res, rest);
    if (kind === 'blobs/uploads') return this.upload(req, res, repo, rest);
    if (kind === 'manifests') return this.manifest(req, res, repo, rest);
    if (kind === 'tags') return this.tags(req, res, repo);
    if (kind === 'referrers' && this.options.referrersApi) return this.referrers(req, res, repo, rest);
    sendError(res, 404, 'NOT_FOUND', `no route ${p}`);
  }

  private blob(req: FakeRequest, res: http.ServerResponse, digest: string): void {
    const data = this.blobs.get(digest);
    if (!data) {
      if (req.method === 'HEAD') return void res.writeHead(404).end();
      return sendError(res, 404, 'BLOB_UNKNOWN', 'blob unknown to registry');
    }
    const range = /^bytes=(\d+)-$/.exec(String(req.headers.range ?? ''));
    if (range) {
      const from = Number(range[1]);
      if (from >= data.length) return sendError(res, 416, 'RANGE_INVALID', 'bad range');
      res.writeHead(206, { 'content-length': data.length - from, 'content-range': `bytes ${from}-${data.length - 1}/${data.length}`, 'docker-content-digest': digest });
      return void res.end(req.method === 'HEAD' ? undefined : data.subarray(from));
    }
    res.writeHead(200, { 'content-length': data.length, 'content-type': 'application/octet-stream', 'docker-content-digest': digest });
    res.end(req.method === 'HEAD' ? undefined : data);
  }

  /** The Location of an upload: relative, with a state token in its query that changes at each step. */
  private location(id: string): string {
    const u = this.uploads.get(id)!;
    u.state = randomBytes(6).toString('base64') + '+/=';
    return `/v2/${u.repo}/blobs/uploads/${id}?_state=${encodeURIComponent(u.state)}`;
  }

  private upload(req: FakeRequest, res: http.ServerResponse, repo: string, id: string): void {
    if (req.method === 'POST' && !id) {
      const mount = req.url.searchParams.get('mount');
      if (mount && this.blobs.has(mount) && req.url.searchParams.get('from')) {
        res.writeHead(201, { location: `/v2/${repo}/blobs/${mount}`, 'docker-content-digest': mount, 'content-length': 0 });
        return void res.end();
      }
      const nid = randomBytes(8).toString('hex');
      this.uploads.set(nid, { repo, data: Buffer.alloc(0), state: '' });
      const h: Record<string, string | number> = { location: this.location(nid), range: '0-0', 'content-length': 0, 'docker-upload-uuid': nid };
      if (this.options.chunkMinLength) h['oci-chunk-min-length'] = this.options.chunkMinLength;
      res.writeHead(202, h);
      return void res.end();
    }
    const u = this.uploads.get(id);
    if (!u) return sendError(res, 404, 'BLOB_UPLOAD_UNKNOWN', 'blob upload unknown to registry');
    // the newest Location only: an older state token is refused, as distribution refuses a stale _state
    if (req.url.searchParams.get('_state') !== u.state) return sendError(res, 400, 'BLOB_UPLOAD_INVALID', `stale or missing _state ${req.url.searchParams.get('_state')}`);
    const rangeHeader = () => (u.data.length ? `0-${u.data.length - 1}` : '0-0');
    if (req.method === 'GET') {
      res.writeHead(204, { location: this.location(id), range: rangeHeader(), 'content-length': 0 });
      return void res.end();
    }
    if (req.method === 'PATCH') {
      const cr = /^(\d+)-(\d+)$/.exec(String(req.headers['content-range'] ?? ''));
      if (cr && Number(cr[1]) !== u.data.length) return sendError(res, 416, 'BLOB_UPLOAD_INVALID', `chunk starts at ${cr[1]}, upload is at ${u.data.length}`, { location: this.location(id), range: rangeHeader() });
      u.data = Buffer.concat([u.data, req.body]);
      res.writeHead(this.options.patchStatus ?? 202, { location: this.location(id), range: rangeHeader(), 'content-length': 0 });
      return void res.end();
    }
    if (req.method === 'PUT') {
      u.data = Buffer.concat([u.data, req.body]);
      const digest = req.url.searchParams.get('digest');
      if (!digest || sha(u.data) !== digest) return sendError(res, 400, 'DIGEST_INVALID', `provided digest did not match uploaded content (${sha(u.data)})`);
      this.blobs.set(digest, u.data);
      this.uploads.delete(id);
      res.writeHead(201, { location: `/v2/${repo}/blobs/${digest}`, 'docker-content-digest': digest, 'content-length': 0 });
      return void res.end();
    }
    sendError(res, 405, 'UNSUPPORTED', 'method not allowed');
  }

  private manifest(req: FakeRequest, res: http.ServerResponse, repo: string, ref: string): void {
    const key = ref.startsWith('sha256:') ? `${repo}@${ref}` : `${repo}:${ref}`;
    if (req.method === 'PUT') {
      const type = String(req.headers['content-type'] ?? '');
      const digest = this.putManifest(repo, ref, type, req.body);
      res.writeHead(201, { location: `/v2/${repo}/manifests/${digest}`, 'docker-content-digest': digest, 'content-length': 0 });
      return void res.end();
    }
    const m = this.manifests.get(key);
    if (!m) {
      if (req.method === 'HEAD') return void res.writeHead(404).end();
      return sendError(res, 404, 'MANIFEST_UNKNOWN', 'manifest unknown');
    }
    res.writeHead(200, { 'content-type': m.type, 'content-length': m.body.length, 'docker-content-digest': sha(m.body) });
    res.end(req.method === 'HEAD' ? undefined : m.body);
  }

  private tags(req: FakeRequest, res: http.ServerResponse, repo: string): void {
    const all = [...this.manifests.keys()].filter((k) => k.startsWith(`${repo}:`)).map((k) => k.slice(repo.length + 1)).sort();
    if (!all.length) return sendError(res, 404, 'NAME_UNKNOWN', 'repository name not known to registry');
    const n = Number(req.url.searchParams.get('n') ?? all.length);
    const last = req.url.searchParams.get('last');
    const start = last ? all.findIndex((t) => t > last) : 0;
    const page = start < 0 ? [] : all.slice(start, start + n);
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (start >= 0 && start + n < all.length) headers.link = `</v2/${repo}/tags/list?n=${n}&last=${encodeURIComponent(page[page.length - 1])}>; rel="next"`;
    res.writeHead(200, headers);
    res.end(JSON.stringify({ name: repo, tags: page }));
  }

  private referrers(req: FakeRequest, res: http.ServerResponse, repo: string, digest: string): void {
    const found: unknown[] = [];
    for (const [k, m] of this.manifests) {
      if (!k.startsWith(`${repo}@`)) continue;
      const j = JSON.parse(m.body.toString('utf8'));
      if (j.subject?.digest === digest) found.push({ mediaType: m.type, digest: sha(m.body), size: m.body.length, artifactType: j.artifactType ?? j.config?.mediaType });
    }
    const at = req.url.searchParams.get('artifactType');
    const headers: Record<string, string> = { 'content-type': 'application/vnd.oci.image.index.v1+json' };
    const list = at ? found.filter((d) => (d as { artifactType?: string }).artifactType === at) : found;
    if (at) headers['oci-filters-applied'] = 'artifactType';
    res.writeHead(200, headers);
    res.end(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: list }));
  }
}

/** Every blob of an OCI layout directory into the fake registry (manifests and indexes as manifests, by digest; the rest as blobs), and index.json as `repo:tag`. */
export function serveLayout(fake: FakeRegistry, dir: string, repo: string, tag: string): void {
  const blobs = path.join(dir, 'blobs', 'sha256');
  for (const hex of fs.readdirSync(blobs)) {
    const body = fs.readFileSync(path.join(blobs, hex));
    let type: unknown;
    try {
      type = JSON.parse(body.toString()).mediaType;
    } catch {
      /* a layer */
    }
    if (typeof type === 'string' && /manifest|index/.test(type)) fake.putManifest(repo, `sha256:${hex}`, type, body);
    else fake.putBlob(body);
  }
  fake.putManifest(repo, tag, 'application/vnd.oci.image.index.v1+json', fs.readFileSync(path.join(dir, 'index.json')));
}
