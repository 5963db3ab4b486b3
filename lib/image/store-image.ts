import * as fs from 'fs';
import { chainIds } from '../digest';
import { BadImageError, NotFoundError } from '../errors';
import type { StoreCore } from '../store/store-core';
import { readJsonSync, writeJsonAtomicSync } from '../store/records';
import type { LayerRef, OperationOptions, Compression } from '../store/types';
import { openImage } from './open';
import { writeImage } from './write';
import type { ImageConfig, ImageFormat, OpenedImage, Platform } from './types';

/** images/<name>.json: an imported image's name, its chain and its config. */
export interface ImageRecord {
  name: string;
  chain: string;
  source: string;
  format: ImageFormat;
  manifestDigest: string;
  configDigest: string;
  config: ImageConfig;
  layers: Array<{ diffId: string; chainId: string; digest: string; mediaType: string; size: number }>;
  created: string;
}

export interface ImportImageOptions extends OperationOptions {
  name?: string;
  tag?: string;
  platform?: Platform;
}

/**
 * Imports every layer of an image (verified against its descriptor and the config's
 * diff_ids). Layers already in the store are not read again. A failure leaves no new layer
 * of this image half-made, and no image record.
 */
export async function importImage(store: StoreCore, ref: string, opts: ImportImageOptions = {}): Promise<ImageRecord> {
  const img = await openImage(ref, { tag: opts.tag, platform: opts.platform });
  try {
    return await importOpened(store, img, opts);
  } finally {
    await img.close();
  }
}

async function importOpened(store: StoreCore, img: OpenedImage, opts: ImportImageOptions): Promise<ImageRecord> {
  const ids = chainIds(img.layers.map((l) => l.diffId));
  const total = img.layers.reduce((a, l) => a + l.descriptor.size, 0);
  let done = 0;
  const refs: LayerRef[] = [];
  for (const [i, layer] of img.layers.entries()) {
    const what = `layer ${i} (${layer.descriptor.digest})`;
    if (store.hasLayer(ids[i])) {
      const r = store.getLayerSync(ids[i]);
      refs.push(r);
    } else {
      const d = layer.descriptor;
      refs.push(
        await store.importLayer(layer.open(), {
          parent: i ? ids[i - 1] : null,
          expectDiffId: layer.diffId,
          expectDigest: d.digest,
          expectSize: d.size,
          what,
          signal: opts.signal,
          onProgress: (p) => opts.onProgress?.({ bytes: done + p.bytes, total }),
        }),
      );
    }
    done += layer.descriptor.size;
  }
  const name = opts.name ?? img.tag ?? img.manifestDigest;
  const record: ImageRecord = {
    name,
    chain: ids[ids.length - 1] ?? '',
    source: img.path,
    format: img.format,
    manifestDigest: img.manifestDigest,
    configDigest: img.configDigest,
    config: img.config,
    layers: img.layers.map((l, i) => ({ diffId: l.diffId, chainId: ids[i], digest: refs[i].digest, mediaType: refs[i].mediaType, size: refs[i].size })),
    created: new Date().toISOString(),
  };
  writeJsonAtomicSync(store.paths.image(name), record);
  return record;
}

export function getImageSync(store: StoreCore, name: string): ImageRecord {
  const r = readJsonSync<ImageRecord>(store.paths.image(name));
  if (!r) throw new NotFoundError(name, `no image named ${JSON.stringify(name)} in the store`);
  return r;
}

export function hasImage(store: StoreCore, name: string): boolean {
  return fs.existsSync(store.paths.image(name));
}

export function listImagesSync(store: StoreCore): ImageRecord[] {
  return fs
    .readdirSync(store.paths.imagesDir)
    .filter((f) => f.endsWith('.json'))
    .map((f) => readJsonSync<ImageRecord>(`${store.paths.imagesDir}/${f}`))
    .filter((r): r is ImageRecord => !!r)
    .sort((a, b) => a.name.localeCompare(b.name));
}

export interface ExportImageOptions {
  /** the base image (an imported name or a path): its config and history are kept */
  from?: string;
  to: string;
  format?: ImageFormat;
  tag?: string;
  /** config fields to set (entrypoint, cmd, env, ...), merged over the base's */
  config?: Record<string, unknown>;
  history?: Array<{ created_by?: string; comment?: string }>;
  /** the image's creation time (default: now); fixed for reproducible builds */
  created?: string;
}

/** The base image's config, from the store or opened from a path. */
async function baseConfig(store: StoreCore, from: string): Promise<ImageConfig> {
  if (hasImage(store, from)) return getImageSync(store, from).config;
  const img = await openImage(from);
  await img.close();
  return img.config;
}

/** Writes the chain as an image whose manifest, config (rootfs.diff_ids, history) and layers agree. */
export async function exportChainImage(store: StoreCore, chain: string, opts: ExportImageOptions): Promise<{ manifestDigest: string; configDigest: string }> {
  const layers = store.chainSync(chain);
  const base = opts.from ? await baseConfig(store, opts.from) : null;
  const baseIds = base?.rootfs.diff_ids ?? [];
  const mine = layers.map((l) => l.diffId);
  if (baseIds.some((d, i) => mine[i] !== d)) throw new BadImageError(`the chain ${chain} does not sit on the image ${opts.from}: their layers differ`);
  const now = opts.created ?? new Date().toISOString();
  const history = [...(base?.history ?? [])];
  const added = layers.length - baseIds.length;
  for (let i = 0; i < added; i++) history.push({ created: now, created_by: opts.history?.[i]?.created_by ?? 'layerfs commit', comment: opts.history?.[i]?.comment });
  const config: ImageConfig = {
    ...(base ?? {}),
    architecture: base?.architecture ?? ({ x64: 'amd64', arm64: 'arm64' } as Record<string, string>)[process.arch] ?? process.arch,
    os: base?.os ?? 'linux',
    created: now,
    config: { ...((base?.config as Record<string, unknown>) ?? {}), ...(opts.config ?? {}) },
    rootfs: { type: 'layers', diff_ids: mine },
    history,
  };
  return writeImage(opts.to, {
    format: opts.format ?? 'oci',
    tag: opts.tag,
    config,
    layers: layers.map((l) => ({ descriptor: { mediaType: l.mediaType, digest: l.digest, size: l.size }, open: () => store.exportLayer(l.chainId) })),
  });
}

export type { Compression, OpenedImage };
