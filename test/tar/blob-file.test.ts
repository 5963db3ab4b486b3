/**
 * lib/tar/blob-file.ts: a kept blob, written front to back with O_DIRECT where it can be (one
 * direct write in flight, the pieces that find it busy go buffered). Every
 * byte given arrives in order whatever the chunking (a property, against the whole blocks going
 * one way and the tail the other), the fallbacks give the same bytes, and a blob written with
 * O_DIRECT leaves its data out of the page cache (fincore, from util-linux).
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import fc from 'fast-check';
import { BlobFile, BLOB_PIECE } from '../../lib/tar/blob-file';
import * as native from '../../lib/native';
import { tempDir } from '../drivers/helpers';
import { whichTool } from '../fixtures/peers';

let dir: string;
beforeAll(() => {
  dir = tempDir('layerfs-blob-file-');
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

let n = 0;
function newFile(): string {
  const f = path.join(dir, `blob-${n++}`);
  fs.writeFileSync(f, '', { flag: 'wx' });
  return f;
}

/** Deterministic bytes, so a misplaced piece shows. */
function bytes(len: number, seed: number): Buffer {
  const b = Buffer.allocUnsafe(len);
  for (let i = 0; i < len; i++) b[i] = (i * 31 + seed * 7 + (i >> 9)) & 255;
  return b;
}

async function writeAll(file: string, chunks: Buffer[], opts: { direct?: boolean } = {}): Promise<BlobFile> {
  const blob = await BlobFile.open(file, opts);
  try {
    for (const c of chunks) {
      const w = blob.write(c);
      if (w) await w;
    }
    await blob.end();
  } finally {
    await blob.close();
  }
  return blob;
}

describe('BlobFile', () => {
  test('uses O_DIRECT with the addon on this filesystem, and not when told not to', async () => {
    const on = await writeAll(newFile(), [bytes(BLOB_PIECE + 5, 1)]);
    expect(on.isDirect).toBe(native.available());
    // the whole piece, and the tail's whole block, went direct; the last 5 bytes buffered
    if (on.isDirect) expect(on.counts).toEqual({ direct: 1, buffered: 1 });
    const off = await writeAll(newFile(), [bytes(10, 1)], { direct: false });
    expect(off.isDirect).toBe(false);
  });

  test('every byte, in order, whatever the chunk sizes (pieces, blocks and tails crossed)', async () => {
    const sizes = fc.oneof(fc.integer({ min: 0, max: 9000 }), fc.integer({ min: BLOB_PIECE - 4097, max: BLOB_PIECE + 4097 }), fc.constantFrom(4096, BLOB_PIECE, 2 * BLOB_PIECE + 1));
    await fc.assert(
      fc.asyncProperty(fc.array(sizes, { minLength: 0, maxLength: 8 }), fc.boolean(), async (lens, direct) => {
        const chunks = lens.map((l, i) => bytes(l, i));
        const f = newFile();
        await writeAll(f, chunks, { direct });
        const got = fs.readFileSync(f);
        fs.rmSync(f);
        expect(got.length).toBe(lens.reduce((a, b) => a + b, 0));
        expect(got.equals(Buffer.concat(chunks))).toBe(true);
      }),
      { numRuns: 40 },
    );
  });

  test('a chunk may be reused by the caller at once: it was copied', async () => {
    const f = newFile();
    const blob = await BlobFile.open(f);
    const c = Buffer.alloc(300_000, 1);
    const expected: Buffer[] = [];
    for (let i = 0; i < 6; i++) {
      c.fill(i + 1);
      expected.push(Buffer.from(c));
      const w = blob.write(c);
      if (w) await w;
    }
    await blob.end();
    await blob.close();
    expect(fs.readFileSync(f).equals(Buffer.concat(expected))).toBe(true);
  });

  test('a filesystem that takes O_DIRECT at open but refuses the first write: the rest goes buffered, nothing lost', async () => {
    if (!native.available()) return;
    const f = newFile();
    const blob = await BlobFile.open(f);
    expect(blob.isDirect).toBe(true);
    const handle = await fs.promises.open(f, 'r');
    const proto = Object.getPrototypeOf(handle) as { write: (...a: unknown[]) => Promise<unknown> };
    await handle.close();
    const real = proto.write;
    let refused = 0;
    const spy = jest.spyOn(proto, 'write').mockImplementation(function (this: unknown, ...args: unknown[]) {
      if (refused === 0) {
        refused++;
        return Promise.reject(Object.assign(new Error('EINVAL: invalid argument, write'), { code: 'EINVAL', errno: -22, syscall: 'write' }));
      }
      return real.apply(this, args);
    });
    try {
      const chunks = [bytes(BLOB_PIECE * 2 + 123, 3), bytes(777, 4)];
      for (const c of chunks) {
        const w = blob.write(c);
        if (w) await w;
      }
      await blob.end();
      await blob.close();
      expect(refused).toBe(1);
      expect(blob.isDirect).toBe(false);
      expect(fs.readFileSync(f).equals(Buffer.concat(chunks))).toBe(true);
    } finally {
      spy.mockRestore();
    }
  });

  test('a write that fails for another reason fails the blob, at the next write or at the end', async () => {
    const f = newFile();
    const blob = await BlobFile.open(f, { direct: false });
    const handle = await fs.promises.open(f, 'r');
    const proto = Object.getPrototypeOf(handle) as { write: (...a: unknown[]) => Promise<unknown> };
    await handle.close();
    const spy = jest.spyOn(proto, 'write').mockImplementation(() => Promise.reject(Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' })));
    try {
      const run = async () => {
        for (let i = 0; i < 4; i++) {
          const w = blob.write(bytes(BLOB_PIECE, i));
          if (w) await w;
        }
        await blob.end();
      };
      await expect(run()).rejects.toMatchObject({ code: 'ENOSPC' });
    } finally {
      spy.mockRestore();
      await blob.close();
    }
  });

  const fincore = whichTool('fincore');
  (fincore ? test : test.skip)('the pieces written with O_DIRECT take no page cache; buffered ones do (fincore: install util-linux)', async () => {
    const resident = (f: string) => Number(execFileSync(fincore!, ['-b', '-n', '-o', 'RES', f], { encoding: 'utf8' }).trim());
    const size = 16 * BLOB_PIECE + 1000;
    const direct = newFile();
    const b = await writeAll(direct, [bytes(size, 5)]);
    const buffered = newFile();
    await writeAll(buffered, [bytes(size, 5)], { direct: false });
    expect(resident(buffered)).toBeGreaterThan(size / 2);
    if (!b.isDirect) return;
    // given at once, the pieces fill faster than the disk takes them: those that found the direct write busy went buffered
    expect(b.counts.direct).toBeGreaterThan(0);
    expect(resident(direct)).toBeLessThanOrEqual(b.counts.buffered * BLOB_PIECE + (64 << 10));
  });
});
