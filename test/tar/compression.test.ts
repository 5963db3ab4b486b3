import { execFileSync, spawnSync } from 'child_process';
import { createHash, randomBytes } from 'crypto';
import { Readable } from 'stream';
import * as zlib from 'zlib';
import { createCompressor, createDecompressor, decompressChunks, detectCompression, unsupportedCompression, zstdAvailable } from '../../lib/tar/compression';
import type { Compression } from '../../lib/store/types';

const hasZstd = zstdAvailable();
if (!hasZstd) console.warn('compression tests: zstd cases skipped (the optional zstd-napi package is not installed)');
const itZstd = hasZstd ? test : test.skip;

// zstd input made by another implementation than the one under test: the zstd program where it is
// installed (apt-get install zstd), else zstd-napi's one-shot compress with a checksum, as the program writes one (not its streams, which the
// library wraps)
const hasZstdCli = spawnSync('zstd', ['--version'], { stdio: 'ignore' }).status === 0;
if (hasZstd && !hasZstdCli) console.warn('compression tests: zstd input made by zstd-napi, not by the zstd program (apt-get install zstd)');
const zstdCli = (b: Buffer, args: string[] = []): Buffer => {
  if (hasZstdCli) return execFileSync('zstd', ['-q', '-c', ...args], { input: b, maxBuffer: 1 << 28 });
  const { compress } = require('zstd-napi') as typeof import('zstd-napi');
  return compress(b, { checksumFlag: true, ...(args.includes('-19') ? { compressionLevel: 19 } : {}) });
};

async function* chunked(b: Buffer, step: number): AsyncGenerator<Buffer> {
  for (let i = 0; i < b.length; i += step) yield b.subarray(i, i + step);
}

async function collect(it: AsyncIterable<Buffer>): Promise<Buffer> {
  const out: Buffer[] = [];
  for await (const c of it) out.push(c);
  return Buffer.concat(out);
}

const data = Buffer.concat([randomBytes(300 << 10), Buffer.alloc(700 << 10, 'layer ')]);

test('compression is told by magic bytes', () => {
  expect(detectCompression(zlib.gzipSync(Buffer.from('x')))).toBe('gzip');
  expect(detectCompression(Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0]))).toBe('zstd');
  expect(detectCompression(Buffer.from('ustar'))).toBe('none');
  expect(detectCompression(Buffer.from([0x1f]))).toBe('none');
  expect(detectCompression(Buffer.alloc(0))).toBe('none');
  expect(unsupportedCompression(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00, 0]))).toBe('xz');
  expect(unsupportedCompression(Buffer.from('BZh91AY'))).toBe('bzip2');
  expect(unsupportedCompression(zlib.gzipSync(Buffer.from('x')))).toBeNull();
});

describe.each<[Compression, (b: Buffer) => Buffer]>([
  ['none', (b) => b],
  ['gzip', (b) => zlib.gzipSync(b)],
  ['zstd', (b) => zstdCli(b)],
])('decompressChunks(%s)', (c, compress) => {
  const maybe = c === 'zstd' ? itZstd : test;
  maybe('gives the original bytes whatever the input chunking', async () => {
    const packed = compress(data);
    expect(detectCompression(packed)).toBe(c);
    for (const step of [1 << 20, 4096, 333]) {
      const out = await collect(decompressChunks(chunked(packed, step), c));
      expect(createHash('sha256').update(out).digest('hex')).toBe(createHash('sha256').update(data).digest('hex'));
    }
  });
});

test('gzip: concatenated members are one stream', async () => {
  const two = Buffer.concat([zlib.gzipSync(Buffer.from('one ')), zlib.gzipSync(Buffer.from('two'))]);
  expect((await collect(decompressChunks(chunked(two, 5), 'gzip'))).toString()).toBe('one two');
});

itZstd('zstd: concatenated frames are one stream', async () => {
  const two = Buffer.concat([zstdCli(Buffer.from('one ')), zstdCli(Buffer.from('two'))]);
  expect((await collect(decompressChunks(chunked(two, 3), 'zstd'))).toString()).toBe('one two');
});

/** gzip as gunzip reads it, gzip read without its CRC-32 (the caller checks a DiffID), zstd */
const readers = [
  { name: 'gzip', c: 'gzip', hashed: false },
  { name: 'gzip read unchecked (a DiffID checked instead)', c: 'gzip', hashed: true },
  { name: 'zstd', c: 'zstd', hashed: false },
] as const;
const testOf = (c: Compression) => (c === 'zstd' ? itZstd : test);

for (const r of readers) {
  const pack = (b: Buffer, level9 = false) => (r.c === 'gzip' ? zlib.gzipSync(b, level9 ? { level: 9 } : {}) : zstdCli(b, level9 ? ['-19'] : []));

  testOf(r.c)(`${r.name}: truncated and corrupt input is an error`, async () => {
    const packed = pack(data);
    await expect(collect(decompressChunks(chunked(packed.subarray(0, packed.length >> 1), 4096), r.c, undefined, r.hashed))).rejects.toThrow();
    const corrupt = Buffer.from(packed);
    // without the CRC a changed byte of stored data inflates: the deflate block's own header is hit, from byte 10 on
    corrupt.fill(0x55, r.hashed ? 10 : 20, 60);
    await expect(collect(decompressChunks(chunked(corrupt, 4096), r.c, undefined, r.hashed))).rejects.toThrow();
  });

  testOf(r.c)(`${r.name}: a bomb is produced only as fast as it is consumed, in chunks of at most 256 KiB`, async () => {
    // 256 MiB of zeros from a few hundred KiB (gzip) or a few KiB (zstd), in one input chunk;
    // zstd-napi's own stream turns it into 500 MiB of memory at once
    const bomb = pack(Buffer.alloc(256 << 20), true);
    let taken = 0;
    let n = 0;
    const rssBefore = process.memoryUsage().rss;
    for await (const chunk of decompressChunks(chunked(bomb, bomb.length), r.c, undefined, r.hashed)) {
      expect(chunk.length).toBeLessThanOrEqual(256 << 10);
      taken += chunk.length;
      if (++n === 8) break;
    }
    expect(taken).toBeLessThanOrEqual(8 * (256 << 10));
    // a decompressor that ignored backpressure would have produced all 256 MiB by now
    expect(process.memoryUsage().rss - rssBefore).toBeLessThan(128 << 20);
  });
}

for (const c of ['gzip', 'zstd'] as const) testOf(c)(`createCompressor and createDecompressor round-trip (${c})`, async () => {
  const packed = await collect(Readable.from([data]).pipe(createCompressor(c)));
  expect(detectCompression(packed)).toBe(c);
  const back = await collect(Readable.from([packed]).pipe(createDecompressor(c)));
  expect(back.equals(data)).toBe(true);
});
