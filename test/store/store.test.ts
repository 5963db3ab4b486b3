import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { execFileSync, spawn } from 'child_process';
import { createHash } from 'crypto';
import { LayerStore } from '../../lib/layer-store';
import { chainId } from '../../lib/digest';
import { DigestMismatchError, NotFoundError, UnsafePathError } from '../../lib/errors';
import { defaultStoreDir } from '../../lib/store/paths';

const sha = (b: Buffer) => 'sha256:' + createHash('sha256').update(b).digest('hex');
let work: string;

beforeEach(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'layerfs-store-'));
});
afterEach(() => fs.rmSync(work, { recursive: true, force: true }));

/** A layer tarball made by GNU tar from files given as path -> content. */
function makeLayer(name: string, files: Record<string, string>, gzip = false): string {
  const src = path.join(work, `src-${name}`);
  for (const [p, c] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(src, p)), { recursive: true });
    fs.writeFileSync(path.join(src, p), c);
  }
  const out = path.join(work, `${name}.tar${gzip ? '.gz' : ''}`);
  execFileSync('tar', [gzip ? '-czf' : '-cf', out, '--sort=name', '--mtime=@0', '--owner=0', '--group=0', '-C', src, '.']);
  return out;
}

function storeState(root: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      out.push(path.relative(root, p));
      if (e.isDirectory()) walk(p);
    }
  };
  walk(root);
  return out.sort();
}

