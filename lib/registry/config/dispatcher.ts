import * as tls from 'tls';
import type { Dispatcher } from 'undici';
import { newEnvHttpProxyAgent } from '../undici';
import type { ConnectSettings } from '../types';
import { systemCAs } from './tls';

/**
 * How a host is reached: directly, or through `HTTPS_PROXY` / `HTTP_PROXY` (lower case first,
 * as curl reads them) unless `NO_PROXY` names it (host names, `.domain` suffixes, `:port`,
 * `*`). undici's EnvHttpProxyAgent decides per request; the TLS settings apply to the registry
 * both directly and inside a proxy's CONNECT tunnel. Unlike Go, loopback is proxied too unless
 * NO_PROXY says otherwise (undici's rule, and curl's).
 *
 * The CAs trusted are the system's (Node's roots and the distribution's bundle, so a CA
 * installed with update-ca-certificates counts, as for skopeo) plus the extra ones given, in one
 * TLS context per host made once, not parsed again for every connection.
 */
export interface ProxyOptions {
  env?: NodeJS.ProcessEnv;
  /** connections per origin; default 6, as the registry client's own agent */
  connections?: number;
  /** HTTP/2 where the server offers it; default false */
  allowH2?: boolean;
  /** ms without a byte before a request fails; default 60 s */
  idleTimeoutMs?: number;
}

export function proxyDispatcher(connect: ConnectSettings, opts: ProxyOptions = {}): Dispatcher {
  const env = opts.env ?? process.env;
  const httpProxy = env.http_proxy ?? env.HTTP_PROXY;
  const httpsProxy = env.https_proxy ?? env.HTTPS_PROXY;
  const noProxy = env.no_proxy ?? env.NO_PROXY;
  // the client passes Node's roots plus the extra CAs; the system bundle is added here. Unverified
  // (--tls-verify=false) no CA is consulted, and parsing the system's 145 costs 40 ms a host
  const verify = connect.rejectUnauthorized !== false;
  const extra = verify ? (connect.ca ?? []).filter((c) => !ROOTS.has(typeof c === 'string' ? c : c.toString('utf8'))) : [];
  const secureContext = tls.createSecureContext({ ...(verify ? { ca: [...systemCAs(), ...extra] } : {}), cert: connect.cert, key: connect.key });
  const settings = { rejectUnauthorized: connect.rejectUnauthorized, secureContext };
  const idle = opts.idleTimeoutMs ?? 60_000;
  return newEnvHttpProxyAgent({
    // '' (not undefined) keeps undici from reading process.env when `env` is another one
    httpProxy: httpProxy ?? '',
    httpsProxy: httpsProxy ?? '',
    noProxy: noProxy ?? '',
    connect: settings,
    requestTls: settings,
    connections: opts.connections ?? 6,
    pipelining: 1,
    allowH2: opts.allowH2 ?? false,
    headersTimeout: idle,
    bodyTimeout: idle,
  });
}

const ROOTS = new Set(tls.rootCertificates);

/** `(host, connect) => Dispatcher` for RegistryOptions.dispatcher: one per host, kept. */
export function proxyDispatchers(opts: ProxyOptions = {}): (host: string, connect: ConnectSettings) => Dispatcher {
  const made = new Map<string, Dispatcher>();
  return (host, connect) => {
    let d = made.get(host);
    if (!d) made.set(host, (d = proxyDispatcher(connect, opts)));
    return d;
  };
}
