import type { Change } from '../diff/types';
import type { LayerRef } from '../store/types';

export type DriverName = 'overlay' | 'copy';
export type DriverChoice = DriverName | 'auto';

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
}

/** What a caller that mounts by itself needs (like containerd snapshotters' mounts). */
export interface MountSpec {
  type: string;
  source: string;
  target?: string;
  options: string[];
}

export interface CommitOptions {
  compression?: 'gzip' | 'zstd' | 'none';
  sourceDateEpoch?: number;
  signal?: AbortSignal;
  onProgress?: (p: { bytes: number; entries?: number }) => void;
  durable?: boolean;
}

export type { Change, LayerRef };
