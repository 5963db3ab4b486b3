import * as fs from 'fs';
import * as path from 'path';
import { hostPlatform, OCI_INDEX, openImage } from '../../lib/image';
import { MAX_NESTING } from '../../lib/image/select';
import { LayerStore } from '../../lib/layer-store';
import { parsePlatform } from '../../lib/oci';
import { copyImage } from '../../lib/registry/copy';
import { MAX_INDEX_BYTES } from '../../lib/registry/remote-image';
import { describeIf } from '../fixtures/peers';
import { useTempDir } from '../fixtures/tmp';
import { layerfsAsync as cli } from '../cli/run-cli';
import { emptyImage, HandLayout, platformImage } from '../image/image-forms';
import { FakeRegistry, serveLayout } from './fake-registry';

/**
 * Issue 19, "Platform selection", for images a registry serves: `pull` and `copy` choose the
 * image of an index as `image import` does (one parser, lib/oci/platform.ts; one chooser,
 * lib/image/select.ts): the variant kept, a bare architecture understood, this machine by
 * default, an index with nothing for the platform refused naming what it holds; and the walk of
 * nested indexes is bounded there too. The registry is the in-process fake, so the CLI is run
 * asynchronously (a spawnSync would stop the event loop the registry answers on).
 */

const plain = { tlsVerify: false };

