import * as fs from 'fs';
import { parseDigest } from '../digest';
import type { StorePaths } from './paths';
import { PRIVATE_DIR_MODE } from './private';
import { readJsonSync, writeJsonAtomicSync } from './records';

/**
 * origins/<hex>.json: where a blob of the store was pulled from or pushed to (registry host and
 * repository), newest first, so that a push to another repository of the same registry can
 * mount the blob instead of sending it. A hint, never trusted: a mount the registry refuses
 * falls back to an upload. Two processes adding at once may lose one entry; that costs an upload.
 */
export interface BlobOrigin {
  /** HOST[:PORT], as the API is spoken to */
  registry: string;
  repository: string;
}

/** How many origins a blob keeps (the newest). */
const KEEP = 16;

function valid(o: unknown): o is BlobOrigin {
  const r = o as BlobOrigin | null;
  return typeof r === 'object' && r !== null && typeof r.registry === 'string' && typeof r.repository === 'string';
}

export function blobOrigins(paths: StorePaths, digest: string): BlobOrigin[] {
  let r: unknown;
  try {
    r = readJsonSync<unknown>(paths.origin(parseDigest(digest, 'blob digest')));
  } catch {
    return []; // a damaged hint is no hint
  }
  return Array.isArray(r) ? r.filter(valid) : [];
}

export function addBlobOrigin(paths: StorePaths, digest: string, origin: BlobOrigin): void {
  const have = blobOrigins(paths, digest);
  if (have[0]?.registry === origin.registry && have[0]?.repository === origin.repository) return;
  const next = [{ registry: origin.registry, repository: origin.repository }, ...have.filter((o) => o.registry !== origin.registry || o.repository !== origin.repository)].slice(0, KEEP);
  fs.mkdirSync(paths.originsDir, { recursive: true, mode: PRIVATE_DIR_MODE });
  writeJsonAtomicSync(paths.origin(digest), next);
}

/** A repository of `registry` other than `repository` that has had the blob, or undefined. */
export function mountSource(paths: StorePaths, digest: string, registry: string, repository: string): string | undefined {
  return blobOrigins(paths, digest).find((o) => o.registry === registry && o.repository !== repository)?.repository;
}
