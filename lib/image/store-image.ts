import * as fs from 'fs';
import { createHash } from 'crypto';
import { PassThrough } from 'stream';
import { pipeline } from 'stream/promises';
import { claimPartialDownload } from '../store/downloads';
import { chainIds, markVerified } from '../digest';
import type { Readable } from 'stream';
import { BadImageError, InvalidArgumentError, NotFoundError, RegistryError } from '../errors';
import { hostPlatform } from '../oci/platform';
import type { LayerCore } from '../layers';
import { importLayers } from './import-layers';
import type { ImportLayersOptions, LayerSource } from './import-layers';
import type { FileRange } from '../tar/apply-in-worker';
import { blobFileOf } from './blobs';
import { keepRawImage } from './raw';
import { blobForLayer } from './layer-blob';
import type { LayerBlob } from './layer-blob';
import { checkImageName, checkNameFree, getImageSync, hasImage, saveImageRecord } from './image-records';
import type { ImageRecord, SaveRecordOptions } from './image-records';
import type { LayerRecord } from '../store/types';
import type { Compression } from '../types';
import { looksLikeImage, openImage } from './open';
import { checkImageTarget, writeImage } from './write';
import type { ImageConfig, ImageFormat, ImageLayer, OpenedImage, Platform } from './types';

export interface ImportImageOptions extends ImportLayersOptions, SaveRecordOptions {
  /** the record's name; default: the manifest digest, which no other image can have (see image-records.ts) */
  name?: string;
  tag?: string;
  platform?: Platform;
}

/** An image's layers, imported, with what a record of it would hold. */
export type ImportedImage = Omit<ImageRecord, 'name' | 'created'>;

/**
 * Imports every layer of an image (verified against its descriptor and the config's
 * diff_ids) and records it under its name. Layers already in the store are not read again. A
 * failure leaves no new layer of this image half-made, and no image record; a name that holds
 * another image fails with LAYERFS_EXISTS before any layer is read, unless `replace`.
 */
export async function importImage(store: LayerCore, ref: string, opts: ImportImageOptions = {}): Promise<ImageRecord> {
  if (opts.name !== undefined) checkImageName(opts.name);
  const img = await openImage(ref, { tag: opts.tag, platform: opts.platform });
  try {
    return await importOpenedImage(store, img, opts);
  } finally {
    await img.close();
  }
}

/**
 * Imports the layers of an image and records nothing: for commands that read an image path on
 * the way (diff, create, layers). The layers stay in the store, reached by no image, until
 * `gc --layers`.
 */
export async function importImageLayers(store: LayerCore, ref: string, opts: Omit<ImportImageOptions, 'name' | 'replace'> = {}): Promise<ImportedImage> {
  const img = await openImage(ref, { tag: opts.tag, platform: opts.platform });
  try {
    return await importOpened(store, img, opts);
  } finally {
    await img.close();
  }
}

/**
 * Imports an opened image (a local one, or one a registry serves) and records it under its
 * name: the one orchestration of `image import` and `pull`. A name that holds another image
 * fails with LAYERFS_EXISTS before any layer is read, unless `replace`.
 */
export async function importOpenedImage(store: LayerCore, img: OpenedImage, opts: ImportImageOptions & { source?: string } = {}): Promise<ImageRecord> {
  const name = opts.name ?? img.manifestDigest;
  checkImageName(name);
  const chain = chainIds(img.layers.map((l) => l.diffId)).pop() ?? '';
  checkNameFree(store, name, { manifestDigest: img.manifestDigest, chain }, opts);
  const imported = await importOpened(store, img, opts);
  return saveImageRecord(store, { name, ...imported, ...(opts.source !== undefined ? { source: opts.source } : {}), created: new Date().toISOString() }, opts);
}

async function importOpened(store: LayerCore, img: OpenedImage, opts: ImportLayersOptions): Promise<ImportedImage> {
  const ids = chainIds(img.layers.map((l) => l.diffId));
  const sources: LayerSource[] = img.layers.map((l) => ({ descriptor: l.descriptor, diffId: l.diffId, input: () => layerInput(store, l) }));
  const refs = await importLayers(store, sources, ids, opts);
  // the manifest and config as they came: a push sends them again byte for byte
  if (img.raw) keepRawImage(store, img.raw, img.manifestDigest, img.configDigest);
  return {
    chain: ids[ids.length - 1] ?? '',
    source: img.path,
    ...(img.tag !== undefined ? { tag: img.tag } : {}),
    format: img.format,
    manifestDigest: img.manifestDigest,
    configDigest: img.configDigest,
    config: img.config,
    layers: img.layers.map((l, i) => ({ diffId: l.diffId, chainId: ids[i], digest: refs[i].digest, mediaType: refs[i].mediaType, size: refs[i].size })),
  };
}

