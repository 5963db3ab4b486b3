import * as fs from 'fs';
import * as path from 'path';
import { fsPath, readdirNamesSync } from '../names';
import { createHash } from 'crypto';
import { InUseError } from '../errors';
import { applyLayer } from '../tar/apply-layer';
import { readMountInfo } from '../native/mountinfo';
import type { StoreCore } from './store-core';
import { listRecordFiles, readJsonSync, staleRecordTemps } from './records';
import { isStale } from './tmp';
import { checkPrivateStore } from './private';
import { compareLayerManifest, layerManifestSync, readLayerManifestSync, writeLayerManifestSync } from './layer-manifest';
import type { ManifestLine } from './layer-manifest';
import { restoreRecordedMetadata } from './manifest-restore';
import type { LayerRecord } from './types';

export interface FsckProblem {
  kind: 'store' | 'blob' | 'layer' | 'container' | 'mount' | 'image' | 'temporary';
  id: string;
  message: string;
  /** for a layer: the paths that differ from its manifest */
  paths?: string[];
  repaired?: boolean;
}

export interface FsckReport {
  blobs: number;
  layers: number;
  containers: number;
  problems: FsckProblem[];
}

async function sha256File(file: string): Promise<string> {
  const h = createHash('sha256');
  for await (const c of fs.createReadStream(file, { highWaterMark: 4 << 20 })) h.update(c as Buffer);
  return 'sha256:' + h.digest('hex');
}

interface RawContainer {
  id: string;
  chain: string | null;
  driver: string;
  state: string;
}

/** Temporaries of record writes whose writer is gone: beside store.json, image records and container records. */
function staleTemps(store: StoreCore): string[] {
  const dirs = [store.root, store.paths.imagesDir, ...fs.readdirSync(store.paths.containersDir).map((id) => store.paths.container(id))];
  return dirs.flatMap((d) => (fs.statSync(d, { throwIfNoEntry: false })?.isDirectory() ? staleRecordTemps(d).map((n) => path.join(d, n)) : []));
}

function containers(store: StoreCore): RawContainer[] {
  return fs
    .readdirSync(store.paths.containersDir)
    .map((id) => readJsonSync<RawContainer>(store.paths.containerRecord(id)))
    .filter((r): r is RawContainer => !!r);
}

function images(store: StoreCore): Array<{ name: string; chain: string }> {
  return listRecordFiles(store.paths.imagesDir)
    .map((f) => readJsonSync<{ name: string; chain: string }>(path.join(store.paths.imagesDir, f)))
    .filter((r): r is { name: string; chain: string } => !!r);
}

/**
 * Verifies every blob against its digest, every unpacked layer against the manifest recorded
 * when it was published, every container against its chain and every recorded mount against
 * /proc/self/mountinfo. With `repair`, a damaged layer is extracted again from its blob.
 */
