import { BadImageError, NotFoundError } from '../errors';
import { checkDescriptor, parseJson, readBlob } from './blobs';
import { CONTAINERD_NAME, INDEX_TYPES, REF_NAME } from './media-types';
import { hostPlatform, platformMatches, platformString } from './platform';
import { normalizeImageName } from './ref';
import type { ImageSource } from './source';
import type { Descriptor, Platform } from './types';

/** How deep image indexes may nest inside one another. */
const MAX_NESTING = 4;

export interface Selected {
  descriptor: Descriptor;
  /** the ref.name it was found under */
  tag?: string;
}

interface Candidate extends Selected {
  /** the full name containerd and Docker 25+ record beside the tag */
  name?: string;
}

function describe(c: Candidate): string {
  return `${c.tag ?? c.name ?? '(untagged)'} [${platformString(c.descriptor.platform)}] ${c.descriptor.digest}`;
}

export function listIndex(index: unknown, what: string): Descriptor[] {
  const manifests = (index as { manifests?: unknown } | null)?.manifests;
  if (!Array.isArray(manifests)) throw new BadImageError(`${what} has no manifests list`);
  return manifests.map((d, i) => checkDescriptor(d, `${what} manifests[${i}]`));
}

function isIndex(src: ImageSource, d: Descriptor, what: string): boolean {
  if (d.mediaType) return INDEX_TYPES.includes(d.mediaType);
  // no media type (allowed by old tools): the content says
  const body = parseJson(readBlob(src, d, what), what) as Record<string, unknown>;
  return Array.isArray(body.manifests);
}

/** Nested indexes replaced by what they hold, depth first; the children keep their parent's tag. */
function expand(src: ImageSource, cands: Candidate[], depth: number): Candidate[] {
  const out: Candidate[] = [];
  for (const c of cands) {
    const what = `image index ${c.tag ? JSON.stringify(c.tag) : ''}`.trim();
    if (!isIndex(src, c.descriptor, what)) {
      out.push(c);
      continue;
    }
    if (depth >= MAX_NESTING) throw new BadImageError(`${src.where}: image indexes nest more than ${MAX_NESTING} deep`);
    const inner = listIndex(parseJson(readBlob(src, c.descriptor, what), what), `${what} (${c.descriptor.digest})`);
    out.push(...expand(src, inner.map((d) => ({ descriptor: d, tag: c.tag, name: c.name })), depth + 1));
  }
  return out;
}

function tagMatches(c: Candidate, tag: string): boolean {
  if (c.tag === tag || c.name === tag) return true;
  return c.name !== undefined && normalizeImageName(c.name) === normalizeImageName(tag);
}

/**
 * The manifest to open from an index (index.json): those with the tag (when given), nested
 * image indexes opened, then the only one left, or the one for the platform (the given one,
 * else this machine's). Anything else is an error that lists the choices.
 */
export function selectManifest(src: ImageSource, index: unknown, opts: { tag?: string; platform?: Platform }): Selected {
  const where = src.where;
  let cands: Candidate[] = listIndex(index, `${where} index.json`).map((d) => ({ descriptor: d, tag: d.annotations?.[REF_NAME], name: d.annotations?.[CONTAINERD_NAME] }));
  const all = cands;
  if (opts.tag !== undefined) {
    cands = cands.filter((c) => tagMatches(c, opts.tag!));
    if (!cands.length) {
      const tags = [...new Set(all.map((c) => c.tag).filter((t): t is string => !!t))];
      throw new NotFoundError(opts.tag, `no image tagged ${JSON.stringify(opts.tag)} in ${where}; its tags: ${tags.join(', ') || '(none)'}`);
    }
  }
  cands = expand(src, cands, 0);
  // one manifest under several tags is one image
  const seen = new Set<string>();
  cands = cands.filter((c) => !seen.has(c.descriptor.digest) && seen.add(c.descriptor.digest));
  if (!cands.length) throw new BadImageError(`${where} holds no image${opts.tag !== undefined ? ` under the tag ${JSON.stringify(opts.tag)}` : ''}`);

  const want = opts.platform ?? hostPlatform();
  if (cands.length === 1) {
    const only = cands[0];
    if (opts.platform && only.descriptor.platform && !platformMatches(only.descriptor.platform, want)) {
      throw new NotFoundError(platformString(want), `no image for the platform ${platformString(want)} in ${where}; there is: ${describe(only)}`);
    }
    return only;
  }
  const matched = cands.filter((c) => c.descriptor.platform && platformMatches(c.descriptor.platform, want));
  if (matched.length === 1) return matched[0];
  const list = (matched.length ? matched : cands).map(describe).join('; ');
  if (matched.length > 1) throw new BadImageError(`${where} holds ${matched.length} images for the platform ${platformString(want)}; choose one with a tag or a variant: ${list}`);
  if (opts.platform) throw new NotFoundError(platformString(want), `no image for the platform ${platformString(want)} in ${where}; there are: ${list}`);
  if (!cands.some((c) => c.descriptor.platform)) throw new BadImageError(`${where} holds ${cands.length} images; choose one with PATH:TAG: ${list}`);
  throw new BadImageError(`${where} holds ${cands.length} images and none for this machine (${platformString(want)}); choose one with PATH:TAG or a platform: ${list}`);
}
