import * as fs from 'fs';
import { LayerCore } from './layers';
import type { StoreContributor } from './store/check';
import { readJsonSync } from './store/records';
import { isStale } from './store/tmp';
import type { Container, CreateContainerOptions } from './container';
import type { ImageRecord, ImportImageOptions, ExportImageOptions, ChainImageOptions, PreparedExport, EfficiencyReport, SaveRecordOptions, AnalyzeOptions } from './image';
import type { PullOptions, PulledImage } from './registry/pull';
import type { PushOptions, PushResult, PushSource } from './registry/push';
import type { ConnectOptions } from './registry/connect';
import { InvalidArgumentError } from './errors';
import { isDigest } from './digest';
import type { BuildLayerOptions, BuiltLayer, BuildImageOptions } from './build';
import type { Compression } from './types';
import { lazy } from './lazy';

const registryConnect = lazy<typeof import('./registry/connect')>(() => require('./registry/connect'));
const registryPull = lazy<typeof import('./registry/pull')>(() => require('./registry/pull'));
const registryPush = lazy<typeof import('./registry/push')>(() => require('./registry/push'));
const rawModule = lazy<typeof import('./image/raw')>(() => require('./image/raw'));
const containerCheckModule = lazy<typeof import('./container/check')>(() => require('./container/check'));
const imageCheckModule = lazy<typeof import('./image/check')>(() => require('./image/check'));

/*
 * The upper parts are loaded on first use, not with this module: a short-lived process (one
 * `layerfs` command) pays only for what it runs. Images and builds bring tar streams, globbing
 * and writers that mounting a container never needs.
 */
type BuildModule = typeof import('./build');
const containers = lazy<typeof import('./container')>(() => require('./container'));
const flipModule = lazy<typeof import('./container/commit-flip')>(() => require('./container/commit-flip'));
const images = lazy<typeof import('./image')>(() => require('./image'));
const builds = lazy<BuildModule>(() => require('./build'));

export type StorePullOptions = PullOptions & ConnectOptions;
export type StorePushOptions = PushOptions & ConnectOptions & ChainImageOptions & { compression?: Compression };

/**
 * The store as users see it: the layer store of lib/store and lib/layers plus what the upper
 * parts add (containers, images, builds). It lives above them so that dependencies keep pointing
 * one way, and it is the one that knows every record that holds on to layers (for fsck and gc).
 */
export class LayerStore extends LayerCore {
  // Public methods are async (a promise, whatever the work behind it); the sync forms the library's
  // own parts need (getLayerSync, chainSync, importedImage, resolveChain) are internal. hasLayer
  // (a stat) and view (a constructor) stay sync.

  /** A writable layer on `chainId` (null: on no layers), realised by the chosen driver (default `auto`). */
  createContainer(chainOrImage: string | null, opts: CreateContainerOptions = {}): Promise<Container> {
    const image = chainOrImage !== null && !isDigest(chainOrImage) ? this.importedImage(chainOrImage) : null;
    const withImage = image && !opts.image ? { ...opts, image: { name: image.name, config: image.config } } : opts;
    return this.withLock('shared', () => containers().createContainer(this, chainOrImage === null ? null : this.resolveChain(chainOrImage), withImage), { signal: opts.signal });
  }

  /** @internal A ChainID as given, or the chain of an imported image of that name (sync: createContainer, the CLI). */
  resolveChain(ref: string): string {
    // an image imported without a name is named by its manifest digest, which is no ChainID
    if (!isDigest(ref) || !this.hasLayer(ref)) {
      const image = this.importedImage(ref);
      if (image) return image.chain;
    }
    return ref;
  }

  /**
   * @internal
   * The record of an imported image, or null: images/<name>.json read directly (as lib/image
   * keeps it), so resolving a name does not load the image code.
   */
  importedImage(name: string): ImageRecord | null {
    const file = this.paths.image(name);
    return fs.existsSync(file) ? readJsonSync<ImageRecord>(file) : null;
  }