export async function fsck(store: StoreCore, opts: { repair?: boolean } = {}): Promise<FsckReport> {
  const problems: FsckProblem[] = [];
  // open tightened what it could: what is left here, this process cannot fix
  for (const m of checkPrivateStore(store.paths).problems) problems.push({ kind: 'store', id: store.root, message: `not private: ${m}` });
  const blobs = fs.readdirSync(store.paths.blobsDir);
  const badBlobs = new Set<string>();
  for (const hex of blobs) {
    const seen = await sha256File(path.join(store.paths.blobsDir, hex));
    if (seen !== 'sha256:' + hex) {
      badBlobs.add('sha256:' + hex);
      problems.push({ kind: 'blob', id: 'sha256:' + hex, message: `blob sha256:${hex} hashes to ${seen}` });
    }
  }
  const layers = await store.listLayers();
  for (const l of layers) {
    const dir = store.paths.layerDiff(l.chainId);
    if (l.parent && !store.hasLayer(l.parent)) problems.push({ kind: 'layer', id: l.chainId, message: `its parent ${l.parent} is missing` });
    if (!fs.existsSync(store.paths.blob(l.digest))) problems.push({ kind: 'layer', id: l.chainId, message: `its blob ${l.digest} is missing` });
    const mf = store.paths.layerManifest(l.chainId);
    if (!fs.existsSync(mf)) {
      problems.push({ kind: 'layer', id: l.chainId, message: 'it has no manifest to check against' });
      continue;
    }
    const recorded = readLayerManifestSync(mf);
    const diffs = fs.existsSync(dir) ? compareLayerManifest(recorded, layerManifestSync(dir)) : ['removed /'];
    if (!diffs.length) continue;
    const p: FsckProblem = { kind: 'layer', id: l.chainId, message: `the unpacked layer differs from its manifest: ${diffs.slice(0, 5).join(', ')}${diffs.length > 5 ? ', …' : ''}`, paths: diffs };
    if (opts.repair && fs.existsSync(store.paths.blob(l.digest)) && !badBlobs.has(l.digest)) {
      const left = await reextract(store, l, recorded);
      p.repaired = true;
      if (left.length) p.message += `; extracted again from its blob, which gives a tree that differs from the recorded manifest (now rewritten) at: ${left.slice(0, 5).join(', ')}`;
    }
    problems.push(p);
  }
  const mounts = readMountInfo();
  for (const c of containers(store)) {
    if (c.chain && !store.hasLayer(c.chain)) problems.push({ kind: 'container', id: c.id, message: `its chain ${c.chain} is missing` });
    else if (c.chain) {
      try {
        store.chainSync(c.chain);
      } catch (e) {
        problems.push({ kind: 'container', id: c.id, message: `its chain is broken: ${(e as Error).message}` });
      }
    }
    if (c.driver === 'overlay') {
      const merged = store.paths.containerMerged(c.id);
      const mounted = mounts.some((m) => m.mountPoint === merged);
      if (c.state === 'mounted' && !mounted) problems.push({ kind: 'mount', id: c.id, message: `recorded as mounted, but ${merged} is not in /proc/self/mountinfo` });
      if (c.state !== 'mounted' && mounted) problems.push({ kind: 'mount', id: c.id, message: `${merged} is mounted, but the container is recorded as ${c.state}` });
    }
  }
  for (const i of images(store)) if (i.chain && !store.hasLayer(i.chain)) problems.push({ kind: 'image', id: i.name, message: `its chain ${i.chain} is missing` });
  for (const t of staleTemps(store)) {
    const p: FsckProblem = { kind: 'temporary', id: path.relative(store.root, t), message: 'a temporary record file left by a write that failed or was killed' };
    if (opts.repair) {
      fs.rmSync(t, { force: true });
      p.repaired = true;
    }
    problems.push(p);
  }
  return { blobs: blobs.length, layers: layers.length, containers: containers(store).length, problems };
}

/**
 * Extracts a layer again from its blob, on its lower chain (implicit parent directories take the
 * chain's metadata, as at import), checks the DiffID, gives what the tar does not say (the times
 * of directories it has no entry for) the recorded metadata, then swaps the new directory in.
 * Returns what still differs from the record; the blob is the truth, so the manifest is then
 * written again from the new directory.
 */
async function reextract(store: StoreCore, l: LayerRecord, recorded: ManifestLine[]): Promise<string[]> {
  const staging = store.makeStaging('repair');
  try {
    const diff = path.join(staging, 'diff');
    fs.mkdirSync(diff);
    const r = await applyLayer(store.paths.blob(l.digest), diff, { whiteout: store.whiteout, lowerDirs: store.layerDirs(l.parent) });
    if (r.diffId !== l.diffId) throw new Error(`the blob of ${l.chainId} does not give its DiffID (${r.diffId})`);
    const old = store.paths.layerDiff(l.chainId);
    const aside = path.join(staging, 'old');
    if (fs.existsSync(old)) fs.renameSync(old, aside);
    fs.renameSync(diff, old);
    restoreRecordedMetadata(old, recorded); // after the rename, which may touch the directory itself
    const left = compareLayerManifest(recorded, layerManifestSync(old));
    if (left.length || recorded[0]?.length !== 10) writeLayerManifestSync(old, store.paths.layerManifest(l.chainId));
    return left;
  } finally {
    await store.discard(staging);
  }
}

