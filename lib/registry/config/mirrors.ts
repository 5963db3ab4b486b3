import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { InvalidArgumentError, RegistryError } from '../../errors';

/**
 * Mirrors, from containers' registries.conf (version 2, what podman, skopeo and buildah read):
 *
 *   [[registry]]
 *   prefix = "docker.io/library"      # what references it applies to (default: location)
 *   location = "registry.example:5000/hub"   # where they are really pulled from
 *   insecure = false                  # no TLS verification, plain HTTP allowed
 *   blocked = false                   # pulls refused
 *   mirror-by-digest-only = false     # mirrors only for references by digest
 *   [[registry.mirror]]
 *   location = "mirror.example/hub"
 *   insecure = true
 *   pull-from-mirror = "all"          # or "digest-only", "tag-only"
 *
 * The file: $CONTAINERS_REGISTRIES_CONF, else ~/.config/containers/registries.conf if it
 * exists, else /etc/containers/registries.conf; then the drop-ins `*.conf` of
 * /etc/containers/registries.conf.d and ~/.config/containers/registries.conf.d in name order
 * ($LAYERFS_REGISTRIES_CONF_D, a path list, replaces those directories; empty: none), where a
 * [[registry]] replaces an earlier one of the same prefix. A prefix matches a reference that
 * starts with it and goes on with `/`, `:`, `@` or ends; the longest wins; `*.example.com`
 * matches the hosts under example.com. The matched prefix is replaced by each endpoint's
 * location.
 */

/** The part of a parsed reference this needs (lib/registry/reference.ts's Reference fits). */
export interface RefLike {
  /** the registry as named: docker.io for Docker Hub */
  domain: string;
  repository: string;
  tag?: string;
  digest?: string;
}

export interface Endpoint extends RefLike {
  /** where the API is spoken to: HOST[:PORT] (registry-1.docker.io for docker.io) */
  host: string;
  /** TLS not verified, plain HTTP allowed (registries.conf's insecure) */
  insecure: boolean;
  /** a mirror, not the registry the reference names (or its location) */
  mirror: boolean;
}

interface MirrorEntry {
  location: string;
  insecure: boolean;
  pullFromMirror: 'all' | 'digest-only' | 'tag-only';
}

export interface RegistryEntry {
  prefix: string;
  location: string;
  insecure: boolean;
  blocked: boolean;
  mirrorByDigestOnly: boolean;
  mirrors: MirrorEntry[];
}

export interface RegistriesConf {
  registries: RegistryEntry[];
  /** the files read, in order */
  files: string[];
}

export interface MirrorOptions {
  env?: NodeJS.ProcessEnv;
}

const HUB_HOST = 'registry-1.docker.io';

/** The main file and the drop-in directories, as containers/image chooses them. */
export function registriesConfPaths(env: NodeJS.ProcessEnv = process.env): { file: string; dropIns: string[] } {
  const home = env.HOME || os.homedir();
  const userDir = path.join(env.XDG_CONFIG_HOME || path.join(home, '.config'), 'containers');
  const user = path.join(userDir, 'registries.conf');
  const file = env.CONTAINERS_REGISTRIES_CONF || (fs.existsSync(user) ? user : '/etc/containers/registries.conf');
  const dropIns = env.LAYERFS_REGISTRIES_CONF_D !== undefined ? env.LAYERFS_REGISTRIES_CONF_D.split(path.delimiter).filter(Boolean) : ['/etc/containers/registries.conf.d', path.join(userDir, 'registries.conf.d')];
  return { file, dropIns };
}

