import { hexOf, isDigest, sha256 } from '../digest';
import { BadImageError, DigestMismatchError, LimitExceededError, NotFoundError, SizeMismatchError, UnsupportedError } from '../errors';
import type { BlobFile, ImageSource } from './source';
import type { Descriptor, ImageLayer } from './types';

/** Manifests, indexes and configs are read whole: none is anywhere near this. */
export const MAX_METADATA = 4 << 20;

export function blobName(digest: string): string {
  return `blobs/sha256/${hexOf(digest)}`;
}

/** `layer 2 (sha256:ab…)`: how errors name a blob. */
export function blobLabel(what: string, digest: string): string {
  return `${what} (${digest})`;
}

/** A descriptor as found in JSON, checked: a sha256 digest, a size, a media type (empty when absent). */
export function checkDescriptor(d: unknown, what: string): Descriptor {
  if (typeof d !== 'object' || d === null) throw new BadImageError(`${what}: the descriptor is not an object`);
  const o = d as Record<string, unknown>;
  if (typeof o.digest !== 'string') throw new BadImageError(`${what}: the descriptor has no digest`);
  if (!isDigest(o.digest)) {
    if (/^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/.test(o.digest)) throw new UnsupportedError(`${what}: digest ${o.digest} uses an algorithm other than sha256`);
    throw new BadImageError(`${what}: ${JSON.stringify(o.digest)} is not a digest`);
  }
  if (typeof o.size !== 'number' || !Number.isSafeInteger(o.size) || o.size < 0) throw new BadImageError(`${what} (${o.digest}): the descriptor's size ${JSON.stringify(o.size)} is not a size`);
  if (o.mediaType !== undefined && typeof o.mediaType !== 'string') throw new BadImageError(`${what} (${o.digest}): mediaType is not a string`);
  checkAnnotations(o.annotations, `${what} (${o.digest})`);
  return { ...(o as unknown as Descriptor), mediaType: (o.mediaType as string | undefined) ?? '' };
}

/** Annotations are a map of strings to strings (image-spec annotations.md); anything else is refused, naming the key. */
export function checkAnnotations(a: unknown, what: string): void {
  if (a === undefined) return;
  if (typeof a !== 'object' || a === null || Array.isArray(a)) throw new BadImageError(`${what}: annotations is not a map of strings to strings`);
  for (const [k, v] of Object.entries(a)) {
    if (typeof v !== 'string') throw new BadImageError(`${what}: the annotation ${JSON.stringify(k)} is ${JSON.stringify(v)}, not a string (annotations map strings to strings)`);
  }
}

/** The blob is there and has the size its descriptor says (checked before anything is read). */
export function checkBlobPresent(src: ImageSource, d: Descriptor, what: string): void {
  const name = blobName(d.digest);
  const size = src.size(name);
  if (size === undefined) throw new NotFoundError(d.digest, `${blobLabel(what, d.digest)} is missing from ${src.where}: no ${name}`);
  if (size !== d.size) throw new SizeMismatchError(blobLabel(what, d.digest), d.size, size);
}

/** A small blob, read whole and verified against its descriptor. */
export function readBlob(src: ImageSource, d: Descriptor, what: string): Buffer {
  if (d.size > MAX_METADATA) throw new LimitExceededError(null, `${blobLabel(what, d.digest)} is ${d.size} bytes, over the ${MAX_METADATA}-byte limit for metadata`);
  checkBlobPresent(src, d, what);
  const b = src.read(blobName(d.digest));
  if (b.length !== d.size) throw new SizeMismatchError(blobLabel(what, d.digest), d.size, b.length);
  const seen = sha256(b);
  if (seen !== d.digest) throw new DigestMismatchError(blobLabel(what, d.digest), d.digest, seen);
  return b;
}

export function parseJson(b: Buffer, what: string): unknown {
  try {
    return JSON.parse(b.toString('utf8'));
  } catch (e) {
    throw new BadImageError(`${what} is not valid JSON: ${(e as Error).message}`);
  }
}

/** Where each opened layer's blob lies on disk, so an importer can read it in place (and hash it once) instead of through `open()`. */
const blobFiles = new WeakMap<ImageLayer, BlobFile>();

/** Notes where the layer's blob is; returns the layer. */
export function withBlobFile(layer: ImageLayer, file: BlobFile | undefined): ImageLayer {
  if (file) blobFiles.set(layer, file);
  return layer;
}

/**
 * The layer's blob on disk: `size` bytes that must hash to the layer's descriptor (the reader
 * checks the digest and size itself; `open()` is the stream that checks them as it goes).
 */
export function blobFileOf(layer: ImageLayer): BlobFile | undefined {
  return blobFiles.get(layer);
}
