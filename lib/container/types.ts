import type { Change } from '../diff/types';
import type { LayerRef } from '../store/types';
import type { ImageConfig } from '../oci/image-config';
import type { DriverName } from '../types';

export type { DriverName, DriverChoice } from '../types';
export type { MountSpec } from '../drivers/types';

/** containers/<id>/container.json */
export interface ContainerRecord {
  id: string;
  name?: string;
  /** ChainID of the top layer below the container, or null for a container on no layers */
  chain: string | null;
  driver: DriverName;
  /** 'mounted' while the merged tree is available at its path */
  state: 'created' | 'mounted' | 'unmounted';
  created: string;
  readOnly?: boolean;
  /** the image the container was made from, whose config `run` starts its process with */
  image?: { name?: string; config: ImageConfig };
  /**
   * Mountpoints layerfs made in the container for a runtime (`/proc`, `/etc/hosts`, …) that the
   * image lacked: not changes of the container, unless something changed them since.
   */
  runtimeEntries?: string[];
  /** while a process runs in it: the runtime and its name for the container (`rm` cleans up after a crash) */
  runtime?: { path: string; id: string; stateRoot?: string };
  /**
   * the layer a flip commit made of the container's upper directory (lib/container/commit-flip.ts),
   * rebasing the container onto it: while `chain` is still that layer and nothing changed since,
   * a commit gives that layer again
   */
  committed?: string;
}

export interface CommitOptions {
  /**
   * the blob's compression; unset, the blob is the uncompressed tar and the layer is deferred: an
   * image export or push compresses it (gzip) the first time one needs it, and keeps that blob
   */
  compression?: 'gzip' | 'zstd' | 'none';
  sourceDateEpoch?: number;
  signal?: AbortSignal;
  onProgress?: (p: { bytes: number; entries?: number }) => void;
  durable?: boolean;
  /**
   * Hears of this commit's own blob, compressed as asked, while it exists (it is gone once the
   * commit returns): for a caller that also wants the tarball as a file. It is the blob the
   * store keeps unless the store had the layer already (then the returned layer keeps its own).
   */
  onBlob?: (file: string, blob: { digest: string; mediaType: string; size: number }) => Promise<void>;
  /**
   * Do the per-file work on the calling thread, whatever the size of the change: for a process
   * with nothing else to do meanwhile (the CLI), which then saves a worker's start (tens of ms).
   * Otherwise only a tiny commit runs there, and the event loop stays free.
   */
  inline?: boolean;
}

export type { Change, LayerRef };
