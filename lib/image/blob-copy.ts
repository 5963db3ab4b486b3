import type { Readable } from 'stream';
import { verifyingStream, isVerifiedAs } from './verify';

/** A blob to write: small ones are bytes, layers a stream opened when it is copied. */
export interface OutBlob {
  digest: string;
  size: number;
  /** how errors name it, e.g. `layer 2 (sha256:…)` */
  what: string;
  bytes?: Buffer;
  open?: () => Readable;
}

/** The blob's bytes, verified against its digest and size as they pass (once: a stream already verified so is not hashed again). */
export function openVerified(b: OutBlob): Readable {
  const s = b.open!();
  return isVerifiedAs(s, b) ? s : verifyingStream(s, b, b.what);
}

/** Each digest once, first occurrence first (a layer may repeat within an image). */
export function uniqueBlobs(blobs: OutBlob[]): OutBlob[] {
  const seen = new Set<string>();
  return blobs.filter((b) => !seen.has(b.digest) && seen.add(b.digest));
}
