import type { LayerCore } from '../layers';
import { importOpenedImage } from '../image/store-image';
import { recordMadeFrom } from '../image/image-records';
import type { ImageRecord } from '../image/image-records';
import { DEFAULT_JOBS } from '../image/import-layers';
import type { ImportLayersOptions } from '../image/import-layers';
import type { OpenedImage, Platform } from '../image/types';
import { addBlobOrigin } from '../store/blob-origins';
import { openRemoteImage } from './remote-image';
import type { RemoteBlobs } from './remote-image';

export interface PullOptions extends ImportLayersOptions {
  /** the image's name in the store; default: the reference as given (without docker://) */
  name?: string;
  /** which image of a multi-platform index; default: this machine's */
  platform?: Platform;
  /**
   * replace another image of that name. Default: only a record this reference made (a tag
   * pulled again names what the tag names now); a name held by any other image is LAYERFS_EXISTS
   * before any layer is read.
   */
  replace?: boolean;
  /** the layers' blob digests, bottom first, once the manifest is read (a progress display names its rows by them) */
  onManifest?: (layerDigests: string[]) => void;
}

/** Where an image can be read: the registry itself, or a mirror of it (same repository contents). */
export interface PullEndpoint {
  client: RemoteBlobs;
  /** HOST[:PORT] the API is spoken to */
  host: string;
  repository: string;
  /** the tag or digest to ask this endpoint for */
  reference: string;
}

export interface PulledImage extends ImageRecord {
  /** the endpoint the image came from (a mirror, or the registry) */
  from: string;
}

/**
 * Opens the image at the first endpoint that serves it (mirrors first, the registry last): a
 * mirror's answer is verified like any other, by digest. When none does, the error is the last
 * one's (the registry's own).
 */
async function openFirst(endpoints: PullEndpoint[], where: string, opts: PullOptions): Promise<{ img: OpenedImage; at: PullEndpoint }> {
  let last: unknown;
  for (const at of endpoints) {
    try {
      return { img: await openRemoteImage(at.client, at.repository, at.reference, { platform: opts.platform, signal: opts.signal, where }), at };
    } catch (e) {
      if (opts.signal?.aborted) throw e;
      last = e;
    }
  }
  throw last;
}

/**
 * Pulls an image into the store: the manifest (an index: the platform's image), the config,
 * then every layer the store lacks, each streamed from the socket straight into staging in one
 * pass (hashed as received, decompressed, hashed again for the DiffID, applied safely) and
 * published only when digest, size and DiffID all verify, bottom first. This is `image import`
 * with the registry as the source (lib/image/store-image.ts). The caller holds the store lock.
 */
export async function pullImage(store: LayerCore, endpoints: PullEndpoint[], where: string, opts: PullOptions & { name: string }): Promise<PulledImage> {
  const { img, at } = await openFirst(endpoints, where, opts);
  try {
    opts.onManifest?.(img.layers.map((l) => l.descriptor.digest));
    // layers applied two at a time, as image import does: each one in flight holds a worker, its inflate state and its batches (peak RSS 257-282 MiB with four, 220-223 with two, on the bench image)
    const rec = await importOpenedImage(store, img, { ...opts, replace: opts.replace ?? recordMadeFrom(store, opts.name, where), jobs: opts.jobs ?? DEFAULT_JOBS, source: where });
    // where each blob can be found again: a push to another repository of that registry mounts it
    for (const d of [rec.configDigest, ...rec.layers.map((l) => l.digest)]) addBlobOrigin(store.paths, d, { registry: at.host, repository: at.repository });
    return { ...rec, from: `${at.host}/${at.repository}` };
  } finally {
    await img.close();
  }
}
