import * as fs from 'fs';
import * as path from 'path';
import type { Readable } from 'stream';
import { chainId as computeChainId, parseDigest } from '../digest';
import { NotFoundError, UserNamespaceError } from '../errors';
import { currentIdentity, identityMismatch, StoreIdentity } from '../userns/identity';
import { holderMismatch } from '../userns/holder';
import { StorePaths, defaultStoreDir } from './paths';
import { keepPartialDownload, reapBlobLocks } from './downloads';
import { discard, isStale, stagingName } from './tmp';
import { currentViewer, ensurePrivateStore, PRIVATE_DIR_MODE } from './private';
import { isIdentity } from '../userns/idmap';
import { unprivilegedHost } from '../userns/owner-xattr';
import { layerByteLimit, LayerByteLimit, StoreLimits } from './limits';
import { withStoreLock, StoreLockMode, StoreLockOptions } from './lock';
import { readJsonSync, writeJsonAtomicSync, fsyncTreeSync, fsyncDirSync, noSpace } from './records';
import type { FsckReport, GcReport, Reextract, StoreContributor } from './check';
import { MEDIA_TYPES, Compression, LayerRecord, LayerRef, WhiteoutFormatName } from './types';
import { lazy } from '../lazy';

const checks = lazy<typeof import('./check')>(() => require('./check'));
const contentIndexModule = lazy<typeof import('./content-index')>(() => require('./content-index'));

// fsck and the manifest writer load on first use: a CLI that only creates or mounts a container
// opens the store without them.

export interface StoreConfig {
  version: 1;
  whiteout: WhiteoutFormatName;
  /** per-kernel facts probed once (overlay options the kernel accepts, ...) */
  probes?: Record<string, unknown>;
  /** safety limits of this store (see lib/store/limits.ts) */
  limits?: StoreLimits;
  /** who made the store, and in which id mapping (a user namespace, or none): owners on disk are ids of it */
  identity?: StoreIdentity;
  /**
   * `xattr`: made by an ordinary user with no user namespace, so the image's owners and devices
   * are kept in xattrs (single-uid mode without a namespace, lib/userns/owner-xattr.ts). A store
   * of such a user without it was made before, and its layers kept no owners.
   */
  owners?: 'xattr';
}

export interface OpenOptions {
  /** whiteout format of a new store; default: overlay when this process can create overlay whiteouts, else oci */
  whiteout?: WhiteoutFormatName;
  /** hears what the user should know about the store (it could not be made private, ...); also kept in `store.warnings` */
  onWarning?: (message: string) => void;
}

/** ensurePrivateStore, with a store of another user said as such (EACCES on its root or store.json). */
function ensurePrivateStoreAs(paths: StorePaths, identity: StoreIdentity): ReturnType<typeof ensurePrivateStore> {
  const viewer = currentViewer(!isIdentity(identity.uids));
  try {
    const report = ensurePrivateStore(paths, viewer);
    fs.accessSync(paths.configFile, fs.constants.R_OK);
    return report;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return ensurePrivateStore(paths, viewer);
    if (code !== 'EACCES' && code !== 'EPERM') throw e;
    let owner = '';
    for (let d = paths.root; ; d = path.dirname(d)) {
      const st = fs.statSync(d, { throwIfNoEntry: false });
      if (st) {
        owner = st.uid === 0 ? ' (it was made by root)' : ` (it belongs to uid ${st.uid})`;
        break;
      }
      if (path.dirname(d) === d) break;
    }
    throw new UserNamespaceError(`the store ${paths.root} cannot be opened by uid ${identity.uid}${owner}: ${(e as Error).message}; each user has a store of their own (the default is ~/.local/share/layerfs)`);
  }
}

/** What `open` needs of the class it opens: a constructor and the whiteout format of a new store. */
export interface StoreClass<T> {
  new (root: string, config: StoreConfig): T;
  newStoreWhiteout(probeDir: string): WhiteoutFormatName;
}

/**
 * The bottom of the store: its layout, blobs, unpacked layers and their records, the lock, and
 * queries. Everything is built in tmp/ and renamed into place, so a layer or blob is visible only
 * when complete; the rename of the layer directory is also what makes two concurrent imports of
 * one layer yield one layer. It knows nothing of tar, views, whiteouts, containers or images:
 * lib/layers adds import and views, and the class that is opened (LayerStore) names the records
 * above that hold on to layers, which fsck, gc and removeLayer must know.
 */
export abstract class StoreCore {
  /** @internal every path of the store's layout (lib/store/paths.ts); not part of the public face */
  readonly paths: StorePaths;
  /** what opening the store found that the user should know (see OpenOptions.onWarning) */
  readonly warnings: string[] = [];

