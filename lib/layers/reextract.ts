import * as fs from 'fs';
import * as path from 'path';
import type { StoreCore } from '../store/store-core';
import { compareContentIndex, contentIndexSync, writeContentIndexSync } from '../store/content-index';
import type { IndexLine } from '../store/content-index';
import { restoreRecordedMetadata } from '../store/content-index-restore';
import type { LayerRecord } from '../store/types';
import { applyLayer } from '../tar/apply-in-worker';

/**
 * Extracts a layer again from its blob, on its lower chain (implicit parent directories take the
 * chain's metadata, as at import), checks the DiffID, gives what the tar does not say (the times
 * of directories it has no entry for) the recorded metadata, then swaps the new directory in.
 * Returns what still differs from the record; the blob is the truth, so the manifest is then
 * written again from the new directory. fsck --repair calls it for a damaged layer.
 */
export async function reextractLayer(store: StoreCore, l: LayerRecord, recorded: IndexLine[]): Promise<string[]> {
  const staging = store.makeStaging('repair');
  try {
    const diff = path.join(staging, 'diff');
    fs.mkdirSync(diff);
    await applyLayer(store.paths.blob(l.digest), diff, { whiteout: store.whiteout, applyOwners: store.applyOwners, lowerDirs: store.layerDirs(l.parent), expect: { what: `the blob of layer ${l.chainId}`, diffId: l.diffId } });
    const old = store.paths.layerDiff(l.chainId);
    const aside = path.join(staging, 'old');
    if (fs.existsSync(old)) fs.renameSync(old, aside);
    fs.renameSync(diff, old);
    restoreRecordedMetadata(old, recorded); // after the rename, which may touch the directory itself
    const left = compareContentIndex(recorded, contentIndexSync(old));
    if (left.length || recorded[0]?.length !== 10) writeContentIndexSync(old, store.paths.contentIndex(l.chainId));
    return left;
  } finally {
    await store.discard(staging);
  }
}
