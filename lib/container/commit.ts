import * as fs from 'fs';
import * as path from 'path';
import { packToFile } from '../tar/pack-layer';
import { noSpace, newLayerRecord } from '../store/store-core';
import type { StoreCore } from '../store/store-core';
import type { PackEntry } from '../tar/types';
import { buildLayerDirSync } from './layer-dir';
import type { Change, CommitOptions, ContainerRecord, LayerRef } from './types';

export interface Committable {
  readonly record: ContainerRecord;
  diff(): Promise<Change[]>;
}

/**
 * A container's changes as a new layer: one streaming pass writes the tarball while hashing
 * it uncompressed (DiffID) and compressed (digest); the layer directory is taken from the
 * container's files, not from the tarball; then both are published together.
 */
export async function commitContainer(store: StoreCore, c: Committable, opts: CommitOptions & { changes?: Change[] } = {}): Promise<LayerRef> {
  const rec = c.record;
  const changes = opts.changes ?? (await c.diff());
  const base = rec.driver === 'overlay' ? store.paths.containerUpper(rec.id) : store.paths.containerRoot(rec.id);
  const entries = packEntries(changes, base);
  const compression = opts.compression ?? 'gzip';
  const staging = store.makeStaging('commit');
  try {
    const blobTmp = path.join(staging, 'blob');
    const r = await packToFile({ root: base, entries }, blobTmp, { compression, sourceDateEpoch: opts.sourceDateEpoch, signal: opts.signal, onProgress: opts.onProgress });
    const diffDir = path.join(staging, 'diff');
    fs.mkdirSync(diffDir);
    buildLayerDirSync(entries, diffDir, store.whiteout);
    const record = newLayerRecord(rec.chain, { ...r, compression }, store.whiteout);
    return store.publishLayer(staging, blobTmp, record, opts.durable);
  } catch (e) {
    throw noSpace(e, `committing container ${rec.id}`);
  } finally {
    await store.discard(staging);
  }
}

/**
 * Changes -> what the layer holds: added and changed entries with their parent directories,
 * `.wh.` entries for deletions, and the whole contents of a recreated (opaque) directory,
 * since its marker hides everything below it.
 */
export function packEntries(changes: Change[], base: string): PackEntry[] {
  const m = new Map<string, PackEntry>();
  const add = (rel: string, e: PackEntry) => {
    if (rel === '') return;
    if (!m.has(rel) || e.opaque || e.whiteout) m.set(rel, e);
  };
  const subtree = (relDir: string) => {
    const real = path.join(base, relDir);
    for (const n of fs.readdirSync(real)) {
      const rel = relDir + '/' + n;
      const st = fs.lstatSync(path.join(base, rel));
      add(rel, { path: rel, source: path.join(base, rel) });
      if (st.isDirectory()) subtree(rel);
    }
  };
  for (const c of changes) {
    const rel = c.path.replace(/^\/+/, '');
    if (c.kind === 'D') add(rel, { path: rel, whiteout: true });
    else {
      add(rel, { path: rel, source: c.source ?? path.join(base, rel), opaque: c.opaque || undefined });
      if (c.opaque) subtree(rel);
    }
  }
  // parent directories carry their own metadata into the layer
  for (const rel of [...m.keys()]) {
    let d = path.posix.dirname(rel);
    while (d !== '.' && !m.has(d)) {
      m.set(d, { path: d, source: path.join(base, d) });
      d = path.posix.dirname(d);
    }
  }
  return [...m.values()];
}
