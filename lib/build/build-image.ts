import { InvalidArgumentError, NotFoundError } from '../errors';
import { hasImage, getImageSync, importImageLayers, looksLikeImage, exportChainImage } from '../image';
import type { ImageConfig, ImageFormat } from '../image';
import type { LayerCore } from '../layers';
import type { OperationOptions } from '../types';
import { buildLayer, BuildLayerOptions, BuiltLayer, planBuildLayer } from './build-layer';

export interface ImageConfigOptions {
  entrypoint?: string[];
  cmd?: string[];
  env?: Record<string, string> | string[];
  workingDir?: string;
  user?: string;
  labels?: Record<string, string>;
  exposedPorts?: string[];
}

export interface BuildImageOptions extends OperationOptions {
  /** the base image: an imported name, or a layout/archive path (imported, reusing layers the store has) */
  from: string;
  layers: Array<Omit<BuildLayerOptions, 'parent'>>;
  config?: ImageConfigOptions;
  to: string;
  format?: ImageFormat;
  tag?: string;
  /** creation time written into the config (default: $SOURCE_DATE_EPOCH, else the epoch: reproducible) */
  created?: Date;
}

/** Appends layers built from files to a base image and writes the new image. */
export async function buildImage(store: LayerCore, opts: BuildImageOptions): Promise<{ manifestDigest: string; configDigest: string; chainId: string; layers: BuiltLayer[] }> {
  // every layer's files are checked before anything is imported or built: a refusal leaves the store as it was
  for (const l of opts.layers) planBuildLayer(l, () => undefined);
  // an image path is read in passing: its layers are imported, and no image record is made
  let base: { chain: string; config: ImageConfig };
  // `scratch` is the empty base, as in a Dockerfile: no layers, no config to inherit
  const scratch = opts.from === 'scratch' && !hasImage(store, 'scratch');
  if (scratch) base = { chain: '', config: { rootfs: { type: 'layers', diff_ids: [] } } };
  else if (hasImage(store, opts.from)) base = getImageSync(store, opts.from);
  else if (looksLikeImage(opts.from)) base = await importImageLayers(store, opts.from, { signal: opts.signal });
  else throw new NotFoundError(opts.from, `the base image ${JSON.stringify(opts.from)} is neither an imported image nor an image path`);
  const built: BuiltLayer[] = [];
  let top = base.chain;
  for (const l of opts.layers) {
    const b = await buildLayer(store, { ...l, parent: top || null, signal: opts.signal, onProgress: opts.onProgress });
    built.push(b);
    top = b.chainId;
  }
  const epoch = process.env.SOURCE_DATE_EPOCH;
  const created = (opts.created ?? new Date(epoch !== undefined ? Number(epoch) * 1000 : 0)).toISOString();
  const baseCfg = (base.config.config ?? {}) as Record<string, unknown>;
  const c = opts.config ?? {};
  const env = c.env === undefined ? undefined : Array.isArray(c.env) ? c.env : Object.entries(c.env).map(([k, v]) => `${k}=${v}`);
  const mergedEnv = env ? mergeEnv((baseCfg.Env as string[] | undefined) ?? [], env) : undefined;
  const config: Record<string, unknown> = {
    ...(c.entrypoint ? { Entrypoint: c.entrypoint } : {}),
    ...(c.cmd ? { Cmd: c.cmd } : {}),
    ...(mergedEnv ? { Env: mergedEnv } : {}),
    ...(c.workingDir ? { WorkingDir: c.workingDir } : {}),
    ...(c.user ? { User: c.user } : {}),
    ...(c.labels ? { Labels: { ...((baseCfg.Labels as Record<string, string>) ?? {}), ...c.labels } } : {}),
    ...(c.exposedPorts ? { ExposedPorts: Object.fromEntries(c.exposedPorts.map((p) => [p.includes('/') ? p : `${p}/tcp`, {}])) } : {}),
  };
  if (!top) throw new InvalidArgumentError('an image built from scratch needs at least one layer');
  const r = await exportChainImage(store, top, {
    from: scratch ? undefined : opts.from,
    to: opts.to,
    format: opts.format,
    tag: opts.tag,
    config,
    created,
    history: opts.layers.map((l) => ({ created_by: `layerfs layer build ${l.from}${l.prefix ? ' --prefix ' + l.prefix : ''}` })),
  });
  return { ...r, chainId: top, layers: built };
}

/** Later values of a variable replace earlier ones, keeping the base's order. */
function mergeEnv(base: string[], add: string[]): string[] {
  const key = (e: string) => e.split('=')[0];
  const out = base.filter((e) => !add.some((a) => key(a) === key(e)));
  return [...out, ...add];
}
