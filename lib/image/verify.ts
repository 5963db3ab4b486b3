import { Transform } from 'stream';
import { createHash } from 'crypto';
import { DigestMismatchError, SizeMismatchError } from '../errors';

/** Passes bytes through and fails at the end unless they hash to the descriptor's digest and size. */
export function verifyingStream(expected: { digest: string; size: number }, what: string): Transform {
  const h = createHash('sha256');
  let n = 0;
  return new Transform({
    transform(chunk: Buffer, _e, cb) {
      h.update(chunk);
      n += chunk.length;
      if (n > expected.size) return cb(new SizeMismatchError(what, expected.size, n));
      cb(null, chunk);
    },
    flush(cb) {
      if (n !== expected.size) return cb(new SizeMismatchError(what, expected.size, n));
      const d = 'sha256:' + h.digest('hex');
      if (d !== expected.digest) return cb(new DigestMismatchError(what, expected.digest, d));
      cb();
    },
  });
}