  /**
   * Imports an OCI layout, oci-archive or docker-archive (PATH or PATH:TAG): every layer, verified,
   * recorded under `name` (default: the manifest digest). A name that holds another image is
   * LAYERFS_EXISTS unless `replace`.
   */
  importImage(ref: string, opts: ImportImageOptions = {}): Promise<ImageRecord> {
    // shared for the whole import: gc must not take a layer published before the image record is
    return this.withLock('shared', () => images().importImage(this, ref, opts), { signal: opts.signal });
  }

  /** Removes an image's record; its layers stay until `gc({ layers: true })` or removeLayer (docker's `image rm`). */
  async removeImage(name: string): Promise<ImageRecord> {
    return images().removeImageSync(this, name);
  }

  /** A second name for an imported image; LAYERFS_EXISTS if `target` names another image, unless `replace`. */
  async tagImage(source: string, target: string, opts: SaveRecordOptions = {}): Promise<ImageRecord> {
    return images().tagImageSync(this, source, target, opts);
  }

  /** The record of the image imported as `name` (LAYERFS_NOT_FOUND when there is none). */
  async getImage(name: string): Promise<ImageRecord> {
    return images().getImageSync(this, name);
  }

  async listImages(): Promise<ImageRecord[]> {
    return images().listImagesSync(this);
  }

  /**
   * Writes a container (committed first) or a chain as an image on top of `from`, in the OCI
   * layout, oci-archive or docker-archive format.
   */
  async exportImage(containerOrChain: string | Container, opts: ExportImageOptions & { compression?: Compression }): Promise<{ manifestDigest: string; configDigest: string; chainId: string }> {
    const { exportChainImage, prepareExport } = images();
    // every argument is checked before the container is committed: a bad one changes nothing
    const prepared = await prepareExport(this, opts);
    const chain = await this.exportedChain(containerOrChain, prepared, opts);
    return { ...(await exportChainImage(this, chain, opts, prepared)), chainId: chain };
  }

  /** The chain an export or push of a container (committed now), a ChainID or an imported image gives, checked to sit on the base. */
  private async exportedChain(containerOrChain: string | Container, prepared: PreparedExport, opts: { from?: string; compression?: Compression }): Promise<string> {
    const { hasImage, checkOnBase } = images();
    let container: Container | null = null;
    if (typeof containerOrChain !== 'string') container = containerOrChain;
    else if (isDigest(containerOrChain) || hasImage(this, containerOrChain)) return this.resolveChain(containerOrChain);
    else container = await this.getContainer(containerOrChain);
    // with no --from, the container's own image is the base: its Cmd, Env and history go on with it
    const own = container.record.image?.config;
    if (!opts.from && !prepared.base && own) prepared.base = own;
    checkOnBase(container.chain ? this.chainSync(container.chain).map((l) => l.diffId) : [], prepared.base, `container ${container.name ?? container.id}`, opts.from, 1);
    const epoch = process.env.SOURCE_DATE_EPOCH;
    return (await container.commit({ compression: opts.compression, sourceDateEpoch: epoch && /^\d+$/.test(epoch) ? Number(epoch) : undefined })).chainId;
  }

