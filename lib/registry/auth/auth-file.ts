import * as fs from 'fs';
import * as path from 'path';
import { InvalidArgumentError } from '../../errors';

/**
 * The auth files of podman (auth.json) and docker (config.json): one JSON format,
 *   { "auths": { KEY: { "auth": base64("user:pass"), "identitytoken": "..." } },
 *     "credHelpers": { HOST: NAME }, "credsStore": NAME }
 * KEY is HOST[:PORT], or HOST/NAMESPACE/... (podman keeps credentials per repository), or in
 * docker's older files a URL (`https://index.docker.io/v1/`, `http://host:5000`). Docker Hub goes
 * by several names; all of them mean `docker.io`. Everything a file holds besides what we
 * change is kept when it is written.
 */

export interface AuthEntry {
  auth?: string;
  identitytoken?: string;
  [k: string]: unknown;
}

export interface AuthFile {
  auths?: Record<string, AuthEntry>;
  credHelpers?: Record<string, string>;
  credsStore?: string;
  [k: string]: unknown;
}

/** the names Docker Hub goes by, in registry references and in auth file keys */
const HUB = new Set(['docker.io', 'index.docker.io', 'registry-1.docker.io', 'registry.hub.docker.com']);
export const HUB_LEGACY_KEY = 'https://index.docker.io/v1/';

/** A registry host as auth files name it: Docker Hub's aliases become docker.io. */
export function authHost(host: string): string {
  const h = host.toLowerCase();
  return HUB.has(h) ? 'docker.io' : host;
}

/**
 * A key as a registry (and namespace) name: a scheme is cut, and with it any path (docker's
 * URL keys name a host only); Hub's aliases become docker.io.
 */
export function normalizeKey(key: string): string {
  let k = key;
  const m = /^https?:\/\//i.exec(k);
  if (m) {
    k = k.slice(m[0].length);
    k = k.split('/')[0];
  }
  const slash = k.indexOf('/');
  const host = slash < 0 ? k : k.slice(0, slash);
  return authHost(host) + (slash < 0 ? '' : k.slice(slash));
}

/** The file's contents, or null when it is not there. Malformed JSON is an error naming the file. */
export function readAuthFile(file: string): AuthFile | null {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT' || (e as NodeJS.ErrnoException).code === 'ENOTDIR') return null;
    throw new InvalidArgumentError(`cannot read the auth file ${file}: ${(e as Error).message}`);
  }
  if (!text.trim()) return {};
  let j: unknown;
  try {
    j = JSON.parse(text);
  } catch (e) {
    throw new InvalidArgumentError(`the auth file ${file} is not JSON: ${(e as Error).message}`);
  }
  if (!j || typeof j !== 'object' || Array.isArray(j)) throw new InvalidArgumentError(`the auth file ${file} is not a JSON object`);
  const f = j as AuthFile;
  if (f.auths !== undefined && (typeof f.auths !== 'object' || f.auths === null)) throw new InvalidArgumentError(`the auth file ${file}: "auths" is not an object`);
  return f;
}

/** The entry for host (and repository, most specific key first), with the key it was found under. */
export function findEntry(file: AuthFile, host: string, repository?: string): { key: string; entry: AuthEntry } | undefined {
  const auths = file.auths ?? {};
  const byName = new Map<string, string>();
  // an exact key wins over a normalized one that means the same
  for (const key of Object.keys(auths)) {
    const n = normalizeKey(key);
    if (!byName.has(n) || key === n) byName.set(n, key);
  }
  for (const name of candidates(host, repository)) {
    const key = byName.get(name);
    if (key !== undefined && auths[key] && typeof auths[key] === 'object') return { key, entry: auths[key] };
  }
  return undefined;
}

/** host/a/b/c, host/a/b, host/a, host: what may hold the credentials for a repository, most specific first. */
function candidates(host: string, repository?: string): string[] {
  const h = authHost(host);
  const out: string[] = [];
  if (repository) {
    const parts = repository.split('/');
    for (let n = parts.length; n > 0; n--) out.push(`${h}/${parts.slice(0, n).join('/')}`);
  }
  out.push(h);
  return out;
}

/** The helper a file names for host: credHelpers (under any of the host's names), else none. */
export function helperFor(file: AuthFile, host: string): string | undefined {
  const helpers = file.credHelpers ?? {};
  const h = authHost(host);
  for (const [key, name] of Object.entries(helpers)) if (typeof name === 'string' && name && normalizeKey(key) === h) return name;
  return undefined;
}

/** user and password from an entry's `auth` (base64 "user:pass"); an error names the file and key. */
export function decodeAuth(entry: AuthEntry, file: string, key: string): { username: string; password: string } | undefined {
  if (typeof entry.auth !== 'string' || entry.auth === '') return undefined;
  const text = Buffer.from(entry.auth, 'base64').toString('utf8');
  const colon = text.indexOf(':');
  if (colon < 0) throw new InvalidArgumentError(`the auth file ${file}: the "auth" of ${JSON.stringify(key)} is not base64 of USER:PASSWORD`);
  return { username: text.slice(0, colon), password: text.slice(colon + 1) };
}

export function encodeAuth(username: string, password: string): string {
  return Buffer.from(`${username}:${password}`).toString('base64');
}

/**
 * Writes the file whole, mode 0600, atomically: a temporary file beside it, fsynced, renamed
 * over it. Its directory is made (0700) if it is missing.
 */
export function writeAuthFile(file: string, contents: AuthFile): void {
  const dir = path.dirname(file);
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const tmp = path.join(dir, `.${path.basename(file)}.${process.pid}.${Date.now()}.tmp`);
  const fd = fs.openSync(tmp, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL, 0o600);
  try {
    fs.writeFileSync(fd, JSON.stringify(contents, null, '\t') + '\n');
    fs.fsyncSync(fd);
  } catch (e) {
    fs.closeSync(fd);
    fs.rmSync(tmp, { force: true });
    throw e;
  }
  fs.closeSync(fd);
  try {
    fs.renameSync(tmp, file);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw e;
  }
}
