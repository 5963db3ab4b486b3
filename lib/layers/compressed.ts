import * as fs from 'fs';
import * as path from 'path';
import { pipeline } from 'stream/promises';
import { Writable } from 'stream';
import { Sha256Counter } from '../digest';
import { NotFoundError } from '../errors';
import { noSpace, readJsonSync, writeJsonAtomicSync } from '../store/records';
import type { StoreCore } from '../store/store-core';
import { MEDIA_TYPES } from '../store/types';
import type { Compression } from '../types';
import type { CompressedForm, LayerRecord } from '../store/types';
import { createCompressor } from '../tar/compression';
import { createNewFileStream } from '../store/partial-files';

/**
 * The layer as an export or push sends it: its record as it is, unless it is deferred (a commit
 * that asked for no compression keeps the uncompressed tar): then its blob compressed as
 * `compression` (default gzip), made the first time and kept (blobs/, and its CompressedForm
 * beside layer.json), so a second export or push sends the same bytes at no cost. The record
 * of the form is written before its blob is published: a gc that runs meanwhile sees the blob
 * referenced. gzip and zstd output are deterministic, so two processes that make it at once
 * make the same blob.
 */
export async function exportedLayer(store: StoreCore, chainId: string, compression: Compression = 'gzip'): Promise<LayerRecord> {
  const l = store.getLayerSync(chainId);
  if (!l.deferred || compression === 'none' || l.compression !== 'none') return l;
  const formFile = store.paths.layerCompressed(l.chainId, compression);
  const known = readJsonSync<CompressedForm>(formFile);
  const at = known && fs.statSync(store.paths.blob(known.digest), { throwIfNoEntry: false });
  if (known && at?.isFile() && at.size === known.size) return { ...l, ...known };
  const src = store.paths.blob(l.digest);
  if (!fs.existsSync(src)) throw new NotFoundError(l.digest, `the blob ${l.digest} of layer ${l.chainId} is missing from the store (layerfs fsck says more)`);
  const staging = store.makeStaging('compress');
  try {
    const tmp = path.join(staging, 'blob');
    const out = createNewFileStream(tmp, 0o644);
    const hash = new Sha256Counter();
    const counting = new Writable({
      write(chunk: Buffer, _enc, cb) {
        hash.update(chunk);
        if (out.write(chunk)) cb();
        else out.once('drain', () => cb());
      },
      final(cb) {
        out.end(cb);
      },
    });
    try {
      await pipeline(fs.createReadStream(src, { highWaterMark: 4 << 20 }), createCompressor(compression), counting);
    } catch (e) {
      out.destroy();
      throw e;
    }
    const form: CompressedForm = { digest: hash.digest(), size: hash.bytes, mediaType: MEDIA_TYPES[compression], compression };
    writeJsonAtomicSync(formFile, form);
    store.publishBlob(tmp, form.digest);
    return { ...l, ...form };
  } catch (e) {
    throw noSpace(e, `compressing the blob of layer ${l.chainId}`);
  } finally {
    await store.discard(staging);
  }
}