  /**
   * Pulls `[docker://]HOST[:PORT]/REPO[:TAG|@digest]` into the store: every layer the store lacks
   * streamed from the registry straight into staging, verified, published bottom first; then an
   * image record (name: `opts.name`, else the reference as given), as `importImage` makes.
   */
  async pull(reference: string, opts: StorePullOptions = {}): Promise<PulledImage> {
    const { remoteRef, pullEndpoints } = registryConnect();
    const { checkImageName } = images();
    const r = remoteRef(reference);
    const name = checkImageName(opts.name ?? reference.replace(/^docker:\/\//, ''));
    const endpoints = pullEndpoints(r.ref, opts);
    try {
      return await this.withLock('shared', () => registryPull().pullImage(this, endpoints, r.where, { ...opts, name }), { signal: opts.signal });
    } finally {
      await Promise.all(endpoints.map((e) => e.client.close()));
    }
  }

  /**
   * Pushes an imported image (as it is), a container (committed first; on its own image's config
   * unless `from` names another) or a chain (with `from`: on that base's config) to `[docker://]HOST[:PORT]/REPO[:TAG]`; returns the manifest
   * digest and what each blob cost. Blobs are read from the store as they are; a deferred layer
   * (committed with no compression asked) is sent compressed (opts.compression, default gzip), made the first time.
   */
  async push(source: string | Container, reference: string, opts: StorePushOptions = {}): Promise<PushResult & { chainId: string }> {
    const { remoteRef, connect } = registryConnect();
    const { prepareChainImage, chainImage, hasImage, getImageSync } = images();
    const r = remoteRef(reference);
    if (r.ref.digest) throw new InvalidArgumentError(`push ${reference}: a push names a tag (HOST/REPO:TAG), not a digest; the digest is the manifest's own`);
    let src: PushSource;
    let chainId: string;
    if (typeof source === 'string' && !opts.from && !(isDigest(source) && this.hasLayer(source)) && hasImage(this, source)) {
      const rec = getImageSync(this, source);
      // the manifest and config the store kept from its pull or import: sent as they are
      src = { config: rec.config, layers: rec.layers, raw: rawModule().storedRawImage(this, rec) };
      chainId = rec.chain;
    } else {
      // every argument is checked before the container is committed: a bad one changes nothing
      const prepared = await prepareChainImage(this, opts);
      chainId = await this.exportedChain(source, prepared, opts);
      // a deferred layer goes compressed (made now, the first time), a layer whose blob is gone packed again: pushImage's blobForLayer
      src = chainImage(this, chainId, opts, prepared);
    }
    const client = connect(r.ref.host, opts);
    try {
      const pushed = await this.withLock('shared', () => registryPush().pushImage(this, client, r.ref.host, r.ref.repository, r.ref.tag, src, opts), { signal: opts.signal });
      return { ...pushed, chainId };
    } finally {
      await client.close();
    }
  }

  /** Per-layer changes and wasted space of a chain or imported image, as dive scores it. */
  async analyze(chainOrImage: string, opts: AnalyzeOptions = {}): Promise<EfficiencyReport> {
    const chain = this.resolveChain(chainOrImage);
    return images().analyzeLayers(this.chainSync(chain).map((l) => ({ dir: this.paths.layerDiff(l.chainId), whiteout: this.whiteout })), opts);
  }

  /** A container by id, name or unique id prefix. */
  async getContainer(idOrName: string): Promise<Container> {
    return containers().getContainerSync(this, idOrName);
  }

  /** Every container, oldest first. */
  async listContainers(): Promise<Container[]> {
    return containers().listContainersSync(this);
  }

  /**
   * Mounts a crashed process left in tmp/ go first, since the base reconcile deletes stale
   * staging recursively. Containers are brought in line with /proc/self/mountinfo one by one,
   * as they are read (lib/container/reconcile.ts), so an open reads no container record.
   */
  protected async reconcile(): Promise<void> {
    // a mount under tmp/ sits in some entry of it: with no stale entry there is nothing to unmount
    const stale = fs.readdirSync(this.paths.tmpDir).filter(isStale);
    if (stale.length) await containers().unmountStaleStaging(this);
    // a commit by flip that a crash cut short: its changes back in the container, or the container on its layer
    if (stale.some((n) => n.includes('.flip-'))) flipModule().recoverFlips(this);
    await super.reconcile();
  }

  /** Containers and images hold chains: fsck checks them, gc and removeLayer keep what they use. */
  protected contributors(): StoreContributor[] {
    const { containerContributor } = containerCheckModule();
    const { imageContributor } = imageCheckModule();
    return [containerContributor(this), imageContributor(this)];
  }

  /** A reproducible layer from a directory's files (globs, an ignore file, a prefix, normalised owner/mode/mtime). */
  buildLayer(opts: BuildLayerOptions): Promise<BuiltLayer> {
    return this.withLock('shared', () => builds().buildLayer(this, opts), { signal: opts.signal });
  }

  /** A base image plus layers built from files, written as a new image, with no daemon. */
  buildImage(opts: BuildImageOptions): ReturnType<BuildModule['buildImage']> {
    return this.withLock('shared', () => builds().buildImage(this, opts), { signal: opts.signal });
  }
}
