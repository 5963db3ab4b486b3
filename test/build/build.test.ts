import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { execFileSync, spawnSync } from 'child_process';
import { LayerStore } from '../../lib/layer-store';
import { buildUmociFixture, fixtureDir, hasUmoci } from '../fixtures/umoci';
import { layerfs } from '../cli/run-cli';

let work: string;
beforeEach(() => (work = fs.mkdtempSync(path.join(os.tmpdir(), 'layerfs-build-'))));
afterEach(() => fs.rmSync(work, { recursive: true, force: true }));

function app(dir: string): void {
  const w = (p: string, c: string, mode = 0o644) => {
    fs.mkdirSync(path.dirname(path.join(dir, p)), { recursive: true });
    fs.writeFileSync(path.join(dir, p), c);
    fs.chmodSync(path.join(dir, p), mode);
  };
  w('package.json', '{"name":"app"}');
  w('dist/main.js', 'console.log("hi")\n');
  w('dist/cli', '#!/usr/bin/env node\n', 0o755);
  w('node_modules/dep/index.js', 'module.exports = 1\n');
  w('debug.log', 'noise\n');
  w('keep.log', 'kept\n');
  w('.dockerignore', '*.log\n!keep.log\n');
  fs.symlinkSync('dist/main.js', path.join(dir, 'entry'));
  fs.symlinkSync('/etc/passwd', path.join(dir, 'outside'));
}

const tarList = (blob: string) => execFileSync('bash', ['-c', `gzip -dc ${blob} | tar --numeric-owner --full-time -tvf -`]).toString();

test('the same files give the same bytes, from copies made at different times', async () => {
  const a = path.join(work, 'a');
  app(a);
  const b = path.join(work, 'b');
  await new Promise((r) => setTimeout(r, 1100));
  execFileSync('cp', ['-r', a, b]); // new mtimes, same content
  const s1 = await LayerStore.open(path.join(work, 's1'));
  const s2 = await LayerStore.open(path.join(work, 's2'));
  const l1 = await s1.buildLayer({ from: a, prefix: '/app', owner: { uid: 1000, gid: 1000 } });
  const l2 = await s2.buildLayer({ from: b, prefix: '/app', owner: { uid: 1000, gid: 1000 } });
  expect(l1.digest).toBe(l2.digest);
  expect(l1.diffId).toBe(l2.diffId);
  expect(fs.readFileSync(s1.paths.blob(l1.digest)).equals(fs.readFileSync(s2.paths.blob(l2.digest)))).toBe(true);
  const again = await s1.buildLayer({ from: a, prefix: '/app', owner: { uid: 1000, gid: 1000 } });
  expect(again).toMatchObject({ chainId: l1.chainId, added: false });
  expect(fs.readdirSync(s1.paths.layersDir)).toHaveLength(1);
  const list = tarList(s1.paths.blob(l1.digest));
  expect(list).toContain('1000/1000');
  expect(list).toContain('1970-01-01 00:00:00 app/dist/main.js');
  expect(list).toMatch(/app\/outside -> \/etc\/passwd/);
  expect(list).toMatch(/app\/entry -> dist\/main.js/);
});

test('globs, excludes, an ignore file, mode and mtime; the view shows the files under the prefix', async () => {
  const a = path.join(work, 'a');
  app(a);
  fs.mkdirSync(path.join(work, 'empty'));
  const store = await LayerStore.open(path.join(work, 's'));
  const warnings: string[] = [];
  const l = await store.buildLayer({ from: a, include: ['dist/**', '*.log', 'nothing-*'], exclude: ['**/cli'], ignoreFile: path.join(a, '.dockerignore'), prefix: '/srv/app', mode: 0o640, mtime: new Date('2020-01-01T00:00:00Z'), onWarning: (m) => warnings.push(m) });
  expect(warnings.join('\n')).toContain('"nothing-*" matches nothing');
  const v = store.view(l.chainId);
  expect(v.readdirSync('/srv/app').sort()).toEqual(['dist', 'keep.log']);
  expect(v.readdirSync('/srv/app/dist')).toEqual(['main.js']);
  expect(v.statSync('/srv/app/keep.log').mode & 0o7777).toBe(0o640);
  expect(v.statSync('/srv/app/keep.log').mtimeMs).toBe(Date.parse('2020-01-01T00:00:00Z'));
  await expect(store.buildLayer({ from: a, include: ['nothing-*'], strict: true })).rejects.toMatchObject({ code: 'LAYERFS_NOT_FOUND' });
  await expect(store.buildLayer({ from: path.join(work, 'missing') })).rejects.toMatchObject({ code: 'LAYERFS_NOT_FOUND' });
  if (process.getuid?.() === 0) execFileSync('mkfifo', [path.join(a, 'pipe')]);
  else fs.writeFileSync(path.join(a, 'pipe'), '');
  const w2: string[] = [];
  await store.buildLayer({ from: a, onWarning: (m) => w2.push(m) });
  if (process.getuid?.() === 0) expect(w2.join()).toContain('special file pipe');
  expect(fs.readdirSync(store.paths.tmpDir)).toEqual([]);
});

