/**
 * Decompression limits. A ratio of output to input is checked only when asked for (TarLimits),
 * and only past a floor (64 MiB out), on the bytes past it; by default none is, since zeros reach
 * deflate's ceiling (about 1030:1) and zstd packs them over 30000:1, so a legitimate zero-filled
 * file imports whatever its size. The bound that holds whatever the ratio is an absolute cap on
 * the uncompressed tar, by default the free space of the store's filesystem.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as zlib from 'zlib';
import { createHash } from 'crypto';
import { pipeline } from 'stream/promises';
import { Readable } from 'stream';
import { LayerStore } from '../../lib/layer-store';
import { LimitExceededError } from '../../lib/errors';
import { freeBytes, layerByteLimit } from '../../lib/store/limits';
import { spawn } from 'child_process';
import { applyLayer } from '../../lib/tar/apply-in-worker';
import { header } from '../fixtures/hostile-tar';
import { itIf } from '../fixtures/peers';
import { cleanup, tempDir } from '../drivers/helpers';

let work: string;
beforeEach(() => (work = tempDir('limits')));
afterEach(() => cleanup(work));

const MiB = 1 << 20;

/** A tar of one file of `size` zero bytes (whole MiB), produced 1 MiB at a time (never held in memory). */
function zeroTar(size: number): Readable {
  if (size % MiB) throw new Error('zeroTar: whole MiB only');
  const zeros = Buffer.alloc(MiB);
  return Readable.from(
    (function* () {
      yield header({ name: 'zeros', mode: 0o644 }, size);
      for (let left = size; left > 0; left -= MiB) yield zeros;
      yield Buffer.alloc(1024);
    })(),
    { objectMode: false },
  );
}

/** Writes the gzip of zeroTar(size) to a file; returns it and the DiffID. */
async function gzipOfZeros(size: number): Promise<{ file: string; diffId: string }> {
  const file = path.join(work, `zeros-${size}.tar.gz`);
  const h = createHash('sha256');
  const tap = zeroTar(size);
  tap.on('data', (c: Buffer) => h.update(c));
  await pipeline(tap, zlib.createGzip(), fs.createWriteStream(file));
  return { file, diffId: 'sha256:' + h.digest('hex') };
}

/** Everything under the store but the config and the lock: what an import may have left. */
function contents(root: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const n of fs.readdirSync(d)) {
      const p = path.join(d, n);
      if (d === root && (n === 'store.json' || n === 'lock')) continue;
      out.push(path.relative(root, p));
      if (fs.lstatSync(p).isDirectory()) walk(p);
    }
  };
  walk(root);
  return out.sort();
}

