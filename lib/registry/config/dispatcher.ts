import { EnvHttpProxyAgent, type Dispatcher } from 'undici';
import type { ConnectSettings } from '../types';

/**
 * How a host is reached: directly, or through `HTTPS_PROXY` / `HTTP_PROXY` (lower case first,
 * as curl reads them) unless `NO_PROXY` names it (host names, `.domain` suffixes, `:port`,
 * `*`). undici's EnvHttpProxyAgent decides per request; the TLS settings apply to the registry
 * both directly and inside a proxy's CONNECT tunnel. Unlike Go, loopback is proxied too unless
 * NO_PROXY says otherwise (undici's rule, and curl's).
 */
export interface ProxyOptions {
  env?: NodeJS.ProcessEnv;
  /** connections per origin */
  connections?: number;
}

export function proxyDispatcher(connect: ConnectSettings, opts: ProxyOptions = {}): Dispatcher {
  const env = opts.env ?? process.env;
  const httpProxy = env.http_proxy ?? env.HTTP_PROXY;
  const httpsProxy = env.https_proxy ?? env.HTTPS_PROXY;
  const noProxy = env.no_proxy ?? env.NO_PROXY;
  return new EnvHttpProxyAgent({
    // an explicit '' keeps undici from reading process.env when `env` is another one
    httpProxy: httpProxy ?? '',
    httpsProxy: httpsProxy ?? '',
    noProxy: noProxy ?? '',
    connect,
    requestTls: connect,
    ...(opts.connections ? { connections: opts.connections } : {}),
  });
}

/** `(host, connect) => Dispatcher` for RegistryOptions.dispatcher: one per host, kept. */
export function proxyDispatchers(opts: ProxyOptions = {}): (host: string, connect: ConnectSettings) => Dispatcher {
  const made = new Map<string, Dispatcher>();
  return (host, connect) => {
    let d = made.get(host);
    if (!d) made.set(host, (d = proxyDispatcher(connect, opts)));
    return d;
  };
}