describe('LayerStore', () => {
  test('default store location follows LAYERFS_STORE, XDG_DATA_HOME, then ~/.local/share', () => {
    expect(defaultStoreDir({ LAYERFS_STORE: '/x/y' })).toBe('/x/y');
    expect(defaultStoreDir({ XDG_DATA_HOME: '/data' })).toBe('/data/layerfs');
    expect(defaultStoreDir({})).toBe(path.join(os.homedir(), '.local/share/layerfs'));
  });

  test('a store path that is a file, or runs through one: LAYERFS_INVALID_ARGUMENT naming the file (not mkdir\'s EEXIST)', async () => {
    const file = path.join(work, 'file');
    fs.writeFileSync(file, 'x');
    await expect(LayerStore.open(file)).rejects.toMatchObject({ code: 'LAYERFS_INVALID_ARGUMENT', message: expect.stringContaining(`${file} is a file, not a directory`) });
    await expect(LayerStore.open(path.join(file, 'a', 'b'))).rejects.toMatchObject({ code: 'LAYERFS_INVALID_ARGUMENT', message: expect.stringContaining(`${file} is not a directory`) });
    expect(fs.readFileSync(file, 'utf8')).toBe('x');
  });

  test('imports a plain and a gzip layer, computes DiffID and ChainID, exports the same bytes', async () => {
    const store = await LayerStore.open(path.join(work, 'store'));
    const base = makeLayer('base', { 'etc/hostname': 'box\n', 'bin/sh': '#!/bin/sh\n' });
    const top = makeLayer('top', { 'app/main.js': 'console.log(1)\n' }, true);
    const a = await store.importLayer(base);
    expect(a.diffId).toBe(sha(fs.readFileSync(base)));
    expect(a.chainId).toBe(a.diffId);
    expect(a.digest).toBe(a.diffId);
    expect(a.mediaType).toBe('application/vnd.oci.image.layer.v1.tar');
    const b = await store.importLayer(fs.createReadStream(top), { parent: a.chainId });
    const gunzipped = execFileSync('gzip', ['-dc', top]);
    expect(b.diffId).toBe(sha(gunzipped));
    expect(b.digest).toBe(sha(fs.readFileSync(top)));
    expect(b.size).toBe(fs.statSync(top).size);
    expect(b.chainId).toBe(chainId(a.chainId, b.diffId));
    expect(b.mediaType).toBe('application/vnd.oci.image.layer.v1.tar+gzip');

    const rec = await store.getLayer(b.chainId);
    expect(rec.parent).toBe(a.chainId);
    expect((await store.listLayers()).map((l) => l.chainId).sort()).toEqual([a.chainId, b.chainId].sort());

    const chunks: Buffer[] = [];
    for await (const c of store.exportLayer(b.chainId)) chunks.push(c as Buffer);
    expect(Buffer.concat(chunks).equals(fs.readFileSync(top))).toBe(true);

    const view = store.view(b.chainId);
    expect(view.readFileSync('/etc/hostname').toString()).toBe('box\n');
    expect(view.readFileSync('/app/main.js').toString()).toBe('console.log(1)\n');
    expect(fs.readdirSync(store.paths.tmpDir)).toEqual([]);
  });

  test('importing the same layer twice, also concurrently, yields one layer', async () => {
    const store = await LayerStore.open(path.join(work, 'store'));
    const l = makeLayer('same', { a: '1', 'b/c': '2' });
    const [x, y] = await Promise.all([store.importLayer(l), store.importLayer(l)]);
    const z = await store.importLayer(fs.createReadStream(l));
    expect(x).toEqual(y);
    expect(x).toEqual(z);
    expect(fs.readdirSync(store.paths.layersDir)).toHaveLength(1);
    expect(fs.readdirSync(store.paths.blobsDir)).toHaveLength(1);
  });

  test('two processes importing the same layer at once yield one layer', async () => {
    const root = path.join(work, 'store');
    await LayerStore.open(root);
    const l = makeLayer('big', Object.fromEntries(Array.from({ length: 2000 }, (_, i) => [`d${i % 20}/f${i}`, `content ${i}`])));
    const cli = path.join(__dirname, '../../bin/layerfs');
    const run = () =>
      new Promise<string>((resolve, reject) => {
        const p = spawn(process.execPath, [cli, '--store', root, '--json', 'import', l]);
        let out = '';
        p.stdout.on('data', (d) => (out += d));
        p.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`exit ${code}: ${out}`))));
      });
    const outs = await Promise.all([run(), run(), run()]);
    const ids = outs.map((o) => JSON.parse(o).chainId);
    expect(new Set(ids).size).toBe(1);
    expect(fs.readdirSync(path.join(root, 'layers'))).toHaveLength(1);
    expect(fs.readdirSync(path.join(root, 'tmp'))).toEqual([]);
  });

  test('a failed import leaves the store exactly as it was', async () => {
    const store = await LayerStore.open(path.join(work, 'store'));
    const good = makeLayer('good', { x: 'y' });
    await store.importLayer(good);
    const before = storeState(store.root);
    // a DiffID that does not match what the caller expects
    await expect(store.importLayer(good, { expectDiffId: 'sha256:' + '0'.repeat(64), parent: null })).rejects.toBeInstanceOf(DigestMismatchError);
    // an entry escaping the layer
    const evil = path.join(work, 'evil.tar');
    execFileSync('tar', ['-cf', evil, '-P', '--transform=s,^,../../,', '-C', work, 'good.tar']);
    await expect(store.importLayer(evil)).rejects.toBeInstanceOf(UnsafePathError);
    // a truncated tarball
    const cut = path.join(work, 'cut.tar');
    fs.writeFileSync(cut, fs.readFileSync(makeLayer('cut-src', { big: 'z'.repeat(5000) })).subarray(0, 1500));
    await expect(store.importLayer(cut)).rejects.toMatchObject({ code: 'LAYERFS_BAD_TAR' });
    // an unknown parent
    await expect(store.importLayer(good, { parent: 'sha256:' + '1'.repeat(64) })).rejects.toBeInstanceOf(NotFoundError);
    await new Promise((r) => setTimeout(r, 100)); // background deletes of staging
    expect(storeState(store.root)).toEqual(before);
  });

  test('opening a store reaps staging left by dead processes, and keeps that of live ones', async () => {
    const root = path.join(work, 'store');
    const store = await LayerStore.open(root);
    const dead = path.join(store.paths.tmpDir, '999999999.1.layer-abc');
    fs.mkdirSync(path.join(dead, 'diff'), { recursive: true });
    fs.writeFileSync(path.join(dead, 'diff', 'f'), 'x');
    const live = store.makeStaging('layer');
    await LayerStore.open(root);
    await new Promise((r) => setTimeout(r, 100));
    expect(fs.existsSync(dead)).toBe(false);
    expect(fs.existsSync(live)).toBe(true);
  });

  test('exportLayer and getLayer of an unknown layer fail with LAYERFS_NOT_FOUND', async () => {
    const store = await LayerStore.open(path.join(work, 'store'));
    const id = 'sha256:' + 'a'.repeat(64);
    await expect(store.getLayer(id)).rejects.toMatchObject({ code: 'LAYERFS_NOT_FOUND' });
    expect(() => store.exportLayer(id)).toThrow(NotFoundError);
    await expect(store.getLayer('nonsense')).rejects.toMatchObject({ code: 'LAYERFS_INVALID_ARGUMENT' });
  });
});
