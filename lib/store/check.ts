import * as fs from 'fs';
import * as path from 'path';
import { fsPath, readdirNamesSync } from '../names';
import { sha256OfFile } from '../digest';
import { InUseError } from '../errors';
import type { StorePaths } from './paths';
import { listRecordFiles, readJsonSync, staleRecordTemps } from './records';
import { isStale } from './tmp';
import { checkPrivateStore, currentViewer } from './private';
import { inUserNamespace } from '../userns/identity';
import { compareContentIndex, contentIndexSync, readContentIndexSync } from './content-index';
import type { IndexLine } from './content-index';
import type { CompressedForm, LayerRecord } from './types';

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

export interface GcReport {
  layers: string[];
  blobs: string[];
  bytes: number;
}

/** One record of a part above the store that holds on to a chain (and to blobs): a container, an image. */
export interface StoreUser {
  kind: 'container' | 'image';
  id: string;
  chain: string | null;
  /** blobs it names besides its chain's (an image's layer blobs) */
  blobs?: string[];
}

/**
 * What a part above the store adds to fsck, gc and removeLayer: the store knows its own records
 * only, so each part that keeps records on layers (containers, images) says which chains and
 * blobs they hold, and checks what only it understands (a container's mount).
 */
export interface StoreContributor {
  users(): StoreUser[];
  /** problems of this part's own records, after their chains were checked */
  check?(problems: FsckProblem[]): void;
}

/** What the checks need of a store (StoreCore has it; given as an interface so this module stays below it). */
export interface CheckedStore {
  readonly root: string;
  readonly paths: StorePaths;
  listLayers(): Promise<LayerRecord[]>;
  hasLayer(chainId: string): boolean;
  getLayerSync(chainId: string): LayerRecord;
  chainSync(chainId: string): LayerRecord[];
  discard(target: string): Promise<void>;
}

/**
 * Extracts a damaged layer again from its blob and returns what still differs from `recorded`;
 * given by the part that can apply a tar (lib/layers), null where no one can.
 */
export type Reextract = (l: LayerRecord, recorded: IndexLine[]) => Promise<string[]>;

/** Temporaries of record writes whose writer is gone: beside store.json, image records and container records. */
function staleTemps(store: CheckedStore): string[] {
  const dirs = [store.root, store.paths.imagesDir, store.paths.originsDir, ...fs.readdirSync(store.paths.containersDir).map((id) => store.paths.container(id))];
  return dirs.flatMap((d) => (fs.statSync(d, { throwIfNoEntry: false })?.isDirectory() ? staleRecordTemps(d).map((n) => path.join(d, n)) : []));
}

/**
 * Verifies every blob against its digest, every unpacked layer against the manifest recorded
 * when it was published, and the chain of every user the contributors name; then each
 * contributor checks its own records. With `repair`, a damaged layer is extracted again from its
 * blob (by `reextract`) and stale temporaries are removed.
 */