export function loadRegistriesConf(opts: MirrorOptions = {}): RegistriesConf {
  const { file, dropIns } = registriesConfPaths(opts.env);
  const files = [file];
  for (const d of dropIns) {
    let names: string[] = [];
    try {
      names = fs.readdirSync(d).filter((n) => n.endsWith('.conf')).sort();
    } catch {
      // no such directory
    }
    for (const n of names) files.push(path.join(d, n));
  }
  const byPrefix = new Map<string, RegistryEntry>();
  const read: string[] = [];
  for (const f of files) {
    let text: string;
    try {
      text = fs.readFileSync(f, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw new InvalidArgumentError(`cannot read ${f}: ${(e as Error).message}`);
    }
    read.push(f);
    for (const r of parseRegistriesConf(text, f)) byPrefix.set(r.prefix, r);
  }
  return { registries: [...byPrefix.values()], files: read };
}

/** The [[registry]] tables of one file; a malformed one is an error naming the file and the entry. */
export function parseRegistriesConf(text: string, file: string): RegistryEntry[] {
  // smol-toml is an ES module with a CommonJS build: required when a file is read, not with the library
  const { parse } = require('smol-toml') as { parse: (text: string) => Record<string, unknown> };
  let doc: Record<string, unknown>;
  try {
    doc = parse(text);
  } catch (e) {
    throw new InvalidArgumentError(`${file} is not valid TOML: ${(e as Error).message}`);
  }
  const list = doc.registry;
  if (list === undefined) return [];
  if (!Array.isArray(list)) throw new InvalidArgumentError(`${file}: "registry" must be an array of tables ([[registry]])`);
  return list.map((raw, i) => {
    const where = `${file}: [[registry]] #${i + 1}`;
    const r = raw as Record<string, unknown>;
    const location = stripScheme(str(r.location, `${where} location`) ?? '');
    const prefix = stripScheme(str(r.prefix, `${where} prefix`) ?? location);
    if (!prefix) throw new InvalidArgumentError(`${where} has neither prefix nor location`);
    if (prefix.startsWith('*.') ? !/^\*\.[^/*:@]+$/.test(prefix) : /[*]/.test(prefix)) throw new InvalidArgumentError(`${where}: the wildcard prefix ${JSON.stringify(prefix)} must be *.DOMAIN and nothing more`);
    if (prefix.startsWith('*.') && location) throw new InvalidArgumentError(`${where}: a wildcard prefix takes no location`);
    const mirrorsRaw = r.mirror ?? [];
    if (!Array.isArray(mirrorsRaw)) throw new InvalidArgumentError(`${where}: "mirror" must be an array of tables ([[registry.mirror]])`);
    const mirrors = mirrorsRaw.map((m, j) => {
      const mw = `${where} mirror #${j + 1}`;
      const mm = m as Record<string, unknown>;
      const loc = stripScheme(str(mm.location, `${mw} location`) ?? '');
      if (!loc) throw new InvalidArgumentError(`${mw} has no location`);
      const pull = str(mm['pull-from-mirror'], `${mw} pull-from-mirror`) ?? 'all';
      if (pull !== 'all' && pull !== 'digest-only' && pull !== 'tag-only') throw new InvalidArgumentError(`${mw}: pull-from-mirror is "all", "digest-only" or "tag-only", not ${JSON.stringify(pull)}`);
      return { location: loc, insecure: bool(mm.insecure, `${mw} insecure`), pullFromMirror: pull as MirrorEntry['pullFromMirror'] };
    });
    return { prefix, location, insecure: bool(r.insecure, `${where} insecure`), blocked: bool(r.blocked, `${where} blocked`), mirrorByDigestOnly: bool(r['mirror-by-digest-only'], `${where} mirror-by-digest-only`), mirrors };
  });
}

/** The [[registry]] entry for a reference: the longest prefix that matches, or undefined. */
export function findRegistry(conf: RegistriesConf, ref: RefLike): { entry: RegistryEntry; matched: string } | undefined {
  const name = `${ref.domain}/${ref.repository}`;
  let best: { entry: RegistryEntry; matched: string } | undefined;
  for (const entry of conf.registries) {
    let matched: string | undefined;
    if (entry.prefix.startsWith('*.')) {
      if (ref.domain.split(':')[0].endsWith(entry.prefix.slice(1))) matched = ref.domain;
    } else if (name.startsWith(entry.prefix) && (name.length === entry.prefix.length || '/:@'.includes(name[entry.prefix.length]))) matched = entry.prefix;
    if (matched === undefined) continue;
    // exact prefixes beat wildcards; then the longest
    const score = (e: RegistryEntry, m: string) => (e.prefix.startsWith('*.') ? 0 : 1e6) + m.length;
    if (!best || score(entry, matched) > score(best.entry, best.matched)) best = { entry, matched };
  }
  return best;
}

/**
 * The endpoints to pull `ref` from, in order: the mirrors that apply (by the reference's kind:
 * digest or tag), then the registry itself (its `location` when registries.conf rewrites it).
 * A blocked registry is LAYERFS_REGISTRY_BLOCKED. What a mirror serves must be verified as
 * anything else is: a digest pulled from a mirror is checked against the reference's.
 */
export function mirrorsFor(ref: RefLike, opts: MirrorOptions & { conf?: RegistriesConf } = {}): Endpoint[] {
  const conf = opts.conf ?? loadRegistriesConf(opts);
  const hit = findRegistry(conf, ref);
  const self = (insecure: boolean): Endpoint => ({ ...pick(ref), host: apiHost(ref.domain), insecure, mirror: false });
  if (!hit) return [self(false)];
  const { entry, matched } = hit;
  if (entry.blocked) throw new RegistryError('BLOCKED', `pulling ${ref.domain}/${ref.repository} is blocked by registries.conf (prefix ${entry.prefix}, in ${conf.files.join(', ')})`);
  const byDigest = ref.digest !== undefined;
  const out: Endpoint[] = [];
  for (const m of entry.mirrors) {
    if (entry.mirrorByDigestOnly && !byDigest) continue;
    if (m.pullFromMirror === 'digest-only' && !byDigest) continue;
    if (m.pullFromMirror === 'tag-only' && byDigest) continue;
    out.push({ ...rewrite(ref, matched, m.location), insecure: m.insecure, mirror: true });
  }
  out.push(entry.location ? { ...rewrite(ref, matched, entry.location), insecure: entry.insecure, mirror: false } : self(entry.insecure));
  return out;
}

/** `matched` (a prefix of domain/repository) replaced by `location`. */
function rewrite(ref: RefLike, matched: string, location: string): Omit<Endpoint, 'insecure' | 'mirror'> {
  const name = `${ref.domain}/${ref.repository}`;
  const rest = name.slice(matched.length);
  const full = location.replace(/\/+$/, '') + rest;
  const slash = full.indexOf('/');
  if (slash < 0) throw new InvalidArgumentError(`registries.conf rewrites ${name} to ${full}, which names no repository`);
  const domain = full.slice(0, slash);
  return { domain, repository: full.slice(slash + 1), tag: ref.tag, digest: ref.digest, host: apiHost(domain) };
}

function pick(ref: RefLike): RefLike {
  return { domain: ref.domain, repository: ref.repository, ...(ref.tag !== undefined ? { tag: ref.tag } : {}), ...(ref.digest !== undefined ? { digest: ref.digest } : {}) };
}

function apiHost(domain: string): string {
  return domain === 'docker.io' ? HUB_HOST : domain;
}

function stripScheme(s: string): string {
  return s.replace(/^(https?|docker):\/\//, '').replace(/\/+$/, '');
}

function str(v: unknown, what: string): string | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw new InvalidArgumentError(`${what} must be a string`);
  return v;
}

function bool(v: unknown, what: string): boolean {
  if (v === undefined) return false;
  if (typeof v !== 'boolean') throw new InvalidArgumentError(`${what} must be true or false`);
  return v;
}