  constructor(readonly root: string, /** @internal store.json as read at open */ readonly config: StoreConfig) {
    this.paths = new StorePaths(root);
  }

  get whiteout(): WhiteoutFormatName {
    return this.config.whiteout;
  }

  /**
   * @internal how a layer is applied into this store: `true` in a store of an ordinary user with
   * no user namespace (store.json `owners: "xattr"`), whose owners and devices go in xattrs;
   * otherwise the default (chown as root).
   */
  get applyOwners(): true | undefined {
    return this.config.owners === 'xattr' ? true : undefined;
  }

  /** Opens (creating if needed) the store at `dir` (default: $LAYERFS_STORE, $XDG_DATA_HOME/layerfs, ~/.local/share/layerfs). */
  static async open<T extends StoreCore>(this: StoreClass<T>, dir?: string, opts: OpenOptions = {}): Promise<T> {
    const root = path.resolve(dir ?? defaultStoreDir());
    const paths = new StorePaths(root);
    const identity = currentIdentity();
    const privacy = ensurePrivateStoreAs(paths, identity);
    let config = readJsonSync<StoreConfig>(paths.configFile);
    if (!config) {
      const staging = path.join(paths.tmpDir, stagingName('probe'));
      fs.mkdirSync(staging, { mode: PRIVATE_DIR_MODE });
      try {
        config = { version: 1, whiteout: opts.whiteout ?? this.newStoreWhiteout(staging), identity, ...(unprivilegedHost() ? { owners: 'xattr' as const } : {}) };
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
    if (config.identity) {
      const mismatch = identityMismatch(config.identity, identity);
      if (mismatch) throw new UserNamespaceError(`${root}: ${mismatch}`);
    }
    const entered = holderMismatch(root);
    if (entered) throw new UserNamespaceError(entered);
    // a store made before the record opens as it always did, in a user namespace too (root in a rootless container)
    const store = new this(root, config);
    const problems = [...privacy.problems];
    if (config.identity && config.identity.uid !== 0 && isIdentity(config.identity.uids) && config.owners !== 'xattr') {
      problems.push(`the store ${root} was made without a user namespace before owners were kept in xattrs: the files of its layers have uid ${config.identity.uid} as their owner and kept no other, so a diff, commit or export gives 0:0 for them; import the images into a new store to keep their owners`);
    }
    for (const m of problems) {
      store.warnings.push(m);
      opts.onWarning?.(m);
    }
    await store.reconcile();
    return store;
  }

  /** The whiteout format a new store gets when none is asked for; `probeDir` is a scratch directory on the store's filesystem. */
  static newStoreWhiteout(_probeDir: string): WhiteoutFormatName {
    return 'oci'; // needs nothing of the kernel; lib/layers probes for better
  }

  /** The records above the store that hold on to layers (containers, images): what fsck, gc and removeLayer ask. */
  protected abstract contributors(): StoreContributor[];

  /** Extracts a damaged layer again from its blob (fsck --repair); null: this store cannot apply a tar. */
  protected reextractor(): Reextract | null {
    return null;
  }

  /** Brings the store back to a consistent state after a crash: stale staging is reaped. Subclasses add their own. */
  protected async reconcile(): Promise<void> {
    const stale = fs.readdirSync(this.paths.tmpDir).filter(isStale);
    for (const n of stale) keepPartialDownload(this.paths, path.join(this.paths.tmpDir, n));
    await Promise.all(stale.map((n) => discard(this.paths.tmpDir, path.join(this.paths.tmpDir, n))));
    reapBlobLocks(this.paths);
  }

  /** @internal Saves a probe result in store.json (merged with what other processes saved). */
  saveProbe(key: string, value: unknown): void {
    const current = readJsonSync<StoreConfig>(this.paths.configFile) ?? this.config;
    current.probes = { ...(current.probes ?? {}), [key]: value };
    this.config.probes = current.probes;
    writeJsonAtomicSync(this.paths.configFile, current);
  }

  /** @internal A fresh staging directory under tmp/, owner-only (it becomes a layer's or a container's directory). */
  makeStaging(kind: string): string {
    const dir = path.join(this.paths.tmpDir, stagingName(kind));
    fs.mkdirSync(dir, { mode: PRIVATE_DIR_MODE });
    return dir;
  }

  /** @internal How big one layer may get uncompressed here (an option, LAYERFS_MAX_LAYER_BYTES, store.json, else the free space). */
  layerByteLimit(option?: number): LayerByteLimit {
    return layerByteLimit(this.paths.tmpDir, this.config.limits, option);
  }

  /** @internal The tar limits an untrusted layer is applied with in this store. */
  tarLimits(maxUncompressedBytes?: number): { maxUncompressedBytes: number; maxUncompressedSource: string } {
    const l = this.layerByteLimit(maxUncompressedBytes);
    return { maxUncompressedBytes: l.bytes, maxUncompressedSource: l.source };
  }

  /** @internal Moves a path aside and deletes it in the background. */
  discard(target: string): Promise<void> {
    return discard(this.paths.tmpDir, target);
  }

  /**
   * @internal
   * Runs `fn` holding the store lock: `shared` for what adds to the store or relies on its
   * contents (import, create, commit, remove, build), `exclusive` for what deletes what seems
   * unreferenced (gc, rmi). See lib/store/lock.ts.
   */
  withLock<T>(mode: StoreLockMode, fn: () => Promise<T>, opts: StoreLockOptions = {}): Promise<T> {
    return withStoreLock(this.paths.lockFile, mode, fn, opts);
  }

  /**
   * @internal
   * Publishes a staged layer: `staging` holds diff/ and the blob at `blobTmp`. The blob goes in
   * first (a visible layer always has its blob), then the layer directory is renamed into place;
   * if another process won the race, its layer is the one kept.
   */
  publishLayer(staging: string, blobTmp: string | null, record: LayerRecord, durable = false): LayerRef {
    if (durable) fsyncTreeSync(staging); // files, then directories, before the renames below
    if (blobTmp) this.publishBlob(blobTmp, record.digest, durable);
    // what fsck later holds the unpacked layer against
    if (!fs.existsSync(path.join(staging, 'manifest.json'))) contentIndexModule().writeContentIndexSync(path.join(staging, 'diff'), path.join(staging, 'manifest.json'));
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

  /** @internal Moves a complete blob file into blobs/ (the same digest means the same bytes, so an existing one is kept). */
  publishBlob(file: string, digest: string, durable = false): void {
    const dest = this.paths.blob(digest);
    if (fs.existsSync(dest)) return;
    fs.renameSync(file, dest);
    if (durable) fsyncDirSync(this.paths.blobsDir);
  }

  hasLayer(chainId: string): boolean {
    return fs.existsSync(this.paths.layerRecord(parseDigest(chainId, 'ChainID')));
  }

  /** @internal the sync form (workers, the CLI's fast path); the public one is getLayer */
  getLayerSync(chainId: string): LayerRecord {
    const id = parseDigest(chainId, 'ChainID');
    const r = readJsonSync<LayerRecord>(this.paths.layerRecord(id));
    if (!r) throw new NotFoundError(id, `no layer with ChainID ${id} in the store`);
    return r;
  }

  /** The record of the layer `chainId` (LAYERFS_NOT_FOUND when the store has none). */
  async getLayer(chainId: string): Promise<LayerRecord> {
    return this.getLayerSync(chainId);
  }

  async listLayers(): Promise<LayerRecord[]> {
    const out: LayerRecord[] = [];
    for (const hex of fs.readdirSync(this.paths.layersDir)) {
      const r = readJsonSync<LayerRecord>(path.join(this.paths.layersDir, hex, 'layer.json'));
      if (r) out.push(r);
    }
    return out.sort((a, b) => (a.created < b.created ? -1 : a.created > b.created ? 1 : a.chainId < b.chainId ? -1 : a.chainId > b.chainId ? 1 : 0));
  }

  /** @internal The chain ending at `chainId`, bottom layer first: the sync form of chain(). */
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

  /** The chain ending at `chainId`, bottom layer first. */
  async chain(chainId: string): Promise<LayerRecord[]> {
    return this.chainSync(chainId);
  }

  /** @internal The unpacked directories of a chain, bottom first. */
  layerDirs(chainId: string | null): string[] {
    return chainId ? this.chainSync(chainId).map((l) => this.paths.layerDiff(l.chainId)) : [];
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
    return checks().fsck(this, this.contributors(), { repair: opts.repair, reextract: this.reextractor() });
  }

  /**
   * Removes what nothing references (blobs; with `layers`, unreachable layers) and reports what it
   * freed. It holds the store lock exclusive: it waits for running imports, creates, commits and
   * removes (at most `lockTimeout` ms, default 60 s, then LAYERFS_BUSY).
   */
  gc(opts: { layers?: boolean; lockTimeout?: number; onWait?: () => void } = {}): Promise<GcReport> {
    return this.withLock('exclusive', () => checks().gc(this, this.contributors(), opts), { timeoutMs: opts.lockTimeout, onWait: opts.onWait });
  }

  /** Removes a layer; fails with LAYERFS_IN_USE while a container, image or layer above uses it. Exclusive, as gc. */
  removeLayer(chainId: string, opts: { lockTimeout?: number; onWait?: () => void } = {}): Promise<void> {
    return this.withLock('exclusive', () => checks().removeLayer(this, this.contributors(), chainId), { timeoutMs: opts.lockTimeout, onWait: opts.onWait });
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
