import { Readable } from 'stream';
import { DigestMismatchError, NotFoundError } from '../errors';
import { configBytesOf, ociManifest } from '../image/write';
import { blobForLayer } from '../image/layer-blob';
import type { LayerBlob, StoreLayerRef } from '../image/layer-blob';
import { rawPartsFor } from '../image/raw';
import type { Descriptor, ImageConfig, RawImage } from '../image/types';
import type { LayerCore } from '../layers';
import type { Compression } from '../types';
import { addBlobOrigin, mountSource } from '../store/blob-origins';

/** The calls of the registry client a push needs (lib/registry/registry.ts's Registry has them). */
export interface RemotePush {
  pushBlob(
    repo: string,
    desc: { digest: string; size: number; mediaType?: string },
    open: (offset: number) => Readable | Promise<Readable>,
    opts?: { signal?: AbortSignal; mountFrom?: string },
  ): Promise<{ how: 'exists' | 'mounted' | 'uploaded'; bytes: number }>;
  putManifest(repo: string, ref: string, mediaType: string, body: Buffer, opts?: { signal?: AbortSignal }): Promise<{ digest: string }>;
}

/** An image to push: its config and its layers' blobs (in the store), bottom first. */
export interface PushSource {
  config: ImageConfig;
  /**
   * read from the store (lib/image/layer-blob.ts: the blob file, else a pack of the layer's
   * directory), unless `open` gives the bytes (from any offset a resumed upload asks for)
   */
  layers: Array<StoreLayerRef & { open?: (offset: number) => Readable }>;
  /** the manifest and config as the image's source held them: sent as they are when they name these very layer blobs */
  raw?: RawImage;
}

export interface PushOptions {
  /** a deferred layer (committed with no compression asked) is sent compressed so; default gzip */
  compression?: Compression;
  /** blobs sent at once; default 4 */
  jobs?: number;
  signal?: AbortSignal;
  /** each blob's outcome as it is known (for a line per blob) */
  onBlob?: (b: PushedBlob) => void;
}

export interface PushedBlob {
  digest: string;
  size: number;
  /** found there already (HEAD), mounted from another repository of the registry, or sent */
  how: 'exists' | 'mounted' | 'uploaded';
  /** bytes sent for it */
  bytes: number;
}

export interface PushResult {
  manifestDigest: string;
  configDigest: string;
  /** bytes of blobs sent (the manifest not counted) */
  bytes: number;
  blobs: PushedBlob[];
}

/** Runs `fn` on each item, `jobs` at a time; the first failure stops the rest being started and is thrown once all have settled. */
async function eachLimited<T>(items: T[], jobs: number, fn: (t: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failed: { e: unknown } | null = null;
  const worker = async () => {
    while (!failed && next < items.length) {
      const t = items[next++];
      try {
        await fn(t);
      } catch (e) {
        failed ??= { e };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(jobs, items.length) }, worker));
  if (failed) throw (failed as { e: unknown }).e;
}

/**
 * Pushes an image: each layer blob read from the store as it is (no recompression; a layer with
 * no blob is packed from its directory, lib/image/layer-blob.ts), skipped
 * when the repository has it, mounted when the store knows it came from another repository of
 * the same registry, else uploaded (several at once, the largest first, the config among them);
 * the manifest last, so the tag never names an image whose blobs are not all there. An image whose source's manifest
 * and config are at hand (`src.raw`, naming these layer blobs) is sent as those bytes, so its
 * digest does not change on the way; else the manifest is made here. Memory stays flat: blobs stream
 * from their files, from any offset a resumed upload asks for.
 */
export async function pushImage(store: LayerCore | null, client: RemotePush, host: string, repository: string, tag: string | undefined, src: PushSource, opts: PushOptions = {}): Promise<PushResult> {
  // every layer's blob is found (or packed) before anything is sent: the manifest names what is sent
  const layerBlobs: LayerBlob[] = [];
  for (const l of src.layers) {
    if (l.open) layerBlobs.push({ descriptor: { mediaType: l.mediaType, digest: l.digest, size: l.size }, open: l.open });
    else if (!store) throw new NotFoundError(l.digest, `the blob ${l.digest} has no source to be read from`);
    else layerBlobs.push(await blobForLayer(store, l, { compression: opts.compression, signal: opts.signal }));
  }
  const opens = layerBlobs.map((b) => b.open);
  // the image as its source had it, byte for byte (same digests), unless its layers are not those blobs (then a manifest of ours)
  const raw = rawPartsFor(src.raw, layerBlobs.map((b) => b.descriptor));
  let configBytes: Buffer, configDesc: Descriptor, descs: Descriptor[], manifestBytes: Buffer, manifestDesc: Descriptor;
  if (raw) ({ configBytes, configDesc, layers: descs, manifestBytes, manifestDesc } = raw);
  else {
    ({ configBytes, configDesc } = configBytesOf(src.config));
    descs = layerBlobs.map((b) => b.descriptor);
    ({ manifestBytes, manifestDesc } = ociManifest(src.config, configDesc, descs));
  }
  const blobs: PushedBlob[] = [];
  const send = async (d: Descriptor, open: (offset: number) => Readable) => {
    const r = await client.pushBlob(repository, d, open, { signal: opts.signal, mountFrom: store ? mountSource(store.paths, d.digest, host, repository) : undefined });
    const b: PushedBlob = { digest: d.digest, size: d.size, how: r.how, bytes: r.bytes };
    blobs.push(b);
    opts.onBlob?.(b);
    if (store) addBlobOrigin(store.paths, d.digest, { registry: host, repository });
  };
  // a layer that repeats in the image goes once; the config goes beside the layers (only the manifest waits for all);
  // the largest first, so that a large blob late in the list does not start when the rest are done
  const unique = descs.map((d, i) => ({ d, open: opens[i] })).filter((x, i, all) => all.findIndex((y) => y.d.digest === x.d.digest) === i);
  if (!unique.some((x) => x.d.digest === configDesc.digest)) unique.push({ d: configDesc, open: (offset) => Readable.from([configBytes.subarray(offset)]) });
  unique.sort((a, b) => b.d.size - a.d.size);
  await eachLimited(unique, Math.max(1, opts.jobs ?? 4), ({ d, open }) => send(d, open));
  const put = await client.putManifest(repository, tag ?? manifestDesc.digest, manifestDesc.mediaType, manifestBytes, { signal: opts.signal });
  if (put.digest !== manifestDesc.digest) throw new DigestMismatchError(`the manifest put to ${host}/${repository}`, manifestDesc.digest, put.digest);
  return { manifestDigest: manifestDesc.digest, configDigest: configDesc.digest, bytes: blobs.reduce((a, b) => a + b.bytes, 0), blobs };
}
