import * as fs from 'fs';
import { Readable } from 'stream';
import { DigestMismatchError, NotFoundError, SizeMismatchError } from '../errors';
import { configBytesOf, ociManifest } from '../image/write';
import type { Descriptor, ImageConfig } from '../image/types';
import type { StoreCore } from '../store/store-core';
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
  /** read from the store's blob files, unless `open` gives the bytes (from any offset a resumed upload asks for) */
  layers: Array<{ digest: string; size: number; mediaType: string; open?: (offset: number) => Readable }>;
}

export interface PushOptions {
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

/** The blob file of the store, checked to be there with its size before anything is sent. */
function storeBlob(store: StoreCore, d: { digest: string; size: number }): string {
  const file = store.paths.blob(d.digest);
  const st = fs.statSync(file, { throwIfNoEntry: false });
  if (!st?.isFile()) throw new NotFoundError(d.digest, `the blob ${d.digest} is missing from the store (layerfs fsck says more); nothing was pushed`);
  if (st.size !== d.size) throw new SizeMismatchError(`the store's blob ${d.digest}`, d.size, st.size);
  return file;
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
 * Pushes an image: each layer blob read from the store as it is (no recompression), skipped
 * when the repository has it, mounted when the store knows it came from another repository of
 * the same registry, else uploaded (several at once); then the config; the manifest last, so
 * the tag never names an image whose blobs are not all there. Memory stays flat: blobs stream
 * from their files, from any offset a resumed upload asks for.
 */
export async function pushImage(store: StoreCore | null, client: RemotePush, host: string, repository: string, tag: string | undefined, src: PushSource, opts: PushOptions = {}): Promise<PushResult> {
  const opens = src.layers.map((l) => {
    if (l.open) return l.open;
    if (!store) throw new NotFoundError(l.digest, `the blob ${l.digest} has no source to be read from`);
    const file = storeBlob(store, l);
    return (offset: number) => fs.createReadStream(file, { start: offset, highWaterMark: 1 << 20 });
  });
  const { configBytes, configDesc } = configBytesOf(src.config);
  const descs: Descriptor[] = src.layers.map((l) => ({ mediaType: l.mediaType, digest: l.digest, size: l.size }));
  const { manifestBytes, manifestDesc } = ociManifest(src.config, configDesc, descs);
  const blobs: PushedBlob[] = [];
  const send = async (d: Descriptor, open: (offset: number) => Readable) => {
    const r = await client.pushBlob(repository, d, open, { signal: opts.signal, mountFrom: store ? mountSource(store.paths, d.digest, host, repository) : undefined });
    const b: PushedBlob = { digest: d.digest, size: d.size, how: r.how, bytes: r.bytes };
    blobs.push(b);
    opts.onBlob?.(b);
    if (store) addBlobOrigin(store.paths, d.digest, { registry: host, repository });
  };
  // a layer that repeats in the image goes once
  const unique = descs.map((d, i) => ({ d, open: opens[i] })).filter((x, i, all) => all.findIndex((y) => y.d.digest === x.d.digest) === i);
  await eachLimited(unique, Math.max(1, opts.jobs ?? 4), ({ d, open }) => send(d, open));
  await send(configDesc, (offset) => Readable.from([configBytes.subarray(offset)]));
  const put = await client.putManifest(repository, tag ?? manifestDesc.digest, manifestDesc.mediaType, manifestBytes, { signal: opts.signal });
  if (put.digest !== manifestDesc.digest) throw new DigestMismatchError(`the manifest put to ${host}/${repository}`, manifestDesc.digest, put.digest);
  return { manifestDigest: manifestDesc.digest, configDigest: configDesc.digest, bytes: blobs.reduce((a, b) => a + b.bytes, 0), blobs };
}
