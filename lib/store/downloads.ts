import * as fs from 'fs';
import * as path from 'path';
import { isDigest } from '../digest';
import { AbortedError } from '../errors';
import * as native from '../native';
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

const LOCK_POLL_MS = 25;

/**
 * Runs `fn` holding the lock of one blob: a flock on downloads/<hex>.lock, so that of several
 * pulls or imports (in this process or others) that want the same layer, one downloads it and
 * the others wait, then find it published (or its blob in blobs/) and read nothing. The lock is
 * polled (never a blocking flock: that would hold a thread of the pool the file calls use). The
 * holder removes the file before it lets go, so a waiter that then gets the lock of the removed
 * file sees that it is no longer the one at that name and starts again; an empty downloads/ is
 * removed with the last lock. A store without the
 * native addon locks nothing.
 */
export async function withBlobLock<T>(paths: StorePaths, digest: string, signal: AbortSignal | undefined, fn: () => Promise<T>): Promise<T> {
  if (!native.available()) return fn();
  const file = paths.download(digest) + '.lock';
  for (;;) {
    let fd: number;
    try {
      fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_CREAT | fs.constants.O_NOFOLLOW, 0o600);
    } catch (e) {
      // no downloads/ (or another holder just removed it, empty): made, and the name opened again
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      fs.mkdirSync(paths.downloadsDir, { recursive: true, mode: PRIVATE_DIR_MODE });
      continue;
    }
    let mine = false;
    try {
      await native.pollFlock(fd, native.constants.LOCK_EX, LOCK_POLL_MS, () => {
        if (signal?.aborted) throw new AbortedError(`waiting for another download of ${digest}`);
      });
      // the lock of the file at that name, not of one its holder has removed since it was opened
      const at = fs.statSync(file, { throwIfNoEntry: false });
      if (!at || at.ino !== fs.fstatSync(fd).ino) continue;
      mine = true;
      return await fn();
    } finally {
      if (mine) {
        fs.rmSync(file, { force: true });
        // an empty downloads/ goes too: a store holds it only while something is kept there
        try {
          fs.rmdirSync(paths.downloadsDir);
        } catch {
          // not empty
        }
      }
      fs.closeSync(fd); // releases the flock
    }
  }
}

/**
 * Removes the blob locks nobody holds: those a killed pull left (its layer may have been
 * published since, so no later pull takes that lock and removes it). Each is removed holding its
 * flock, so a process that opened it meanwhile sees, once it has the lock, that the name is gone,
 * and starts again (withBlobLock's own check).
 */
export function reapBlobLocks(paths: StorePaths): void {
  if (!native.available()) return;
  let names: string[];
  try {
    names = fs.readdirSync(paths.downloadsDir).filter((n) => n.endsWith('.lock'));
  } catch {
    return;
  }
  for (const n of names) {
    const file = path.join(paths.downloadsDir, n);
    let fd: number;
    try {
      fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
    } catch {
      continue; // gone already
    }
    try {
      if (!native.tryFlockSync(fd, native.constants.LOCK_EX)) continue; // held: a pull is running
      const at = fs.statSync(file, { throwIfNoEntry: false });
      if (at && at.ino === fs.fstatSync(fd).ino) fs.rmSync(file, { force: true });
    } catch {
      // gone meanwhile
    } finally {
      fs.closeSync(fd);
    }
  }
}
