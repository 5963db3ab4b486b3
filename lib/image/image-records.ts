import * as fs from 'fs';
import { ExistsError, InvalidArgumentError, NotFoundError } from '../errors';
import { listRecordFiles, readJsonSync, writeJsonAtomicSync, writeJsonExclusiveSync } from '../store/records';
import type { StoreCore } from '../store/store-core';
import type { ImageConfig, ImageOrigin } from './types';

/**
 * images/<name>.json: a name for an imported image, its chain and its config. A record is never
 * replaced unless that is asked for: the layers of a replaced image are no longer reached by
 * it, and `gc --layers` would delete them. Removing a record leaves the layers (docker's `image
 * rm`): they go with `gc --layers` or `rmi` once nothing else uses them.
 */
export interface ImageRecord {
  name: string;
  chain: string;
  source: string;
  /** the tag it was chosen by in its source, when it had one */
  tag?: string;
  format: ImageOrigin;
  manifestDigest: string;
  configDigest: string;
  config: ImageConfig;
  layers: Array<{ diffId: string; chainId: string; digest: string; mediaType: string; size: number }>;
  created: string;
}

export interface SaveRecordOptions {
  /** replace a record of another image under that name */
  replace?: boolean;
}

export function checkImageName(name: unknown): string {
  if (typeof name !== 'string' || name === '' || /[\0-\x1f\x7f]/.test(name)) throw new InvalidArgumentError(`bad image name ${JSON.stringify(name)}: a name is a non-empty string with no control characters`);
  return name;
}

/** The one image is the same manifest on the same chain. */
function sameImage(a: Pick<ImageRecord, 'manifestDigest' | 'chain'>, b: Pick<ImageRecord, 'manifestDigest' | 'chain'>): boolean {
  return a.manifestDigest === b.manifestDigest && a.chain === b.chain;
}

function taken(have: ImageRecord): ExistsError {
  return new ExistsError(
    `image ${JSON.stringify(have.name)}`,
    `an image named ${JSON.stringify(have.name)} is in the store already (${have.manifestDigest}, from ${have.source}); choose another name, or replace it (--replace; its layers stay until gc --layers)`,
  );
}

/**
 * Fails early (before any layer is imported) when `name` holds another image and replacing it
 * was not asked for. The same image under its own name is not a conflict.
 */
export function checkNameFree(store: StoreCore, name: string, image: Pick<ImageRecord, 'manifestDigest' | 'chain'>, opts: SaveRecordOptions = {}): void {
  const have = readJsonSync<ImageRecord>(store.paths.image(checkImageName(name)));
  if (have && !opts.replace && !sameImage(have, image)) throw taken(have);
}

/**
 * Writes the record: only where no record is (atomically: of two processes saving one name,
 * one wins and the other fails with LAYERFS_EXISTS), unless `replace`. A record of the same
 * image is kept as it is, and returned.
 */
export function saveImageRecord(store: StoreCore, record: ImageRecord, opts: SaveRecordOptions = {}): ImageRecord {
  const file = store.paths.image(checkImageName(record.name));
  if (opts.replace) {
    writeJsonAtomicSync(file, record);
    return record;
  }
  try {
    writeJsonExclusiveSync(file, record, `image ${JSON.stringify(record.name)}`);
    return record;
  } catch (e) {
    if (!(e instanceof ExistsError)) throw e;
    const have = readJsonSync<ImageRecord>(file);
    if (have && sameImage(have, record)) return have;
    throw have ? taken(have) : e;
  }
}

/**
 * Was the record under `name` made from `source` (a pull of that reference)? Such a record is
 * the tag's own: pulling the tag again may move it to what the tag names now, where a record
 * made any other way (an import, a tag, a pull of another reference) is replaced only if asked.
 */
export function recordMadeFrom(store: StoreCore, name: string, source: string): boolean {
  return readJsonSync<ImageRecord>(store.paths.image(checkImageName(name)))?.source === source;
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
  return listRecordFiles(store.paths.imagesDir)
    .map((f) => readJsonSync<ImageRecord>(`${store.paths.imagesDir}/${f}`))
    .filter((r): r is ImageRecord => !!r)
    .sort((a, b) => String(a.name).localeCompare(String(b.name)));
}

/** Removes the record of an image; its layers stay (`gc --layers` or `rmi` remove them once nothing uses them). */
export function removeImageSync(store: StoreCore, name: string): ImageRecord {
  const r = getImageSync(store, name);
  try {
    fs.unlinkSync(store.paths.image(name));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new NotFoundError(name, `no image named ${JSON.stringify(name)} in the store`);
    throw e;
  }
  return r;
}

/** A second name for an imported image (`docker tag`): the same record under `target`. */
export function tagImageSync(store: StoreCore, source: string, target: string, opts: SaveRecordOptions = {}): ImageRecord {
  const r = getImageSync(store, source);
  return saveImageRecord(store, { ...r, name: checkImageName(target) }, opts);
}
