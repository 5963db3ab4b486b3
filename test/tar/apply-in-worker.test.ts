/**
 * The worker plumbing of applyLayer: path and stream inputs agree, the blob is kept or removed,
 * progress, abort, input errors, backpressure, and the checks on the target.
 */
import * as fs from 'fs';
import * as path from 'path';
import { Readable } from 'stream';
import { createHash } from 'crypto';
import * as zlib from 'zlib';
import { applyLayer } from '../../lib/tar/apply-in-worker';
import { readContentIndexSync } from '../../lib/store/content-index';
import { AbortedError, DigestMismatchError, InvalidArgumentError, UnsupportedError } from '../../lib/errors';
import type { ProgressEvent } from '../../lib/store/types';
import { rawTar, gzip, header, Sandbox } from '../fixtures/hostile-tar';

const sha = (b: Buffer) => 'sha256:' + createHash('sha256').update(b).digest('hex');

const dist = path.resolve(__dirname, '../../dist/lib/tar/apply.worker.js');
beforeAll(() => {
  if (!fs.existsSync(dist)) throw new Error(`${dist} is missing: build with \`npx tsc -p tsconfig.json\` first`);
});

let sb: Sandbox;
beforeEach(() => (sb = new Sandbox('apply-worker', ['in', 'blob'])));
afterEach(() => sb.remove());

const blobPath = () => path.join(sb.work, 'blob');
function* pieces(b: Buffer, step: number): Generator<Buffer> {
  for (let i = 0; i < b.length; i += step) yield b.subarray(i, i + step);
}

const layer = rawTar([
  { name: 'dir/', type: '5', mtime: 1500000000 },
  { name: 'dir/big', body: Buffer.alloc(3 << 20, 'b') },
  { name: 'dir/small', body: 'small' },
  { name: 'sym', type: '2', linkname: 'dir/small' },
]);

test('a stream (in any chunking) and a file give the same result, and the blob holds the bytes as given', async () => {
  const gz = gzip(layer);
  const fromFile = await applyLayer(sb.file('in', gz), sb.target, { whiteout: 'oci', blobPath: blobPath() });
  expect(fs.readFileSync(blobPath()).equals(gz)).toBe(true);
  expect(fromFile).toMatchObject({ diffId: sha(layer), digest: sha(gz), size: gz.length, uncompressedSize: layer.length, compression: 'gzip', entries: 4 });
  for (const step of [7, 65536, 5 << 20]) {
    sb.reset();
    fs.rmSync(blobPath());
    const fromStream = await applyLayer(Readable.from(pieces(gz, step)), sb.target, { whiteout: 'oci', blobPath: blobPath() });
    expect(fromStream).toEqual(fromFile);
    expect(fs.readFileSync(blobPath()).equals(gz)).toBe(true);
    expect(fs.readFileSync(path.join(sb.target, 'dir/big')).equals(Buffer.alloc(3 << 20, 'b'))).toBe(true);
  }
  fs.rmSync(path.join(sb.work, 'in'));
  fs.rmSync(blobPath());
  sb.expectVictimUntouched();
});