export interface GcReport {
  layers: string[];
  blobs: string[];
  bytes: number;
}

function duBytes(p: string): number {
  let n = 0;
  const walk = (q: string) => {
    const st = fs.lstatSync(fsPath(q));
    n += st.blocks * 512;
    if (st.isDirectory()) for (const c of readdirNamesSync(q)) walk(path.join(q, c));
  };
  if (fs.existsSync(p)) walk(p);
  return n;
}

/** What uses a layer: containers on it, images of it, layers above it. */
export function layerUsers(store: StoreCore, chainId: string): string[] {
  const users: string[] = [];
  for (const c of containers(store)) if (c.chain && store.chainSync(c.chain).some((l) => l.chainId === chainId)) users.push(`container ${c.id}`);
  for (const i of images(store)) if (i.chain && store.hasLayer(i.chain) && store.chainSync(i.chain).some((l) => l.chainId === chainId)) users.push(`image ${i.name}`);
  for (const hex of fs.readdirSync(store.paths.layersDir)) {
    const r = readJsonSync<LayerRecord>(path.join(store.paths.layersDir, hex, 'layer.json'));
    if (r?.parent === chainId) users.push(`layer ${r.chainId}`);
  }
  return users;
}

/** Removes a layer nothing uses: renamed aside at once, deleted in the background. */
export async function removeLayer(store: StoreCore, chainId: string): Promise<void> {
  const l = store.getLayerSync(chainId);
  const users = layerUsers(store, l.chainId);
  if (users.length) throw new InUseError(`layer ${l.chainId}`, users);
  await store.discard(store.paths.layer(l.chainId));
}

/**
 * Removes blobs no layer or image references and, with `layers`, layers that no image or
 * container reaches (top layers first, so a chain goes whole). Never one in use.
 */
export async function gc(store: StoreCore, opts: { layers?: boolean } = {}): Promise<GcReport> {
  const report: GcReport = { layers: [], blobs: [], bytes: 0 };
  if (opts.layers) {
    const reachable = new Set<string>();
    for (const root of [...containers(store).map((c) => c.chain), ...images(store).map((i) => i.chain)]) {
      if (!root || !store.hasLayer(root)) continue;
      for (const l of store.chainSync(root)) reachable.add(l.chainId);
    }
    let removed = true;
    while (removed) {
      removed = false;
      for (const l of await store.listLayers()) {
        if (reachable.has(l.chainId) || layerUsers(store, l.chainId).length) continue;
        report.bytes += duBytes(store.paths.layer(l.chainId));
        await store.discard(store.paths.layer(l.chainId));
        report.layers.push(l.chainId);
        removed = true;
      }
    }
  }
  for (const n of fs.readdirSync(store.paths.tmpDir).filter(isStale)) {
    report.bytes += duBytes(path.join(store.paths.tmpDir, n));
    await store.discard(path.join(store.paths.tmpDir, n));
  }
  for (const t of staleTemps(store)) {
    report.bytes += fs.statSync(t).size;
    fs.rmSync(t, { force: true });
  }
  const used = new Set((await store.listLayers()).map((l) => l.digest));
  for (const f of listRecordFiles(store.paths.imagesDir)) {
    const r = readJsonSync<{ layers?: Array<{ digest: string }> }>(path.join(store.paths.imagesDir, f));
    for (const l of r?.layers ?? []) used.add(l.digest);
  }
  for (const hex of fs.readdirSync(store.paths.blobsDir)) {
    if (used.has('sha256:' + hex)) continue;
    const p = path.join(store.paths.blobsDir, hex);
    report.bytes += fs.statSync(p).size;
    await store.discard(p);
    report.blobs.push('sha256:' + hex);
  }
  return report;
}

