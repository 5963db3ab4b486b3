import { execFileSync, spawnSync } from 'child_process';
import { randomBytes } from 'crypto';
import * as zlib from 'zlib';
import fc from 'fast-check';
import { makeTempDir, removeTempDir } from '../fixtures/tmp';
import { gunzipUnchecked, gzipHeaderLength } from '../../lib/tar/gunzip-unchecked';

interface MemberSpec {
  data: Buffer;
  level: number;
  name?: string;
  comment?: string;
  extra?: Buffer;
  headerCrc?: boolean;
}

/** One gzip member written by hand (RFC 1952), with the optional header fields asked for. */
function member(m: MemberSpec): Buffer {
  const flags = (m.headerCrc ? 2 : 0) | (m.extra ? 4 : 0) | (m.name !== undefined ? 8 : 0) | (m.comment !== undefined ? 16 : 0);
  const parts: Buffer[] = [Buffer.from([0x1f, 0x8b, 8, flags, 1, 2, 3, 4, 0, 3])];
  if (m.extra) {
    const len = Buffer.alloc(2);
    len.writeUInt16LE(m.extra.length);
    parts.push(len, m.extra);
  }
  if (m.name !== undefined) parts.push(Buffer.from(m.name + '\0', 'latin1'));
  if (m.comment !== undefined) parts.push(Buffer.from(m.comment + '\0', 'latin1'));
  if (m.headerCrc) {
    const crc16 = Buffer.alloc(2);
    crc16.writeUInt16LE(zlib.crc32(Buffer.concat(parts)) & 0xffff);
    parts.push(crc16);
  }
  const trailer = Buffer.alloc(8);
  trailer.writeUInt32LE(zlib.crc32(m.data), 0);
  trailer.writeUInt32LE(m.data.length % 2 ** 32, 4);
  parts.push(zlib.deflateRawSync(m.data, { level: m.level }), trailer);
  return Buffer.concat(parts);
}

/** The input in chunks of the given sizes (each its own copy), remembering which were released. */
function chunksOf(b: Buffer, sizes: number[]): { chunks: Buffer[]; released: Buffer[]; source: AsyncGenerator<Buffer>; returned: () => boolean } {
  const chunks: Buffer[] = [];
  for (let at = 0, i = 0; at < b.length; i++) {
    const n = Math.max(1, sizes.length ? sizes[i % sizes.length] : b.length);
    chunks.push(Buffer.from(b.subarray(at, at + n)));
    at += n;
  }
  let ended = false;
  let returned = false;
  async function* source(): AsyncGenerator<Buffer> {
    try {
      yield* chunks;
      ended = true;
    } finally {
      if (!ended) returned = true;
    }
  }
  return { chunks, released: [], source: source(), returned: () => returned };
}

/**
 * Runs gunzipUnchecked; a released chunk is overwritten at once, so a byte read after its release
 * shows up as a wrong output.
 */
async function inflate(input: Buffer, sizes: number[], outChunk = 64 << 10): Promise<{ out: Buffer; released: Buffer[]; chunks: Buffer[] }> {
  const c = chunksOf(input, sizes);
  const out: Buffer[] = [];
  for await (const o of gunzipUnchecked(c.source, outChunk, (b) => {
    c.released.push(b);
    b.fill(0xaa);
  }))
    out.push(Buffer.from(o));
  return { out: Buffer.concat(out), released: c.released, chunks: c.chunks };
}

const bytesArb = fc.oneof(
  fc.uint8Array({ maxLength: 3000 }).map((a) => Buffer.from(a)),
  fc.tuple(fc.string({ maxLength: 20 }), fc.integer({ min: 0, max: 4000 })).map(([s, n]) => Buffer.alloc(s.length ? n : 0, s || 'x')),
);
const memberArb: fc.Arbitrary<MemberSpec> = fc.record(
  {
    data: bytesArb,
    level: fc.constantFrom(0, 1, 6, 9),
    name: fc.string({ maxLength: 12 }).map((s) => s.replace(/\0/g, '')),
    comment: fc.string({ maxLength: 12 }).map((s) => s.replace(/\0/g, '')),
    extra: fc.uint8Array({ maxLength: 40 }).map((a) => Buffer.from(a)),
    headerCrc: fc.boolean(),
  },
  { requiredKeys: ['data', 'level'] },
);

test('any members, any header fields, any chunking: the bytes zlib gives, each input chunk released once and only when used up', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(memberArb, { minLength: 1, maxLength: 4 }), fc.array(fc.integer({ min: 1, max: 700 }), { maxLength: 6 }), async (members, sizes) => {
      const input = Buffer.concat(members.map(member));
      const { out, released, chunks } = await inflate(input, sizes, 1000);
      expect(out.equals(zlib.gunzipSync(input))).toBe(true);
      expect(released.length).toBe(chunks.length);
      expect(new Set(released).size).toBe(chunks.length);
    }),
    { numRuns: 300 },
  );
});