describe('decompression limits', () => {
  test('a gzip of 200 MiB of zeros (a ratio over 1000) imports', async () => {
    const { file, diffId } = await gzipOfZeros(200 * MiB);
    expect(200 * MiB / fs.statSync(file).size).toBeGreaterThan(1000);
    const store = await LayerStore.open(path.join(work, 'store'));
    const l = await store.importLayer(file);
    expect(l.diffId).toBe(diffId);
    const st = fs.statSync(path.join(store.paths.layerDiff(l.chainId), 'zeros'));
    expect(st.size).toBe(200 * MiB);
  });

  // zstd packs zeros over 30000:1; a ratio limit of 1000 refused this past its 64 MiB floor, as "a decompression bomb"
  itIf(['zstd'])('a zstd of 200 MiB of zeros (a ratio over 20000) imports: by default no ratio is checked, the cap is the bound', async () => {
    const file = path.join(work, 'zeros.tar.zst');
    const h = createHash('sha256');
    const tap = zeroTar(200 * MiB);
    tap.on('data', (c: Buffer) => h.update(c));
    const zstd = spawn('zstd', ['-q', '-c'], { stdio: ['pipe', 'pipe', 'inherit'] });
    const exited = new Promise((resolve) => zstd.on('exit', resolve));
    await Promise.all([pipeline(tap, zstd.stdin), pipeline(zstd.stdout, fs.createWriteStream(file))]);
    expect(await exited).toBe(0);
    expect(200 * MiB / fs.statSync(file).size).toBeGreaterThan(20000);
    const store = await LayerStore.open(path.join(work, 'store'));
    const l = await store.importLayer(file);
    expect(l.diffId).toBe('sha256:' + h.digest('hex'));
    expect(fs.statSync(path.join(store.paths.layerDiff(l.chainId), 'zeros')).size).toBe(200 * MiB);
  });

  test('the ratio, when asked for, is counted past its floor only: gzip of zeros tends to 1030:1, so 1000 past the floor refused a long enough run (about 2.2 GB past a 64 MiB floor; here past a 1 MiB one)', async () => {
    const { file } = await gzipOfZeros(100 * MiB);
    const into = (name: string) => {
      const d = path.join(work, name);
      fs.mkdirSync(d);
      return d;
    };
    // the default: no ratio, only the floor (which alone limits nothing)
    expect((await applyLayer(file, into('default'), { whiteout: 'oci', limits: { ratioGraceBytes: MiB } })).size).toBe(fs.statSync(file).size);
    // asked for: checked on the bytes past the floor
    await expect(applyLayer(file, into('asked'), { whiteout: 'oci', limits: { ratioGraceBytes: MiB, maxCompressionRatio: 1000 } })).rejects.toMatchObject({ code: 'LAYERFS_LIMIT', message: expect.stringContaining('over 1000 times the input past the first 1048576 bytes') });
    expect((await applyLayer(file, into('higher'), { whiteout: 'oci', limits: { ratioGraceBytes: MiB, maxCompressionRatio: 1100 } })).size).toBe(fs.statSync(file).size);
  });

  test('a cap set low refuses with LAYERFS_LIMIT naming the limit, and the store is as it was', async () => {
    const { file } = await gzipOfZeros(8 * MiB);
    const store = await LayerStore.open(path.join(work, 'store'));
    const before = contents(store.root);
    const err = await store.importLayer(file, { maxUncompressedBytes: 4 * MiB }).catch((e) => e);
    expect(err).toBeInstanceOf(LimitExceededError);
    expect(err.code).toBe('LAYERFS_LIMIT');
    expect(err.message).toMatch(`over ${4 * MiB} bytes uncompressed, the limit set by the maxUncompressedBytes option`);
    expect(err.message).toMatch('"zeros"'); // the entry it cut
    expect(contents(store.root)).toEqual(before);
    expect(await store.listLayers()).toEqual([]);
  });

  test('the cap from LAYERFS_MAX_LAYER_BYTES and from store.json, and a plain tar counts too', async () => {
    const root = path.join(work, 'store');
    const plain = path.join(work, 'zeros.tar');
    await pipeline(zeroTar(3 * MiB), fs.createWriteStream(plain));
    const store = await LayerStore.open(root);
    const before = contents(root);

    const saved = process.env.LAYERFS_MAX_LAYER_BYTES;
    process.env.LAYERFS_MAX_LAYER_BYTES = String(2 * MiB);
    try {
      await expect(store.importLayer(plain)).rejects.toThrow(`over ${2 * MiB} bytes uncompressed, the limit set by LAYERFS_MAX_LAYER_BYTES`);
    } finally {
      if (saved === undefined) delete process.env.LAYERFS_MAX_LAYER_BYTES;
      else process.env.LAYERFS_MAX_LAYER_BYTES = saved;
    }
    expect(contents(root)).toEqual(before);

    const config = JSON.parse(fs.readFileSync(store.paths.configFile, 'utf8'));
    fs.writeFileSync(store.paths.configFile, JSON.stringify({ ...config, limits: { maxLayerBytes: MiB } }));
    const capped = await LayerStore.open(root);
    await expect(capped.importLayer(plain)).rejects.toMatchObject({ code: 'LAYERFS_LIMIT', message: expect.stringContaining('limits.maxLayerBytes in store.json') });
    expect(contents(root)).toEqual(before);
    // within the cap it imports
    fs.writeFileSync(store.paths.configFile, JSON.stringify({ ...config, limits: { maxLayerBytes: 4 * MiB } }));
    expect((await (await LayerStore.open(root)).importLayer(plain)).diffId).toMatch(/^sha256:/);
  });

  test('by default the cap is the free space of the store filesystem; bad settings are refused', async () => {
    const store = await LayerStore.open(path.join(work, 'store'));
    const d = layerByteLimit(store.paths.tmpDir, undefined, undefined, {});
    const s = fs.statfsSync(store.paths.tmpDir);
    expect(d.source).toMatch(/^the free space of the store's filesystem/);
    expect(d.bytes).toBeGreaterThan(0);
    expect(d.bytes).toBeLessThanOrEqual(Number(s.blocks) * Number(s.bsize));
    expect(Math.abs(d.bytes - freeBytes(store.paths.tmpDir))).toBeLessThan(1 << 30);
    expect(() => layerByteLimit(store.paths.tmpDir, undefined, undefined, { LAYERFS_MAX_LAYER_BYTES: '10G' })).toThrow('LAYERFS_MAX_LAYER_BYTES must be a positive whole number of bytes, not "10G"');
    expect(() => layerByteLimit(store.paths.tmpDir, { maxLayerBytes: -1 }, undefined, {})).toThrow('limits.maxLayerBytes in store.json must be');
  });
});