/**
 * Where a layer's bytes are read from: the store's own copy of the blob when it has one (the
 * same layer on another parent), else a file the image lies in (read and hashed once, in the
 * worker), else the image's stream.
 */
function layerInput(store: LayerCore, layer: ImageLayer): FileRange | Readable | string {
  const own = store.paths.blob(layer.descriptor.digest);
  const st = fs.statSync(own, { throwIfNoEntry: false });
  if (st?.isFile() && st.size === layer.descriptor.size) return own;
  const at = blobFileOf(layer);
  if (at) return { path: at.path, start: at.offset, length: at.size };
  const kept = layer.openFrom ? claimPartialDownload(store.paths, layer.descriptor.digest, layer.descriptor.size) : null;
  return kept ? resumed(kept, layer) : layer.open();
}

/**
 * A download a killed pull left, then the rest from the registry (Range): the kept bytes are
 * hashed first, so the client's check at the end covers the whole blob. A registry that answers
 * the Range with the whole blob (200, LAYERFS_REGISTRY_RANGE_IGNORED before any byte of it) is
 * read again from byte 0 instead, the kept bytes dropped. The kept file goes once the stream is
 * done with, whatever the outcome.
 */
function resumed(kept: { file: string; bytes: number }, layer: ImageLayer): Readable {
  // the kept bytes then the rest: it ends only once the client's check of the whole blob passed (or the whole blob's, read again)
  const out = markVerified(new PassThrough({ highWaterMark: 1 << 20 }), layer.descriptor.digest);
  const done = () => fs.rmSync(kept.file, { force: true });
  out.on('close', done);
  (async () => {
    const hash = createHash('sha256');
    for await (const c of fs.createReadStream(kept.file, { highWaterMark: 1 << 20 })) hash.update(c as Buffer);
    const rest = layer.openFrom!(kept.bytes, hash);
    const it = rest[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
    let first: IteratorResult<Buffer>;
    try {
      // the answer is known before the kept bytes go on: the rest, or the whole blob again
      first = await it.next();
    } catch (e) {
      if (!(e instanceof RegistryError && e.kind === 'RANGE_IGNORED')) throw e;
      rest.destroy();
      done();
      return pipeline(layer.open(), out);
    }
    await pipeline(fs.createReadStream(kept.file, { highWaterMark: 1 << 20 }), out, { end: false });
    async function* tail(): AsyncGenerator<Buffer> {
      try {
        for (let r = first; !r.done; r = await it.next()) yield r.value;
      } finally {
        rest.destroy();
      }
    }
    await pipeline(tail(), out);
  })().catch((e) => out.destroy(e));
  return out;
}

/** What an image made from a chain takes, wherever it is written (a layout, an archive, a registry). */
export interface ChainImageOptions {
  /** the base image (an imported name or a path): its config and history are kept */
  from?: string;
  /** config fields to set (entrypoint, cmd, env, ...), merged over the base's */
  config?: Record<string, unknown>;
  history?: Array<{ created_by?: string; comment?: string }>;
  /** the image's creation time, RFC 3339 (default: $SOURCE_DATE_EPOCH, else now); fixed for reproducible builds */
  created?: string;
}

export interface ExportImageOptions extends ChainImageOptions {
  to: string;
  format?: ImageFormat;
  tag?: string;
}

/** The base image's config, from the store or opened from a path. */
async function baseConfig(store: LayerCore, from: string): Promise<ImageConfig> {
  if (hasImage(store, from)) return getImageSync(store, from).config;
  if (!looksLikeImage(from)) throw new NotFoundError(from, `the base image ${JSON.stringify(from)} is neither an imported image nor an image path`);
  const img = await openImage(from);
  await img.close();
  return img.config;
}

const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[Zz]|[+-]\d{2}:\d{2})$/;

/**
 * The time an exported image says it was made: `created` (RFC 3339) as given, else
 * $SOURCE_DATE_EPOCH (reproducible-builds.org), else now.
 */
export function exportTime(created: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  if (created !== undefined) {
    if (!RFC3339.test(created) || Number.isNaN(Date.parse(created))) throw new InvalidArgumentError(`created time ${JSON.stringify(created)} is not an RFC 3339 date-time (e.g. 2024-01-02T03:04:05Z)`);
    return created;
  }
  const epoch = env.SOURCE_DATE_EPOCH;
  if (epoch !== undefined && epoch !== '') {
    if (!/^\d+$/.test(epoch) || !Number.isSafeInteger(Number(epoch) * 1000)) throw new InvalidArgumentError(`SOURCE_DATE_EPOCH ${JSON.stringify(epoch)} is not a number of seconds`);
    return new Date(Number(epoch) * 1000).toISOString();
  }
  return new Date().toISOString();
}

