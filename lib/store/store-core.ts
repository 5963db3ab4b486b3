import * as fs from 'fs';
import * as path from 'path';
import type { Readable } from 'stream';
import { chainId as computeChainId, parseDigest } from '../digest';
import { DigestMismatchError, NotFoundError, SizeMismatchError, InvalidArgumentError } from '../errors';
import type { FileRange } from '../tar/apply-layer';
import { probeWhiteoutFormat } from '../whiteout';
import { UnionView } from '../view';
import { StorePaths, defaultStoreDir } from './paths';
import { discard, isStale, stagingName } from './tmp';
import { ensurePrivateStore, PRIVATE_DIR_MODE } from './private';
import { layerByteLimit, LayerByteLimit, StoreLimits } from './limits';
import { withStoreLock, StoreLockMode, StoreLockOptions } from './lock';
import { readJsonSync, writeJsonAtomicSync, fsyncTreeSync, fsyncDirSync, noSpace } from './records';
import type { FsckReport, GcReport } from './check';
import { MEDIA_TYPES, Compression, LayerRecord, LayerRef, OperationOptions, WhiteoutFormatName } from './types';

// The applier (worker plumbing), fsck and the manifest writer load on first use: a CLI that
// only creates or mounts a container opens the store without them.
const applier = () => require('../tar/apply-layer') as typeof import('../tar/apply-layer');
const checks = () => require('./check') as typeof import('./check');

export interface StoreConfig {
  version: 1;
  whiteout: WhiteoutFormatName;
  /** per-kernel facts probed once (overlay options the kernel accepts, ...) */
  probes?: Record<string, unknown>;
  /** safety limits of this store (see lib/store/limits.ts) */
  limits?: StoreLimits;
}

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

export interface OpenOptions {
  /** whiteout format of a new store; default: overlay when this process can create overlay whiteouts, else oci */
  whiteout?: WhiteoutFormatName;
  /** hears what the user should know about the store (it could not be made private, ...); also kept in `store.warnings` */
  onWarning?: (message: string) => void;
}

/**
 * The layer half of the store: blobs, unpacked layers and their records. Everything is built in
 * tmp/ and renamed into place, so a layer or blob is visible only when complete; the rename of
 * the layer directory is also what makes two concurrent imports of one layer yield one layer.
 */
export class StoreCore {
  readonly paths: StorePaths;
  /** what opening the store found that the user should know (see OpenOptions.onWarning) */
  readonly warnings: string[] = [];

  constructor(readonly root: string, readonly config: StoreConfig) {
    this.paths = new StorePaths(root);
  }

  get whiteout(): WhiteoutFormatName {
    return this.config.whiteout;
  }

  /** Opens (creating if needed) the store at `dir` (default: $LAYERFS_STORE, $XDG_DATA_HOME/layerfs, ~/.local/share/layerfs). */
  static async open<T extends StoreCore>(this: new (root: string, config: StoreConfig) => T, dir?: string, opts: OpenOptions = {}): Promise<T> {
    const root = path.resolve(dir ?? defaultStoreDir());
    const paths = new StorePaths(root);
    const privacy = ensurePrivateStore(paths);
    let config = readJsonSync<StoreConfig>(paths.configFile);
    if (!config) {
      const staging = path.join(paths.tmpDir, stagingName('probe'));
      fs.mkdirSync(staging, { mode: PRIVATE_DIR_MODE });
      try {
        config = { version: 1, whiteout: opts.whiteout ?? probeWhiteoutFormat(staging) };
      } finally {
        fs.rmSync(staging, { recursive: true, force: true });
      }
      try {
        // the first process to create the store decides its format
        fs.writeFileSync(paths.configFile, JSON.stringify(config, null, 2) + '\n', { flag: 'wx' });
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
        config = readJsonSync<StoreConfig>(paths.configFile)!;
      }
    }
    const store = new this(root, config);
    for (const m of privacy.problems) {
      store.warnings.push(m);
      opts.onWarning?.(m);
    }
    await store.reconcile();
    return store;
  }

  /** Brings the store back to a consistent state after a crash: stale staging is reaped. Subclasses add their own. */
  protected async reconcile(): Promise<void> {
    const stale = fs.readdirSync(this.paths.tmpDir).filter(isStale);
    await Promise.all(stale.map((n) => discard(this.paths.tmpDir, path.join(this.paths.tmpDir, n))));
  }

  /** Saves a probe result in store.json (merged with what other processes saved). */
  saveProbe(key: string, value: unknown): void {
    const current = readJsonSync<StoreConfig>(this.paths.configFile) ?? this.config;
    current.probes = { ...(current.probes ?? {}), [key]: value };
    this.config.probes = current.probes;
    writeJsonAtomicSync(this.paths.configFile, current);
  }

