import type { Readable } from 'stream';
import { Sha256Counter, sha256 } from '../digest';
import { BadImageError, DigestMismatchError, LimitExceededError, NotFoundError } from '../errors';
import { detectCompression } from '../tar/compression';
import { MAX_METADATA, parseJson, withBlobFile } from './blobs';
import { checkConfig, checkLayerCount } from './config';
import { dockerArchiveManifest } from './docker-manifest';
import { DOCKER_MANIFEST, dockerLayerType } from './media-types';
import { normalizeImageName } from './ref';
import type { ImageSource } from './source';
import type { Descriptor, ImageLayer, OpenedImage } from './types';
import { verifyingStream } from './verify';

/** One image of a `docker save` archive's manifest.json. */
interface DockerEntry {
  Config: string;
  RepoTags?: string[] | null;
  Layers: string[];
}

/** `blobs/sha256/<hex>` (Docker 25+), `<hex>.json` and `<hex>.tar` (skopeo, older Docker) are named by their digest. */
function digestInName(name: string): string | null {
  const m = /^(?:blobs\/sha256\/([a-f0-9]{64})|([a-f0-9]{64})\.(?:json|tar))$/.exec(name.replace(/^\.?\/+/, ''));
  return m ? 'sha256:' + (m[1] ?? m[2]) : null;
}

function checkEntries(json: unknown, where: string): DockerEntry[] {
  const ok = (e: unknown): e is DockerEntry => {
    const o = e as DockerEntry | null;
    return typeof o === 'object' && o !== null && typeof o.Config === 'string' && Array.isArray(o.Layers) && o.Layers.every((l) => typeof l === 'string') && (o.RepoTags == null || (Array.isArray(o.RepoTags) && o.RepoTags.every((t) => typeof t === 'string')));
  };
  if (!Array.isArray(json) || !json.every(ok)) throw new BadImageError(`${where}: manifest.json is not a list of {Config, RepoTags, Layers}`);
  return json;
}

function describe(e: DockerEntry, i: number): string {
  return `@${i} ${e.RepoTags?.length ? e.RepoTags.join(', ') : '(untagged)'}`;
}

/** By repository tag (`name:tag`, Docker's short forms accepted, or a bare tag when that is unambiguous), by `@N`, or the only one. */
function selectEntry(entries: DockerEntry[], tag: string | undefined, where: string): { entry: DockerEntry; tag?: string } {
  const choices = () => entries.map(describe).join('; ');
  if (tag === undefined) {
    if (entries.length === 1) return { entry: entries[0], tag: entries[0].RepoTags?.[0] };
    throw new BadImageError(`${where} holds ${entries.length} images; choose one with PATH:NAME:TAG or PATH:@N: ${choices()}`);
  }
  const at = /^@(\d+)$/.exec(tag);
  if (at) {
    const e = entries[Number(at[1])];
    if (!e) throw new NotFoundError(tag, `${where} has no image ${tag}; it holds: ${choices()}`);
    return { entry: e, tag: e.RepoTags?.[0] };
  }
  const hits: Array<{ entry: DockerEntry; tag: string }> = [];
  for (const e of entries) for (const t of e.RepoTags ?? []) if (t === tag || normalizeImageName(t) === normalizeImageName(tag)) hits.push({ entry: e, tag: t });
  if (!hits.length && !/[:/@]/.test(tag)) for (const e of entries) for (const t of e.RepoTags ?? []) if (/:([^/:]+)$/.exec(t)?.[1] === tag) hits.push({ entry: e, tag: t });
  const distinct = new Set(hits.map((h) => h.entry));
  if (distinct.size === 1) return hits[0];
  if (!hits.length) throw new NotFoundError(tag, `no image tagged ${JSON.stringify(tag)} in ${where}; it holds: ${choices()}`);
  throw new BadImageError(`${JSON.stringify(tag)} names ${distinct.size} images in ${where}: ${hits.map((h) => h.tag).join(', ')}`);
}

async function hashStream(s: Readable): Promise<string> {
  const h = new Sha256Counter();
  for await (const chunk of s) h.update(chunk as Buffer);
  return h.digest();
}

/**
 * A `docker save` archive (manifest.json, a config, layer tars), read in place. Layers named by
 * their digest are checked against it; an uncompressed `<id>/layer.tar` is its own DiffID; a
 * compressed one is hashed once here, as nothing names its digest.
 */
export async function openDocker(src: ImageSource, opts: { tag?: string }): Promise<OpenedImage> {
  const where = src.where;
  const member = (name: string, what: string): number => {
    const size = src.size(name);
    if (size === undefined) throw new NotFoundError(name, `${what} (${name}) is missing from ${where}`);
    return size;
  };
  if (member('manifest.json', 'manifest.json') > MAX_METADATA) throw new LimitExceededError(null, `${where}: manifest.json is over the ${MAX_METADATA}-byte limit for metadata`);
  const entries = checkEntries(parseJson(src.read('manifest.json'), `${where}: manifest.json`), where);
  const { entry, tag } = selectEntry(entries, opts.tag, where);

  const configSize = member(entry.Config, 'config');
  if (configSize > MAX_METADATA) throw new LimitExceededError(null, `${where}: config (${entry.Config}) is ${configSize} bytes, over the ${MAX_METADATA}-byte limit for metadata`);
  const configBytes = src.read(entry.Config);
  const configDigest = sha256(configBytes);
  const named = digestInName(entry.Config);
  if (named && named !== configDigest) throw new DigestMismatchError(`config (${entry.Config})`, named, configDigest);
  const config = checkConfig(parseJson(configBytes, `${where}: config ${entry.Config}`), `config (${configDigest})`);
  checkLayerCount(config, entry.Layers.length, 'manifest.json lists', where);

  const layers: ImageLayer[] = [];
  for (const [i, name] of entry.Layers.entries()) {
    const size = member(name, `layer ${i}`);
    const compression = detectCompression(src.head(name, 4));
    const diffId = config.rootfs.diff_ids[i];
    const digest = digestInName(name) ?? (compression === 'none' ? diffId : await hashStream(src.open(name)));
    const descriptor: Descriptor = { mediaType: dockerLayerType(compression), digest, size };
    const what = digestInName(name) ? `layer ${i} (${digest})` : `layer ${i} (${name}, ${digest})`;
    layers.push(withBlobFile({ descriptor, diffId, compression, open: () => verifyingStream(src.open(name), descriptor, what) }, src.locate(name)));
  }
  const { manifest, digest } = dockerArchiveManifest({ digest: configDigest, size: configSize }, layers.map((l) => l.descriptor));
  // the made-up manifest's own bytes (its digest is sha256 of them): pushed as they are, so the registry's digest is this one
  const raw = { manifest: Buffer.from(JSON.stringify(manifest)), mediaType: DOCKER_MANIFEST, config: configBytes };
  return { format: 'docker-archive', path: where, tag, manifestDigest: digest, manifest, config, configDigest, layers, raw, close: async () => src.close() };
}
