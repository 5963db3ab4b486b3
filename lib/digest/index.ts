import type { Hash } from 'crypto';
import * as fs from 'fs';
import { InvalidArgumentError } from '../errors';
import { lazy } from '../lazy';

const cryptoModule = lazy<typeof import('crypto')>(() => require('crypto'));

// crypto loads on first hash: a command that only parses digests (mount, create) never pays for it
const createHash = (algorithm: string): Hash => cryptoModule().createHash(algorithm);

export const SHA256_PREFIX = 'sha256:';
const DIGEST_RE = /^sha256:[a-f0-9]{64}$/;

export function isDigest(s: string): boolean {
  return DIGEST_RE.test(s);
}

/** Parses `sha256:<hex>` (or a bare 64-hex string) and returns the canonical `sha256:<hex>`. */
export function parseDigest(s: string, what = 'digest'): string {
  const d = /^[a-f0-9]{64}$/.test(s) ? SHA256_PREFIX + s : s;
  if (!DIGEST_RE.test(d)) throw new InvalidArgumentError(`${what} ${JSON.stringify(s)} is not a sha256 digest (sha256:<64 hex>)`);
  return d;
}

export function hexOf(digest: string): string {
  return parseDigest(digest).slice(SHA256_PREFIX.length);
}

export function sha256(data: Buffer | string): string {
  return SHA256_PREFIX + createHash('sha256').update(data).digest('hex');
}

/** OCI ChainID: ChainID(L0) = DiffID(L0); ChainID(Ln) = sha256(ChainID(Ln-1) + " " + DiffID(Ln)). */
export function chainId(parent: string | null | undefined, diffId: string): string {
  return parent ? sha256(`${parent} ${diffId}`) : diffId;
}

export function chainIds(diffIds: string[]): string[] {
  const out: string[] = [];
  for (const d of diffIds) out.push(chainId(out.length ? out[out.length - 1] : null, d));
  return out;
}

/** An incremental sha256 that also counts bytes. */
export class Sha256Counter {
  private readonly h: Hash = createHash('sha256');
  bytes = 0;
  update(b: Uint8Array): void {
    this.h.update(b);
    this.bytes += b.length;
  }
  digest(): string {
    return SHA256_PREFIX + this.h.digest('hex');
  }
}

const FILE_CHUNK = 1 << 20;
let fileBuf: Buffer | undefined;

/** The sha256 of what is left to read from the open file `fd` (read on this thread, 1 MiB at a time). */
export function sha256OfFdSync(fd: number): string {
  const buf = (fileBuf ??= Buffer.allocUnsafe(FILE_CHUNK));
  const h = new Sha256Counter();
  for (let n; (n = fs.readSync(fd, buf, 0, buf.length, null)) > 0; ) h.update(buf.subarray(0, n));
  return h.digest();
}

/** The sha256 of a file, streamed (4 MiB reads). */
export async function sha256OfFile(file: string): Promise<string> {
  const h = new Sha256Counter();
  for await (const c of fs.createReadStream(file, { highWaterMark: 4 << 20 })) h.update(c as Buffer);
  return h.digest();
}

const VERIFIED_DIGEST = Symbol('layerfs.verifiedDigest');

/**
 * Marks a stream that checks its own bytes: it ends only once they hashed to `digest`, and
 * otherwise fails (with the mismatch, the size over, or the read error). A consumer may take
 * `digest` as the bytes' digest without hashing them again (lib/tar/apply-in-worker.ts).
 */
export function markVerified<T extends object>(stream: T, digest: string): T {
  (stream as { [VERIFIED_DIGEST]?: string })[VERIFIED_DIGEST] = digest;
  return stream;
}

/** The digest a stream marked by markVerified checks its bytes against, else undefined. */
export function verifiedDigestOf(x: unknown): string | undefined {
  if (typeof x !== 'object' || x === null) return undefined;
  const d = (x as { [VERIFIED_DIGEST]?: unknown })[VERIFIED_DIGEST];
  return typeof d === 'string' ? d : undefined;
}
