import { chainIds } from '../digest';
import type { Readable } from 'stream';
import { AbortedError, BadImageError, InvalidArgumentError, NotFoundError } from '../errors';
import { hostPlatform } from '../oci/platform';
import { refOf } from '../store/store-core';
import type { LayerCore } from '../layers';
import type { FileRange } from '../tar/apply-layer';
import { blobFileOf } from './blobs';
import { checkImageName, checkNameFree, getImageSync, hasImage, saveImageRecord } from './image-records';
import type { ImageRecord, SaveRecordOptions } from './image-records';
import type { LayerRef, OperationOptions, Compression } from '../store/types';
import { looksLikeImage, openImage } from './open';
import { checkImageTarget, writeImage } from './write';
import type { ImageConfig, ImageFormat, ImageLayer, OpenedImage, Platform } from './types';

export interface ImportImageOptions extends OperationOptions, SaveRecordOptions {
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
    const name = opts.name ?? img.manifestDigest;
    const chain = chainIds(img.layers.map((l) => l.diffId)).pop() ?? '';
    checkNameFree(store, name, { manifestDigest: img.manifestDigest, chain }, opts);
    const imported = await importOpened(store, img, opts);
    return saveImageRecord(store, { name, ...imported, created: new Date().toISOString() }, opts);
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

/** Layers written at once (each in a worker thread of its own): decompressing, hashing and writing one overlaps the other's. */
const WRITING = 2;
/** Layers started and not yet published: a layer that is written waits (idle, holding its worker) for the one below to be published. */
const UNPUBLISHED = 4;

/**
 * Which layer to start next: the biggest blob first (a long layer started late would run alone
 * at the end), except that the last free place goes to the lowest layer not started, so the
 * layers started always include the lowest unpublished one and the chain keeps moving.
 */
function nextLayer(todo: number[], sizes: number[], unpublished: number): number {
  if (unpublished >= UNPUBLISHED - 1) return Math.min(...todo);
  return todo.reduce((best, i) => (sizes[i] > sizes[best] ? i : best), todo[0]);
}

async function importOpened(store: LayerCore, img: OpenedImage, opts: OperationOptions): Promise<ImportedImage> {
  const ids = chainIds(img.layers.map((l) => l.diffId));
  const total = img.layers.reduce((a, l) => a + l.descriptor.size, 0);
  const refs = await importLayers(store, img, ids, total, opts);
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
 * The image's layers, imported side by side: layer N+1 is decompressed, hashed and written
 * while layer N is, each into its own staging directory. Only the last step of a layer, giving
 * implicit parent directories the lower chain's metadata, waits for the layer below, and the
 * layers are published bottom first, so a visible layer always has its parent. On the first
 * failure the others are stopped and their staging removed; the error is the lowest failing layer's.
 */
async function importLayers(store: LayerCore, img: OpenedImage, ids: string[], total: number, opts: OperationOptions): Promise<LayerRef[]> {
  const stop = new AbortController();
  const onAbort = () => stop.abort();
  if (opts.signal?.aborted) stop.abort();
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  const seen = img.layers.map(() => 0);
  const progress = (i: number, bytes: number) => {
    seen[i] = bytes;
    opts.onProgress?.({ bytes: seen.reduce((a, b) => a + b, 0), total });
  };
  let writing = 0;
  let unpublished = 0;
  let wake: (() => void) | null = null;
  const changed = () => {
    const w = wake;
    wake = null;
    w?.();
  };
  const errors: Array<{ i: number; e: unknown }> = [];
  const imports: Array<Promise<LayerRef>> = [];
  // each layer, published (or failed): a layer waits for the one below it through these
  const settle = img.layers.map(() => deferred<LayerRef>());
  const below = settle.map((d) => d.promise);
  for (const p of below) p.catch(() => undefined); // a failure is reported once, by the layer that failed
  try {
    const todo: number[] = [];
    for (const [i, layer] of img.layers.entries()) {
      if (store.hasLayer(ids[i])) {
        settle[i].resolve(refOf(store.getLayerSync(ids[i])));
        progress(i, layer.descriptor.size);
      } else todo.push(i);
    }
    const sizes = img.layers.map((l) => l.descriptor.size);
    while (todo.length) {
      while (!stop.signal.aborted && (writing >= WRITING || unpublished >= UNPUBLISHED)) await new Promise<void>((r) => (wake = r));
      if (stop.signal.aborted) break;
      const i = nextLayer(todo, sizes, unpublished);
      todo.splice(todo.indexOf(i), 1);
      const layer = img.layers[i];
      const d = layer.descriptor;
      let written = false;
      const doneWriting = () => {
        if (written) return;
        written = true;
        writing--;
        changed();
      };
      writing++;
      unpublished++;
      const p = store
        .importLayer(layerInput(layer), {
          parent: i ? ids[i - 1] : null,
          // a parent already in the store is looked up at once; one being imported is waited for
          parentReady: i > 0 && !store.hasLayer(ids[i - 1]) ? below[i - 1] : undefined,
          onWritten: doneWriting,
          expectDiffId: layer.diffId,
          expectDigest: d.digest,
          expectSize: d.size,
          what: `layer ${i} (${d.digest})`,
          signal: stop.signal,
          onProgress: (ev) => progress(i, ev.bytes),
        })
        .finally(() => {
          doneWriting();
          unpublished--;
          changed();
        });
      p.then(settle[i].resolve, (e) => {
        errors.push({ i, e });
        settle[i].reject(e);
        stop.abort();
        changed();
      });
      imports.push(p);
    }
    // layers never started (the import was stopped) fail their waiters
    for (const i of todo) settle[i].reject(new AbortedError(`importing layer ${i}`));
    await Promise.allSettled(imports);
    if (errors.length || stop.signal.aborted) throw firstError(errors, opts.signal);
    return Promise.all(below);
  } finally {
    opts.signal?.removeEventListener('abort', onAbort);
  }
}

function deferred<T>(): { promise: Promise<T>; resolve: (v: T) => void; reject: (e: unknown) => void } {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** A layer read in place (a file, or a member of an archive) goes to the worker as a file range: it is read and hashed once, there. */
function layerInput(layer: ImageLayer): FileRange | Readable {
  const at = blobFileOf(layer);
  return at ? { path: at.path, start: at.offset, length: at.size } : layer.open();
}

/** The error of the lowest failing layer that failed on its own (not stopped because another failed). */
function firstError(errors: Array<{ i: number; e: unknown }>, signal: AbortSignal | undefined): unknown {
  const own = errors.filter(({ e }) => !(e instanceof AbortedError) || signal?.aborted).sort((a, b) => a.i - b.i);
  return (own[0] ?? errors[0])?.e ?? new AbortedError('importing an image');
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
  /** the image's creation time, RFC 3339 (default: $SOURCE_DATE_EPOCH, else now); fixed for reproducible builds */
  created?: string;
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
export async function exportChainImage(store: LayerCore, chain: string, opts: ExportImageOptions, prepared?: PreparedExport): Promise<{ manifestDigest: string; configDigest: string }> {
  const { base, created: now } = prepared ?? (await prepareExport(store, opts));
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
  return writeImage(opts.to, {
    format: opts.format ?? 'oci',
    tag: opts.tag,
    config,
    layers: layers.map((l) => ({ descriptor: { mediaType: l.mediaType, digest: l.digest, size: l.size }, open: () => store.exportLayer(l.chainId) })),
  });
}

export type { Compression, OpenedImage, ImageRecord };
