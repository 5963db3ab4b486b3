import { StoreCore } from './store/store-core';
import { Container, createContainer, getContainerSync, listContainersSync, reconcileContainers, unmountStaleStaging } from './container';
import type { CreateContainerOptions } from './container';
import { importImage, getImageSync, hasImage, listImagesSync, exportChainImage, analyzeLayers } from './image';
import type { ImageRecord, ImportImageOptions, ExportImageOptions, EfficiencyReport } from './image';
import { isDigest } from './digest';
import { buildLayer, buildImage } from './build';
import type { BuildLayerOptions, BuiltLayer, BuildImageOptions } from './build';
import type { Compression } from './store/types';

/**
 * The store as users see it: the layer store of lib/store plus what the upper parts add
 * (containers, images, builds). It lives above them so that dependencies keep pointing one way.
 */
export class LayerStore extends StoreCore {
  /** A writable layer on `chainId` (null: on no layers), realised by the chosen driver (default `auto`). */
  createContainer(chainOrImage: string | null, opts: CreateContainerOptions = {}): Promise<Container> {
    return createContainer(this, chainOrImage === null ? null : this.resolveChain(chainOrImage), opts);
  }

  /** A ChainID as given, or the chain of an imported image of that name. */
  resolveChain(ref: string): string {
    if (!isDigest(ref) && hasImage(this, ref)) return getImageSync(this, ref).chain;
    return ref;
  }

  /** Imports an OCI layout, oci-archive or docker-archive (PATH or PATH:TAG): every layer, verified. */
  importImage(ref: string, opts: ImportImageOptions = {}): Promise<ImageRecord> {
    return importImage(this, ref, opts);
  }

  async getImage(name: string): Promise<ImageRecord> {
    return getImageSync(this, name);
  }

  async listImages(): Promise<ImageRecord[]> {
    return listImagesSync(this);
  }

  /**
   * Writes a container (committed first) or a chain as an image on top of `from`, in the OCI
   * layout, oci-archive or docker-archive format.
   */
  async exportImage(containerOrChain: string | Container, opts: ExportImageOptions & { compression?: Compression }): Promise<{ manifestDigest: string; configDigest: string; chainId: string }> {
    let chain: string;
    if (typeof containerOrChain !== 'string') chain = (await containerOrChain.commit({ compression: opts.compression })).chainId;
    else if (isDigest(containerOrChain) || hasImage(this, containerOrChain)) chain = this.resolveChain(containerOrChain);
    else chain = (await (await this.getContainer(containerOrChain)).commit({ compression: opts.compression })).chainId;
    return { ...(await exportChainImage(this, chain, opts)), chainId: chain };
  }

  /** Per-layer changes and wasted space of a chain or imported image, as dive scores it. */
  analyze(chainOrImage: string): EfficiencyReport {
    const chain = this.resolveChain(chainOrImage);
    return analyzeLayers(this.chainSync(chain).map((l) => ({ dir: this.paths.layerDiff(l.chainId), whiteout: this.whiteout })));
  }

  /** A container by id, name or unique id prefix. */
  async getContainer(idOrName: string): Promise<Container> {
    return getContainerSync(this, idOrName);
  }

  /** Every container, oldest first. */
  async listContainers(): Promise<Container[]> {
    return listContainersSync(this);
  }

  /**
   * Also brings containers in line with /proc/self/mountinfo. Mounts a crashed process left in
   * tmp/ go first, since the base reconcile deletes stale staging recursively.
   */
  protected async reconcile(): Promise<void> {
    await unmountStaleStaging(this);
    await super.reconcile();
    await reconcileContainers(this);
  }

  /** A reproducible layer from a directory's files (globs, an ignore file, a prefix, normalised owner/mode/mtime). */
  buildLayer(opts: BuildLayerOptions): Promise<BuiltLayer> {
    return buildLayer(this, opts);
  }

  /** A base image plus layers built from files, written as a new image, with no daemon. */
  buildImage(opts: BuildImageOptions): ReturnType<typeof buildImage> {
    return buildImage(this, opts);
  }
}
