import { createHash, randomBytes } from 'crypto';
import * as net from 'net';
import { Readable } from 'stream';
import { Agent, type Dispatcher } from 'undici';
import { Registry, OCI_MANIFEST, OCI_INDEX, DOCKER_MANIFEST, type RegistryOptions } from '../../lib/registry';
import { sha256 } from '../../lib/digest';
import { describeIf } from '../fixtures/peers';
import { registryUnmet, startRegistry, type RegistryServer } from './registry-server';

/** The client against a real registry: Debian's docker-registry (distribution 2.8), plain HTTP on 127.0.0.1. */

async function readAll(r: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of r) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

function blob(bytes: Buffer) {
  return { desc: { digest: sha256(bytes), size: bytes.length }, open: (offset: number) => Readable.from([bytes.subarray(offset)]) };
}

function imageManifest(config: { digest: string; size: number }, layers: { digest: string; size: number }[], mediaType = OCI_MANIFEST) {
  const docker = mediaType === DOCKER_MANIFEST;
  return Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType,
      config: { mediaType: docker ? 'application/vnd.docker.container.image.v1+json' : 'application/vnd.oci.image.config.v1+json', ...config },
      layers: layers.map((l) => ({ mediaType: docker ? 'application/vnd.docker.image.rootfs.diff.tar.gzip' : 'application/vnd.oci.image.layer.v1.tar+gzip', ...l })),
    }),
  );
}

