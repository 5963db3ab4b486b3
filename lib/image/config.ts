import { isDigest } from '../digest';
import { BadImageError } from '../errors';
import type { ImageConfig } from './types';

/** An image config as parsed, checked where the layers depend on it: rootfs is `layers` with sha256 diff_ids. */
export function checkConfig(json: unknown, what: string): ImageConfig {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new BadImageError(`${what} is not a JSON object`);
  const c = json as Record<string, unknown>;
  const rootfs = c.rootfs as { type?: unknown; diff_ids?: unknown } | undefined;
  if (typeof rootfs !== 'object' || rootfs === null) throw new BadImageError(`${what} has no rootfs`);
  if (rootfs.type !== 'layers') throw new BadImageError(`${what}: rootfs.type is ${JSON.stringify(rootfs.type)}, not "layers"`);
  if (!Array.isArray(rootfs.diff_ids)) throw new BadImageError(`${what}: rootfs.diff_ids is not a list`);
  rootfs.diff_ids.forEach((d, i) => {
    if (typeof d !== 'string' || !isDigest(d)) throw new BadImageError(`${what}: rootfs.diff_ids[${i}] ${JSON.stringify(d)} is not a sha256 digest`);
  });
  return c as ImageConfig;
}

/** A layer count that disagrees with diff_ids means the config describes another image. */
export function checkLayerCount(config: ImageConfig, layers: number, what: string, where: string): void {
  const n = config.rootfs.diff_ids.length;
  if (n !== layers) throw new BadImageError(`${where}: the config lists ${n} diff_ids but ${what} ${layers} layer${layers === 1 ? '' : 's'}`);
}
