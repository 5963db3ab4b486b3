import * as fs from 'fs';
import * as path from 'path';
import { execFileSync, spawnSync } from 'child_process';
import { LayerStore } from '../../lib/layer-store';
import { openImage } from '../../lib/image';
import { buildUmociFixture, fixtureDir, hasUmoci, UmociFixture } from '../fixtures/umoci';
import { snapshotDir, snapshotView, sameTree } from '../drivers/tree-compare';

const hasSkopeo = spawnSync('skopeo', ['--version']).status === 0;
const ok = hasUmoci && hasSkopeo && process.getuid?.() === 0;
if (!ok) console.warn('image tests skipped: they need umoci and skopeo (apt-get install umoci skopeo) and root');
const d = ok ? describe : describe.skip;
const skopeo = (...args: string[]) => execFileSync('skopeo', ['--insecure-policy', ...args], { stdio: ['ignore', 'pipe', 'pipe'] }).toString();

/** What the store holds, but its lock file: the store lock (made on first use) holds no data. */
function storeState(root: string): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      out.push(path.relative(root, path.join(dir, e.name)));
      if (e.isDirectory() && !/layers\/[0-9a-f]{64}\/diff$/.test(path.join(dir, e.name))) walk(path.join(dir, e.name));
    }
  };
  walk(root);
  return out.filter((p) => p !== 'lock').sort();
}

