import { PassThrough } from 'stream';
import { isHandedOver, markHandedOver } from '../tar/handed-over';
import type { Readable } from 'stream';
import type { Hash } from 'crypto';
import { markVerified, sha256 } from '../digest';
import { BadImageError, LimitExceededError } from '../errors';
import { blobName, checkDescriptor, parseJson } from '../image/blobs';
import { INDEX_TYPES, OCI_LAYOUT_FILE, OCI_LAYOUT_VERSION } from '../image/media-types';
import { checkConfigPlatform } from '../image/open';
import { openOci } from '../image/open-oci';
import { listIndex, MAX_DESCRIPTORS, MAX_NESTING, selectManifest } from '../image/select';
import type { ImageSource } from '../image/source';
import type { Descriptor, ImageLayer, OpenedImage, Platform } from '../image/types';
import { BLOB_HIGH_WATER } from './blob-reader';

/**
 * The two calls of the registry client a pull needs (lib/registry/registry.ts's Registry has
 * them). getBlob's stream verifies the blob as it goes: it ends only when size and digest
 * match (from `offset`, with `hash` holding the bytes before it), and fails otherwise.
 */
export interface RemoteBlobs {
  getManifest(repo: string, ref: string, opts?: { signal?: AbortSignal }): Promise<{ mediaType: string; digest: string; size: number; body: Buffer }>;
  getBlob(repo: string, desc: { digest: string; size: number; mediaType?: string }, opts?: { signal?: AbortSignal; offset?: number; hash?: Hash }): Promise<Readable>;
}

export interface RemoteImageOptions {
  platform?: Platform;
  signal?: AbortSignal;
  /** how the image is named in records and messages: docker://HOST/REPO:TAG */
  where: string;
}

/**
 * The small blobs of a registry image fetched so far (indexes, the manifest, the config, and the
 * layout files made up for them) with the layers' sizes: an ImageSource, so that the image is
 * chosen, parsed and checked by the very code that opens a local layout (lib/image/open-oci.ts).
 */
class FetchedSource implements ImageSource {
  readonly files = new Map<string, Buffer>();
  readonly remote = new Map<string, Descriptor>();

  constructor(
    readonly where: string,
    private readonly client: RemoteBlobs,
    private readonly repo: string,
    private readonly signal: AbortSignal | undefined,
  ) {}

  add(name: string, b: Buffer): void {
    this.files.set(name, b);
  }

  size(name: string): number | undefined {
    return this.files.get(name)?.length ?? this.remote.get(name)?.size;
  }

  read(name: string): Buffer {
    const b = this.files.get(name);
    if (!b) throw new BadImageError(`${this.where}: ${name} was not fetched`);
    return b;
  }

  head(name: string, n: number): Buffer {
    return this.read(name).subarray(0, n);
  }

  /** A layer's bytes, straight from the registry's socket (the client verifies them and resumes a cut transfer). */
  open(name: string, from?: { offset: number; hash: Hash }): Readable {
    const d = this.remote.get(name);
    if (!d) return new PassThrough().end(this.read(name));
    const out = new PassThrough({ highWaterMark: BLOB_HIGH_WATER });
    // the whole blob: the client's stream ends only once it verified (RemoteBlobs.getBlob), and `out` only with it
    if (!from) markVerified(out, d.digest);
    this.client.getBlob(this.repo, d, { signal: this.signal, ...(from ?? {}) }).then(
      (s) => {
        // a PassThrough hands on the very chunks it is given: they are as free to release as the client's
        if (isHandedOver(s)) markHandedOver(out);
        s.on('error', (e) => out.destroy(e));
        out.on('close', () => s.destroy());
        s.pipe(out);
      },
      (e) => out.destroy(e),
    );
    return out;
  }

  locate(): undefined {
    return undefined;
  }

  close(): void {}
}

/** A manifest or index body as a blob of the source, under its digest. */
function addBlob(src: FetchedSource, body: Buffer): string {
  const digest = sha256(body);
  src.add(blobName(digest), body);
  return digest;
}

/** How many bytes of image indexes one pull fetches and keeps in memory, in all: four of the largest a registry may send. */
export const MAX_INDEX_BYTES = 16 << 20;

/** What the indexes fetched so far cost: descriptors listed (as selectManifest counts them) and bytes held. */
interface IndexBudget {
  descriptors: number;
  bytes: number;
}

/**
 * Every index an index reaches, fetched (so the platform can be chosen in memory): each digest
 * once, at most MAX_NESTING deep, and within MAX_DESCRIPTORS and MAX_INDEX_BYTES in all, checked
 * as each index comes (a registry can serve any number of distinct indexes).
 */
