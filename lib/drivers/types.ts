import type { LayerCore } from '../layers';
import type { Change } from '../diff/types';
import type { OperationOptions } from '../store/types';
import type { UnmountOptions } from './mounts';

export type DriverName = 'overlay' | 'copy';
export type DriverChoice = DriverName | 'auto';

/** What a caller that mounts by itself needs (like containerd snapshotters' mounts). */
export interface MountSpec {
  type: string;
  source: string;
  target?: string;
  options: string[];
}

/** What a driver reads of a container's record (container.json has more): which one, on which chain, read-only or not. */
export interface DriverRecord {
  readonly id: string;
  /** ChainID of the top layer below the container, or null for a container on no layers */
  readonly chain: string | null;
  readonly readOnly?: boolean;
}

/** What a driver needs of a container: the store it lives in and its record. */
export interface ContainerRef {
  readonly store: LayerCore;
  readonly record: DriverRecord;
}

/**
 * How a container is realised. Drivers hold no per-container state: everything they need is
 * in the record and on disk, so any process can mount, diff or remove any container.
 */
export interface Driver {
  readonly name: DriverName;
  /** Builds the container's directories inside `dir`, its staging directory (renamed into place afterwards). */
  prepare(c: ContainerRef, dir: string, opts?: OperationOptions): Promise<void>;
  /** Makes the tree available and returns its path (the same path `path()` gives). */
  mount(c: ContainerRef): Promise<string>;
  /** Unmounts; a busy mount stays mounted (BusyError): only remove detaches lazily. */
  unmount(c: ContainerRef): Promise<void>;
  /** Where the container's tree is while it is mounted. */
  path(c: ContainerRef): string;
  /** The directory a kernel mount sits on while mounted, or null when the tree needs no mount. */
  mountPoint(c: ContainerRef): string | null;
  /** The mounts that make the tree, for callers that mount by themselves (as containerd snapshotters return them). */
  mounts(c: ContainerRef): Promise<MountSpec[]>;
  /** What changed in the container against its chain, sorted by path. */
  changes(c: ContainerRef): Promise<Change[]>;
  /** Unmounts and deletes the container's directory; never deletes through a mount. */
  remove(c: ContainerRef, opts?: UnmountOptions): Promise<void>;
}
