/**
 * Handed-over chunks (lib/tar/handed-over.ts): a pull frees each socket buffer as soon as it is
 * written to the blob and sent to the worker, instead of leaving a gigabyte of them to the
 * collector. Freed too early, the blob or the layer would be wrong; freed from a stream that is
 * not marked, a caller's own buffers would be emptied under it.
 */
import * as fs from 'fs';
import * as path from 'path';
import { randomBytes, createHash } from 'crypto';
import { Readable } from 'stream';
import { applyLayer } from '../../lib/tar/apply-in-worker';
import { isHandedOver, markHandedOver, releaseChunks } from '../../lib/tar/handed-over';
import { markVerified } from '../../lib/digest';
import { supports } from '../../lib/native';
import { rawTar, Sandbox } from '../fixtures/hostile-tar';
import { itIf } from '../fixtures/peers';
import * as zlib from 'zlib';

// an addon built before releaseBuffer frees nothing (and nothing breaks): these tests need it
const itReleases = itIf(supports('releaseBuffer'), 'the native addon lacks releaseBuffer (unavailable, or built from older sources): `npm install` builds it');
const sha = (b: Buffer) => 'sha256:' + createHash('sha256').update(b).digest('hex');

/** `b` copied into buffers of `step` bytes, each the whole of its own memory, as a socket reads them */
const ownBuffers = (b: Buffer, step: number): Buffer[] => {
  const out: Buffer[] = [];
  for (let i = 0; i < b.length; i += step) {
    const piece = Buffer.allocUnsafeSlow(Math.min(step, b.length - i));
    b.copy(piece, 0, i, i + piece.length);
    out.push(piece);
  }
  return out;
};

describe('releaseChunks', () => {
  itReleases('frees a buffer that is the whole of its memory, and leaves slices and pooled buffers alone', () => {
    const whole = Buffer.allocUnsafeSlow(64 << 10).fill(1);
    const big = Buffer.allocUnsafeSlow(128 << 10).fill(2);
    const slice = big.subarray(0, 64 << 10);
    const small = Buffer.allocUnsafeSlow(1024).fill(3);
    const pooled = Buffer.from('pooled bytes');
    releaseChunks([whole, slice, small, pooled]);
    expect(whole.length).toBe(0);
    expect(whole.buffer.byteLength).toBe(0);
    expect(slice.length).toBe(64 << 10);
    expect(big.every((x) => x === 2)).toBe(true);
    expect(small.length).toBe(1024);
    expect(pooled.toString()).toBe('pooled bytes');
  });

  test('a mark is a property of the stream it is put on', () => {
    const s = Readable.from([]);
    expect(isHandedOver(s)).toBe(false);
    expect(markHandedOver(s)).toBe(s);
    expect(isHandedOver(s)).toBe(true);
    expect(isHandedOver(null)).toBe(false);
  });
});

describe('applyLayer with a stream that checks its own digest', () => {
  let sb: Sandbox;
  beforeEach(() => (sb = new Sandbox('handed-over', ['blob'])));
  afterEach(() => sb.remove());

  // incompressible, so the gzip stream is as long as the file: 6 MiB, many blob writes of 1 MiB
  const content = randomBytes(6 << 20);
  const gz = zlib.gzipSync(rawTar([{ name: 'big', body: content }]), { level: 1 });
  const blob = () => path.join(sb.work, 'blob');

  itReleases('marked: the chunks are freed once written and sent, and blob and layer are whole', async () => {
    const chunks = ownBuffers(gz, 64 << 10);
    await applyLayer(markHandedOver(markVerified(Readable.from(chunks), sha(gz))), sb.target, { whiteout: 'oci', blobPath: blob() });
    expect(fs.readFileSync(blob()).equals(gz)).toBe(true);
    expect(fs.readFileSync(path.join(sb.target, 'big')).equals(content)).toBe(true);
    const freed = chunks.filter((c) => c.length === 0).length;
    // all but the last megabyte or two (written last, left to the collector)
    expect(freed).toBeGreaterThan(chunks.length - 40);
  });

  test('not marked: every chunk keeps its bytes', async () => {
    const chunks = ownBuffers(gz, 64 << 10);
    await applyLayer(markVerified(Readable.from(chunks), sha(gz)), sb.target, { whiteout: 'oci', blobPath: blob() });
    expect(fs.readFileSync(blob()).equals(gz)).toBe(true);
    expect(Buffer.concat(chunks).equals(gz)).toBe(true);
  });
});