test('expect: size, blob digest and DiffID checked in that order; with a DiffID to check, gzip is read without its CRC-32, and a changed byte is still caught', async () => {
  // stored deflate blocks (level 0): a byte changed in the data inflates without a deflate error
  const gz = zlib.gzipSync(layer, { level: 0 });
  const what = 'layer 1 (test)';
  const good = { what, size: gz.length, digest: sha(gz), diffId: sha(layer) };
  const apply = (bytes: Buffer, expect?: typeof good) => {
    sb.reset();
    fs.rmSync(blobPath(), { force: true });
    return applyLayer(sb.file('in', bytes), sb.target, { whiteout: 'oci', blobPath: blobPath(), expect });
  };
  await expect(apply(gz, good)).resolves.toMatchObject({ diffId: sha(layer) });

  // a wrong CRC-32 over the right bytes: refused by gunzip, taken when the DiffID is checked
  const badCrc = Buffer.from(gz);
  badCrc[badCrc.length - 8] ^= 0xff;
  await expect(apply(badCrc)).rejects.toMatchObject({ code: 'LAYERFS_BAD_TAR', message: expect.stringContaining('incorrect data check') });
  await expect(apply(badCrc, { what, diffId: sha(layer) })).resolves.toMatchObject({ diffId: sha(layer) });

  // a byte of dir/big changed (tar offset 2000: 10 bytes of gzip header and 5 of the stored block's before it)
  const changed = Buffer.from(gz);
  changed[10 + 5 + 2000] ^= 0x01;
  await expect(apply(changed)).rejects.toMatchObject({ code: 'LAYERFS_BAD_TAR' });
  await expect(apply(changed, { what, diffId: sha(layer) })).rejects.toMatchObject({ code: 'LAYERFS_DIGEST_MISMATCH', message: expect.stringContaining(`${what}: DiffID (rootfs.diff_ids): expected ${sha(layer)}, got sha256:`) });
  expect(fs.existsSync(blobPath())).toBe(false);
  // the blob's own checks come first, and name it
  await expect(apply(changed, { ...good, digest: sha(changed) })).rejects.toMatchObject({ code: 'LAYERFS_DIGEST_MISMATCH', message: expect.stringContaining('DiffID') });
  await expect(apply(changed, good)).rejects.toMatchObject({ code: 'LAYERFS_DIGEST_MISMATCH', message: expect.stringContaining(`${what}: blob digest: expected ${sha(gz)}, got ${sha(changed)}`) });
  await expect(apply(gz, { ...good, size: gz.length + 1 })).rejects.toMatchObject({ code: 'LAYERFS_SIZE_MISMATCH', message: expect.stringContaining(`${what}: expected ${gz.length + 1} bytes, got ${gz.length}`) });
  expect(fs.existsSync(blobPath())).toBe(false);
});

test('progress: bytes as received, the total of a file, the entries seen', async () => {
  const events: ProgressEvent[] = [];
  const input = sb.file('in', layer);
  await applyLayer(input, sb.target, { whiteout: 'oci', onProgress: (p) => events.push(p) });
  expect(events.length).toBeGreaterThan(0);
  expect(events[events.length - 1]).toEqual({ bytes: layer.length, total: layer.length, entries: 4 });
  for (let i = 1; i < events.length; i++) expect(events[i].bytes).toBeGreaterThanOrEqual(events[i - 1].bytes);
});

test('the durable path and the manifest: file digests taken while writing', async () => {
  const manifestPath = path.join(sb.work, 'blob');
  await applyLayer(sb.file('in', layer), sb.target, { whiteout: 'oci', durable: true, manifestPath });
  const lines = readContentIndexSync(manifestPath);
  const big = lines.find((l) => l[0] === '/dir/big');
  expect(big?.[4]).toBe(createHash('sha256').update(Buffer.alloc(3 << 20, 'b')).digest('hex'));
});

test('a failed apply removes the blob it created; an existing blob file is never touched', async () => {
  const bad = rawTar([{ name: 'ok', body: 'x' }, { name: '../victim', body: 'pwned' }]);
  await expect(applyLayer(sb.file('in', bad), sb.target, { whiteout: 'oci', blobPath: blobPath() })).rejects.toMatchObject({ code: 'LAYERFS_UNSAFE_PATH' });
  expect(fs.existsSync(blobPath())).toBe(false);
  fs.writeFileSync(blobPath(), 'someone else');
  sb.reset();
  await expect(applyLayer(sb.file('in', layer), sb.target, { whiteout: 'oci', blobPath: blobPath() })).rejects.toMatchObject({ code: 'EEXIST' });
  expect(fs.readFileSync(blobPath(), 'utf8')).toBe('someone else');
  expect(fs.readdirSync(sb.target)).toEqual([]);
});

test('abort: the worker stops, the call rejects with AbortedError, the blob is removed, nothing is written outside the target', async () => {
  const ac = new AbortController();
  let destroyed = false;
  // a stream that sends the start of a layer, then never ends
  const input = new Readable({
    read() {},
    destroy(e, cb) {
      destroyed = true;
      cb(e);
    },
  });
  input.push(layer.subarray(0, 2 << 20));
  const p = applyLayer(input, sb.target, {
    whiteout: 'oci',
    blobPath: blobPath(),
    signal: ac.signal,
    onProgress: () => ac.abort(),
  });
  const err = await p.catch((e: unknown) => e);
  expect(err).toBeInstanceOf(AbortedError);
  expect(destroyed).toBe(true);
  expect(fs.existsSync(blobPath())).toBe(false);
  sb.expectVictimUntouched();
  // aborted before it started: nothing at all is made
  await expect(applyLayer(sb.file('in', layer), sb.target, { whiteout: 'oci', blobPath: blobPath(), signal: AbortSignal.abort() })).rejects.toBeInstanceOf(AbortedError);
  expect(fs.existsSync(blobPath())).toBe(false);
});

