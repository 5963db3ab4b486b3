import * as fs from 'fs';
import * as path from 'path';
import { chainId as computeChainId, parseDigest } from '../digest';
import { InvalidArgumentError, NotFoundError, UnsafePathError } from '../errors';
import { WHITEOUT_NAME_REASON, looksLikeWhiteout } from '../whiteout';
import { packToFile } from '../tar/pack-in-worker';
import { applyLayer } from '../tar/apply-in-worker';
import { newLayerRecord, refOf } from '../store/store-core';
import type { StoreCore } from '../store/store-core';
import type { LayerRef } from '../store/types';
import type { Compression, OperationOptions } from '../types';
import type { PackEntry } from '../tar/types';
import { selectFiles } from './select';

export interface BuildLayerOptions extends OperationOptions {
  /** the directory to take files from */
  from: string;
  include?: string[];
  exclude?: string[];
  ignoreFile?: string;
  /** where the files land in the layer, e.g. '/app' */
  prefix?: string;
  owner?: { uid: number; gid: number };
  /** permission bits of regular files (executables keep x where it has r); directories get 0755 */
  mode?: number;
  /** 'keep' the files' own, 'epoch' (0, the default: reproducible), or a fixed time */
  mtime?: 'keep' | 'epoch' | Date;
  parent?: string | null;
  compression?: Compression;
  specialFiles?: boolean;
  strict?: boolean;
  onWarning?: (msg: string) => void;
}

export interface BuiltLayer extends LayerRef {
  /** false when the store already had this layer (nothing was added) */
  added: boolean;
  warnings: string[];
}

/**
 * A reproducible layer from files: sorted entries, normalised owner and mtime when asked, no
 * uname/gname, PAX only where needed, gzip with no time or name in its header. A layer whose
 * DiffID the store already has adds nothing.
 */
export async function buildLayer(store: StoreCore, opts: BuildLayerOptions): Promise<BuiltLayer> {
  const warnings: string[] = [];
  const warn = (m: string) => {
    warnings.push(m);
    opts.onWarning?.(m);
  };
  const parent = opts.parent ? parseDigest(opts.parent, 'parent ChainID') : null;
  if (parent) store.getLayerSync(parent);
  const { from, entries } = planBuildLayer(opts, warn);

  const mtime = opts.mtime === 'keep' ? undefined : opts.mtime instanceof Date ? Math.floor(opts.mtime.getTime() / 1000) : 0;
  const compression = opts.compression ?? 'gzip';
  const staging = store.makeStaging('build');
  try {
    const blob = path.join(staging, 'blob');
    const r = await packToFile({ root: from, entries }, blob, {
      compression,
      owner: opts.owner,
      mtime,
      fileMode: opts.mode,
      dirMode: opts.mode === undefined ? undefined : 0o755,
      signal: opts.signal,
      onProgress: opts.onProgress,
    });
    const id = computeChainId(parent, r.diffId);
    if (store.hasLayer(id)) return { ...refOf(store.getLayerSync(id)), added: false, warnings };
    // the layer directory is the blob applied: owner, mode and mtime exactly as the tar says
    const diff = path.join(staging, 'diff');
    fs.mkdirSync(diff);
    await applyLayer(blob, diff, { whiteout: store.whiteout, applyOwners: store.applyOwners, signal: opts.signal, manifestPath: path.join(staging, 'manifest.json') });
    const record = newLayerRecord(parent, { ...r, compression }, store.whiteout);
    return { ...store.publishLayer(staging, blob, record), added: true, warnings };
  } finally {
    await store.discard(staging);
  }
}

/**
 * The entries of the layer `opts` describes: the prefix's directories, then the selected files.
 * Refuses a prefix with "." or "..", an empty selection, and a name a reader would take for a
 * whiteout (so that buildImage can check every layer before it builds the first).
 */
export function planBuildLayer(opts: BuildLayerOptions, warn: (m: string) => void): { from: string; entries: PackEntry[] } {
  const from = path.resolve(opts.from);
  const prefix = (opts.prefix ?? '/').split('/').filter(Boolean);
  if (prefix.some((c) => c === '..' || c === '.')) throw new InvalidArgumentError(`bad prefix ${JSON.stringify(opts.prefix)}: no "." or ".." components`);
  const files = selectFiles(from, { include: opts.include, exclude: opts.exclude, ignoreFile: opts.ignoreFile, specialFiles: opts.specialFiles, strict: opts.strict, warn });
  const entries: PackEntry[] = [];
  for (let i = 1; i <= prefix.length; i++) entries.push({ path: prefix.slice(0, i).join('/'), source: from });
  for (const rel of files) entries.push({ path: [...prefix, rel].join('/'), source: path.join(from, rel) });
  if (!entries.length) throw new NotFoundError(from, `nothing to build: no files selected in ${from}`);
  for (const e of entries) if (String(e.path).split('/').some(looksLikeWhiteout)) throw new UnsafePathError(String(e.path), `${WHITEOUT_NAME_REASON} (from ${e.source})`);
  return { from, entries };
}