d('images', () => {
  let dir: string;
  let fx: UmociFixture;
  const forms: Record<string, string> = {};
  beforeAll(() => {
    dir = fixtureDir();
    fx = buildUmociFixture(dir);
    forms['oci layout'] = fx.ref;
    forms['oci-archive'] = path.join(dir, 'img.oci.tar');
    skopeo('copy', `oci:${fx.ref}`, `oci-archive:${forms['oci-archive']}`);
    forms['docker-archive'] = path.join(dir, 'img.docker.tar');
    skopeo('copy', `oci:${fx.ref}`, `docker-archive:${forms['docker-archive']}:fixture:v1`);
    forms['zstd layout'] = path.join(dir, 'zstd') + ':z';
    skopeo('copy', '--dest-compress-format', 'zstd', `oci:${fx.ref}`, `oci:${forms['zstd layout']}`);
    forms['uncompressed layout'] = path.join(dir, 'plain') + ':p';
    skopeo('copy', '--dest-decompress', `oci:${fx.ref}`, `oci:${forms['uncompressed layout']}`);
  }, 300000);
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('every form imports to the same chain, with the DiffIDs of the config', async () => {
    const chains: string[] = [];
    for (const [form, ref] of Object.entries(forms)) {
      const store = await LayerStore.open(path.join(dir, 'store-' + form.replace(/ /g, '-')));
      const img = await store.importImage(ref, { name: 'fx' });
      expect(img.layers.map((l) => l.diffId)).toEqual(fx.diffIds);
      chains.push(img.chain);
      const c = await store.createContainer('fx', { driver: 'copy' });
      const root = await c.mount();
      const dest = path.join(dir, 'raw-' + form.replace(/ /g, '-'));
      fx.rawUnpack(dest);
      const a = snapshotDir(root);
      const b = snapshotDir(dest);
      a.delete('/');
      b.delete('/');
      sameTree(a, b, { mtimes: false });
      await c.remove();
    }
    expect(new Set(chains).size).toBe(1);
  });

  test('a layout with several images is chosen from by tag; a missing tag is a clear error', async () => {
    const img = await openImage(`${fx.layout}:l2`);
    expect(img.layers).toHaveLength(2);
    await expect(openImage(`${fx.layout}:nope`)).rejects.toMatchObject({ code: 'LAYERFS_NOT_FOUND' });
    await expect(openImage(fx.layout)).rejects.toMatchObject({ code: 'LAYERFS_BAD_IMAGE' });
  });

  test('tampered inputs fail with their own error and leave the store as it was', async () => {
    const store = await LayerStore.open(path.join(dir, 'store-tamper'));
    const tamper = (name: string, change: (layout: string, manifest: any, config: any) => void) => {
      const t = path.join(dir, 'tamper-' + name);
      fs.cpSync(fx.layout, t, { recursive: true });
      const index = JSON.parse(fs.readFileSync(path.join(t, 'index.json'), 'utf8'));
      const md = index.manifests.find((m: any) => m.annotations?.['org.opencontainers.image.ref.name'] === 'l4');
      const blob = (dg: string) => path.join(t, 'blobs/sha256', dg.slice(7));
      const manifest = JSON.parse(fs.readFileSync(blob(md.digest), 'utf8'));
      const config = JSON.parse(fs.readFileSync(blob(manifest.config.digest), 'utf8'));
      change(t, manifest, config);
      return `${t}:l4`;
    };
    const blobOf = (t: string, dg: string) => path.join(t, 'blobs/sha256', dg.slice(7));
    const before = storeState(store.root);
    const flipped = tamper('flip', (t, m) => {
      const f = blobOf(t, m.layers[2].digest);
      const b = fs.readFileSync(f);
      b[b.length - 20] ^= 0xff;
      fs.writeFileSync(f, b);
    });
    const e1 = await store.importImage(flipped).catch((e) => e);
    expect(e1.code).toMatch(/LAYERFS_DIGEST_MISMATCH|LAYERFS_BAD_TAR/);
    // a manifest that lies about a size: rewrite the manifest (and the index entry) consistently
    const rewrite = (t: string, manifest: any) => {
      const body = Buffer.from(JSON.stringify(manifest));
      const digest = 'sha256:' + require('crypto').createHash('sha256').update(body).digest('hex');
      fs.writeFileSync(blobOf(t, digest), body);
      const index = JSON.parse(fs.readFileSync(path.join(t, 'index.json'), 'utf8'));
      for (const m of index.manifests) if (m.annotations?.['org.opencontainers.image.ref.name'] === 'l4') Object.assign(m, { digest, size: body.length });
      fs.writeFileSync(path.join(t, 'index.json'), JSON.stringify(index));
    };
    const wrongSize = tamper('size', (t, m) => {
      m.layers[2].size += 1;
      rewrite(t, m);
    });
    await expect(store.importImage(wrongSize)).rejects.toMatchObject({ code: 'LAYERFS_SIZE_MISMATCH' });
    const missing = tamper('missing', (t, m) => fs.rmSync(blobOf(t, m.layers[3].digest)));
    await expect(store.importImage(missing)).rejects.toMatchObject({ code: 'LAYERFS_NOT_FOUND' });
    const wrongDiffIds = tamper('diffids', (t, m, c) => {
      c.rootfs.diff_ids[1] = 'sha256:' + '0'.repeat(64);
      const body = Buffer.from(JSON.stringify(c));
      const digest = 'sha256:' + require('crypto').createHash('sha256').update(body).digest('hex');
      fs.writeFileSync(blobOf(t, digest), body);
      m.config = { ...m.config, digest, size: body.length };
      rewrite(t, m);
    });
    const e4 = await store.importImage(wrongDiffIds).catch((e) => e);
    expect(e4).toMatchObject({ code: 'LAYERFS_DIGEST_MISMATCH', expected: 'sha256:' + '0'.repeat(64) });
    expect(e4.message).toContain('layer 1');
    await new Promise((r) => setTimeout(r, 200));
    // layers imported before the bad one are complete and verified; nothing else was added
    const after = storeState(store.root).filter((p) => !before.includes(p));
    for (const p of after) expect(p).toMatch(/^(layers|blobs)\b/);
    expect(fs.readdirSync(store.paths.tmpDir)).toEqual([]);
    expect(fs.readdirSync(store.paths.imagesDir)).toEqual([]);
  });

  test('exported images are read by skopeo and umoci, in all three forms', async () => {
    const store = await LayerStore.open(path.join(dir, 'store-export'));
    await store.importImage(fx.ref, { name: 'base' });
    const c = await store.createContainer('base', { driver: 'copy' });
    const root = await c.mount();
    fs.writeFileSync(path.join(root, 'exported'), 'yes\n');
    fs.rmSync(path.join(root, 'etc/motd'));
    const out = path.join(dir, 'exported');
    const r = await store.exportImage(c, { from: 'base', to: out, format: 'oci', tag: 'next' });
    const inspect = JSON.parse(skopeo('inspect', `oci:${out}:next`));
    expect(inspect.Layers).toHaveLength(5);
    // the commit kept the tar (no compression asked); the image has it gzip, made for this export
    const top = store.getLayerSync(r.chainId);
    expect(top).toMatchObject({ deferred: true, compression: 'none' });
    const raw = JSON.parse(skopeo('inspect', '--raw', `oci:${out}:next`));
    expect(raw.layers[4]).toMatchObject({ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: (await store.exportedLayer(r.chainId)).digest });
    const cfg = JSON.parse(skopeo('inspect', '--config', `oci:${out}:next`));
    expect(cfg.rootfs.diff_ids.slice(0, 4)).toEqual(fx.diffIds);
    expect(cfg.history.length).toBeGreaterThanOrEqual(5);
    const bundle = path.join(dir, 'exported-bundle');
    execFileSync('umoci', ['unpack', '--image', `${out}:next`, bundle]);
    const a = snapshotDir(root);
    const b = snapshotDir(path.join(bundle, 'rootfs'));
    a.delete('/');
    b.delete('/');
    sameTree(a, b, { mtimes: false });
    for (const format of ['oci-archive', 'docker-archive'] as const) {
      const file = path.join(dir, `exported.${format}.tar`);
      await store.exportImage(r.chainId, { from: 'base', to: file, format, tag: 'next' });
      const i2 = JSON.parse(skopeo('inspect', `${format}:${file}`));
      expect(i2.Layers).toHaveLength(5);
      skopeo('copy', `${format}:${file}`, `oci:${path.join(dir, 'copied-' + format)}:x`);
      const back = await LayerStore.open(path.join(dir, 'store-back-' + format));
      expect((await back.importImage(file)).chain).toBe(r.chainId);
    }
    await c.remove();
  });

  test('layers: per-layer changes and the wasted bytes, as dive counts them', async () => {
    const store = await LayerStore.open(path.join(dir, 'store-layers'));
    await store.importImage(fx.ref, { name: 'fx' });
    const rep = await store.analyze('fx');
    expect(rep.layers).toHaveLength(4);
    const sizeOf = (p: string) => fs.statSync(path.join(dir, 'raw-l1', p)).size;
    fx.rawUnpack(path.join(dir, 'raw-l1'), 'l1');
    // independently: paths met in two layers (overwritten, deleted, or re-emitted hardlink targets)
    // l2 changes /etc/motd (6 -> 8 bytes), deletes /etc/deleted-later (4), /doomed-dir/a/b (2), /recreate/old (4),
    // re-emits /bin/sh (10) for the new hardlink; l3 hides /opaque-dir/old (4)
    const expected = sizeOf('etc/motd') + 'changed\n'.length + sizeOf('etc/deleted-later') + sizeOf('doomed-dir/a/b') + sizeOf('recreate/old') + sizeOf('opaque-dir/old') + 2 * sizeOf('bin/sh') + 2 * sizeOf('bin/ash');
    const l2 = rep.layers[1];
    expect(l2.deleted).toBeGreaterThanOrEqual(3);
    expect(rep.inefficiencies.map((x) => x.path)).toEqual(expect.arrayContaining(['/etc/motd', '/etc/deleted-later', '/doomed-dir/a/b', '/recreate/old', '/opaque-dir/old']));
    expect(rep.wastedBytes).toBe(expected);
    expect(rep.efficiency).toBeGreaterThan(0);
    expect(rep.efficiency).toBeLessThan(1);
  });
});
