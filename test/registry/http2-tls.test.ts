import { execFileSync } from 'child_process';
import { createHash, randomBytes } from 'crypto';
import * as fs from 'fs';
import * as http2 from 'http2';
import type { AddressInfo } from 'net';
import * as path from 'path';
import { Readable } from 'stream';
import { Registry } from '../../lib/registry';
import { describeIf } from '../fixtures/peers';
import { makeTempDir, removeTempDir } from '../fixtures/tmp';

/**
 * The client over TLS and HTTP/2 (node http2 on 127.0.0.1, a certificate made by openssl): a
 * certificate it does not trust is a TLS error that names --cert-dir and --tls-verify, never a
 * fallback to plain HTTP; and an HTTP/2 stream reset, before the answer or in the middle of a
 * blob, is retried or resumed like a cut connection.
 */

async function readAll(r: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of r) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

describeIf(['openssl'])('Registry over TLS and HTTP/2', () => {
  let dir: string;
  let cert: Buffer;
  let server: http2.Http2SecureServer;
  let host: string;
  const data = randomBytes(200_000);
  const digest = 'sha256:' + createHash('sha256').update(data).digest('hex');
  const seen: { path: string; range?: string; alpn?: string }[] = [];
  let resetPlan: ('before' | 'middle' | null)[] = [];

  beforeAll(async () => {
    dir = makeTempDir('h2');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', path.join(dir, 'key.pem'), '-out', path.join(dir, 'cert.pem'), '-days', '2', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'pipe' });
    cert = fs.readFileSync(path.join(dir, 'cert.pem'));
    server = http2.createSecureServer({ key: fs.readFileSync(path.join(dir, 'key.pem')), cert, allowHTTP1: true });
    // 'request' serves both HTTP/2 and HTTP/1.1 (allowHTTP1); a reset needs the HTTP/2 stream
    server.on('request', (req: http2.Http2ServerRequest, res: http2.Http2ServerResponse) => {
      const p = req.url;
      const range = req.headers.range as string | undefined;
      seen.push({ path: p, range, alpn: req.httpVersion === '2.0' ? 'h2' : 'http/1.1' });
      if (p === '/v2/') {
        res.writeHead(200, { 'content-type': 'application/json' });
        return void res.end('{}');
      }
      const plan = resetPlan.shift() ?? null;
      if (plan === 'before') return void req.stream.close(http2.constants.NGHTTP2_REFUSED_STREAM);
      const from = range ? Number(/bytes=(\d+)-/.exec(range)![1]) : 0;
      if (range) res.writeHead(206, { 'content-length': data.length - from, 'content-range': `bytes ${from}-${data.length - 1}/${data.length}` });
      else res.writeHead(200, { 'content-length': data.length });
      if (plan === 'middle') {
        res.write(data.subarray(from, from + 50_000), () => req.stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR));
        return;
      }
      res.end(data.subarray(from));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    removeTempDir(dir);
  });

  test('an untrusted certificate is a TLS error naming --cert-dir and --tls-verify', async () => {
    const reg = new Registry(host, { retries: 0 });
    try {
      const err = await reg.ping().catch((e) => e);
      expect(err).toMatchObject({ code: 'LAYERFS_REGISTRY_TLS', url: `https://${host}/v2/` });
      expect(err.message).toMatch(/TLS with 127\.0\.0\.1:\d+ failed: .*--cert-dir.*--tls-verify=false/);
    } finally {
      await reg.close();
    }
  });

  test('with its CA the connection is verified; with --tls-verify=false it is not checked, and stays TLS', async () => {
    for (const tls of [{ ca: [cert] }, { verify: false }]) {
      const reg = new Registry(host, { tls: () => tls });
      try {
        const before = seen.length;
        await reg.ping();
        // the server speaks only TLS: the request reached it
        expect(seen.slice(before).map((s) => s.path)).toEqual(['/v2/']);
      } finally {
        await reg.close();
      }
    }
  });

  test('an HTTP/2 stream refused before its answer is sent again; one reset mid-blob is resumed with Range', async () => {
    const reg = new Registry(host, { http2: true, backoffMs: 5, tls: () => ({ ca: [cert] }) });
    try {
      seen.length = 0;
      resetPlan = ['before', 'middle'];
      const got = await readAll(await reg.getBlob('a/b', { digest, size: data.length }));
      expect(got.equals(data)).toBe(true);
      const blobs = seen.filter((s) => s.path.includes('/blobs/'));
      expect(blobs.map((s) => s.alpn)).toEqual(['h2', 'h2', 'h2']);
      expect(blobs[0].range).toBeUndefined();
      expect(blobs[1].range).toBeUndefined();
      expect(blobs[2].range).toMatch(/^bytes=\d+-$/);
    } finally {
      await reg.close();
    }
  });

  test('HTTP/1.1 by default, even where the server offers HTTP/2', async () => {
    const reg = new Registry(host, { tls: () => ({ ca: [cert] }) });
    try {
      seen.length = 0;
      resetPlan = [];
      expect((await readAll(await reg.getBlob('a/b', { digest, size: data.length }))).equals(data)).toBe(true);
      expect(seen.filter((s) => s.path.includes('/blobs/')).map((s) => s.alpn)).toEqual(['http/1.1']);
    } finally {
      await reg.close();
    }
  });
});
