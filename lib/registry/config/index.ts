import type { Dispatcher } from 'undici';
import type { AuthProvider, ConnectSettings, TlsOptions } from '../types';
import { authProvider } from '../auth';
import { tlsFor, type TlsConfigOptions } from './tls';
import { proxyDispatchers } from './dispatcher';
import type { CredentialOptions } from '../auth/credentials';

export { tlsFor, certDirFor, certsDRoots, connectSettings, systemCAs, type TlsConfigOptions } from './tls';
export { proxyDispatcher, proxyDispatchers } from './dispatcher';
export { mirrorsFor, loadRegistriesConf, findRegistry, type Endpoint, type RefLike, type RegistriesConf } from './mirrors';

/** The command line's registry flags, as the library takes them. */
export interface AccessOptions extends CredentialOptions, TlsConfigOptions {
  /** connections per host (--jobs); default 6 */
  jobs?: number;
  /** HTTP/2 where offered; default false */
  http2?: boolean;
  /** hosts (HOST[:PORT]) that registries.conf calls insecure: no verification, plain HTTP allowed */
  insecureHosts?: Iterable<string>;
}

/**
 * Everything RegistryOptions needs to know about who we are and how we connect, from the
 * flags: `new Registry({ ...registryAccess(flags), jobs })`. One dispatcher per host, shared by
 * the client and the token requests, proxied as HTTP(S)_PROXY and NO_PROXY say.
 */
export function registryAccess(opts: AccessOptions = {}): {
  auth: AuthProvider;
  tls: (host: string) => TlsOptions;
  dispatcher: (host: string, connect: ConnectSettings) => Dispatcher;
} {
  const insecure = new Set(opts.insecureHosts ?? []);
  const dispatcher = proxyDispatchers({ env: opts.env, connections: opts.jobs, allowH2: opts.http2 });
  const tlsOf = (host: string) => tlsFor(host, { ...opts, tlsVerify: insecure.has(host) ? false : opts.tlsVerify });
  return { auth: authProvider({ ...opts, dispatcher, tls: tlsOf }), tls: tlsOf, dispatcher };
}