/** What an export needs, checked and read before anything is committed or written. */
export interface PreparedExport {
  base: ImageConfig | null;
  created: string;
}

/**
 * Checks every argument of an export (the format, the tag, the destination, the time, the base
 * image) and reads the base: a caller that commits a container first calls this before the
 * commit, so a bad argument changes nothing.
 */
export async function prepareExport(store: LayerCore, opts: ExportImageOptions): Promise<PreparedExport> {
  checkImageTarget(opts.to, { format: opts.format ?? 'oci', tag: opts.tag });
  return prepareChainImage(store, opts);
}

/** prepareExport for an image that goes elsewhere than a file (a registry): the time and the base. */
export async function prepareChainImage(store: LayerCore, opts: ChainImageOptions): Promise<PreparedExport> {
  const created = exportTime(opts.created);
  const base = opts.from ? await baseConfig(store, opts.from) : null;
  return { base, created };
}

/**
 * The chain's layers start with the base's. `pending` layers are still to come on top (a
 * container not yet committed): base layers beyond the chain can only be those.
 */
export function checkOnBase(chainDiffIds: string[], base: ImageConfig | null, what: string, from: string | undefined, pending = 0): void {
  const baseIds = base?.rootfs.diff_ids ?? [];
  if (baseIds.length > chainDiffIds.length + pending || baseIds.some((d, i) => i < chainDiffIds.length && chainDiffIds[i] !== d)) {
    throw new BadImageError(`${what} does not sit on the image ${from}: their layers differ`);
  }
}

/** Writes the chain as an image whose manifest, config (rootfs.diff_ids, history) and layers agree. */
export async function exportChainImage(store: LayerCore, chain: string, opts: ExportImageOptions & { compression?: Compression }, prepared?: PreparedExport): Promise<{ manifestDigest: string; configDigest: string }> {
  const { config, layers } = chainImage(store, chain, opts, prepared ?? (await prepareExport(store, opts)));
  // each blob as a push gets it (a deferred layer compressed, a missing blob packed again): blobForLayer
  const blobs: LayerBlob[] = [];
  for (const l of layers) blobs.push(await blobForLayer(store, l, { compression: opts.compression }));
  return writeImage(opts.to, {
    format: opts.format ?? 'oci',
    tag: opts.tag,
    config,
    layers: blobs.map((b) => ({ descriptor: b.descriptor, open: () => b.open(0) })),
  });
}

/**
 * chainImage, with each deferred layer (committed with no compression asked) in its compressed
 * form (`opts.compression`, default gzip: made the first time, then kept): what an image export
 * or a push sends.
 */
export async function exportedChainImage(store: LayerCore, chain: string, opts: ChainImageOptions & { compression?: Compression }, prepared: PreparedExport): Promise<{ config: ImageConfig; layers: LayerRecord[] }> {
  const { config, layers } = chainImage(store, chain, opts, prepared);
  const out: LayerRecord[] = [];
  for (const l of layers) out.push(await store.exportedLayer(l.chainId, opts.compression));
  return { config, layers: out };
}


/** The config of the chain as an image on its base (rootfs.diff_ids, history), and its layers, bottom first. */
export function chainImage(store: LayerCore, chain: string, opts: ChainImageOptions, prepared: PreparedExport): { config: ImageConfig; layers: LayerRecord[] } {
  const { base, created: now } = prepared;
  const layers = store.chainSync(chain);
  const mine = layers.map((l) => l.diffId);
  checkOnBase(mine, base, `the chain ${chain}`, opts.from);
  const baseIds = base?.rootfs.diff_ids ?? [];
  const history = [...(base?.history ?? [])];
  const added = layers.length - baseIds.length;
  for (let i = 0; i < added; i++) history.push({ created: now, created_by: opts.history?.[i]?.created_by ?? 'layerfs commit', comment: opts.history?.[i]?.comment });
  const config: ImageConfig = {
    ...(base ?? {}),
    architecture: base?.architecture ?? hostPlatform().architecture,
    os: base?.os ?? 'linux',
    created: now,
    config: { ...((base?.config as Record<string, unknown>) ?? {}), ...(opts.config ?? {}) },
    rootfs: { type: 'layers', diff_ids: mine },
    history,
  };
  return { config, layers };
}

export type { Compression, OpenedImage, ImageRecord };