  /** A fresh staging directory under tmp/, owner-only (it becomes a layer's or a container's directory). */
  makeStaging(kind: string): string {
    const dir = path.join(this.paths.tmpDir, stagingName(kind));
    fs.mkdirSync(dir, { mode: PRIVATE_DIR_MODE });
    return dir;
  }

  /** How big one layer may get uncompressed here (an option, LAYERFS_MAX_LAYER_BYTES, store.json, else the free space). */
  layerByteLimit(option?: number): LayerByteLimit {
    return layerByteLimit(this.paths.tmpDir, this.config.limits, option);
  }

  /** The tar limits an untrusted layer is applied with in this store. */
  tarLimits(maxUncompressedBytes?: number): { maxUncompressedBytes: number; maxUncompressedSource: string } {
    const l = this.layerByteLimit(maxUncompressedBytes);
    return { maxUncompressedBytes: l.bytes, maxUncompressedSource: l.source };
  }

  /** Moves a path aside and deletes it in the background. */
  discard(target: string): Promise<void> {
    return discard(this.paths.tmpDir, target);
  }

  /**
   * Imports a layer tarball (gzip, zstd or plain, detected by its bytes) on top of `parent`.
   * The blob is kept as received, so exportLayer gives back the same bytes.
   */
  importLayer(input: Readable | string | FileRange, opts: ImportLayerOptions = {}): Promise<LayerRef> {
    return this.withLock('shared', () => this.importLayerLocked(input, opts), { signal: opts.signal });
  }

  /**
   * Runs `fn` holding the store lock: `shared` for what adds to the store or relies on its
   * contents (import, create, commit, remove, build), `exclusive` for what deletes what seems
   * unreferenced (gc, rmi). See lib/store/lock.ts.
   */
  withLock<T>(mode: StoreLockMode, fn: () => Promise<T>, opts: StoreLockOptions = {}): Promise<T> {
    return withStoreLock(this.paths.lockFile, mode, fn, opts);
  }

  private async importLayerLocked(input: Readable | string | FileRange, opts: ImportLayerOptions): Promise<LayerRef> {
    const parent = opts.parent ? parseDigest(opts.parent, 'parent ChainID') : null;
    const later = parent !== null && opts.parentReady !== undefined;
    if (parent && !later) this.getLayerSync(parent);
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
    const staging = this.makeStaging('layer');
    try {
      const diffDir = path.join(staging, 'diff');
      const blobTmp = path.join(staging, 'blob');
      fs.mkdirSync(diffDir);
      const r = await applyLayer(input, diffDir, {
        whiteout: this.whiteout,
        blobPath: blobTmp,
        signal: opts.signal,
        onProgress: opts.onProgress,
        total,
        durable: opts.durable,
        manifestPath: path.join(staging, 'manifest.json'),
        limits: this.tarLimits(opts.maxUncompressedBytes),
        lowerDirs: later
          ? async () => {
              opts.onWritten?.();
              await opts.parentReady;
              return this.layerDirs(parent);
            }
          : this.layerDirs(parent),
      }).catch((e) => {
        throw noSpace(e, `importing ${typeof input === 'string' ? input : 'a layer'}`);
      });
      if (!later) opts.onWritten?.();
      const what = opts.what ?? (typeof input === 'string' ? input : 'layer');
      if (opts.expectSize !== undefined && opts.expectSize !== r.size) throw new SizeMismatchError(what, opts.expectSize, r.size);
      if (opts.expectDigest && opts.expectDigest !== r.digest) throw new DigestMismatchError(`${what}: blob digest`, opts.expectDigest, r.digest);
      if (opts.expectDiffId && opts.expectDiffId !== r.diffId) throw new DigestMismatchError(`${what}: DiffID (rootfs.diff_ids)`, opts.expectDiffId, r.diffId);
      const record = newLayerRecord(parent, r, this.whiteout);
      return this.publishLayer(staging, blobTmp, record, opts.durable);
    } finally {
      await this.discard(staging);
    }
  }

  /**
   * Publishes a staged layer: `staging` holds diff/ and the blob at `blobTmp`. The blob goes in
   * first (a visible layer always has its blob), then the layer directory is renamed into place;
   * if another process won the race, its layer is the one kept.
   */
  publishLayer(staging: string, blobTmp: string | null, record: LayerRecord, durable = false): LayerRef {
    if (durable) fsyncTreeSync(staging); // files, then directories, before the renames below
    if (blobTmp) this.publishBlob(blobTmp, record.digest, durable);
    // what fsck later holds the unpacked layer against
    if (!fs.existsSync(path.join(staging, 'manifest.json'))) (require('./layer-manifest') as typeof import('./layer-manifest')).writeLayerManifestSync(path.join(staging, 'diff'), path.join(staging, 'manifest.json'));
    writeJsonAtomicSync(path.join(staging, 'layer.json'), record, durable);
    const dest = this.paths.layer(record.chainId);
    try {
      fs.renameSync(staging, dest);
      if (durable) fsyncDirSync(this.paths.layersDir);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw e;
      return refOf(this.getLayerSync(record.chainId));
    }
    return refOf(record);
  }

