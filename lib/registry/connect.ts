import { Registry } from './registry';
import { parseReference, formatReference, referenceTarget } from './reference';
import type { Reference } from './reference';
import type { Progress } from './types';

/** How to reach registries, spelled as skopeo spells it (the CLI's common flags). */
export interface ConnectOptions {
  /** USER[:PASS] */
  creds?: string;
  authfile?: string;
  /** *.crt CAs, *.cert with *.key client certificates */
  certDir?: string;
  /** false: the certificate is not verified, and plain HTTP is allowed */
  tlsVerify?: boolean;
  /** connections (and blobs at once) per host */
  jobs?: number;
  signal?: AbortSignal;
  onProgress?: (p: Progress) => void;
}

/** A client for one registry host with these options. */
export function connect(host: string, opts: ConnectOptions = {}): Registry {
  return new Registry(host, {
    tls: () => ({ verify: opts.tlsVerify !== false }),
    jobs: opts.jobs,
    signal: opts.signal,
    onProgress: opts.onProgress,
  });
}

/** A `[docker://]HOST[:PORT]/REPO[:TAG|@digest]` reference, parsed, with the name it is shown under. */
export function remoteRef(input: string): { ref: Reference; target: string; where: string } {
  const ref = parseReference(input);
  return { ref, target: referenceTarget(ref), where: `docker://${formatReference(ref)}` };
}
