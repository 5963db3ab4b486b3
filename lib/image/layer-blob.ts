import * as fs from 'fs';
import * as path from 'path';
import type { Readable } from 'stream';
import { BadImageError, NotFoundError, SizeMismatchError } from '../errors';
import type { LayerCore } from '../layers';
import { MEDIA_TYPES } from '../store/types';
import type { Compression } from '../types';
import { stagingName } from '../store/tmp';
import { packToFile } from '../tar/pack-in-worker';
import { compressionOf } from './media-types';
import type { Descriptor } from './types';

/** A layer's blob to send or write: its descriptor (what a manifest names) and its bytes from any offset. */
export interface LayerBlob {
  descriptor: Descriptor;
  open(offset: number): Readable;
}

/** A layer of the store as an image lists it: its record's chain and blob. */
export interface StoreLayerRef {
  chainId?: string;
  diffId?: string;
  digest: string;
  size: number;
  mediaType: string;
}

function fileBlob(file: string, descriptor: Descriptor): LayerBlob {
  // from the start with no position, so a blob that is a stream (a FIFO) reads too: a position is a pread
  return { descriptor, open: (offset) => fs.createReadStream(file, { ...(offset ? { start: offset } : {}), highWaterMark: 1 << 20 }) };
}

/**
 * The one way an image export or a push gets a layer's blob:
 *  1. a deferred layer (committed with no compression asked: its blob is the tar) in its
 *     compressed form (`compression`, default gzip), made the first time and kept
 *     (lib/layers/compressed.ts);
 *  2. else the store's blob file (the bytes as imported or committed);
 *  3. else, the blob missing, the deterministic pack of the layer's directory, made now
 *     (compressed as the record says; a deferred layer as `compression`), checked to give the
 *     layer's DiffID, and kept in blobs/ under the digest it has.
 * The descriptor returned is that of the blob that is sent: a manifest must name that one.
 */
export async function blobForLayer(store: LayerCore, l: StoreLayerRef, opts: { compression?: Compression; signal?: AbortSignal } = {}): Promise<LayerBlob> {
  const rec = l.chainId && store.hasLayer(l.chainId) ? store.getLayerSync(l.chainId) : null;
  if (rec?.deferred && rec.digest === l.digest) {
    try {
      const e = await store.exportedLayer(rec.chainId, opts.compression);
      return fileBlob(store.paths.blob(e.digest), { mediaType: e.mediaType, digest: e.digest, size: e.size });
    } catch (e) {
      if (!(e instanceof NotFoundError)) throw e; // the tar is gone: packed again below
    }
  }
  const file = store.paths.blob(l.digest);
  const st = fs.statSync(file, { throwIfNoEntry: false });
  // whatever holds the blob's name is read as the blob (a FIFO streams; only the store's owner can
  // put one there): only a missing blob is packed again
  if (st && !st.isDirectory() && !(rec?.deferred && rec.digest === l.digest)) {
    if (st.isFile() && st.size !== l.size) throw new SizeMismatchError(`the store's blob ${l.digest}`, l.size, st.size);
    return fileBlob(file, { mediaType: l.mediaType, digest: l.digest, size: l.size });
  }
  if (!rec) throw new NotFoundError(l.digest, `the blob ${l.digest} is missing from the store, and no layer of the store has it to pack again (layerfs fsck says more); nothing was sent`);
  const compression = rec.deferred ? (opts.compression ?? 'gzip') : (compressionOf(rec.mediaType) ?? 'gzip');
  const tmp = path.join(store.paths.tmpDir, stagingName('pack'));
  try {
    const r = await packToFile({ dir: store.paths.layerDiff(rec.chainId), whiteout: store.whiteout }, tmp, { compression, signal: opts.signal });
    const diffId = l.diffId ?? rec.diffId;
    if (r.diffId !== diffId) throw new BadImageError(`layer ${rec.chainId}: its blob ${l.digest} is missing, and packing its directory gives the DiffID ${r.diffId}, not ${diffId}; nothing was sent`);
    store.publishBlob(tmp, r.digest);
    const mediaType = rec.deferred ? MEDIA_TYPES[compression] : rec.mediaType;
    return fileBlob(store.paths.blob(r.digest), { mediaType, digest: r.digest, size: r.size });
  } finally {
    fs.rmSync(tmp, { force: true });
  }
}
