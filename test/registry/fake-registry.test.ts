import { randomBytes } from 'crypto';
import * as fs from 'fs';
import { Readable } from 'stream';
import { connect } from '../../lib/registry/connect';
import { Registry, OCI_INDEX, OCI_MANIFEST, type AuthProvider, type RegistryOptions } from '../../lib/registry';
import { sha256 } from '../../lib/digest';
import { FakeRegistry, sendError } from './fake-registry';
import { makeImage, openStore } from './store-registry';
import { makeTempDir, removeTempDir } from '../fixtures/tmp';

/**
 * The client against the fake registry of fake-registry.ts, for what distribution 2.8 cannot
 * show. Real sockets on 127.0.0.1 throughout.
 */

async function readAll(r: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of r) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

const quick: RegistryOptions = { plainHttp: () => true, backoffMs: 5, retries: 3 };

describe('Registry against a fake registry', () => {
  let fake: FakeRegistry;
  let reg: Registry;
  const open = (opts: RegistryOptions = {}) => {
    reg = new Registry(fake.host, { ...quick, ...opts });
    return reg;
  };
  beforeEach(async () => {
    fake = await FakeRegistry.start();
  });
  afterEach(async () => {
    await reg?.close();
    await fake.close();
  });

  describe('429 and 503', () => {
    test('a 429 with Retry-After is waited out and the request sent again', async () => {
      const body = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: { mediaType: 'x', digest: sha256('c'), size: 1 }, layers: [] }));
      fake.putManifest('a/b', 'v1', OCI_MANIFEST, body);
      let limited = 0;
      const at: number[] = [];
      fake.hooks.push((req, res) => {
        if (req.url.pathname.includes('/manifests/')) at.push(Date.now());
        if (req.url.pathname.includes('/manifests/') && limited < 2) {
          limited++;
          sendError(res, 429, 'TOOMANYREQUESTS', 'slow down', { 'retry-after': '1' });
          return true;
        }
        return false;
      });
      const m = await open().getManifest('a/b', 'v1');
      expect(m.body.equals(body)).toBe(true);
      expect(fake.requests('GET', '/v2/a/b/manifests/')).toHaveLength(3);
      // each time the second the registry asked for, not the 5 ms backoff the client would take on its own
      expect([at[1] - at[0], at[2] - at[1]].map((d) => d >= 950)).toEqual([true, true]);
    });

    test('a Retry-After longer than the client will wait fails at once, with the registry code', async () => {
      fake.hooks.push((req, res) => {
        sendError(res, 429, 'TOOMANYREQUESTS', 'come back tomorrow', { 'retry-after': '86400' });
        return true;
      });
      const err = await open({ maxRetryAfterMs: 1000 })
        .getManifest('a/b', 'v1')
        .catch((e) => e);
      expect(err).toMatchObject({ code: 'LAYERFS_REGISTRY_TOOMANYREQUESTS', status: 429, registryCode: 'TOOMANYREQUESTS', registryMessage: 'come back tomorrow' });
      expect(fake.log).toHaveLength(1);
    });

    test('a 503 with an HTTP-date Retry-After, and a lasting 503 ends as UNAVAILABLE after the retries', async () => {
      const blob = fake.putBlob(randomBytes(100));
      let n = 0;
      const at: number[] = [];
      fake.hooks.push((req, res) => {
        at.push(Date.now());
        if (n++ === 0) {
          // an HTTP-date has whole seconds: 2 s ahead is at least 1 s of waiting
          res.writeHead(503, { 'retry-after': new Date(Date.now() + 2000).toUTCString() });
          res.end();
          return true;
        }
        return false;
      });
      expect(sha256(await readAll(await open().getBlob('a/b', blob)))).toBe(blob.digest);
      expect(at[1] - at[0]).toBeGreaterThanOrEqual(950);
      fake.hooks.push((req, res) => {
        res.writeHead(503);
        res.end('down for maintenance');
        return true;
      });
      const before = fake.log.length;
      await expect(reg.headBlob('a/b', blob.digest)).rejects.toMatchObject({ code: 'LAYERFS_REGISTRY_UNAVAILABLE', status: 503 });
      expect(fake.log.length - before).toBe(1 + 3);
    });
  });

  describe('blob reads', () => {
    test('a connection cut in the middle of a blob is resumed with Range, and the bytes verify', async () => {
      const data = randomBytes(256 * 1024);
      const blob = fake.putBlob(data);
      fake.hooks.push((req, res, n) => {
        if (req.method === 'GET' && req.url.pathname.includes('/blobs/') && !req.headers.range) {
          res.writeHead(200, { 'content-length': data.length });
          res.write(data.subarray(0, 100_000), () => res.socket?.destroy());
          return true;
        }
        return false;
      });
      const events: string[] = [];
      const got = await readAll(await open({ onProgress: (p) => events.push(p.event) }).getBlob('a/b', blob));
      expect(got.equals(data)).toBe(true);
      const ranged = fake.requests('GET', '/v2/a/b/blobs/').map((r) => r.headers.range);
      expect(ranged[0]).toBeUndefined();
      expect(ranged[1]).toMatch(/^bytes=\d+-$/);
      expect(Number(/\d+/.exec(ranged[1]!)![0])).toBeGreaterThan(0);
      expect(events).toContain('resumed');
      expect(events[events.length - 1]).toBe('done');
    });

    test('a 206 whose Content-Range does not start where asked is refused', async () => {
      const data = randomBytes(50_000);
      const blob = fake.putBlob(data);
      fake.hooks.push((req, res) => {
        if (req.method !== 'GET' || !req.url.pathname.includes('/blobs/')) return false;
        if (!req.headers.range) {
          res.writeHead(200, { 'content-length': data.length });
          res.write(data.subarray(0, 20_000), () => res.socket?.destroy());
        } else {
          res.writeHead(206, { 'content-length': data.length, 'content-range': `bytes 0-${data.length - 1}/${data.length}` });
          res.end(data);
        }
        return true;
      });
      await expect(readAll(await open().getBlob('a/b', blob))).rejects.toMatchObject({ code: 'LAYERFS_REGISTRY_PROTOCOL', message: expect.stringContaining('Content-Range') });
    });

    test('a 200 to a Range is not taken as the rest: LAYERFS_REGISTRY_RANGE_IGNORED, saying so', async () => {
      const data = randomBytes(50_000);
      const blob = fake.putBlob(data);
      let first = true;
      fake.hooks.push((req, res) => {
        if (req.method !== 'GET' || !req.url.pathname.includes('/blobs/')) return false;
        res.writeHead(200, { 'content-length': data.length });
        if (first) res.write(data.subarray(0, 20_000), () => res.socket?.destroy());
        else res.end(data);
        first = false;
        return true;
      });
      const got: Buffer[] = [];
      const s = await open().getBlob('a/b', blob);
      await expect((async () => { for await (const c of s) got.push(c as Buffer); })()).rejects.toMatchObject({ code: 'LAYERFS_REGISTRY_RANGE_IGNORED', status: 200, message: expect.stringContaining('answered 200 (the whole blob) instead of 206') });
      // what went on before the cut is the blob's start, and nothing of the 200 followed it
      const had = Buffer.concat(got);
      expect(had.length).toBeLessThanOrEqual(20_000);
      expect(had.equals(data.subarray(0, had.length))).toBe(true);
      expect(fake.requests('GET', '/v2/a/b/blobs/').map((r) => r.headers.range)).toEqual([undefined, `bytes=${had.length}-`]);
    });

    test('a 200 to the Range of a pull resuming a kept partial download: the blob is read again from byte 0, the kept bytes dropped', async () => {
      const dir = makeTempDir('range200');
      try {
        const img = await makeImage(dir, 256 << 10);
        await img.store.importImage(img.layout, { name: 'src' });
        await img.store.push('src', `${fake.host}/a/img:v1`, { tlsVerify: false });
        const store = await openStore(`${dir}/pull-store`);
        // a killed pull's first bytes of the big layer, kept for a resume, but damaged: were they reused, the digest could not match
        const whole = fake.blobs.get(img.bigBlob.digest)!;
        const kept = Buffer.from(whole.subarray(0, 100_000));
        kept[500] ^= 1;
        fs.mkdirSync(store.paths.downloadsDir, { recursive: true, mode: 0o700 });
        fs.writeFileSync(store.paths.download(img.bigBlob.digest), kept);
        fake.hooks.push((req, res) => {
          if (req.method !== 'GET' || !req.headers.range) return false;
          res.writeHead(200, { 'content-length': whole.length });
          res.end(whole);
          return true;
        });
        const rec = await store.pull(`${fake.host}/a/img:v1`, { tlsVerify: false });
        expect(rec.chain).toBe(img.chain);
        const gets = fake.requests('GET', '/v2/a/img/blobs/' + img.bigBlob.digest).map((r) => r.headers.range);
        expect(gets).toEqual(['bytes=100000-', undefined]);
        expect(fs.existsSync(store.paths.download(img.bigBlob.digest))).toBe(false);
        expect((await store.fsck()).problems).toEqual([]);
      } finally {
        removeTempDir(dir);
      }
    }, 60_000);

    test('a flipped byte is LAYERFS_DIGEST_MISMATCH at the end of the stream, too many bytes LAYERFS_SIZE_MISMATCH at once', async () => {
      const data = randomBytes(10_000);
      const blob = fake.putBlob(data);
      const flipped = Buffer.from(data);
      flipped[5000] ^= 1;
      fake.blobs.set(blob.digest, flipped);
      await expect(readAll(await open().getBlob('a/b', blob))).rejects.toMatchObject({ code: 'LAYERFS_DIGEST_MISMATCH', expected: blob.digest, actual: sha256(flipped) });
      fake.blobs.set(blob.digest, Buffer.concat([data, Buffer.from('x')]));
      await expect(readAll(await reg.getBlob('a/b', blob))).rejects.toMatchObject({ code: 'LAYERFS_SIZE_MISMATCH' });
    });

    test('a 307 to another host is followed without the Authorization header', async () => {
      const cdn = await FakeRegistry.start();
      try {
        const data = randomBytes(3000);
        const blob = cdn.putBlob(data);
        fake.hooks.push((req, res) => {
          if (!req.url.pathname.includes('/blobs/')) return false;
          res.writeHead(307, { location: `${cdn.url}/v2/a/b/blobs/${blob.digest}?sig=abc%2Bdef` });
          res.end();
          return true;
        });
        const auth: AuthProvider = { header: async () => 'Bearer secret-token', challenged: async () => false };
        const got = await readAll(await open({ auth }).getBlob('a/b', blob));
        expect(got.equals(data)).toBe(true);
        expect(fake.log[0].headers.authorization).toBe('Bearer secret-token');
        expect(cdn.log).toHaveLength(1);
        expect(cdn.log[0].headers.authorization).toBeUndefined();
        expect(cdn.log[0].url.search).toBe('?sig=abc%2Bdef');
        // an error there names the URL without its signed query
        cdn.blobs.delete(blob.digest);
        const err = await reg.getBlob('a/b', blob).catch((e) => e);
        expect(err).toMatchObject({ code: 'LAYERFS_REGISTRY_BLOB_UNKNOWN', url: `${cdn.url}/v2/a/b/blobs/${blob.digest}?…` });
        expect(err.message).not.toContain('sig=');
      } finally {
        await cdn.close();
      }
    });

    // as a user gets it (connect: the CLI's flags, registryAccess's proxy-aware dispatchers) and as the bare client
    test.each([
      ['the bare client', 4, (jobs: number) => open({ jobs })],
      ['connect() with --jobs, as the CLI and store.pull make it', 3, (jobs: number) => (reg = connect(fake.host, { jobs, tlsVerify: false, env: {} }))],
    ] as const)('several blobs at once go over several connections to one host (HTTP/1.1, `jobs` of them): %s', async (_how, jobs, make) => {
      const blobs = Array.from({ length: 4 }, () => fake.putBlob(randomBytes(1000)));
      const sockets = new Set<unknown>();
      let waiting: (() => void)[] = [];
      let most = 0;
      fake.hooks.push((req, res) => {
        if (req.method !== 'GET') return false;
        // hold each answer until `jobs` requests are in, or two seconds passed
        sockets.add((res as unknown as { socket: unknown }).socket);
        return new Promise<boolean>((resolve) => {
          waiting.push(() => resolve(false));
          most = Math.max(most, waiting.length);
          const release = () => {
            const w = waiting;
            waiting = [];
            for (const f of w) f();
          };
          if (waiting.length === jobs) release();
          else setTimeout(release, 2000);
        });
      });
      const r = make(jobs);
      const got = await Promise.all(blobs.map(async (b) => sha256(await readAll(await r.getBlob('a/b', b)))));
      expect(got).toEqual(blobs.map((b) => b.digest));
      // never more at once than asked (the default pool has 6), and all of them used
      expect(most).toBe(jobs);
      expect(sockets.size).toBe(jobs);
    });

    test('a blob stream destroyed before its first read ends its answer (no connection left waiting)', async () => {
      const data = randomBytes(64 * 1024);
      const blob = fake.putBlob(data);
      let closed!: () => void;
      const answerClosed = new Promise<void>((resolve) => (closed = resolve));
      fake.hooks.push((req, res) => {
        if (!req.url.pathname.includes('/blobs/')) return false;
        res.on('close', () => closed());
        res.writeHead(200, { 'content-length': data.length });
        res.write(data.subarray(0, 1000)); // the rest never comes
        return true;
      });
      const stream = await open().getBlob('a/b', blob);
      stream.destroy();
      await answerClosed;
      expect(stream.destroyed).toBe(true);
    });

    test('an abort ends a blob read with LAYERFS_ABORTED', async () => {
      const data = randomBytes(64 * 1024);
      const blob = fake.putBlob(data);
      fake.hooks.push((req, res) => {
        if (!req.url.pathname.includes('/blobs/')) return false;
        res.writeHead(200, { 'content-length': data.length });
        res.write(data.subarray(0, 1000)); // and then nothing: the client must not wait for ever
        return true;
      });
      const ac = new AbortController();
      const stream = await open().getBlob('a/b', blob, { signal: ac.signal });
      const reading = readAll(stream);
      setTimeout(() => ac.abort(), 50);
      await expect(reading).rejects.toMatchObject({ code: 'LAYERFS_ABORTED' });
    });
  });

  describe('uploads', () => {
    test('large blobs go in PATCH chunks honouring OCI-Chunk-Min-Length, always to the newest Location, its query kept', async () => {
      await fake.close();
      fake = await FakeRegistry.start({ chunkMinLength: 100_000 });
      const data = randomBytes(350_000);
      const desc = { digest: sha256(data), size: data.length };
      const r = await open({ chunkSize: 64 * 1024, monolithicMax: 1000 }).pushBlob('a/b', desc, (o) => Readable.from([data.subarray(o)]));
      expect(r).toEqual({ how: 'uploaded', bytes: data.length });
      expect(fake.blobs.get(desc.digest)?.equals(data)).toBe(true);
      const patches = fake.requests('PATCH');
      expect(patches.map((p) => p.body.length)).toEqual([100_000, 100_000, 100_000, 50_000]);
      expect(patches.map((p) => p.headers['content-range'])).toEqual(['0-99999', '100000-199999', '200000-299999', '300000-349999']);
      // the fake refuses a stale _state: every step used the Location before it
      const put = fake.requests('PUT')[0];
      expect(put.url.searchParams.get('digest')).toBe(desc.digest);
      expect(put.url.searchParams.get('_state')).toMatch(/\+\/=$/);
    });

    test('by default a large blob goes in one PATCH of the whole blob (OCI-Chunk-Min-Length met: it is the last chunk), then the PUT', async () => {
      await fake.close();
      fake = await FakeRegistry.start({ chunkMinLength: 100_000 });
      const data = randomBytes(350_000);
      const desc = { digest: sha256(data), size: data.length };
      expect(await open({ monolithicMax: 1000 }).pushBlob('a/b', desc, (o) => Readable.from([data.subarray(o)]))).toEqual({ how: 'uploaded', bytes: data.length });
      expect(fake.log.map((r) => r.method)).toEqual(['HEAD', 'POST', 'PATCH', 'PUT']);
      expect(fake.requests('PATCH').map((p) => p.headers['content-range'])).toEqual(['0-349999']);
      expect(fake.blobs.get(desc.digest)?.equals(data)).toBe(true);
    });

    test('a connection cut during the PATCH of the whole blob: GET tells how much the session holds, and one PATCH sends the rest from there', async () => {
      const data = randomBytes(300_000);
      const desc = { digest: sha256(data), size: data.length };
      let cut = false;
      fake.hooks.push((req, res) => {
        if (req.method === 'PATCH' && !cut) {
          cut = true;
          const u = fake.uploads.get(req.url.pathname.split('/').pop()!)!;
          u.data = Buffer.concat([u.data, req.body.subarray(0, 123_457)]);
          res.socket?.destroy();
          return true;
        }
        return false;
      });
      const opened: number[] = [];
      await open({ monolithicMax: 1000 }).pushBlob('a/b', desc, (o) => {
        opened.push(o);
        return Readable.from([data.subarray(o)]);
      });
      expect(fake.blobs.get(desc.digest)?.equals(data)).toBe(true);
      expect(opened).toEqual([0, 123_457]);
      expect(fake.requests('PATCH').map((p) => p.headers['content-range'])).toEqual(['0-299999', '123457-299999']);
      const methods = fake.log.map((r) => r.method);
      expect(methods.slice(methods.indexOf('GET'))).toEqual(['GET', 'PATCH', 'PUT']);
    });

    test('a registry that answers 413 to the PATCH of the whole blob gets it in 16 MiB chunks from where the session stands', async () => {
      const data = randomBytes((16 << 20) + 5000);
      const desc = { digest: sha256(data), size: data.length };
      fake.hooks.push((req, res) => {
        if (req.method === 'PATCH' && req.body.length > 16 << 20) {
          sendError(res, 413, 'SIZE_INVALID', 'too large');
          return true;
        }
        return false;
      });
      await open({ monolithicMax: 1000 }).pushBlob('a/b', desc, (o) => Readable.from([data.subarray(o)]));
      expect(fake.blobs.get(desc.digest)?.equals(data)).toBe(true);
      expect(fake.requests('PATCH').map((p) => p.headers['content-range'])).toEqual([`0-${data.length - 1}`, `0-${(16 << 20) - 1}`, `${16 << 20}-${data.length - 1}`]);
    });

    test('a small blob goes up in one PUT after the POST', async () => {
      const data = randomBytes(5000);
      const desc = { digest: sha256(data), size: data.length };
      await open().pushBlob('a/b', desc, () => Readable.from([data]));
      expect(fake.log.map((r) => r.method)).toEqual(['HEAD', 'POST', 'PUT']);
      expect(fake.requests('PUT')[0].body.equals(data)).toBe(true);
    });

    test('a 416 on a chunk: the client asks where the session stands (GET) and goes on from there', async () => {
      const data = randomBytes(200_000);
      const desc = { digest: sha256(data), size: data.length };
      let done = false;
      fake.hooks.push((req, res) => {
        // the second chunk: the registry kept half of it, then says 416
        if (req.method === 'PATCH' && req.headers['content-range'] === '65536-131071' && !done) {
          done = true;
          const id = req.url.pathname.split('/').pop()!;
          const u = fake.uploads.get(id)!;
          u.data = Buffer.concat([u.data, req.body.subarray(0, 30_000)]);
          sendError(res, 416, 'RANGE_INVALID', 'out of order');
          return true;
        }
        return false;
      });
      const opened: number[] = [];
      await open({ chunkSize: 64 * 1024, monolithicMax: 1000 }).pushBlob('a/b', desc, (o) => {
        opened.push(o);
        return Readable.from([data.subarray(o)]);
      });
      expect(fake.blobs.get(desc.digest)?.equals(data)).toBe(true);
      expect(opened).toEqual([0, 65536 + 30_000]);
      const methods = fake.log.map((r) => r.method);
      expect(methods.indexOf('GET')).toBeGreaterThan(methods.indexOf('PATCH'));
    });

    test('a connection cut during a PATCH is resumed from the status the session reports', async () => {
      const data = randomBytes(200_000);
      const desc = { digest: sha256(data), size: data.length };
      let cut = false;
      fake.hooks.push((req, res) => {
        if (req.method === 'PATCH' && !cut && req.headers['content-range']?.startsWith('65536-')) {
          cut = true;
          const u = fake.uploads.get(req.url.pathname.split('/').pop()!)!;
          u.data = Buffer.concat([u.data, req.body.subarray(0, 1234)]);
          res.socket?.destroy();
          return true;
        }
        return false;
      });
      const opened: number[] = [];
      await open({ chunkSize: 64 * 1024, monolithicMax: 1000 }).pushBlob('a/b', desc, (o) => {
        opened.push(o);
        return Readable.from([data.subarray(o)]);
      });
      expect(fake.blobs.get(desc.digest)?.equals(data)).toBe(true);
      expect(opened).toEqual([0, 65536 + 1234]);
    });

    test('a 201 to a PATCH is taken as the chunk accepted', async () => {
      await fake.close();
      fake = await FakeRegistry.start({ patchStatus: 201 });
      const data = randomBytes(150_000);
      const desc = { digest: sha256(data), size: data.length };
      expect(await open({ chunkSize: 64 * 1024, monolithicMax: 1000 }).pushBlob('a/b', desc, (o) => Readable.from([data.subarray(o)]))).toEqual({ how: 'uploaded', bytes: data.length });
      expect(fake.requests('PATCH')).toHaveLength(3);
      expect(fake.blobs.get(desc.digest)?.equals(data)).toBe(true);
    });

    test('a mount that fails falls back to an upload; a 202 to a mount is the session to upload in', async () => {
      const data = randomBytes(1000);
      const desc = { digest: sha256(data), size: data.length };
      fake.hooks.push((req, res) => {
        if (req.method === 'POST' && req.url.searchParams.get('mount') && req.url.searchParams.get('from') === 'broken/repo') {
          sendError(res, 500, 'UNKNOWN', 'mount exploded');
          return true;
        }
        return false;
      });
      expect(await open().pushBlob('a/b', desc, () => Readable.from([data]), { mountFrom: 'broken/repo' })).toMatchObject({ how: 'uploaded' });
      const posts = fake.requests('POST');
      expect(posts.map((p) => p.url.search)).toEqual([`?mount=${encodeURIComponent(desc.digest)}&from=broken%2Frepo`, '']);
      // the fake has no such blob in another repo: it opens a session (202), used as it is
      fake.log.length = 0;
      const other = randomBytes(500);
      const od = { digest: sha256(other), size: other.length };
      expect(await reg.pushBlob('c/d', od, () => Readable.from([other]), { mountFrom: 'e/f' })).toMatchObject({ how: 'uploaded' });
      expect(fake.log.map((r) => r.method)).toEqual(['HEAD', 'POST', 'PUT']);
    });

    test("a source that cannot be read fails the push with the source's own error, in one PUT or in chunks", async () => {
      const data = randomBytes(1000);
      const desc = { digest: sha256(data), size: data.length };
      const broken = () => Object.assign(new Error('ENOENT: no such file, open blobs/sha256/x'), { code: 'ENOENT' });
      await expect(open().pushBlob('a/b', desc, () => { throw broken(); })).rejects.toMatchObject({ code: 'ENOENT' });
      const failing = () => new Readable({ read() { this.destroy(broken()); } });
      await expect(open().pushBlob('a/b', desc, failing)).rejects.toMatchObject({ code: 'ENOENT' });
      await expect(open({ monolithicMax: 10, chunkSize: 300 }).pushBlob('a/b', desc, failing)).rejects.toMatchObject({ code: 'ENOENT' });
      expect(fake.blobs.has(desc.digest)).toBe(false);
    });

    test('a source that ends early fails the push with LAYERFS_SIZE_MISMATCH, and a source with more bytes too', async () => {
      const data = randomBytes(1000);
      const desc = { digest: sha256(data), size: data.length };
      await expect(open().pushBlob('a/b', desc, () => Readable.from([data.subarray(0, 500)]))).rejects.toMatchObject({ code: 'LAYERFS_SIZE_MISMATCH' });
      await expect(open({ monolithicMax: 10, chunkSize: 300 }).pushBlob('a/b', desc, () => Readable.from([data.subarray(0, 500)]))).rejects.toMatchObject({ code: 'LAYERFS_SIZE_MISMATCH' });
      await expect(open().pushBlob('a/b', desc, () => Readable.from([data, data]))).rejects.toMatchObject({ code: 'LAYERFS_SIZE_MISMATCH' });
      expect(fake.blobs.has(desc.digest)).toBe(false);
    });
  });

  describe('manifests', () => {
    const body = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: { mediaType: 'x', digest: sha256('c'), size: 1 }, layers: [] }));

    test('the Accept list names the four types; Content-Type parameters are ignored', async () => {
      fake.putManifest('a/b', 'v1', `${OCI_MANIFEST}; charset=utf-8`, body);
      const m = await open().getManifest('a/b', 'v1');
      expect(m.mediaType).toBe(OCI_MANIFEST);
      expect(String(fake.log[0].headers.accept).split(/,\s*/)).toEqual([OCI_INDEX, OCI_MANIFEST, 'application/vnd.docker.distribution.manifest.list.v2+json', 'application/vnd.docker.distribution.manifest.v2+json']);
    });

    test('a Content-Type that disagrees with the body is MANIFEST_INVALID', async () => {
      fake.putManifest('a/b', 'v1', OCI_INDEX, body);
      await expect(open().getManifest('a/b', 'v1')).rejects.toMatchObject({ code: 'LAYERFS_REGISTRY_MANIFEST_INVALID', message: expect.stringContaining('Content-Type') });
    });

    test('by digest the body is hashed: another body is LAYERFS_DIGEST_MISMATCH, whatever Docker-Content-Digest says', async () => {
      const digest = sha256(body);
      const other = Buffer.from(body.toString().replace('"layers":[]', '"layers": []'));
      fake.manifests.set(`a/b@${digest}`, { type: OCI_MANIFEST, body: other });
      fake.hooks.push((req, res) => {
        if (!req.url.pathname.endsWith(digest)) return false;
        res.writeHead(200, { 'content-type': OCI_MANIFEST, 'docker-content-digest': digest });
        res.end(other);
        return true;
      });
      await expect(open().getManifest('a/b', digest)).rejects.toMatchObject({ code: 'LAYERFS_DIGEST_MISMATCH', expected: digest, actual: sha256(other) });
    });

    test('HEAD refused with 405 (or 403) falls back to GET', async () => {
      const digest = fake.putManifest('a/b', 'v1', OCI_MANIFEST, body);
      fake.hooks.push((req, res) => {
        if (req.method !== 'HEAD') return false;
        res.writeHead(req.url.pathname.endsWith('v1') ? 405 : 403);
        res.end();
        return true;
      });
      expect(await open().headManifest('a/b', 'v1')).toEqual({ mediaType: OCI_MANIFEST, digest, size: body.length });
      expect(await reg.headManifest('a/b', digest)).toEqual({ mediaType: OCI_MANIFEST, digest, size: body.length });
      expect(fake.log.map((r) => r.method)).toEqual(['HEAD', 'GET', 'HEAD', 'GET']);
    });

    test('an index is put with its own media type; a wrong body type is refused before sending', async () => {
      const index = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [] }));
      await open().putManifest('a/b', 'multi', OCI_INDEX, index);
      expect(fake.requests('PUT')[0].headers['content-type']).toBe(OCI_INDEX);
      await expect(reg.putManifest('a/b', 'multi', OCI_MANIFEST, index)).rejects.toMatchObject({ code: 'LAYERFS_INVALID_ARGUMENT' });
      expect(fake.requests('PUT')).toHaveLength(1);
    });
  });

  describe('tags and referrers', () => {
    test('tags are paged with ?n= and followed through Link', async () => {
      const body = Buffer.from('{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]}');
      const names = Array.from({ length: 11 }, (_, i) => `t${String(i).padStart(2, '0')}`);
      for (const t of names) fake.putManifest('a/b', t, OCI_INDEX, body);
      expect(await open().listTags('a/b', { pageSize: 3 })).toEqual(names);
      const pages = fake.requests('GET', '/v2/a/b/tags/list');
      expect(pages).toHaveLength(4);
      expect(pages.map((p) => p.url.searchParams.get('last'))).toEqual([null, 't02', 't05', 't08']);
    });

    test('the referrers API is used where the registry has it, and its filter taken as applied', async () => {
      await fake.close();
      fake = await FakeRegistry.start({ referrersApi: true });
      const subject = sha256('subject');
      const mk = (artifactType: string) => Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, artifactType, config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: sha256('{}'), size: 2 }, layers: [], subject: { mediaType: OCI_MANIFEST, digest: subject, size: 1 } }));
      const sig = mk('application/vnd.example.sig');
      const sbom = mk('application/vnd.example.sbom');
      fake.putManifest('a/b', sha256(sig), OCI_MANIFEST, sig);
      fake.putManifest('a/b', sha256(sbom), OCI_MANIFEST, sbom);
      const all = await open().referrers('a/b', subject);
      expect(all.map((d) => d.artifactType).sort()).toEqual(['application/vnd.example.sbom', 'application/vnd.example.sig']);
      expect(await reg.referrers('a/b', subject, { artifactType: 'application/vnd.example.sig' })).toEqual([{ mediaType: OCI_MANIFEST, digest: sha256(sig), size: sig.length, artifactType: 'application/vnd.example.sig' }]);
      expect(fake.requests('GET', '/v2/a/b/manifests/')).toHaveLength(0); // no fallback tag read
    });
  });

  describe('errors', () => {
    test('a registry that is not there is UNREACHABLE after the retries', async () => {
      const port = fake.port;
      await fake.close();
      fake = await FakeRegistry.start();
      const gone = new Registry(`127.0.0.1:${port}`, quick);
      try {
        await expect(gone.ping()).rejects.toMatchObject({ code: 'LAYERFS_REGISTRY_UNREACHABLE', message: expect.stringContaining(`127.0.0.1:${port}`) });
      } finally {
        await gone.close();
      }
    });

    test('a 401 asks the AuthProvider once, retries once, then fails with UNAUTHORIZED and the challenge learnt', async () => {
      const seen: (string | undefined)[] = [];
      fake.hooks.push((req, res) => {
        seen.push(req.headers.authorization);
        if (req.headers.authorization === 'Bearer good') return false;
        sendError(res, 401, 'UNAUTHORIZED', 'authentication required', { 'www-authenticate': 'Bearer realm="http://127.0.0.1/token",service="fake",scope="repository:a/b:pull"' });
        return true;
      });
      const challenges: (string | undefined)[] = [];
      let token: string | undefined;
      const auth: AuthProvider = {
        header: async () => token,
        challenged: async (host, scopes, www) => {
          challenges.push(www);
          expect(host).toBe(fake.host);
          expect(scopes).toEqual(['repository:a/b:pull']);
          token = 'Bearer good';
          return true;
        },
      };
      const blob = fake.putBlob(Buffer.from('hello'));
      expect(await open({ auth }).headBlob('a/b', blob.digest)).toEqual(blob);
      expect(seen).toEqual([undefined, 'Bearer good']);
      expect(challenges).toEqual(['Bearer realm="http://127.0.0.1/token",service="fake",scope="repository:a/b:pull"']);
      // a provider that learns nothing: the 401 becomes the error, with no second try
      token = 'Bearer bad';
      const stubborn = new Registry(fake.host, { ...quick, auth: { header: async () => 'Bearer bad', challenged: async () => false } });
      try {
        seen.length = 0;
        await expect(stubborn.getManifest('a/b', 'v1')).rejects.toMatchObject({ code: 'LAYERFS_REGISTRY_UNAUTHORIZED', status: 401, registryMessage: 'authentication required' });
        expect(seen).toEqual(['Bearer bad']);
      } finally {
        await stubborn.close();
      }
    });

    test('an https registry is never spoken to in plain HTTP unless asked', async () => {
      const r = new Registry(fake.host, { retries: 0 });
      try {
        const err = await r.ping().catch((e) => e);
        expect(err).toMatchObject({ code: 'LAYERFS_REGISTRY_TLS' });
        expect(err.message).toContain('--cert-dir');
        expect(err.message).toContain('--tls-verify');
        expect(fake.log).toHaveLength(0);
      } finally {
        await r.close();
      }
      // --tls-verify=false also allows plain HTTP
      const insecure = new Registry(fake.host, { retries: 0, tls: () => ({ verify: false }) });
      try {
        await insecure.ping();
        expect(fake.log).toHaveLength(1);
      } finally {
        await insecure.close();
      }
    });

    test('errors carry what the registry said, and serialise as JSON', async () => {
      const err = await open().getManifest('a/b', 'missing').catch((e) => e);
      expect(err.toJSON()).toEqual({
        code: 'LAYERFS_REGISTRY_MANIFEST_UNKNOWN',
        message: `manifest a/b:missing: the registry answered 404 (MANIFEST_UNKNOWN: manifest unknown) to GET ${fake.url}/v2/a/b/manifests/missing`,
        kind: 'MANIFEST_UNKNOWN',
        url: `${fake.url}/v2/a/b/manifests/missing`,
        status: 404,
        registryCode: 'MANIFEST_UNKNOWN',
        registryMessage: 'manifest unknown',
      });
    });

    test('bad arguments are refused before any request', async () => {
      await expect(open().getManifest('A/b', 'v1')).rejects.toMatchObject({ code: 'LAYERFS_INVALID_ARGUMENT' });
      await expect(reg.getManifest('a/b', 'bad tag')).rejects.toMatchObject({ code: 'LAYERFS_INVALID_ARGUMENT' });
      await expect(reg.getBlob('a/b', { digest: 'sha256:xyz', size: 1 })).rejects.toMatchObject({ code: 'LAYERFS_INVALID_ARGUMENT' });
      await expect(reg.getBlob('a/b', { digest: sha256('x'), size: 1 }, { offset: 1 })).rejects.toMatchObject({ code: 'LAYERFS_INVALID_ARGUMENT' });
      expect(fake.log).toHaveLength(0);
    });
  });
});