describeIf(['tar'])('pull and copy from a registry: choosing by platform', () => {
  const tmp = useTempDir('registry-platform');
  const host = hostPlatform();
  const other = host.architecture === 'arm64' ? 'amd64' : 'arm64';
  let fake: FakeRegistry;
  let images: Array<{ digest: string }>;
  beforeAll(async () => {
    fake = await FakeRegistry.start();
    const l = new HandLayout(path.join(tmp(), 'multi'));
    images = [
      platformImage(l, { os: 'linux', architecture: 'arm', variant: 'v6' }),
      platformImage(l, { os: 'linux', architecture: 'arm', variant: 'v7' }),
      platformImage(l, { os: 'linux', architecture: 'arm64', variant: 'v8' }),
      platformImage(l, { os: 'linux', architecture: host.architecture, ...(host.variant ? { variant: host.variant } : {}) }),
    ];
    l.setIndex(images);
    serveLayout(fake, l.dir, 'multi/app', 'v1');
    // nested: an index whose one entry is an index
    const n = new HandLayout(path.join(tmp(), 'nested'));
    n.setIndex([n.putJson({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [platformImage(n, { os: 'linux', architecture: 'arm', variant: 'v6' }), platformImage(n, { os: 'linux', architecture: 'arm', variant: 'v7' })] }, OCI_INDEX)]);
    serveLayout(fake, n.dir, 'nested/app', 'v1');
  }, 60_000);
  afterAll(() => fake?.close());

  let n = 0;
  const store = () => LayerStore.open(path.join(tmp(), `store-${n++}`));

  test('pull: this machine by default, linux/arm/v7 is v7 (not v6), a bare arm64 is arm64/v8, arm/v8 falls back to v7', async () => {
    const s = await store();
    const pull = async (platform?: string) => (await s.pull(`${fake.host}/multi/app:v1`, { ...plain, name: `p-${platform ?? 'host'}`, platform: platform === undefined ? undefined : parsePlatform(platform) })).manifestDigest;
    expect(await pull()).toBe(images[3].digest);
    expect(await pull('linux/arm/v7')).toBe(images[1].digest);
    expect(await pull('linux/arm/v6')).toBe(images[0].digest);
    expect(await pull('arm64')).toBe(images[2].digest);
    expect(await pull('linux/arm/v8')).toBe(images[1].digest);
    const e = await s.pull(`${fake.host}/multi/app:v1`, { ...plain, platform: { os: 'linux', architecture: 's390x' } }).catch((x) => x);
    expect(e).toMatchObject({ code: 'LAYERFS_NOT_FOUND' });
    expect(e.message).toMatch(/no image for the platform linux\/s390x.*\[linux\/arm\/v6\].*\[linux\/arm\/v7\].*\[linux\/arm64\/v8\]/);
    // and in a nested index: v7 asked for is v7
    expect((await s.pull(`${fake.host}/nested/app:v1`, { ...plain, name: 'nested', platform: { os: 'linux', architecture: 'arm', variant: 'v7' } })).config.variant).toBe('v7');
  });

  test('an index whose only image is for another architecture: refused by pull and copy, nested or flattened, naming what it holds', async () => {
    for (const nested of [false, true]) {
      const l = new HandLayout(path.join(tmp(), nested ? 'only-nested' : 'only-flat'));
      const m = platformImage(l, { os: 'linux', architecture: other });
      l.setIndex([nested ? l.putJson({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [m] }, OCI_INDEX) : m]);
      const repo = nested ? 'only/nested' : 'only/flat';
      serveLayout(fake, l.dir, repo, 'v1');
      const s = await store();
      const e = await s.pull(`${fake.host}/${repo}:v1`, plain).catch((x) => x);
      expect({ nested, code: e.code }).toEqual({ nested, code: 'LAYERFS_NOT_FOUND' });
      expect(e.message).toContain(`no image for the platform linux/${host.architecture}`);
      expect(e.message).toContain(`[linux/${other}] ${m.digest}`);
      expect(await s.listImages()).toEqual([]);
      const c = await copyImage(`docker://${fake.host}/${repo}:v1`, `oci:${path.join(tmp(), `copy-${repo.replace('/', '-')}`)}:x`, plain).catch((x) => x);
      expect(c).toMatchObject({ code: 'LAYERFS_NOT_FOUND', message: expect.stringContaining(`[linux/${other}] ${m.digest}`) });
      // asked for, it is taken
      expect((await s.pull(`${fake.host}/${repo}:v1`, { ...plain, platform: { architecture: other } })).manifestDigest).toBe(m.digest);
    }
  });

  test('copy: the platform asked for, else this machine', async () => {
    const out = (x: string) => path.join(tmp(), `copied-${x}`);
    const copied = await copyImage(`docker://${fake.host}/multi/app:v1`, `oci:${out('v7')}:x`, { ...plain, platform: { os: 'linux', architecture: 'arm', variant: 'v7' } });
    const v7 = await openImage(`${out('v7')}:x`, { platform: { architecture: 'arm', variant: 'v7' } });
    // the copy's manifest is the v7 one: the layout's tag names it, and its config says arm/v7
    expect(copied.manifestDigest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(v7.manifestDigest).toBe(copied.manifestDigest);
    expect(v7.config).toMatchObject({ architecture: 'arm', variant: 'v7' });
    await v7.close();
    await copyImage(`docker://${fake.host}/multi/app:v1`, `oci:${out('host')}:x`, plain);
    const h = await openImage(`${out('host')}:x`);
    expect(h.config.architecture).toBe(host.architecture);
    await h.close();
  });

  test('the CLI: pull --platform linux/arm/v7 and copy --platform arm64 take the one parser; a bad --platform is a usage error (exit 2)', async () => {
    const s = path.join(tmp(), 'cli-store');
    const pulled = await cli(['--store', s, '--json', 'pull', `${fake.host}/multi/app:v1`, '--tls-verify=false', '--platform', 'linux/arm/v7', '--name', 'v7']);
    expect({ code: pulled.code, stderr: pulled.stderr }).toEqual({ code: 0, stderr: '' });
    expect(JSON.parse(pulled.stdout).manifestDigest).toBe(images[1].digest);
    const copied = await cli(['--json', 'copy', `docker://${fake.host}/multi/app:v1`, `oci:${path.join(tmp(), 'cli-copy')}:x`, '--tls-verify=false', '--platform', 'arm64']);
    expect({ code: copied.code, stderr: copied.stderr }).toEqual({ code: 0, stderr: '' });
    const img = await openImage(`${path.join(tmp(), 'cli-copy')}:x`, { platform: { architecture: 'arm64' } });
    expect(img.config.architecture).toBe('arm64');
    await img.close();
    for (const cmd of [['pull', `${fake.host}/multi/app:v1`], ['copy', `docker://${fake.host}/multi/app:v1`, `oci:${path.join(tmp(), 'never')}`]]) {
      const bad = await cli(['--store', s, '--json', ...cmd, '--tls-verify=false', '--platform', 'linux/arm/v7/x']);
      expect({ cmd: cmd[0], code: bad.code }).toEqual({ cmd: cmd[0], code: 2 });
      expect(JSON.parse(bad.stdout).error.message).toContain('linux/arm/v7/x');
    }
    expect(fs.existsSync(path.join(tmp(), 'never'))).toBe(false);
  });

  test('nested indexes from a registry: each fetched once (4 levels listing the one below 16 times), deeper than the limit is LAYERFS_LIMIT', async () => {
    const l = new HandLayout(path.join(tmp(), 'bomb'));
    const m = emptyImage(l, { architecture: host.architecture });
    let below: unknown = m;
    for (let level = 0; level < 3; level++) below = l.putJson({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: Array(16).fill(below) }, OCI_INDEX);
    l.setIndex(Array(16).fill(below));
    serveLayout(fake, l.dir, 'bomb/app', 'v1');
    const before = fake.log.length;
    const s = await store();
    expect((await s.pull(`${fake.host}/bomb/app:v1`, plain)).manifestDigest).toBe(m.digest);
    // the tag, three indexes, the manifest, the config, the layer: each asked for once
    const manifests = fake.log.slice(before).filter((r) => r.method === 'GET' && r.url.pathname.includes('/manifests/')).map((r) => r.url.pathname);
    expect(manifests.length).toBe(new Set(manifests).size);

    const d = new HandLayout(path.join(tmp(), 'deep'));
    let b: unknown = emptyImage(d, { architecture: host.architecture });
    for (let level = 0; level < MAX_NESTING + 2; level++) b = d.putJson({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [b] }, OCI_INDEX);
    d.setIndex([b]);
    serveLayout(fake, d.dir, 'deep/app', 'v1');
    const e = await s.pull(`${fake.host}/deep/app:v1`, plain).catch((x) => x);
    expect(e).toMatchObject({ code: 'LAYERFS_LIMIT' });
    expect(e.message).toContain(`nest more than ${MAX_NESTING} deep (the limit on nesting)`);
  });

  test('distinct indexes past the limit on index bytes: LAYERFS_LIMIT naming it, before the rest are fetched', async () => {
    const l = new HandLayout(path.join(tmp(), 'wide'));
    const m = emptyImage(l, { architecture: host.architecture });
    // each a distinct index of 3 MiB (an annotation pads it), listing the one image: the image alone would be chosen
    const big = Array.from({ length: 8 }, (_, i) => l.putJson({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [m], annotations: { pad: String(i).repeat(3 << 20) } }, OCI_INDEX));
    l.setIndex([m, ...big]);
    serveLayout(fake, l.dir, 'wide/app', 'v1');
    const before = fake.log.length;
    const e = await (await store()).pull(`${fake.host}/wide/app:v1`, plain).catch((x) => x);
    expect(e).toMatchObject({ code: 'LAYERFS_LIMIT' });
    expect(e.message).toContain(`more than ${MAX_INDEX_BYTES} bytes in all (the limit on index bytes fetched)`);
    const fetched = fake.log.slice(before).filter((r) => r.method === 'GET' && big.some((b) => r.url.pathname.endsWith(b.digest)));
    expect(fetched.length).toBeLessThan(big.length);
    expect(fetched.length).toBe(Math.floor(MAX_INDEX_BYTES / big[0].size));
  });
});
