import * as fs from 'fs';
import * as path from 'path';
import { isDigest } from '../digest';
import type { StorePaths } from './paths';
import { PRIVATE_DIR_MODE } from './private';
import { stagingName } from './tmp';

/**
 * downloads/<hex>: the first bytes of a blob whose import was killed (kill -9, a crash), kept so
 * that the next pull asks the registry only for the rest (Range). Never trusted: the bytes kept
 * and the bytes fetched are hashed together and must give the digest, or nothing is published.
 */

/** The note a layer's staging directory holds while its blob comes in: `{digest, size}`. */
export const PARTIAL_BLOB_NOTE = 'expect.json';

/** Called for a stale staging directory before it is removed: its partial blob, if it names one, moves to downloads/. */
export function keepPartialDownload(paths: StorePaths, staging: string): void {
  try {
    const note = JSON.parse(fs.readFileSync(path.join(staging, PARTIAL_BLOB_NOTE), 'utf8')) as { digest?: unknown; size?: unknown };
    if (typeof note.digest !== 'string' || !isDigest(note.digest) || typeof note.size !== 'number') return;
    const blob = path.join(staging, 'blob');
    const got = fs.statSync(blob, { throwIfNoEntry: false })?.size ?? 0;
    if (got === 0 || got > note.size) return;
    const dest = paths.download(note.digest);
    if ((fs.statSync(dest, { throwIfNoEntry: false })?.size ?? -1) >= got) return;
    fs.mkdirSync(paths.downloadsDir, { recursive: true, mode: PRIVATE_DIR_MODE });
    fs.renameSync(blob, dest);
  } catch {
    // no note, or a damaged one: nothing to keep
  }
}

/**
 * Takes the kept partial download of `digest` for this process (one rename, so two pulls never
 * share one), as a file under tmp/ that the caller removes; null when there is none.
 */
export function claimPartialDownload(paths: StorePaths, digest: string, size: number): { file: string; bytes: number } | null {
  const from = paths.download(digest);
  const st = fs.statSync(from, { throwIfNoEntry: false });
  if (!st?.isFile()) return null;
  const file = path.join(paths.tmpDir, stagingName('resume'));
  try {
    fs.renameSync(from, file);
  } catch {
    return null; // another process took it
  }
  if (st.size > size) {
    fs.rmSync(file, { force: true });
    return null;
  }
  return { file, bytes: st.size };
}
