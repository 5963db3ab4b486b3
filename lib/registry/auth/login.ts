import * as os from 'os';
import * as path from 'path';
import type { Dispatcher } from 'undici';
import { InvalidArgumentError, NotFoundError, RegistryError } from '../../errors';
import type { ConnectSettings } from '../types';
import { connectSettings, tlsFor, type TlsConfigOptions } from '../config/tls';
import { proxyDispatchers } from '../config/dispatcher';
import { authHost, encodeAuth, findEntry, HUB_LEGACY_KEY, normalizeKey, readAuthFile, writeAuthFile, type AuthFile } from './auth-file';
import { helperErase, helperStore } from './cred-helper';
import { dockerConfigFile, helperServer } from './credentials';
import type { Credentials } from './credentials-types';
import { header, registrySaid, smallRequest, urlText } from './http';
import { RegistryAuth } from './provider';

/**
 * `login` and `logout`, as podman does them: the credentials are checked against the registry
 * first (GET /v2/ through the challenge flow), then kept in the auth file: `--authfile`, else
 * $REGISTRY_AUTH_FILE, else $XDG_RUNTIME_DIR/containers/auth.json (~/.config/containers/ when
 * there is no runtime directory). A file that names a credential helper for the host
 * (`credHelpers`, or docker's `credsStore`) has the helper keep them instead. Docker Hub is
 * `docker.io` in auth.json and `https://index.docker.io/v1/` in a docker config.json, so docker
 * reads what we write there.
 */

export interface LoginOptions extends TlsConfigOptions {
  authfile?: string;
  env?: NodeJS.ProcessEnv;
  dispatcher?: (host: string, connect: ConnectSettings) => Dispatcher;
  signal?: AbortSignal;
}

/** What `login HOST` names: the registry to ask, and the key it is kept under (HOST[:PORT][/NAMESPACE]). */
export function loginTarget(arg: string): { registry: string; key: string } {
  let s = arg.trim().replace(/^(https?:\/\/|docker:\/\/)/i, '').replace(/\/+$/, '');
  if (/^index\.docker\.io\/v1$/i.test(s)) s = 'docker.io';
  if (!s || /[\s@]/.test(s) || s.startsWith('/')) throw new InvalidArgumentError(`not a registry: ${JSON.stringify(arg)} (give HOST[:PORT][/NAMESPACE])`);
  const slash = s.indexOf('/');
  const host = slash < 0 ? s : s.slice(0, slash);
  const ns = slash < 0 ? '' : s.slice(slash);
  try {
    if (new URL(`http://${host}`).host === '') throw new Error('empty');
  } catch {
    throw new InvalidArgumentError(`not a registry: ${JSON.stringify(arg)}`);
  }
  const keyHost = authHost(host);
  return { registry: keyHost === 'docker.io' ? 'registry-1.docker.io' : host, key: keyHost + ns };
}

/** The file login writes and logout edits. */
export function loginFile(opts: Pick<LoginOptions, 'authfile' | 'env'> = {}): string {
  const env = opts.env ?? process.env;
  if (opts.authfile) return opts.authfile;
  if (env.REGISTRY_AUTH_FILE) return env.REGISTRY_AUTH_FILE;
  if (env.XDG_RUNTIME_DIR) return path.join(env.XDG_RUNTIME_DIR, 'containers', 'auth.json');
  return path.join(env.XDG_CONFIG_HOME || path.join(env.HOME || os.homedir(), '.config'), 'containers', 'auth.json');
}

/**
 * GET /v2/ with these credentials through the challenge flow: resolves when the registry lets
 * them in, throws LAYERFS_REGISTRY_UNAUTHORIZED (with the registry's own code) when it does not.
 * With --tls-verify=false a registry that does not speak TLS is asked in plain HTTP.
 */
