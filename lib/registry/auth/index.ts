import type { Dispatcher } from 'undici';
import type { ConnectSettings, TlsOptions } from '../types';
import { connectSettings, tlsFor, type TlsConfigOptions } from '../config/tls';
import { proxyDispatchers } from '../config/dispatcher';
import { findCredentials, type CredentialOptions } from './credentials';
import { RegistryAuth } from './provider';

export { RegistryAuth, checkRealm } from './provider';
export { parseChallenges, type Challenge } from './challenge';
export { findCredentials, parseCreds, authFiles, type CredentialOptions } from './credentials';
export type { Credentials } from './credentials-types';

export interface AuthProviderFactoryOptions extends CredentialOptions, TlsConfigOptions {
  /** how token requests reach a realm; default: the proxy-aware dispatchers of lib/registry/config */
  dispatcher?: (host: string, connect: ConnectSettings) => Dispatcher;
  /** the TLS settings of a host; default tlsFor(host, opts) */
  tls?: (host: string) => TlsOptions;
}

/**
 * The AuthProvider for the registry client, from the command line's flags: --creds,
 * --authfile, and the files and helpers after them (lib/registry/auth/credentials.ts); token
 * requests go through the same TLS settings (--cert-dir, certs.d, --tls-verify) and proxies.
 */
export function authProvider(opts: AuthProviderFactoryOptions = {}): RegistryAuth {
  const dispatchers = opts.dispatcher ?? proxyDispatchers({ env: opts.env });
  const tls = opts.tls ?? ((host: string) => tlsFor(host, opts));
  return new RegistryAuth({
    credentials: (host, repository) => findCredentials(host, repository, opts),
    dispatcherFor: (url) => dispatchers(url.host, connectSettings(tls(url.host))),
  });
}
