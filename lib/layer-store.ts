import { StoreCore } from './store/store-core';
import { Container, createContainer, getContainerSync, listContainersSync, reconcileContainers, unmountStaleStaging } from './container';
import type { CreateContainerOptions } from './container';

/**
 * The store as users see it: the layer store of lib/store plus what the upper parts add
 * (containers, images, builds). It lives above them so that dependencies keep pointing one way.
 */
export class LayerStore extends StoreCore {
  /** A writable layer on `chainId` (null: on no layers), realised by the chosen driver (default `auto`). */
  createContainer(chainId: string | null, opts: CreateContainerOptions = {}): Promise<Container> {
    return createContainer(this, chainId, opts);
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
}
