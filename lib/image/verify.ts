import { pipeline, Readable, Transform } from 'stream';
import { Sha256Counter } from '../digest';
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
  const h = new Sha256Counter();
  const t = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      const n = h.bytes + chunk.length;
      if (n > expected.size) return cb(new SizeMismatchError(what, expected.size, n));
      h.update(chunk);
      cb(null, chunk);
    },
    flush(cb) {
      if (h.bytes !== expected.size) return cb(new SizeMismatchError(what, expected.size, h.bytes));
      const seen = h.digest();
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