export async function fsck(store: CheckedStore, parts: StoreContributor[], opts: { repair?: boolean; reextract?: Reextract | null } = {}): Promise<FsckReport> {
  const reextract = opts.repair ? opts.reextract : null;
  const problems: FsckProblem[] = [];
  // open tightened what it could: what is left here, this process cannot fix
  for (const m of checkPrivateStore(store.paths, currentViewer(inUserNamespace())).problems) problems.push({ kind: 'store', id: store.root, message: `not private: ${m}` });
  const blobs = fs.readdirSync(store.paths.blobsDir);
  const badBlobs = new Set<string>();
  for (const hex of blobs) {
    const seen = await sha256OfFile(path.join(store.paths.blobsDir, hex));
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
    const mf = store.paths.contentIndex(l.chainId);
    if (!fs.existsSync(mf)) {
      problems.push({ kind: 'layer', id: l.chainId, message: 'it has no manifest to check against' });
      continue;
    }
    const recorded = readContentIndexSync(mf);
    const diffs = fs.existsSync(dir) ? compareContentIndex(recorded, contentIndexSync(dir)) : ['removed /'];
    if (!diffs.length) continue;
    const p: FsckProblem = { kind: 'layer', id: l.chainId, message: `the unpacked layer differs from its manifest: ${diffs.slice(0, 5).join(', ')}${diffs.length > 5 ? ', …' : ''}`, paths: diffs };
    if (reextract && fs.existsSync(store.paths.blob(l.digest)) && !badBlobs.has(l.digest)) {
      const left = await reextract(l, recorded);
      p.repaired = true;
      if (left.length) p.message += `; extracted again from its blob, which gives a tree that differs from the recorded manifest (now rewritten) at: ${left.slice(0, 5).join(', ')}`;
    }
    problems.push(p);
  }
  let containers = 0;
  for (const part of parts) {
    for (const u of part.users()) {
      if (u.kind === 'container') containers++;
      if (u.chain && !store.hasLayer(u.chain)) problems.push({ kind: u.kind, id: u.id, message: `its chain ${u.chain} is missing` });
      else if (u.chain) {
        try {
          store.chainSync(u.chain);
        } catch (e) {
          problems.push({ kind: u.kind, id: u.id, message: `its chain is broken: ${(e as Error).message}` });
        }
      }
    }
    part.check?.(problems);
  }
  for (const t of staleTemps(store)) {
    const p: FsckProblem = { kind: 'temporary', id: path.relative(store.root, t), message: 'a temporary record file left by a write that failed or was killed' };
    if (opts.repair) {
      fs.rmSync(t, { force: true });
      p.repaired = true;
    }
    problems.push(p);
  }
  return { blobs: blobs.length, layers: layers.length, containers, problems };
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

/** What uses a layer: the contributors' users on a chain through it, layers above it. */
export function layerUsers(store: CheckedStore, parts: StoreContributor[], chainId: string): string[] {
  const users: string[] = [];
  for (const u of parts.flatMap((p) => p.users())) {
    if (u.chain && store.hasLayer(u.chain) && store.chainSync(u.chain).some((l) => l.chainId === chainId)) users.push(`${u.kind} ${u.id}`);
  }
  for (const hex of fs.readdirSync(store.paths.layersDir)) {
    const r = readJsonSync<LayerRecord>(path.join(store.paths.layersDir, hex, 'layer.json'));
    if (r?.parent === chainId) users.push(`layer ${r.chainId}`);
  }
  return users;
}

/** Removes a layer nothing uses: renamed aside at once, deleted in the background. */
export async function removeLayer(store: CheckedStore, parts: StoreContributor[], chainId: string): Promise<void> {
  const l = store.getLayerSync(chainId);
  const users = layerUsers(store, parts, l.chainId);
  if (users.length) throw new InUseError(`layer ${l.chainId}`, users);
  await store.discard(store.paths.layer(l.chainId));
}

/**
 * Removes blobs no layer or user references and, with `layers`, layers that no user reaches
 * (top layers first, so a chain goes whole). Never one in use.
 */
export async function gc(store: CheckedStore, parts: StoreContributor[], opts: { layers?: boolean } = {}): Promise<GcReport> {
  const report: GcReport = { layers: [], blobs: [], bytes: 0 };
  const users = parts.flatMap((p) => p.users());
  if (opts.layers) {
    const reachable = new Set<string>();
    for (const u of users) {
      if (!u.chain || !store.hasLayer(u.chain)) continue;
      for (const l of store.chainSync(u.chain)) reachable.add(l.chainId);
    }
    let removed = true;
    while (removed) {
      removed = false;
      for (const l of await store.listLayers()) {
        if (reachable.has(l.chainId) || layerUsers(store, parts, l.chainId).length) continue;
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
  const used = new Set<string>();
  for (const l of await store.listLayers()) {
    used.add(l.digest);
    // a deferred layer's compressed blob, made for an export or push (its record is written before the blob)
    if (l.deferred) for (const d of compressedDigests(store.paths.layer(l.chainId))) used.add(d);
  }
  for (const u of users) for (const b of u.blobs ?? []) used.add(b);
  for (const hex of fs.readdirSync(store.paths.blobsDir)) {
    if (used.has('sha256:' + hex)) continue;
    const p = path.join(store.paths.blobsDir, hex);
    report.bytes += fs.statSync(p).size;
    await store.discard(p);
    report.blobs.push('sha256:' + hex);
  }
  // partial downloads are kept for a resume only until a gc
  for (const f of fs.existsSync(store.paths.downloadsDir) ? fs.readdirSync(store.paths.downloadsDir) : []) {
    const p = path.join(store.paths.downloadsDir, f);
    report.bytes += fs.statSync(p).size;
    fs.rmSync(p, { force: true });
  }
  // where a blob came from is worth keeping only while the store has the blob
  for (const f of fs.existsSync(store.paths.originsDir) ? listRecordFiles(store.paths.originsDir) : []) {
    if (!fs.existsSync(path.join(store.paths.blobsDir, f.replace(/\.json$/, '')))) fs.rmSync(path.join(store.paths.originsDir, f), { force: true });
  }
  return report;
}

/** The digests of the compressed forms recorded in a layer's directory (compressed-<kind>.json). */
function compressedDigests(layerDir: string): string[] {
  const out: string[] = [];
  for (const n of fs.readdirSync(layerDir)) {
    if (!/^compressed-[a-z0-9]+\.json$/.test(n)) continue;
    const f = readJsonSync<CompressedForm>(path.join(layerDir, n));
    if (f && typeof f.digest === 'string') out.push(f.digest);
  }
  return out;
}
