import { Readable } from 'stream';
import { randomBytes } from 'crypto';
import { verifyingStream } from '../../lib/image';
import { DigestMismatchError, SizeMismatchError } from '../../lib/errors';
import { readAll, sha } from './image-forms';

describe('verifyingStream', () => {
  const data = randomBytes(3 << 20);
  const chunks = () => Readable.from([data.subarray(0, 1 << 20), data.subarray(1 << 20, 2 << 20), data.subarray(2 << 20)]);

  test('passes the bytes through unchanged when digest and size match', async () => {
    const out = await readAll(verifyingStream(chunks(), { digest: sha(data), size: data.length }, 'layer 0'));
    expect(out.equals(data)).toBe(true);
  });

  test('altered bytes: DigestMismatchError naming the blob, the expected and the seen digest', async () => {
    const bad = Buffer.from(data);
    bad[12345] ^= 1;
    const e = await readAll(verifyingStream(Readable.from([bad]), { digest: sha(data), size: data.length }, `layer 2 (${sha(data)})`)).catch((x) => x);
    expect(e).toBeInstanceOf(DigestMismatchError);
    expect(e).toMatchObject({ code: 'LAYERFS_DIGEST_MISMATCH', expected: sha(data), actual: sha(bad), what: `layer 2 (${sha(data)})` });
    expect(e.message).toContain('layer 2');
    expect(e.message).toContain(sha(bad));
  });

  test('too few bytes fail at the end, too many at once, with the sizes', async () => {
    const short = await readAll(verifyingStream(Readable.from([data.subarray(0, 100)]), { digest: sha(data), size: data.length }, 'config')).catch((x) => x);
    expect(short).toBeInstanceOf(SizeMismatchError);
    expect(short).toMatchObject({ expected: data.length, actual: 100, what: 'config' });
    let pulled = 0;
    const endless = new Readable({
      read() {
        pulled++;
        this.push(Buffer.alloc(1 << 20));
      },
    });
    const long = await readAll(verifyingStream(endless, { digest: sha(data), size: 10 }, 'layer 0')).catch((x) => x);
    expect(long).toBeInstanceOf(SizeMismatchError);
    expect(long.expected).toBe(10);
    expect(long.actual).toBeGreaterThan(10);
    expect(pulled).toBeLessThan(10); // it stopped reading
  });

  test('an error of the source reaches the reader', async () => {
    const src = new Readable({
      read() {
        this.destroy(new Error('disk on fire'));
      },
    });
    await expect(readAll(verifyingStream(src, { digest: sha(''), size: 0 }, 'x'))).rejects.toThrow('disk on fire');
  });
});