describeIf(registryUnmet().length === 0, registryUnmet().join('; '))('Registry against docker-registry', () => {
  let server: RegistryServer;
  let reg: Registry;
  beforeAll(async () => {
    server = await startRegistry();
    reg = new Registry(server.host, { plainHttp: () => true, chunkSize: 64 * 1024, monolithicMax: 100 * 1024 });
  });
  afterAll(async () => {
    await reg?.close();
    await server?.stop();
  });

  test('pushes a blob and a manifest, and reads them back', async () => {
    const layer = blob(randomBytes(5000));
    const config = blob(Buffer.from('{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}'));
    expect(await reg.headBlob('app/one', layer.desc.digest)).toBeNull();
    expect(await reg.pushBlob('app/one', layer.desc, layer.open)).toEqual({ how: 'uploaded', bytes: 5000 });
    expect(await reg.pushBlob('app/one', config.desc, config.open)).toMatchObject({ how: 'uploaded' });
    // a second push finds it
    expect(await reg.pushBlob('app/one', layer.desc, layer.open)).toEqual({ how: 'exists', bytes: 0 });
    expect(await reg.headBlob('app/one', layer.desc.digest)).toEqual(layer.desc);

    const body = imageManifest(config.desc, [layer.desc]);
    const put = await reg.putManifest('app/one', 'v1', OCI_MANIFEST, body);
    expect(put.digest).toBe(sha256(body));

    const byTag = await reg.getManifest('app/one', 'v1');
    expect(byTag).toEqual({ mediaType: OCI_MANIFEST, digest: sha256(body), size: body.length, body });
    const byDigest = await reg.getManifest('app/one', put.digest);
    expect(byDigest.body.equals(body)).toBe(true);
    expect(await reg.headManifest('app/one', 'v1')).toEqual({ mediaType: OCI_MANIFEST, digest: put.digest, size: body.length });
    expect(await reg.headManifest('app/one', 'nope')).toBeNull();

    const read = await readAll(await reg.getBlob('app/one', layer.desc));
    expect(sha256(read)).toBe(layer.desc.digest);
  });

  test('a Docker schema 2 manifest keeps its media type', async () => {
    const layer = blob(randomBytes(100));
    const config = blob(Buffer.from('{"os":"linux"}'));
    await reg.pushBlob('app/docker', layer.desc, layer.open);
    await reg.pushBlob('app/docker', config.desc, config.open);
    const body = imageManifest(config.desc, [layer.desc], DOCKER_MANIFEST);
    await reg.putManifest('app/docker', 'latest', DOCKER_MANIFEST, body);
    const got = await reg.getManifest('app/docker', 'latest');
    expect(got.mediaType).toBe(DOCKER_MANIFEST);
    expect(got.body.equals(body)).toBe(true);
    // asking only for OCI types: the registry has nothing to give
    await expect(reg.getManifest('app/docker', 'latest', { accept: [OCI_MANIFEST, OCI_INDEX] })).rejects.toMatchObject({ code: expect.stringMatching(/^LAYERFS_REGISTRY_(MANIFEST_UNKNOWN|MANIFEST_INVALID)$/) });
  });

  test('a missing tag is MANIFEST_UNKNOWN and a missing blob BLOB_UNKNOWN, with the URL and status', async () => {
    const layer = blob(randomBytes(10));
    await reg.pushBlob('app/missing', layer.desc, layer.open);
    const err = await reg.getManifest('app/missing', 'nope').catch((e) => e);
    expect(err).toMatchObject({ code: 'LAYERFS_REGISTRY_MANIFEST_UNKNOWN', status: 404, registryCode: 'MANIFEST_UNKNOWN', url: `http://${server.host}/v2/app/missing/manifests/nope` });
    expect(err.message).toContain('app/missing:nope');
    const missing = { digest: sha256('not there'), size: 9 };
    const berr = await reg.getBlob('app/missing', missing).catch((e) => e);
    expect(berr).toMatchObject({ code: 'LAYERFS_REGISTRY_BLOB_UNKNOWN', status: 404, registryCode: 'BLOB_UNKNOWN' });
  });

  test('a blob whose bytes do not hash to its digest is refused by the registry', async () => {
    const bytes = randomBytes(1000);
    const wrong = { digest: sha256('something else'), size: 1000 };
    await expect(reg.pushBlob('app/bad', wrong, () => Readable.from([bytes]))).rejects.toMatchObject({ code: 'LAYERFS_REGISTRY_DIGEST_INVALID', status: 400 });
  });

  /** a client whose every request is written down (method, path, Content-Range) through the dispatcher seam */
  function counting(opts: RegistryOptions, host = server.host) {
    const sent: string[] = [];
    const agents: Agent[] = [];
    const reg = new Registry(host, {
      plainHttp: () => true,
      ...opts,
      dispatcher: (_host, connect) =>
        (agents[agents.length] = new Agent({ connect })).compose((dispatch: Dispatcher['dispatch']) => (o, handler) => {
          sent.push(`${o.method} ${String(o.path).split('?')[0].replace(/uploads\/[^/]+$/, 'uploads/ID')} ${(o.headers as Record<string, string>)['content-range'] ?? ''}`.trim());
          return dispatch(o, handler);
        }),
    });
    const close = async () => {
      await reg.close();
      // a given dispatcher is the giver's to close
      expect(agents).toHaveLength(1);
      expect(agents[0].closed).toBe(false);
      await agents[0].close();
    };
    return { reg, sent, close };
  }

  test('a large blob goes up in PATCH chunks to the real registry when chunkSize asks (each request seen through the dispatcher seam)', async () => {
    const c = counting({ chunkSize: 64 * 1024, monolithicMax: 100 * 1024 });
    try {
      const big = blob(randomBytes(200_000));
      await c.reg.pushBlob('app/chunks', big.desc, big.open);
      expect(c.sent).toEqual([
        `HEAD /v2/app/chunks/blobs/${big.desc.digest}`,
        'POST /v2/app/chunks/blobs/uploads/',
        'PATCH /v2/app/chunks/blobs/uploads/ID 0-65535',
        'PATCH /v2/app/chunks/blobs/uploads/ID 65536-131071',
        'PATCH /v2/app/chunks/blobs/uploads/ID 131072-196607',
        'PATCH /v2/app/chunks/blobs/uploads/ID 196608-199999',
        'PUT /v2/app/chunks/blobs/uploads/ID',
      ]);
      expect(sha256(await readAll(await c.reg.getBlob('app/chunks', big.desc)))).toBe(big.desc.digest);
    } finally {
      await c.close();
    }
  });

  test('by default a large blob goes up to the real registry in one PATCH of the whole blob, then the PUT', async () => {
    const c = counting({ monolithicMax: 100 * 1024 });
    try {
      const big = blob(randomBytes(300_000));
      await c.reg.pushBlob('app/stream', big.desc, big.open);
      expect(c.sent).toEqual([`HEAD /v2/app/stream/blobs/${big.desc.digest}`, 'POST /v2/app/stream/blobs/uploads/', 'PATCH /v2/app/stream/blobs/uploads/ID 0-299999', 'PUT /v2/app/stream/blobs/uploads/ID']);
      expect(sha256(await readAll(await c.reg.getBlob('app/stream', big.desc)))).toBe(big.desc.digest);
    } finally {
      await c.close();
    }
  });

  test('a connection cut in the middle of the PATCH of the whole blob: distribution 2.8 refuses the status of a session the cut wrote into (BLOB_UPLOAD_INVALID), so a new session sends the blob', async () => {
    // a proxy that cuts the first connection once 1 MiB of a PATCH has gone through it
    let cut = false;
    const sockets = new Set<net.Socket>();
    const proxy = net.createServer((c) => {
      const r = net.connect(server.port, '127.0.0.1');
      sockets.add(c).add(r);
      let seen = 0;
      let patch = false;
      c.on('data', (d) => {
        patch ||= d.includes('PATCH ');
        seen += d.length;
        if (patch && !cut && seen > 1 << 20) {
          cut = true;
          c.destroy();
          r.destroy();
          return;
        }
        r.write(d);
      });
      r.on('data', (d) => c.write(d));
      for (const s of [c, r]) s.on('error', () => undefined).on('close', () => (c.destroy(), r.destroy()));
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    const host = `127.0.0.1:${(proxy.address() as net.AddressInfo).port}`;
    const c = counting({ monolithicMax: 100 * 1024, backoffMs: 10 }, host);
    try {
      const bytes = randomBytes(3 << 20);
      const desc = { digest: sha256(bytes), size: bytes.length };
      const opened: number[] = [];
      const open = (o: number) => {
        opened.push(o);
        return Readable.from((function* () {
          for (let i = o; i < bytes.length; i += 64 * 1024) yield bytes.subarray(i, Math.min(i + 64 * 1024, bytes.length));
        })());
      };
      expect(await c.reg.pushBlob('app/resumed', desc, open)).toMatchObject({ how: 'uploaded' });
      expect(cut).toBe(true);
      const tail = c.sent.slice(c.sent.indexOf('GET /v2/app/resumed/blobs/uploads/ID'));
      expect(tail).toEqual([
        'GET /v2/app/resumed/blobs/uploads/ID',
        `HEAD /v2/app/resumed/blobs/${desc.digest}`,
        'POST /v2/app/resumed/blobs/uploads/',
        `PATCH /v2/app/resumed/blobs/uploads/ID 0-${bytes.length - 1}`,
        'PUT /v2/app/resumed/blobs/uploads/ID',
      ]);
      expect(opened).toEqual([0, 0]);
      expect(sha256(await readAll(await reg.getBlob('app/resumed', desc)))).toBe(desc.digest);
    } finally {
      await c.close();
      for (const s of sockets) s.destroy();
      await new Promise((r) => proxy.close(r));
    }
  });

  test('an OCI manifest is not found when Accept leaves its type out (why the client names all four)', async () => {
    const config = blob(Buffer.from('{"os":"linux","architecture":"arm64"}'));
    await reg.pushBlob('app/accept', config.desc, config.open);
    await reg.putManifest('app/accept', 'v1', OCI_MANIFEST, imageManifest(config.desc, []));
    await expect(reg.getManifest('app/accept', 'v1', { accept: [DOCKER_MANIFEST] })).rejects.toMatchObject({ code: 'LAYERFS_REGISTRY_MANIFEST_UNKNOWN', status: 404 });
    expect((await reg.getManifest('app/accept', 'v1')).mediaType).toBe(OCI_MANIFEST);
  });

  test('a large blob goes up in chunks and comes back whole; a read from an offset continues a hash', async () => {
    const big = blob(randomBytes(300 * 1024 + 17));
    let opened = 0;
    const res = await reg.pushBlob('app/big', big.desc, (o) => {
      opened++;
      return big.open(o);
    });
    expect(res).toEqual({ how: 'uploaded', bytes: big.desc.size });
    expect(opened).toBe(1);
    const back = await readAll(await reg.getBlob('app/big', big.desc));
    expect(sha256(back)).toBe(big.desc.digest);
    const bytes = back;
    const h = createHash('sha256').update(bytes.subarray(0, 1000));
    const rest = await readAll(await reg.getBlob('app/big', big.desc, { offset: 1000, hash: h }));
    expect(rest.equals(bytes.subarray(1000))).toBe(true);
  });

  test('mounts a blob from another repository', async () => {
    const layer = blob(randomBytes(2000));
    await reg.pushBlob('team/base', layer.desc, layer.open);
    let opened = 0;
    const r = await reg.pushBlob('team/app', layer.desc, (o) => {
      opened++;
      return layer.open(o);
    }, { mountFrom: 'team/base' });
    expect(r).toEqual({ how: 'mounted', bytes: 0 });
    expect(opened).toBe(0);
    expect(await reg.headBlob('team/app', layer.desc.digest)).toEqual(layer.desc);
    // a mount from a repository without it falls back to an upload
    const other = blob(randomBytes(300));
    expect(await reg.pushBlob('team/app2', other.desc, other.open, { mountFrom: 'team/base' })).toEqual({ how: 'uploaded', bytes: 300 });
  });

  test('lists tags, and the catalog page by page with ?n= and Link', async () => {
    const config = blob(Buffer.from('{}'));
    await reg.pushBlob('app/tags', config.desc, config.open);
    const body = imageManifest(config.desc, []);
    const names = ['a', 'b', 'c', 'd', 'e', 'f', 'g'];
    for (const t of names) await reg.putManifest('app/tags', t, OCI_MANIFEST, body);
    // distribution 2.8 ignores ?n= for tags (the fake registry pages them); its catalog pages for real
    expect([...(await reg.listTags('app/tags', { pageSize: 2 }))].sort()).toEqual(names);
    await expect(reg.listTags('app/none')).rejects.toMatchObject({ code: 'LAYERFS_REGISTRY_NAME_UNKNOWN' });
    for (const r of ['cat/r1', 'cat/r2', 'cat/r3', 'cat/r4', 'cat/r5']) await reg.pushBlob(r, config.desc, config.open, { mountFrom: 'app/tags' });
    const first = await fetch(`${server.url}/v2/_catalog?n=2`);
    expect(first.headers.get('link')).toMatch(/^<\/v2\/_catalog\?.*>; rel="next"$/);
    expect(((await first.json()) as { repositories: string[] }).repositories).toHaveLength(2);
    const all = await reg.catalog();
    expect(await reg.catalog({ pageSize: 2 })).toEqual(all);
    expect(all).toEqual(expect.arrayContaining(['cat/r1', 'cat/r2', 'cat/r3', 'cat/r4', 'cat/r5', 'app/tags']));
    expect(new Set(all).size).toBe(all.length);
  });

  test('referrers: the fallback tag schema where the registry has no referrers API', async () => {
    const config = blob(Buffer.from('{}'));
    await reg.pushBlob('app/refs', config.desc, config.open);
    const subjectBody = imageManifest(config.desc, []);
    const subject = await reg.putManifest('app/refs', 'v1', OCI_MANIFEST, subjectBody);
    expect(await reg.referrers('app/refs', subject.digest)).toEqual([]);
    const sig = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: OCI_MANIFEST,
        artifactType: 'application/vnd.example.sig',
        config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: config.desc.digest, size: config.desc.size },
        layers: [],
        subject: { mediaType: OCI_MANIFEST, digest: subject.digest, size: subjectBody.length },
      }),
    );
    const put = await reg.putManifest('app/refs', sha256(sig), OCI_MANIFEST, sig);
    expect(put.subjectHandled).toBe(false); // distribution 2.8 knows no subject: the fallback tag was written
    const refs = await reg.referrers('app/refs', subject.digest);
    expect(refs).toEqual([{ mediaType: OCI_MANIFEST, digest: sha256(sig), size: sig.length, artifactType: 'application/vnd.example.sig' }]);
    expect(await reg.referrers('app/refs', subject.digest, { artifactType: 'other/type' })).toEqual([]);
    expect(await reg.listTags('app/refs')).toContain(subject.digest.replace(':', '-'));
  });

  test('deletes a manifest', async () => {
    const config = blob(Buffer.from('{"x":1}'));
    await reg.pushBlob('app/del', config.desc, config.open);
    const body = imageManifest(config.desc, []);
    const { digest } = await reg.putManifest('app/del', 'v1', OCI_MANIFEST, body);
    await reg.deleteManifest('app/del', digest);
    await expect(reg.getManifest('app/del', digest)).rejects.toMatchObject({ code: 'LAYERFS_REGISTRY_MANIFEST_UNKNOWN' });
  });
});
