import * as fs from 'fs';
import * as path from 'path';
import { execFileSync, spawn } from 'child_process';
import { describeIf, unmet } from '../fixtures/peers';
import { makeTempDir, removeTempDir } from '../fixtures/tmp';
import { skopeo } from '../image/image-forms';
import { registryUnmet, startRegistry, type RegistryServer } from './registry-server';
import { chainTrees, faultProxy, makeImage, openStore } from './store-registry';
import type { LayerStore } from '../../lib/layer-store';
import { Registry } from '../../lib/registry';
import { copyImage } from '../../lib/registry/copy';

/** Pull and push between the store and a real registry (docker-registry, plain HTTP on 127.0.0.1), read back by skopeo and umoci. */

const BIN = path.resolve(__dirname, '../../bin/layerfs');

/** The CLI in a process of its own: its exit code and what it said on stderr. */
function runCli(args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(BIN, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ code, stderr }));
  });
}

const why = [...registryUnmet(), ...unmet(['skopeo', 'umoci'])];
const plain = { tlsVerify: false };

describeIf(why.length === 0, why.join('; '))('pull and push against docker-registry', () => {
  let dir: string;
  let reg: RegistryServer;
  let img: Awaited<ReturnType<typeof makeImage>>;
  beforeAll(async () => {
    dir = makeTempDir('regstore');
    reg = await startRegistry();
    img = await makeImage(dir);
    await img.store.importImage(img.layout, { name: 'src' });
  }, 120_000);
  afterAll(async () => {
    await reg?.stop();
    removeTempDir(dir);
  });

  test('push, then skopeo inspect and copy and umoci unpack read it back, and a pull gives the same chain and trees', async () => {
    const pushed = await img.store.push('src', `docker://${reg.host}/app/src:v1`, plain);
    expect(pushed.blobs.map((b) => b.how).sort()).toEqual(['uploaded', 'uploaded', 'uploaded']);
    const inspect = JSON.parse(skopeo(dir, 'inspect', '--tls-verify=false', `docker://${reg.host}/app/src:v1`));
    expect(inspect.Digest).toBe(pushed.manifestDigest);
    expect(inspect.Layers).toEqual(img.store.chainSync(img.chain).map((l) => l.digest));
    skopeo(dir, 'copy', '--src-tls-verify=false', `docker://${reg.host}/app/src:v1`, `oci:${dir}/back:v1`);
    execFileSync('umoci', ['unpack', '--rootless', '--image', `${dir}/back:v1`, `${dir}/unpacked`], { stdio: 'pipe' });
    expect(fs.readFileSync(path.join(dir, 'unpacked', 'rootfs', 'etc', 'hostname'), 'utf8')).toBe('base\n');
    expect(fs.statSync(path.join(dir, 'unpacked', 'rootfs', 'data', 'big.bin')).size).toBe(3 << 20);

    const other = await openStore(path.join(dir, 'pull-store'));
    const rec = await other.pull(`${reg.host}/app/src:v1`, plain);
    expect(rec.name).toBe(`${reg.host}/app/src:v1`);
    expect(rec.manifestDigest).toBe(pushed.manifestDigest);
    expect(rec.chain).toBe(img.chain);
    expect(chainTrees(other, rec.chain)).toEqual(chainTrees(img.store, img.chain));
    expect(rec.config.config).toEqual({ Cmd: ['/bin/tool'] });
    expect((await other.fsck()).problems).toEqual([]);
    // the image is one like any imported one: a container can be made of it
    const c = await other.createContainer(rec.name, { driver: 'copy' });
    expect(fs.readFileSync(path.join(await c.mount(), 'bin', 'tool'), 'utf8')).toContain('echo tool');
    await c.remove();
    // a second pull downloads nothing: every layer is there
    const seen: boolean[] = [];
    await other.pull(`${reg.host}/app/src:v1`, { ...plain, onLayerProgress: (_i, ev) => ev.skipped && seen.push(true) });
    expect(seen).toHaveLength(2);
  }, 180_000);

  test.each([
    ['an OCI layout', (p: string) => `oci:${p}`],
    ['an oci-archive', (p: string) => `oci-archive:${p}.oci.tar`],
    ['a docker-archive', (p: string) => `docker-archive:${p}.docker.tar`],
  ])('skopeo pushes from %s, and a pull gives what image import of it gives', async (_n, form) => {
    const base = path.join(dir, 'forms', String(Math.random()).slice(2));
    fs.mkdirSync(path.dirname(base), { recursive: true });
    const local = form(base);
    if (!local.startsWith('oci:')) skopeo(dir, 'copy', `oci:${img.layout}`, local);
    const from = local.startsWith('oci:') ? `oci:${img.layout}` : local;
    const repo = `forms/${path.basename(base)}`;
    skopeo(dir, 'copy', '--dest-tls-verify=false', from, `docker://${reg.host}/${repo}:t`);
    const pulled = await openStore(path.join(base + '-pulled'));
    const imported = await openStore(path.join(base + '-imported'));
    const p = await pulled.pull(`${reg.host}/${repo}:t`, plain);
    const i = await imported.importImage(from.replace(/^oci:/, ''), { name: 'i' });
    expect(p.chain).toBe(i.chain);
    expect(p.layers.map((l) => l.diffId)).toEqual(i.layers.map((l) => l.diffId));
    expect(chainTrees(pulled, p.chain)).toEqual(chainTrees(imported, i.chain));
    const inspect = JSON.parse(skopeo(dir, 'inspect', '--tls-verify=false', `docker://${reg.host}/${repo}:t`));
    expect(p.manifestDigest).toBe(inspect.Digest);
    // pushed on from the store, and copied registry to registry: the manifest and config go as they came, byte for byte
    const raw = skopeo(dir, 'inspect', '--raw', '--tls-verify=false', `docker://${reg.host}/${repo}:t`);
    const again = await pulled.push(p.name, `${reg.host}/${repo}-again:t`, plain);
    expect(again.manifestDigest).toBe(inspect.Digest);
    expect(again.configDigest).toBe(p.configDigest);
    expect(skopeo(dir, 'inspect', '--raw', '--tls-verify=false', `docker://${reg.host}/${repo}-again:t`)).toBe(raw);
    const copied = await copyImage(`docker://${reg.host}/${repo}:t`, `docker://${reg.host}/${repo}-copied:t`, plain);
    expect(copied.manifestDigest).toBe(inspect.Digest);
    expect(skopeo(dir, 'inspect', '--raw', '--tls-verify=false', `docker://${reg.host}/${repo}-copied:t`)).toBe(raw);
    // an image import keeps them too
    expect((await imported.push('i', `${reg.host}/${repo}-imported:t`, plain)).manifestDigest).toBe(i.manifestDigest);
  }, 180_000);

  test('a push whose base is in another repository of the registry sends only the new layer and the config', async () => {
    const store = await openStore(path.join(dir, 'mount-store'));
    const base = await store.pull(`${reg.host}/app/src:v1`, plain);
    const c = await store.createContainer(base.name, { driver: 'copy' });
    fs.writeFileSync(path.join(await c.mount(), 'new.txt'), 'one new file\n');
    const pushed = await store.push(c.id, `${reg.host}/app/derived:v2`, { ...plain, from: base.name });
    const byHow = (how: string) => pushed.blobs.filter((b) => b.how === how);
    expect(byHow('mounted').map((b) => b.digest).sort()).toEqual(base.layers.map((l) => l.digest).sort());
    // the commit kept its tar (no compression asked): the push made the gzip form and sent that
    expect(store.getLayerSync(pushed.chainId)).toMatchObject({ deferred: true, compression: 'none' });
    const top = await store.exportedLayer(pushed.chainId);
    expect(top).toMatchObject({ compression: 'gzip', mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip' });
    expect(byHow('uploaded').map((b) => b.digest).sort()).toEqual([top.digest, pushed.configDigest].sort());
    const configSize = pushed.blobs.find((b) => b.digest === pushed.configDigest)!.size;
    expect(pushed.bytes).toBe(top.size + configSize);
    // and it is an image others read: skopeo sees three layers on the base's two
    const inspect = JSON.parse(skopeo(dir, 'inspect', '--tls-verify=false', `docker://${reg.host}/app/derived:v2`));
    expect(inspect.Layers).toEqual([...base.layers.map((l) => l.digest), top.digest]);
    await c.remove();
  }, 180_000);

  test('a push of layers whose blobs are gone from the store packs their directories again: the manifest names what is sent, and a pull verifies it', async () => {
    const store = await openStore(path.join(dir, 'packed-store'));
    const base = await store.pull(`${reg.host}/app/src:v1`, plain);
    const layers: string[] = [];
    for (const compression of [undefined, 'gzip'] as const) {
      const c = await store.createContainer(layers.length ? layers[0] : base.name, { driver: 'copy' });
      fs.writeFileSync(path.join(await c.mount(), `new-${compression ?? 'deferred'}.txt`), `a change (${compression ?? 'deferred'})\n`);
      // a new directory, and a file of the base removed (a whiteout in the layer)
      fs.mkdirSync(path.join(await c.mount(), 'etc', `sub-${compression ?? 'deferred'}`), { recursive: true });
      fs.rmSync(path.join(await c.mount(), compression ? 'bin/tool' : 'etc/hostname'));
      layers.unshift((await c.commit(compression ? { compression } : {})).chainId);
      await c.remove();
    }
    // both new layers lose their blobs (the deferred one its tar, before any compressed form was made)
    for (const id of layers) fs.rmSync(store.paths.blob(store.getLayerSync(id).digest));
    const pushed = await store.push(layers[0], `${reg.host}/app/packed:v1`, { ...plain, from: base.name });
    const inspect = JSON.parse(skopeo(dir, 'inspect', '--tls-verify=false', `docker://${reg.host}/app/packed:v1`));
    expect(inspect.Digest).toBe(pushed.manifestDigest);
    const sent = pushed.blobs.filter((b) => b.how === 'uploaded' && b.digest !== pushed.configDigest).map((b) => b.digest);
    expect(sent).toHaveLength(2);
    expect(inspect.Layers.slice(2).sort()).toEqual([...sent].sort());
    // the packed blobs are kept, and gzip: the deferred layer is sent compressed, as it would be with its tar
    for (const d of sent) expect(fs.readFileSync(store.paths.blob(d)).subarray(0, 2)).toEqual(Buffer.from([0x1f, 0x8b]));
    // a pull checks each blob's DiffID against the config: the same chain, the same trees
    const other = await openStore(path.join(dir, 'packed-pull'));
    const rec = await other.pull(`${reg.host}/app/packed:v1`, plain);
    expect(rec.chain).toBe(layers[0]);
    const c = await other.createContainer(rec.name, { driver: 'copy' });
    const root = await c.mount();
    expect(fs.readFileSync(path.join(root, 'new-gzip.txt'), 'utf8')).toBe('a change (gzip)\n');
    expect(fs.readFileSync(path.join(root, 'new-deferred.txt'), 'utf8')).toBe('a change (deferred)\n');
    expect([fs.existsSync(path.join(root, 'etc', 'hostname')), fs.existsSync(path.join(root, 'bin', 'tool')), fs.existsSync(path.join(root, 'data', 'big.bin'))]).toEqual([false, false, true]);
    await c.remove();
  }, 180_000);

  test('copy: registry to a layout, and a layout to a registry, blobs verified on the way; umoci and a pull read the results', async () => {
    await img.store.push('src', `${reg.host}/app/copysrc:v1`, plain);
    const out = path.join(dir, 'copied');
    const down = await copyImage(`docker://${reg.host}/app/copysrc:v1`, `oci:${out}:c1`, plain);
    expect(down.manifestDigest).toMatch(/^sha256:/);
    execFileSync('umoci', ['unpack', '--rootless', '--image', `${out}:c1`, `${dir}/copied-unpacked`], { stdio: 'pipe' });
    expect(fs.readFileSync(path.join(dir, 'copied-unpacked', 'rootfs', 'etc', 'hostname'), 'utf8')).toBe('base\n');
    const up = await copyImage(`oci:${out}:c1`, `docker://${reg.host}/app/copied:v1`, plain);
    expect(up.pushed!.blobs.map((b: { how: string }) => b.how)).toEqual(['uploaded', 'uploaded', 'uploaded']);
    const store = await openStore(path.join(dir, 'copy-store'));
    expect((await store.pull(`${reg.host}/app/copied:v1`, plain)).chain).toBe(img.chain);
  }, 180_000);

  test('a missing tag, and a manifest whose layer is missing: clear errors, and nothing in the store', async () => {
    const store = await openStore(path.join(dir, 'missing-store'));
    await expect(store.pull(`${reg.host}/app/src:nope`, plain)).rejects.toMatchObject({ code: 'LAYERFS_REGISTRY_MANIFEST_UNKNOWN' });
    await expect(store.pull(`${reg.host}/no/such:v1`, plain)).rejects.toMatchObject({ code: expect.stringMatching(/^LAYERFS_REGISTRY_(NAME|MANIFEST)_UNKNOWN$/) });
    // a repository whose top layer blob is gone from the registry's storage
    await img.store.push('src', `${reg.host}/app/broken:v1`, plain);
    const client = new Registry(reg.host, { plainHttp: () => true });
    await client.deleteBlob('app/broken', img.bigBlob.digest);
    await client.close();
    await expect(store.pull(`${reg.host}/app/broken:v1`, plain)).rejects.toMatchObject({ code: 'LAYERFS_REGISTRY_BLOB_UNKNOWN' });
    expect(await store.listImages()).toEqual([]);
    expect((await store.listLayers()).map((l) => l.chainId)).not.toContain(img.chain);
    expect((await store.fsck()).problems).toEqual([]);
  }, 120_000);

  test('eight concurrent pulls of one image into one store (four here, four other processes) give one copy of each layer, each downloaded once', async () => {
    const root = path.join(dir, 'eight');
    const proxy = await faultProxy(reg.host, { size: -1 });
    const stores: LayerStore[] = await Promise.all(Array.from({ length: 4 }, () => openStore(root)));
    const others = Array.from({ length: 4 }, (_, i) => runCli(['--store', root, 'pull', '--tls-verify=false', '--name', `cli${i}`, `${proxy.host}/app/src:v1`]));
    let recs: Awaited<ReturnType<LayerStore['pull']>>[];
    try {
      recs = await Promise.all(stores.map((s, i) => s.pull(`${proxy.host}/app/src:v1`, { ...plain, name: `copy${i}` })));
      for (const r of await Promise.all(others)) expect(r).toMatchObject({ code: 0 });
    } finally {
      await proxy.close();
    }
    // every pull read the manifest and config; each layer blob was fetched by one of them only
    const gets = proxy.requests().filter((r) => r.startsWith('GET ') && r.includes('/blobs/'));
    for (const l of img.store.chainSync(img.chain)) expect(gets.filter((r) => r.endsWith(l.digest))).toHaveLength(1);
    expect((await stores[0].listImages()).map((i) => i.name).sort()).toEqual([...[0, 1, 2, 3].map((i) => `cli${i}`), ...[0, 1, 2, 3].map((i) => `copy${i}`)]);
    expect(new Set(recs.map((r) => r.chain))).toEqual(new Set([img.chain]));
    expect((await stores[0].listLayers()).map((l) => l.chainId).sort()).toEqual(img.store.chainSync(img.chain).map((l) => l.chainId).sort());
    // the layers' blobs once, and the image's manifest and config
    const kept = [...img.store.chainSync(img.chain).map((l) => l.digest), recs[0].manifestDigest, recs[0].configDigest];
    expect(fs.readdirSync(stores[0].paths.blobsDir).sort()).toEqual(kept.map((d) => d.slice(7)).sort());
    expect((await stores[0].fsck()).problems).toEqual([]);
  }, 240_000);
});