export async function verifyCredentials(registry: string, creds: Credentials, opts: LoginOptions = {}): Promise<{ scheme: string; auth: 'anonymous' | 'basic' | 'bearer' }> {
  const dispatchers = opts.dispatcher ?? proxyDispatchers({ env: opts.env });
  const dispatcherFor = (url: URL) => dispatchers(url.host, connectSettings(tlsFor(url.host, opts)));
  const auth = new RegistryAuth({ credentials: async () => creds, dispatcherFor });
  let base = new URL(`https://${registry}/v2/`);
  for (let tries = 0; ; tries++) {
    const h = await auth.header(registry, [], opts.signal);
    let res;
    try {
      res = await smallRequest(base, { headers: h ? { authorization: h } : {}, signal: opts.signal }, dispatcherFor);
    } catch (e) {
      const plainAllowed = opts.tlsVerify === false && base.protocol === 'https:' && e instanceof RegistryError && (e.kind === 'TLS' || e.kind === 'UNREACHABLE');
      if (!plainAllowed) throw e;
      base = new URL(`http://${registry}/v2/`);
      continue;
    }
    if (res.status === 200) return { scheme: base.protocol.slice(0, -1), auth: auth.hostAuth(registry) };
    const said = registrySaid(res.body);
    if (res.status === 401 && tries < 4 && (await auth.challenged(registry, [], header(res.headers, 'www-authenticate'), opts.signal))) continue;
    const kind = res.status === 401 ? 'UNAUTHORIZED' : res.status === 403 ? 'DENIED' : res.status >= 500 ? 'UNAVAILABLE' : 'PROTOCOL';
    throw new RegistryError(
      kind,
      `${registry} refused the credentials of ${creds.username ?? 'an identity token'}: ${res.status}${said.code ? ` ${said.code}` : ''}${said.message ? `: ${said.message}` : ''}`,
      urlText(base),
      res.status,
      said.code,
      said.message,
    );
  }
}

export interface LoginResult {
  registry: string;
  key: string;
  file: string;
  /** the credential helper that keeps them, if one does */
  helper?: string;
}

export async function login(target: string, creds: { username: string; password: string }, opts: LoginOptions = {}): Promise<LoginResult> {
  const { registry, key } = loginTarget(target);
  if (!creds.username) throw new InvalidArgumentError('login: the username is empty');
  await verifyCredentials(registry, { ...creds, source: 'login' }, opts);
  const file = loginFile(opts);
  const f: AuthFile = readAuthFile(file) ?? {};
  const helper = helperForKey(f, key);
  const fileKey = storedKey(file, key);
  if (helper) {
    await helperStore(helper, helperServer(fileKey), creds.username, creds.password, opts.env ?? process.env);
    return { registry, key, file, helper };
  }
  const auths = { ...(f.auths ?? {}) };
  // one entry per registry: an older spelling of the same key goes
  for (const k of Object.keys(auths)) if (k !== fileKey && sameKey(k, key)) delete auths[k];
  auths[fileKey] = { auth: encodeAuth(creds.username, creds.password) };
  writeAuthFile(file, { ...f, auths });
  return { registry, key, file };
}

export async function logout(target: string, opts: Pick<LoginOptions, 'authfile' | 'env'> = {}): Promise<LoginResult> {
  const { registry, key } = loginTarget(target);
  const file = loginFile(opts);
  const env = opts.env ?? process.env;
  const f: AuthFile = readAuthFile(file) ?? {};
  const helper = helperForKey(f, key);
  const auths = { ...(f.auths ?? {}) };
  const gone = Object.keys(auths).filter((k) => sameKey(k, key));
  let erased = false;
  if (helper) erased = await helperErase(helper, helperServer(storedKey(file, key)), env);
  if (!gone.length && !erased) {
    const docker = dockerConfigFile(env);
    const slash = key.indexOf('/');
    const inDocker = docker !== file && (() => {
      const d = readAuthFile(docker);
      return !!d && !!findEntry(d, slash < 0 ? key : key.slice(0, slash), slash < 0 ? undefined : key.slice(slash + 1));
    })();
    throw new NotFoundError(key, `not logged in to ${key} (in ${file})${inDocker ? `; the credentials in ${docker} are docker's: remove them with docker logout` : ''}`);
  }
  if (gone.length) {
    for (const k of gone) delete auths[k];
    writeAuthFile(file, { ...f, auths });
  }
  return { registry, key, file, ...(helper ? { helper } : {}) };
}

/**
 * Every entry of `auths` goes (podman logout --all); what credential helpers keep stays with
 * them. A file that is not there has nothing to remove.
 */
export async function logoutAll(opts: Pick<LoginOptions, 'authfile' | 'env'> = {}): Promise<{ file: string; removed: string[] }> {
  const file = loginFile(opts);
  const f = readAuthFile(file);
  const removed = Object.keys(f?.auths ?? {});
  if (f && removed.length) writeAuthFile(file, { ...f, auths: {} });
  return { file, removed };
}

/** Docker Hub is keyed by its v1 URL in a docker config.json (docker reads no other), docker.io elsewhere. */
function storedKey(file: string, key: string): string {
  return key === 'docker.io' && path.basename(file) === 'config.json' ? HUB_LEGACY_KEY : key;
}

function sameKey(k: string, key: string): boolean {
  return normalizeKey(k) === key;
}

function helperForKey(f: AuthFile, key: string): string | undefined {
  const host = key.split('/')[0];
  for (const [k, name] of Object.entries(f.credHelpers ?? {})) if (typeof name === 'string' && name && normalizeKey(k) === host) return name;
  return typeof f.credsStore === 'string' && f.credsStore ? f.credsStore : undefined;
}