test("the input stream's own error is the one reported", async () => {
  const input = new Readable({ read() {} });
  input.push(layer.subarray(0, 100000));
  setImmediate(() => input.destroy(new DigestMismatchError('layer blob', 'sha256:aaa', 'sha256:bbb')));
  const err = await applyLayer(input, sb.target, { whiteout: 'oci', blobPath: blobPath() }).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(DigestMismatchError);
  expect(fs.existsSync(blobPath())).toBe(false);
});

test('the target must be an existing empty directory', async () => {
  fs.writeFileSync(path.join(sb.target, 'already'), '');
  await expect(applyLayer(sb.file('in', layer), sb.target, { whiteout: 'oci' })).rejects.toBeInstanceOf(InvalidArgumentError);
  await expect(applyLayer(sb.file('in', layer), path.join(sb.work, 'missing'), { whiteout: 'oci' })).rejects.toBeInstanceOf(InvalidArgumentError);
});

test('xz, bzip2 or a missing file are clear errors', async () => {
  const xz = Buffer.concat([Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]), Buffer.alloc(600)]);
  await expect(applyLayer(sb.file('in', xz), sb.target, { whiteout: 'oci' })).rejects.toThrow(UnsupportedError);
  await expect(applyLayer(sb.file('in', xz), sb.target, { whiteout: 'oci' })).rejects.toThrow(/xz-compressed/);
  await expect(applyLayer(Readable.from([Buffer.from('BZh91AY&SY')]), sb.target, { whiteout: 'oci' })).rejects.toThrow(/bzip2/);
  await expect(applyLayer(path.join(sb.work, 'nothing-here'), sb.target, { whiteout: 'oci' })).rejects.toMatchObject({ code: 'ENOENT' });
});

test('an empty input is an empty layer', async () => {
  await expect(applyLayer(Readable.from([]), sb.target, { whiteout: 'oci' })).resolves.toMatchObject({ entries: 0, size: 0, diffId: sha(Buffer.alloc(0)) });
});

test('backpressure: a 256 MiB stream passes with the main thread holding only a few MiB of it', async () => {
  const size = 256 << 20;
  const chunk = Buffer.alloc(1 << 20, 'z');
  const rss0 = process.memoryUsage().rss;
  let peak = 0;
  async function* body(): AsyncGenerator<Buffer> {
    yield header({ name: 'big' }, size);
    for (let n = 0; n < size; n += chunk.length) {
      peak = Math.max(peak, process.memoryUsage().rss - rss0);
      yield chunk;
    }
    yield Buffer.alloc(1024);
  }
  const r = await applyLayer(Readable.from(body()), sb.target, { whiteout: 'oci' });
  expect(r.uncompressedSize).toBe(512 + size + 1024);
  expect(fs.statSync(path.join(sb.target, 'big')).size).toBe(size);
  // without the acks all 256 MiB would be queued to the worker at once
  expect(peak).toBeLessThan(128 << 20);
});

test('a worker error mid-stream ends both sides: the call rejects with it and the endless input is destroyed', async () => {
  const bad = rawTar([{ name: 'ok', body: 'x' }, { name: '../victim', body: 'pwned' }]);
  let destroyed = false;
  let sent = 0;
  // the bad entry, then padding forever: the worker fails while the window is full and the input still flowing
  const input = new Readable({
    read() {
      this.push(sent++ === 0 ? bad.subarray(0, bad.length - 1024) : Buffer.alloc(1 << 20));
    },
    destroy(e, cb) {
      destroyed = true;
      cb(e);
    },
  });
  await expect(applyLayer(input, sb.target, { whiteout: 'oci', blobPath: blobPath() })).rejects.toMatchObject({ code: 'LAYERFS_UNSAFE_PATH' });
  expect(destroyed).toBe(true);
  expect(fs.existsSync(blobPath())).toBe(false);
  sb.expectVictimUntouched();
});
