import type { LayerCore } from '../layers';
import type { Change, TreeInput } from '../diff/types';
import type { UnionView } from '../view';
import type { DriverName, OperationOptions } from '../types';
import type { UnmountOptions } from './mounts';

/** The words live in lib/types.ts (a leaf: a CLI can name the drivers cheaply). */
export type { DriverName, DriverChoice } from '../types';
export { DRIVER_CHOICES } from '../types';

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

/** How a driver reads a container's changes. */
export interface ChangesOptions {
  signal?: AbortSignal;
  /** the chain's view, when the caller has one already (commit reads the lower side through it too) */
  lower?: UnionView;
}

/**
 * How a container is realised. Drivers hold no per-container state: everything they need is
 * in the record and on disk, so any process can mount, diff or remove any container.
 *
 * The lifecycle, as containerd's snapshotter.go gives it for snapshots:
 * create (lib/container writes the record) → `prepare` (in the container's staging directory,
 * before it is renamed into place) → `mount` / `unmount`, any number of times → `changes`, or
 * commit, which reads `changes` and then the files under the directory they name → `remove`.
 * `path`, `mountPoint`, `mounts` and `readTree` may be called at any time after `prepare`.
 * "On no layers" is a record whose chain is null: the tree starts empty. "Read-only" is a
 * record with `readOnly`: nothing can be written, so its changes are always none. The caller
 * holds the container's lock around `mount`, `unmount`, `changes` (for commit) and `remove`.
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
  /** What changed in the container against its chain, sorted by path: what diff shows and commit packs. Big walks run off the main thread. */
  changes(c: ContainerRef, opts?: ChangesOptions): Promise<Change[]>;
  /** The container's tree, readable mounted or not: a directory or a view (what `layerfs diff` and reports read). */
  readTree(c: ContainerRef): TreeInput;
  /**
   * The directory the sources of `changes` are under (what commit reads), and whether it is an
   * overlay upperdir, whose whiteouts and opaque markers are not content.
   */
  changesDir(c: ContainerRef): { dir: string; upper: boolean };
  /** Unmounts and deletes the container's directory; never deletes through a mount. */
  remove(c: ContainerRef, opts?: UnmountOptions): Promise<void>;
}
