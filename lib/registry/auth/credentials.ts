import * as os from 'os';
import * as path from 'path';
import { InvalidArgumentError } from '../../errors';
import { authHost, decodeAuth, findEntry, helperFor, HUB_LEGACY_KEY, readAuthFile, type AuthFile } from './auth-file';
import { helperGet, HelperMissingError } from './cred-helper';
import type { Credentials } from './credentials-types';

/**
 * Where credentials come from, first found wins (containers/image's order, docker's files):
 *   1. --creds USER:PASS;
 *   2. --authfile FILE, or $REGISTRY_AUTH_FILE;
 *   3. $XDG_RUNTIME_DIR/containers/auth.json (podman login's file);
 *   4. $XDG_CONFIG_HOME/containers/auth.json (~/.config: podman's where there is no runtime dir);
 *   5. $DOCKER_CONFIG/config.json, else ~/.docker/config.json.
 * In each file: a helper named for the host in `credHelpers`, then `auths` (the most specific
 * key for the repository first), then the `credsStore` helper. A helper that is not installed
 * is warned about and passed over (then anonymous access if nothing else answers), as docker
 * does not crash on a stale config either.
 */

export interface CredentialOptions {
  /** --creds USER:PASS */
  creds?: string;
  /** --authfile */
  authfile?: string;
  env?: NodeJS.ProcessEnv;
  warn?: (message: string) => void;
}

/** --creds as a username and a password. */
export function parseCreds(creds: string): Credentials {
  const colon = creds.indexOf(':');
  if (colon <= 0) {
    throw new InvalidArgumentError(colon === 0 ? '--creds: the username is empty' : '--creds: give USER:PASSWORD (the password after a colon)');
  }
  return { username: creds.slice(0, colon), password: creds.slice(colon + 1), source: '--creds' };
}

/** The auth files read, in order (each may be missing). */
export function authFiles(opts: Pick<CredentialOptions, 'authfile' | 'env'> = {}): string[] {
  const env = opts.env ?? process.env;
  const home = env.HOME || os.homedir();
  const out: string[] = [];
  const given = opts.authfile || env.REGISTRY_AUTH_FILE;
  if (given) out.push(given);
  if (env.XDG_RUNTIME_DIR) out.push(path.join(env.XDG_RUNTIME_DIR, 'containers', 'auth.json'));
  out.push(path.join(env.XDG_CONFIG_HOME || path.join(home, '.config'), 'containers', 'auth.json'));
  out.push(dockerConfigFile(env));
  return [...new Set(out)];
}

export function dockerConfigFile(env: NodeJS.ProcessEnv = process.env): string {
  return env.DOCKER_CONFIG ? path.join(env.DOCKER_CONFIG, 'config.json') : path.join(env.HOME || os.homedir(), '.docker', 'config.json');
}

/** What a helper is asked for: the host, and for Docker Hub the URL docker keys it by. */
export function helperServer(host: string): string {
  return authHost(host) === 'docker.io' ? HUB_LEGACY_KEY : host;
}

/** The credentials for host (HOST[:PORT]) and repository, or undefined for anonymous access. */
export async function findCredentials(host: string, repository: string | undefined, opts: CredentialOptions = {}): Promise<Credentials | undefined> {
  if (opts.creds !== undefined) return parseCreds(opts.creds);
  const env = opts.env ?? process.env;
  const warn = opts.warn ?? ((m: string) => process.stderr.write(`layerfs: warning: ${m}\n`));
  for (const file of authFiles({ authfile: opts.authfile, env })) {
    const f = readAuthFile(file);
    if (!f) continue;
    const found = await fromFile(f, file, host, repository, env, warn);
    if (found) return found;
  }
  return undefined;
}

async function fromFile(f: AuthFile, file: string, host: string, repository: string | undefined, env: NodeJS.ProcessEnv, warn: (m: string) => void): Promise<Credentials | undefined> {
  const viaHelper = async (helper: string): Promise<Credentials | undefined> => {
    try {
      return await helperGet(helper, helperServer(host), env);
    } catch (e) {
      if (!(e instanceof HelperMissingError)) throw e;
      warn(`${file} names the credential helper docker-credential-${helper} for ${host}, which is not installed: going on without it`);
      return undefined;
    }
  };
  const named = helperFor(f, host);
  if (named) {
    const c = await viaHelper(named);
    if (c) return c;
  }
  const hit = findEntry(f, host, repository);
  if (hit) {
    const up = decodeAuth(hit.entry, file, hit.key);
    const token = typeof hit.entry.identitytoken === 'string' && hit.entry.identitytoken ? hit.entry.identitytoken : undefined;
    if (token) return { identityToken: token, username: up?.username, source: file };
    if (up) return { ...up, source: file };
  }
  if (typeof f.credsStore === 'string' && f.credsStore) return viaHelper(f.credsStore);
  return undefined;
}