async function fetchIndexes(src: FetchedSource, client: RemoteBlobs, repo: string, index: unknown, what: string, depth: number, budget: IndexBudget, signal?: AbortSignal): Promise<void> {
  const list = listIndex(index, what);
  budget.descriptors += list.length;
  if (budget.descriptors > MAX_DESCRIPTORS) throw new LimitExceededError(null, `${src.where}: the image indexes list more than ${MAX_DESCRIPTORS} descriptors in all (the limit on descriptors walked), reached at ${what}`);
  for (const d of list) {
    if (!INDEX_TYPES.includes(d.mediaType) || src.size(blobName(d.digest)) !== undefined) continue;
    if (depth >= MAX_NESTING) throw new LimitExceededError(null, `${src.where}: image indexes nest more than ${MAX_NESTING} deep (the limit on nesting), at ${d.digest}`);
    if (budget.bytes + d.size > MAX_INDEX_BYTES) throw new LimitExceededError(null, `${src.where}: the image indexes are more than ${MAX_INDEX_BYTES} bytes in all (the limit on index bytes fetched), reached at ${d.digest}`);
    const m = await client.getManifest(repo, d.digest, { signal });
    budget.bytes += m.body.length;
    if (budget.bytes > MAX_INDEX_BYTES) throw new LimitExceededError(null, `${src.where}: the image indexes are more than ${MAX_INDEX_BYTES} bytes in all (the limit on index bytes fetched), reached at ${d.digest}`);
    addBlob(src, m.body);
    await fetchIndexes(src, client, repo, parseJson(m.body, `${src.where}: index ${d.digest}`), `${src.where}: index ${d.digest}`, depth + 1, budget, signal);
  }
}

/**
 * Opens an image a registry serves, as openImage opens a local one: the manifest by tag or
 * digest (an index: the platform's image, default this machine's), then the config, both
 * verified against their digests; the layers are streamed from the registry when opened.
 */
export async function openRemoteImage(client: RemoteBlobs, repo: string, reference: string, opts: RemoteImageOptions): Promise<OpenedImage> {
  const src = new FetchedSource(opts.where, client, repo, opts.signal);
  src.add(OCI_LAYOUT_FILE, Buffer.from(JSON.stringify({ imageLayoutVersion: OCI_LAYOUT_VERSION })));
  const top = await client.getManifest(repo, reference, { signal: opts.signal });
  const topDigest = addBlob(src, top.body);
  const topDesc: Descriptor = { mediaType: top.mediaType, digest: topDigest, size: top.body.length };
  let index: unknown;
  if (INDEX_TYPES.includes(top.mediaType)) {
    index = parseJson(top.body, `${opts.where}: index ${topDigest}`);
    await fetchIndexes(src, client, repo, index, `${opts.where}: index ${topDigest}`, 1, { descriptors: 0, bytes: top.body.length }, opts.signal);
  } else index = { schemaVersion: 2, manifests: [topDesc] };
  src.add('index.json', Buffer.from(JSON.stringify(index)));
  const picked = selectManifest(src, index, { platform: opts.platform }).descriptor;
  if (src.size(blobName(picked.digest)) === undefined) addBlob(src, (await client.getManifest(repo, picked.digest, { signal: opts.signal })).body);
  const manifest = parseJson(src.read(blobName(picked.digest)), `${opts.where}: manifest ${picked.digest}`) as { config?: unknown; layers?: unknown } | null;
  if (typeof manifest !== 'object' || manifest === null) throw new BadImageError(`${opts.where}: manifest ${picked.digest} is not a JSON object`);
  const cd = checkDescriptor(manifest.config, `${opts.where}: manifest ${picked.digest} config`);
  if (Array.isArray(manifest.layers)) {
    for (const [i, l] of manifest.layers.entries()) {
      const d = checkDescriptor(l, `${opts.where}: layer ${i}`);
      src.remote.set(blobName(d.digest), d);
    }
  }
  if (cd.size > 4 << 20) throw new LimitExceededError(null, `${opts.where}: the config ${cd.digest} is ${cd.size} bytes, over the limit for metadata`);
  const config = await readAll(await client.getBlob(repo, cd, { signal: opts.signal }));
  src.add(blobName(cd.digest), config);
  src.remote.delete(blobName(cd.digest));
  const img = await checkConfigPlatform(openOci(src, 'docker', { platform: opts.platform }), opts.platform);
  // the client verifies each layer as it streams, and the importer checks digest and size again: no third hash here
  const layers: ImageLayer[] = img.layers.map((l) => ({ ...l, open: () => src.open(blobName(l.descriptor.digest)), openFrom: (offset, hash) => src.open(blobName(l.descriptor.digest), { offset, hash }) }));
  return { ...img, layers, path: opts.where };
}

async function readAll(s: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of s) parts.push(c as Buffer);
  return Buffer.concat(parts);
}
