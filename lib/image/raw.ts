import * as fs from 'fs';
import * as path from 'path';
import { sha256 } from '../digest';
import type { StoreCore } from '../store/store-core';
import { stagingName } from '../store/tmp';
import { OCI_MANIFEST } from './media-types';
import type { Descriptor, RawImage } from './types';

/**
 * An image's manifest and config as its source held them, byte for byte. A pull or an import
 * keeps them in the store's blobs (beside the layers'), so that a push or copy of the image
 * sends those very bytes and the registry sees the same manifest digest; only an image made
 * here (a commit, a change of config) gets a manifest of ours.
 */

/** The descriptors the raw manifest gives: its own, the config's and the layers', when its config is the bytes held. */
export interface RawParts {
  manifestBytes: Buffer;
  manifestDesc: Descriptor;
  configBytes: Buffer;
  configDesc: Descriptor;
  layers: Descriptor[];
}

/** The raw manifest read, or null when it does not describe the config held with it (then a manifest is made instead). */
export function rawParts(raw: RawImage): RawParts | null {
  let m: { config?: Descriptor; layers?: Descriptor[] };
  try {
    m = JSON.parse(raw.manifest.toString('utf8')) as typeof m;
  } catch {
    return null;
  }
  const c = m?.config;
  if (!c || typeof c.digest !== 'string' || c.size !== raw.config.length || sha256(raw.config) !== c.digest || !Array.isArray(m.layers)) return null;
  return {
    manifestBytes: raw.manifest,
    manifestDesc: { mediaType: raw.mediaType, digest: sha256(raw.manifest), size: raw.manifest.length },
    configBytes: raw.config,
    configDesc: { mediaType: c.mediaType, digest: c.digest, size: c.size },
    layers: m.layers.map((d) => ({ mediaType: d.mediaType, digest: d.digest, size: d.size, ...(d.urls ? { urls: d.urls } : {}), ...(d.annotations ? { annotations: d.annotations } : {}) })),
  };
}

/** The raw parts, when the layers they name are `layers` (same blobs, same order); else null. */
export function rawPartsFor(raw: RawImage | undefined, layers: Array<{ digest: string; size: number }>): RawParts | null {
  const p = raw ? rawParts(raw) : null;
  if (!p || p.layers.length !== layers.length || p.layers.some((d, i) => d.digest !== layers[i].digest || d.size !== layers[i].size)) return null;
  return p;
}

function keepBlob(store: StoreCore, b: Buffer, digest: string): void {
  if (fs.existsSync(store.paths.blob(digest))) return;
  const tmp = path.join(store.paths.tmpDir, stagingName('blob'));
  try {
    fs.writeFileSync(tmp, b, { mode: 0o600 });
    store.publishBlob(tmp, digest);
  } finally {
    fs.rmSync(tmp, { force: true });
  }
}

/** Keeps an imported image's manifest and config blobs in the store (under their digests). */
export function keepRawImage(store: StoreCore, raw: RawImage, manifestDigest: string, configDigest: string): void {
  if (sha256(raw.manifest) !== manifestDigest || sha256(raw.config) !== configDigest) return;
  keepBlob(store, raw.config, configDigest);
  keepBlob(store, raw.manifest, manifestDigest);
}

/** The manifest and config blobs the store holds for an image, or undefined when either is missing or damaged. */
export function storedRawImage(store: StoreCore, rec: { manifestDigest: string; configDigest: string }): RawImage | undefined {
  const read = (d: string) => {
    try {
      const b = fs.readFileSync(store.paths.blob(d));
      return sha256(b) === d ? b : null;
    } catch {
      return null;
    }
  };
  const manifest = read(rec.manifestDigest);
  const config = manifest && read(rec.configDigest);
  if (!manifest || !config) return undefined;
  let mediaType: unknown;
  try {
    mediaType = (JSON.parse(manifest.toString('utf8')) as { mediaType?: unknown }).mediaType;
  } catch {
    return undefined;
  }
  return { manifest, mediaType: typeof mediaType === 'string' && mediaType ? mediaType : OCI_MANIFEST, config };
}
