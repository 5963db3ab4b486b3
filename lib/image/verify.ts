import { pipeline, Readable, Transform } from 'stream';
import { createHash } from 'crypto';
import { DigestMismatchError, SizeMismatchError } from '../errors';

export interface Expected {
  digest: string;
  size: number;
}

/** Streams made here, with what they were checked against (so a copy need not hash them twice). */
const verified = new WeakMap<Readable, Expected>();

/**
 * Passes `src` through unchanged and fails (instead of ending) unless the bytes hash to
 * `expected.digest` and count `expected.size`. Too many bytes fail at once; a short or
 * altered stream fails at its end. The error names `what`, the expected and the seen value.
 */
export function verifyingStream(src: Readable, expected: Expected, what: string): Readable {
  const h = createHash('sha256');
  let n = 0;
  const t = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      n += chunk.length;
      if (n > expected.size) return cb(new SizeMismatchError(what, expected.size, n));
      h.update(chunk);
      cb(null, chunk);
    },
    flush(cb) {
      if (n !== expected.size) return cb(new SizeMismatchError(what, expected.size, n));
      const seen = 'sha256:' + h.digest('hex');
      if (seen !== expected.digest) return cb(new DigestMismatchError(what, expected.digest, seen));
      cb();
    },
  });
  // pipeline: an error of the source reaches the reader, and a reader that gives up stops the source
  pipeline(src, t, () => undefined);
  verified.set(t, { digest: expected.digest, size: expected.size });
  return t;
}

/** Was `s` made by verifyingStream against exactly this digest and size? */
export function isVerifiedAs(s: Readable, expected: Expected): boolean {
  const v = verified.get(s);
  return v !== undefined && v.digest === expected.digest && v.size === expected.size;
}