  /** Moves a complete blob file into blobs/ (the same digest means the same bytes, so an existing one is kept). */
  publishBlob(file: string, digest: string, durable = false): void {
    const dest = this.paths.blob(digest);
    if (fs.existsSync(dest)) return;
    fs.renameSync(file, dest);
    if (durable) fsyncDirSync(this.paths.blobsDir);
  }

  hasLayer(chainId: string): boolean {
    return fs.existsSync(this.paths.layerRecord(parseDigest(chainId, 'ChainID')));
  }

  getLayerSync(chainId: string): LayerRecord {
    const id = parseDigest(chainId, 'ChainID');
    const r = readJsonSync<LayerRecord>(this.paths.layerRecord(id));
    if (!r) throw new NotFoundError(id, `no layer with ChainID ${id} in the store`);
    return r;
  }

  async getLayer(chainId: string): Promise<LayerRecord> {
    return this.getLayerSync(chainId);
  }

  async listLayers(): Promise<LayerRecord[]> {
    const out: LayerRecord[] = [];
    for (const hex of fs.readdirSync(this.paths.layersDir)) {
      const r = readJsonSync<LayerRecord>(path.join(this.paths.layersDir, hex, 'layer.json'));
      if (r) out.push(r);
    }
    return out.sort((a, b) => a.created.localeCompare(b.created) || a.chainId.localeCompare(b.chainId));
  }

  /** The chain ending at `chainId`, bottom layer first. */
  chainSync(chainId: string): LayerRecord[] {
    const out: LayerRecord[] = [];
    let cur: string | null = parseDigest(chainId, 'ChainID');
    while (cur) {
      const r = this.getLayerSync(cur);
      out.push(r);
      cur = r.parent;
    }
    return out.reverse();
  }

  async chain(chainId: string): Promise<LayerRecord[]> {
    return this.chainSync(chainId);
  }

  /** The unpacked directories of a chain, bottom first. */
  layerDirs(chainId: string | null): string[] {
    return chainId ? this.chainSync(chainId).map((l) => this.paths.layerDiff(l.chainId)) : [];
  }

  /** A read-only union view of the chain, with no mount. */
  view(chainId: string | null): UnionView {
    return new UnionView(this.layerDirs(chainId), this.whiteout);
  }

  /** The layer tarball exactly as it was imported or committed: same bytes, same digest. */
  exportLayer(chainId: string): Readable {
    const r = this.getLayerSync(chainId);
    const blob = this.paths.blob(r.digest);
    if (!fs.existsSync(blob)) throw new NotFoundError(r.digest, `the blob ${r.digest} of layer ${r.chainId} is missing from the store`);
    return fs.createReadStream(blob, { highWaterMark: 4 << 20 });
  }

  /** Verifies blobs, layers (against their manifests), containers and mounts; `repair` re-extracts damaged layers. */
  fsck(opts: { repair?: boolean } = {}): Promise<FsckReport> {
    return checks().fsck(this, opts);
  }

  /**
   * Removes what nothing references (blobs; with `layers`, unreachable layers) and reports what it
   * freed. It holds the store lock exclusive: it waits for running imports, creates, commits and
   * removes (at most `lockTimeout` ms, default 60 s, then LAYERFS_BUSY).
   */
  gc(opts: { layers?: boolean; lockTimeout?: number; onWait?: () => void } = {}): Promise<GcReport> {
    return this.withLock('exclusive', () => checks().gc(this, opts), { timeoutMs: opts.lockTimeout, onWait: opts.onWait });
  }

  /** Removes a layer; fails with LAYERFS_IN_USE while a container, image or layer above uses it. Exclusive, as gc. */
  removeLayer(chainId: string, opts: { lockTimeout?: number; onWait?: () => void } = {}): Promise<void> {
    return this.withLock('exclusive', () => checks().removeLayer(this, chainId), { timeoutMs: opts.lockTimeout, onWait: opts.onWait });
  }
}

export { noSpace };

/** The record of a new layer on `parent`, from what packing or applying it measured. */
export function newLayerRecord(parent: string | null, r: { diffId: string; digest: string; size: number; uncompressedSize: number; entries: number; compression: Compression }, whiteout: WhiteoutFormatName): LayerRecord {
  return {
    chainId: computeChainId(parent, r.diffId),
    diffId: r.diffId,
    parent,
    digest: r.digest,
    mediaType: MEDIA_TYPES[r.compression],
    size: r.size,
    compression: r.compression,
    uncompressedSize: r.uncompressedSize,
    entries: r.entries,
    whiteout,
    created: new Date().toISOString(),
  };
}

export function refOf(r: LayerRecord): LayerRef {
  return { diffId: r.diffId, chainId: r.chainId, digest: r.digest, mediaType: r.mediaType, size: r.size };
}
