import { Registry } from './registry';
import { parseReference, formatReference, referenceTarget } from './reference';
import type { Reference } from './reference';
import type { Progress } from './types';
import { mirrorsFor, registryAccess } from './config';

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
  /** registries.conf is read from here (and the usual places) for mirrors; default process.env */
  env?: NodeJS.ProcessEnv;
  warn?: (message: string) => void;
}

/** A client for one registry host: credentials, TLS and proxies as lib/registry/config reads them from the flags. */
export function connect(host: string, opts: ConnectOptions = {}, insecureHosts: string[] = []): Registry {
  // the dispatchers registryAccess makes are the connection pools: `jobs` sizes them (the client's own agent, which they replace, is never made)
  const access = registryAccess({ creds: opts.creds, authfile: opts.authfile, certDir: opts.certDir, tlsVerify: opts.tlsVerify, env: opts.env, warn: opts.warn, insecureHosts, jobs: opts.jobs });
  return new Registry(host, { ...access, jobs: opts.jobs, signal: opts.signal, onProgress: opts.onProgress });
}

/** A `[docker://]HOST[:PORT]/REPO[:TAG|@digest]` reference, parsed, with the name it is shown under. */
export function remoteRef(input: string): { ref: Reference; target: string; where: string } {
  const ref = parseReference(input);
  return { ref, target: referenceTarget(ref), where: `docker://${formatReference(ref)}` };
}

/**
 * Where to pull `ref` from, in order: its mirrors in registries.conf, then the registry itself
 * (each with its repository, which a mirror's location may rewrite), each with a client.
 */
export function pullEndpoints(ref: Reference, opts: ConnectOptions = {}): Array<{ client: Registry; host: string; repository: string; reference: string; mirror: boolean }> {
  const eps = mirrorsFor(ref, { env: opts.env });
  const insecure = eps.filter((e) => e.insecure).map((e) => e.host);
  return eps.map((e) => ({ client: connect(e.host, opts, insecure), host: e.host, repository: e.repository, reference: e.digest ?? e.tag ?? 'latest', mirror: e.mirror }));
}
