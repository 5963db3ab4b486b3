import * as fs from 'fs';
import * as path from 'path';
import type { Readable } from 'stream';
import { parseDigest } from '../digest';
import { InvalidArgumentError } from '../errors';
import type { FileRange } from '../tar/apply-in-worker';
import type { StoreCore } from '../store/store-core';
import { PARTIAL_BLOB_NOTE } from '../store/downloads';
import { newLayerRecord, noSpace } from '../store/store-core';
import type { LayerRef } from '../store/types';
import type { OperationOptions } from '../types';
import { lazy } from '../lazy';

const applier = lazy<typeof import('../tar/apply-in-worker')>(() => require('../tar/apply-in-worker'));

// The applier (worker plumbing) loads on first use: a CLI that only creates or mounts a
// container opens the store without it.

export interface ImportLayerOptions extends OperationOptions {
  /** ChainID of the layer below; the new layer's ChainID is computed from it */
  parent?: string | null;
  /** fail (and keep nothing) unless the layer's DiffID, blob digest or size are these */
  expectDiffId?: string;
  expectDigest?: string;
  expectSize?: number;
  /** name of the input in error messages (e.g. `layer 2 (sha256:ab…)`) */
  what?: string;
  durable?: boolean;
  /** refuse (LAYERFS_LIMIT, nothing kept) a layer whose tar is bigger than this uncompressed; default: see layerByteLimit */
  maxUncompressedBytes?: number;
  /**
   * The parent is being imported alongside (the layers of one image): it is not looked up now.
   * This layer is written meanwhile; it waits for this promise (the parent published) only to
   * give its implicit parent directories the chain's metadata and to be published itself, and
   * fails if it rejects.
   */
  parentReady?: Promise<unknown>;
  /** called once the whole layer is written and only the wait for `parentReady` is left */
  onWritten?: () => void;
}

/**
 * Streams a layer tarball into staging (its blob as received, its unpacked directory, its
 * content index), verifies what the caller expects of it, then publishes it. The caller holds
 * the store lock.
 */
export async function importLayerLocked(store: StoreCore, input: Readable | string | FileRange, opts: ImportLayerOptions): Promise<LayerRef> {
  const parent = opts.parent ? parseDigest(opts.parent, 'parent ChainID') : null;
  const later = parent !== null && opts.parentReady !== undefined;
  if (parent && !later) store.getLayerSync(parent);
  let total: number | undefined;
  const { applyLayer, isFileRange } = applier();
  if (isFileRange(input)) {
    const st = fs.statSync(input.path);
    if (!st.isFile()) throw new InvalidArgumentError(`${input.path} is not a file`);
    if (input.start < 0 || input.length < 0 || input.start + input.length > st.size) throw new InvalidArgumentError(`${input.path} has no ${input.length} bytes at offset ${input.start} (it is ${st.size} bytes)`);
    total = input.length;
  } else if (typeof input === 'string') {
    const st = fs.statSync(input);
    if (!st.isFile()) throw new InvalidArgumentError(`${input} is not a file`);
    total = st.size;
  }
  const staging = store.makeStaging('layer');
  try {
    const diffDir = path.join(staging, 'diff');
    const blobTmp = path.join(staging, 'blob');
    fs.mkdirSync(diffDir);
    // a process killed meanwhile leaves the blob received so far; this says what it is, so the next open keeps it for a resume
    if (opts.expectDigest && opts.expectSize !== undefined) fs.writeFileSync(path.join(staging, PARTIAL_BLOB_NOTE), JSON.stringify({ digest: opts.expectDigest, size: opts.expectSize }));
    const what = opts.what ?? (typeof input === 'string' ? input : 'layer');
    const r = await applyLayer(input, diffDir, {
      whiteout: store.whiteout,
      applyOwners: store.applyOwners,
      blobPath: blobTmp,
      signal: opts.signal,
      onProgress: opts.onProgress,
      total,
      durable: opts.durable,
      manifestPath: path.join(staging, 'manifest.json'),
      limits: store.tarLimits(opts.maxUncompressedBytes),
      lowerDirs: later
        ? async () => {
            opts.onWritten?.();
            await opts.parentReady;
            return store.layerDirs(parent);
          }
        : store.layerDirs(parent),
      expect: { what, size: opts.expectSize, digest: opts.expectDigest, diffId: opts.expectDiffId },
    }).catch((e) => {
      throw noSpace(e, `importing ${typeof input === 'string' ? input : 'a layer'}`);
    });
    if (!later) opts.onWritten?.();
    const record = newLayerRecord(parent, r, store.whiteout);
    return store.publishLayer(staging, blobTmp, record, opts.durable);
  } finally {
    // what failed here is no partial download worth keeping
    fs.rmSync(path.join(staging, PARTIAL_BLOB_NOTE), { force: true });
    await store.discard(staging);
  }
}
