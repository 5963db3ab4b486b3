import * as fs from 'fs';
import { InvalidArgumentError } from '../errors';

/**
 * How many uncompressed bytes one layer may expand to. A compression ratio alone cannot tell a
 * bomb from a legitimate zero-filled file (gzip never exceeds about 1032:1, and zeros reach it),
 * so the bound that holds is absolute: by default what the store's filesystem has free when the
 * import starts (a larger layer could not be unpacked there anyway), else, first found:
 *   the import's own `maxUncompressedBytes` option,
 *   $LAYERFS_MAX_LAYER_BYTES,
 *   `limits.maxLayerBytes` in store.json.
 */
export interface LayerByteLimit {
  bytes: number;
  /** where the number came from, for the error that names it */
  source: string;
}

export interface StoreLimits {
  /** largest uncompressed size of one layer, in bytes */
  maxLayerBytes?: number;
}

function parseBytes(value: unknown, where: string): number {
  const n = typeof value === 'string' ? Number(value.trim()) : value;
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n <= 0) throw new InvalidArgumentError(`${where} must be a positive whole number of bytes, not ${JSON.stringify(value)}`);
  return n;
}

/** Free bytes for an unprivileged writer on the filesystem holding `dir` (statfs f_bavail). */
export function freeBytes(dir: string): number {
  const s = fs.statfsSync(dir);
  return Number(s.bavail) * Number(s.bsize);
}

export function layerByteLimit(tmpDir: string, configured: StoreLimits | undefined, option?: number, env: NodeJS.ProcessEnv = process.env): LayerByteLimit {
  if (option !== undefined) return { bytes: parseBytes(option, 'maxUncompressedBytes'), source: 'the maxUncompressedBytes option' };
  if (env.LAYERFS_MAX_LAYER_BYTES) return { bytes: parseBytes(env.LAYERFS_MAX_LAYER_BYTES, 'LAYERFS_MAX_LAYER_BYTES'), source: 'LAYERFS_MAX_LAYER_BYTES' };
  if (configured?.maxLayerBytes !== undefined) return { bytes: parseBytes(configured.maxLayerBytes, 'limits.maxLayerBytes in store.json'), source: 'limits.maxLayerBytes in store.json' };
  return { bytes: freeBytes(tmpDir), source: "the free space of the store's filesystem (set LAYERFS_MAX_LAYER_BYTES or limits.maxLayerBytes in store.json to change it)" };
}
