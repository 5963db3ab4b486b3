import { BadImageError, LimitExceededError, NotFoundError } from '../errors';
import { hostPlatform, normalizePlatform, platformRank, platformString } from '../oci/platform';
import type { NormalPlatform } from '../oci/platform';
import { checkAnnotations, checkDescriptor, parseJson, readBlob } from './blobs';
import { CONTAINERD_NAME, INDEX_TYPES, REF_NAME } from './media-types';
import { normalizeImageName } from './ref';
import type { ImageSource } from './source';
import type { Descriptor, Platform } from './types';

/** How deep image indexes may nest below index.json (a multi-platform image needs one). */
export const MAX_NESTING = 4;
/** How many descriptors one walk of index.json and the indexes it reaches may read in all, repeats included. */
export const MAX_DESCRIPTORS = 100_000;

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
  checkAnnotations((index as { annotations?: unknown }).annotations, what);
  return manifests.map((d, i) => checkDescriptor(d, `${what} manifests[${i}]`));
}

/**
 * The manifests an index reaches, nested indexes opened depth first (their children keep the
 * parent's tag). Blobs are content-addressed, so each digest is visited once: an index that
 * lists another many times over, level after level, costs what its distinct blobs cost. The
 * descriptors read and the depth are bounded all the same.
 */
class IndexWalk {
  private walked = 0;
  private readonly visited = new Set<string>();
  readonly manifests: Candidate[] = [];

  constructor(private readonly src: ImageSource) {}

  /** Every descriptor of an index, counted against the limit before any is looked at. */
  list(index: unknown, what: string): Descriptor[] {
    const n = (index as { manifests?: unknown } | null)?.manifests;
    this.walked += Array.isArray(n) ? n.length : 0;
    if (this.walked > MAX_DESCRIPTORS) throw new LimitExceededError(null, `${this.src.where}: the image indexes list more than ${MAX_DESCRIPTORS} descriptors in all (the limit on descriptors walked), reached at ${what}`);
    return listIndex(index, what);
  }

  add(cands: Candidate[], depth: number): void {
    for (const c of cands) {
      const d = c.descriptor;
      if (this.visited.has(d.digest)) continue;
      this.visited.add(d.digest);
      const what = `image index ${c.tag ? JSON.stringify(c.tag) + ' ' : ''}(${d.digest})`;
      // no media type (allowed by old tools): the content says
      const body = d.mediaType ? null : (parseJson(readBlob(this.src, d, what), what) as Record<string, unknown> | null);
      if (d.mediaType ? !INDEX_TYPES.includes(d.mediaType) : !Array.isArray(body?.manifests)) {
        this.manifests.push(c);
        continue;
      }
      if (depth >= MAX_NESTING) throw new LimitExceededError(null, `${this.src.where}: image indexes nest more than ${MAX_NESTING} deep (the limit on nesting), at ${what}`);
      const inner = this.list(body ?? parseJson(readBlob(this.src, d, what), what), what);
      this.add(inner.map((x) => ({ descriptor: x, tag: c.tag, name: c.name })), depth + 1);
    }
  }
}

function tagMatches(c: Candidate, tag: string): boolean {
  if (c.tag === tag || c.name === tag) return true;
  return c.name !== undefined && normalizeImageName(c.name) === normalizeImageName(tag);
}

/**
 * The manifest to open from an index (index.json): those with the tag (when given), nested
 * image indexes opened, then the one for the platform (the given one, else this machine's):
 * the exact platform first, else the nearest older variant the platform runs (containerd's
 * rules, lib/oci/platform.ts). A manifest whose descriptor names no platform is taken only
 * when it is the only one. Anything else is an error that lists what the index holds.
 */
export function selectManifest(src: ImageSource, index: unknown, opts: { tag?: string; platform?: Platform }): Selected {
  const where = src.where;
  const walk = new IndexWalk(src);
  let cands: Candidate[] = walk.list(index, `${where} index.json`).map((d) => ({ descriptor: d, tag: d.annotations?.[REF_NAME], name: d.annotations?.[CONTAINERD_NAME] }));
  const all = cands;
  if (opts.tag !== undefined) {
    cands = cands.filter((c) => tagMatches(c, opts.tag!));
    if (!cands.length) {
      const tags = [...new Set(all.map((c) => c.tag).filter((t): t is string => !!t))];
      throw new NotFoundError(opts.tag, `no image tagged ${JSON.stringify(opts.tag)} in ${where}; its tags: ${tags.join(', ') || '(none)'}`);
    }
  }
  walk.add(cands, 0);
  cands = walk.manifests;
  if (!cands.length) throw new BadImageError(`${where} holds no image${opts.tag !== undefined ? ` under the tag ${JSON.stringify(opts.tag)}` : ''}`);

  const host = hostPlatform();
  const want: NormalPlatform = opts.platform ? normalizePlatform(opts.platform, host) : host;
  const noMatch = () =>
    new NotFoundError(platformString(want), `no image for the platform ${platformString(want)}${opts.platform ? '' : ' (this machine; choose another with a platform)'} in ${where}; it holds: ${cands.map(describe).join('; ')}`);
  if (cands.length === 1) {
    const only = cands[0];
    if (only.descriptor.platform && platformRank(only.descriptor.platform, want) < 0) throw noMatch();
    return only;
  }
  const ranked = cands.map((c) => ({ c, rank: c.descriptor.platform ? platformRank(c.descriptor.platform, want) : -1 })).filter((r) => r.rank >= 0);
  if (ranked.length) {
    const best = Math.min(...ranked.map((r) => r.rank));
    const top = ranked.filter((r) => r.rank === best).map((r) => r.c);
    if (top.length === 1) return top[0];
    throw new BadImageError(`${where} holds ${top.length} images for the platform ${platformString(want)}; choose one with a tag: ${top.map(describe).join('; ')}`);
  }
  if (!cands.some((c) => c.descriptor.platform)) throw new BadImageError(`${where} holds ${cands.length} images; choose one with PATH:TAG: ${cands.map(describe).join('; ')}`);
  throw noMatch();
}
