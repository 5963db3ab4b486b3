import * as fs from 'fs';
import * as path from 'path';
import type { Readable } from 'stream';
import { BadImageError, NotFoundError, SizeMismatchError } from '../errors';
import type { StoreCore } from '../store/store-core';
import { stagingName } from '../store/tmp';
import { packToFile } from '../tar/pack-layer';
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
  return { descriptor, open: (offset) => fs.createReadStream(file, { start: offset, highWaterMark: 1 << 20 }) };
}

/**
 * The one way an export or a push gets a layer's blob: the store's blob file when it is there
 * (the bytes as imported or committed), else the deterministic pack of the layer's directory,
 * made now (compressed as the record says), checked to give the layer's DiffID, and kept in
 * blobs/ under the digest it has. The descriptor returned is the blob's that is sent: a manifest
 * must name that one.
 */
export async function blobForLayer(store: StoreCore, l: StoreLayerRef, opts: { signal?: AbortSignal } = {}): Promise<LayerBlob> {
  const file = store.paths.blob(l.digest);
  const st = fs.statSync(file, { throwIfNoEntry: false });
  const descriptor: Descriptor = { mediaType: l.mediaType, digest: l.digest, size: l.size };
  if (st?.isFile()) {
    if (st.size !== l.size) throw new SizeMismatchError(`the store's blob ${l.digest}`, l.size, st.size);
    return fileBlob(file, descriptor);
  }
  const rec = l.chainId && store.hasLayer(l.chainId) ? store.getLayerSync(l.chainId) : null;
  if (!rec) throw new NotFoundError(l.digest, `the blob ${l.digest} is missing from the store, and no layer of the store has it to pack again (layerfs fsck says more); nothing was sent`);
  const compression = compressionOf(rec.mediaType) ?? 'gzip';
  const tmp = path.join(store.paths.tmpDir, stagingName('pack'));
  try {
    const r = await packToFile({ dir: store.paths.layerDiff(rec.chainId), whiteout: store.whiteout }, tmp, { compression, signal: opts.signal });
    const diffId = l.diffId ?? rec.diffId;
    if (r.diffId !== diffId) throw new BadImageError(`layer ${rec.chainId}: its blob ${l.digest} is missing, and packing its directory gives the DiffID ${r.diffId}, not ${diffId}; nothing was sent`);
    store.publishBlob(tmp, r.digest);
    return fileBlob(store.paths.blob(r.digest), { mediaType: rec.mediaType, digest: r.digest, size: r.size });
  } finally {
    fs.rmSync(tmp, { force: true });
  }
}