test('output comes in chunks of at most the size asked, for a member bigger than them', async () => {
  const data = Buffer.concat([randomBytes(700 << 10), Buffer.alloc(900 << 10, 'layer ')]);
  const c = chunksOf(zlib.gzipSync(data), [100 << 10]);
  const sizes: number[] = [];
  const out: Buffer[] = [];
  for await (const o of gunzipUnchecked(c.source, 256 << 10)) {
    sizes.push(o.length);
    out.push(o);
  }
  expect(Buffer.concat(out).equals(data)).toBe(true);
  expect(Math.max(...sizes)).toBeLessThanOrEqual(256 << 10);
});

const hasGzip = spawnSync('gzip', ['--version'], { stdio: 'ignore' }).status === 0;
if (!hasGzip) console.warn('gunzip-unchecked tests: the GNU gzip case is skipped (apt-get install gzip)');
(hasGzip ? test : test.skip)('what GNU gzip writes (a file name in the header; two members concatenated) inflates as gunzip -c gives it', async () => {
  const a = randomBytes(50 << 10);
  const b = Buffer.alloc(80 << 10, 'second member ');
  const dir = makeTempDir('gunzip');
  const gz = (x: Buffer) => execFileSync('sh', ['-c', 'cat > "$T/f.tar" && gzip -c -9 -N "$T/f.tar"'], { input: x, env: { ...process.env, T: dir } });
  let input: Buffer;
  try {
    input = Buffer.concat([gz(a), gz(b)]);
  } finally {
    removeTempDir(dir);
  }
  expect(gzipHeaderLength(input)).toBeGreaterThan(10); // FNAME set
  const { out } = await inflate(input, [4096]);
  expect(out.equals(execFileSync('gzip', ['-dc'], { input }))).toBe(true);
});

test('the CRC-32 is not checked (the caller hashes the output), the size is', async () => {
  const data = Buffer.from('the bytes a DiffID covers');
  const badCrc = member({ data, level: 6 });
  badCrc[badCrc.length - 8] ^= 0xff;
  expect(() => zlib.gunzipSync(badCrc)).toThrow();
  expect((await inflate(badCrc, [])).out.equals(data)).toBe(true);
  const badSize = member({ data, level: 6 });
  badSize[badSize.length - 4] ^= 0x01;
  await expect(inflate(badSize, [])).rejects.toThrow(`the gzip trailer gives the member's size as ${data.length ^ 1} bytes (mod 2^32), it inflated to ${data.length}`);
});

describe('a stream that is not whole gzip says what is wrong', () => {
  const ok = member({ data: Buffer.alloc(20000, 'abc'), level: 6 });
  test.each<[string, Buffer, string]>([
    ['empty', Buffer.alloc(0), 'the gzip stream is empty'],
    ['cut in the header', ok.subarray(0, 6), 'unexpected end of file (in the gzip header)'],
    ['cut in the deflate data', ok.subarray(0, ok.length >> 1), 'unexpected end of file'],
    ['cut in the trailer', ok.subarray(0, ok.length - 3), 'unexpected end of file (in the gzip trailer)'],
    ['not gzip', Buffer.from('ustar00 not compressed'), 'not a gzip member (its first byte is not 0x1f)'],
    ['another method', Buffer.from([0x1f, 0x8b, 7, 0, 0, 0, 0, 0, 0, 3, 0]), 'compression method 7, not deflate (8)'],
    ['reserved flags', Buffer.from([0x1f, 0x8b, 8, 0x20, 0, 0, 0, 0, 0, 3, 0]), 'reserved flags set (0x20)'],
    ['zeros after the member', Buffer.concat([ok, Buffer.alloc(512)]), 'unexpected bytes after gzip member 1: not a gzip member (its first byte is not 0x1f)'],
    ['half a header after the member', Buffer.concat([ok, ok.subarray(0, 5)]), 'unexpected bytes after the last gzip member (a truncated member header)'],
    ['corrupt deflate data', Buffer.concat([ok.subarray(0, 10), Buffer.from([0xff, 0xff, 0xff]), ok.subarray(13)]), 'invalid'],
  ])('%s', async (_what, input, message) => {
    await expect(inflate(input, [7])).rejects.toThrow(message);
  });

  test('a file name with no end is refused once the header passes 64 KiB, not buffered', async () => {
    const head = Buffer.concat([Buffer.from([0x1f, 0x8b, 8, 8, 0, 0, 0, 0, 0, 3]), Buffer.alloc(200 << 10, 'n')]);
    await expect(inflate(head, [4096])).rejects.toThrow('the gzip member header is over 65536 bytes');
  });
});

test('a reader that stops early stops the input and releases what it held', async () => {
  const input = member({ data: randomBytes(300 << 10), level: 0 });
  const c = chunksOf(input, [16 << 10]);
  const released: Buffer[] = [];
  for await (const _ of gunzipUnchecked(c.source, 16 << 10, (b) => released.push(b))) break;
  expect(c.returned()).toBe(true);
  expect(released.length).toBeGreaterThan(0);
  expect(released.length).toBeLessThan(c.chunks.length);
});

test('an input error is the error the reader sees', async () => {
  const boom = new Error('read failed');
  async function* failing(): AsyncGenerator<Buffer> {
    yield member({ data: randomBytes(100 << 10), level: 0 }).subarray(0, 50 << 10);
    throw boom;
  }
  const it = gunzipUnchecked(failing(), 8 << 10);
  await expect((async () => {
    for await (const _ of it);
  })()).rejects.toBe(boom);
});