const ok = hasUmoci && spawnSync('skopeo', ['--version']).status === 0 && process.getuid?.() === 0;
(ok ? test : test.skip)('an image built from a base and an app directory is read by skopeo and unpacked by umoci; two builds are identical', async () => {
  const fxDir = fixtureDir();
  try {
    const fx = buildUmociFixture(fxDir);
    const a = path.join(work, 'app');
    app(a);
    const store = await LayerStore.open(path.join(work, 's'));
    const outs: string[] = [];
    for (const n of [1, 2]) {
      const out = path.join(work, `img${n}`);
      const r = layerfs(['--store', store.root, '--json', 'image', 'build', '--from', fx.ref, '--layer', `${a}:/app`, '--owner', '1000:1000', '--entrypoint', '["node","/app/dist/main.js"]', '--env', 'NODE_ENV=production', '-o', out, '--tag', 'built']);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      outs.push(r.json().manifestDigest);
    }
    expect(outs[0]).toBe(outs[1]);
    // the base image path was read in passing: no image record (issue 19)
    expect(await store.listImages()).toEqual([]);
    const out = path.join(work, 'img1');
    const cfg = JSON.parse(execFileSync('skopeo', ['--insecure-policy', 'inspect', '--config', `oci:${out}:built`]).toString());
    expect(cfg.config.Entrypoint).toEqual(['node', '/app/dist/main.js']);
    expect(cfg.config.Env).toContain('NODE_ENV=production');
    expect(cfg.history.at(-1).created_by).toContain('layerfs layer build');
    const bundle = path.join(work, 'bundle');
    execFileSync('umoci', ['unpack', '--image', `${out}:built`, bundle]);
    const rootfs = path.join(bundle, 'rootfs');
    expect(fs.readFileSync(path.join(rootfs, 'etc/motd'), 'utf8')).toBe('changed\n');
    const st = fs.statSync(path.join(rootfs, 'app/dist/main.js'));
    expect([st.uid, st.gid, st.mtimeMs]).toEqual([1000, 1000, 0]);
    expect(fs.readlinkSync(path.join(rootfs, 'app/outside'))).toBe('/etc/passwd');
    const missing = layerfs(['--store', store.root, 'image', 'build', '--from', path.join(work, 'nope'), '--layer', a, '-o', path.join(work, 'x')]);
    expect(missing.code).toBe(1);
    expect(fs.existsSync(path.join(work, 'x'))).toBe(false);
  } finally {
    fs.rmSync(fxDir, { recursive: true, force: true });
  }
});

/** Every file under the store's blobs, layers and images, and what tmp holds. */
const storeState = (store: LayerStore) => ({
  blobs: fs.existsSync(store.paths.blobsDir) ? fs.readdirSync(store.paths.blobsDir).sort() : [],
  layers: fs.existsSync(store.paths.layersDir) ? fs.readdirSync(store.paths.layersDir).sort() : [],
  images: fs.existsSync(store.paths.imagesDir) ? fs.readdirSync(store.paths.imagesDir).sort() : [],
  tmp: fs.readdirSync(store.paths.tmpDir),
});

test('a build context holding a .wh. name is refused, naming it; the store is as it was', async () => {
  const store = await LayerStore.open(path.join(work, 's'));
  const good = path.join(work, 'good');
  app(good);
  await store.buildLayer({ from: good });
  for (const [name, shown] of [['.wh.secret', '.wh.secret'], ['sub/.wh..wh..opq', 'sub/.wh..wh..opq'], ['.wh.dir/inner', '.wh.dir']]) {
    const bad = path.join(work, `bad-${shown.replace(/\W/g, '')}`);
    app(bad);
    fs.mkdirSync(path.dirname(path.join(bad, name)), { recursive: true });
    fs.writeFileSync(path.join(bad, name), '');
    const before = storeState(store);
    await expect(store.buildLayer({ from: bad, prefix: '/app' })).rejects.toMatchObject({ code: 'LAYERFS_UNSAFE_PATH', message: expect.stringContaining(`app/${shown}`) });
    expect(storeState(store)).toEqual(before);
  }
  // through the CLI too: exit 1, the path named
  const bad = path.join(work, 'bad-cli');
  app(bad);
  fs.writeFileSync(path.join(bad, '.wh.passwd'), '');
  const before = storeState(store);
  const r = layerfs(['--store', store.root, 'layer', 'build', bad]);
  expect(r.code).toBe(1);
  expect(r.stderr).toContain('.wh.passwd');
  expect(storeState(store)).toEqual(before);
});

test('an image build with a .wh. name in any layer is refused before anything is imported or built', async () => {
  // a base image as an OCI layout, made by another store
  const maker = await LayerStore.open(path.join(work, 'maker'));
  const baseSrc = path.join(work, 'base');
  fs.mkdirSync(path.join(baseSrc, 'etc'), { recursive: true });
  fs.writeFileSync(path.join(baseSrc, 'etc/motd'), 'base\n');
  const baseLayer = await maker.buildLayer({ from: baseSrc });
  const layout = path.join(work, 'base-layout');
  await maker.exportImage(baseLayer.chainId, { to: layout, tag: 'base' });

  const store = await LayerStore.open(path.join(work, 's'));
  const good = path.join(work, 'good');
  app(good);
  const bad = path.join(work, 'bad');
  app(bad);
  fs.writeFileSync(path.join(bad, '.wh.etc'), '');
  const before = storeState(store);
  const to = path.join(work, 'out');
  await expect(store.buildImage({ from: `${layout}:base`, layers: [{ from: good, prefix: '/app' }, { from: bad, prefix: '/more' }], to })).rejects.toMatchObject({
    code: 'LAYERFS_UNSAFE_PATH',
    message: expect.stringContaining('more/.wh.etc'),
  });
  expect(storeState(store)).toEqual(before);
  expect(fs.existsSync(to)).toBe(false);
});
