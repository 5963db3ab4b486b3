import * as fs from 'fs';
import * as path from 'path';
import { ExistsError, NoSpaceError } from '../errors';
import { isStale, stagingName } from './tmp';

/**
 * A record's temporary sibling: `.<name>.<pid>.<start>.rec-<random>.tmp`. The dot hides it from
 * listings of records (which take `*.json` only), and the pid and start time tell a stale one
 * (its writer is gone) from one being written now.
 */
function tempFor(file: string): string {
  return path.join(path.dirname(file), `.${path.basename(file)}.${stagingName('rec')}.tmp`);
}

const TEMP_RE = /^\..*\.(\d+\.\d+\.rec-[0-9a-f]+)\.tmp$/;

/** Is this directory entry a record (not a temporary sibling of one, not anything else)? */
export function isRecordName(name: string): boolean {
  return name.endsWith('.json') && !name.startsWith('.');
}

/** The record files of a directory (`*.json`), by name. */
export function listRecordFiles(dir: string): string[] {
  return fs.readdirSync(dir).filter(isRecordName);
}

/** The form before: `.<name>.<pid>.<milliseconds>.tmp`, stale when that pid runs no more. */
const OLD_TEMP_RE = /^\..*\.(\d+)\.\d{10,}\.tmp$/;

function running(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Temporaries left beside the records of `dir` by writers that are gone (a crash; a full disk, before failed writes cleaned up). */
export function staleRecordTemps(dir: string): string[] {
  return fs.readdirSync(dir).filter((n) => {
    const m = TEMP_RE.exec(n);
    if (m) return isStale(m[1]);
    const old = OLD_TEMP_RE.exec(n);
    return old !== null && !running(Number(old[1]));
  });
}

/** ENOSPC becomes an error that says what was being done; the staged work is removed by the caller. */
export function noSpace(e: unknown, doing: string): unknown {
  if ((e as NodeJS.ErrnoException)?.code !== 'ENOSPC') return e;
  return new NoSpaceError(`no space left on the store's filesystem while ${doing}; nothing was kept, free some space and try again`, { cause: e });
}

/** The record's bytes in a temporary sibling; removed again if anything fails. */
function writeTemp(file: string, value: unknown, durable: boolean): string {
  const tmp = tempFor(file);
  try {
    const fd = fs.openSync(tmp, 'wx', 0o644);
    try {
      const b = Buffer.from(JSON.stringify(value, null, 2) + '\n');
      // a short write (a disk filling up) is followed by one that says why
      for (let off = 0; off < b.length; ) off += fs.writeSync(fd, b, off);
      if (durable) fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw noSpace(e, `writing ${file}`);
  }
  return tmp;
}

/**
 * Small JSON records are written to a sibling temp file and renamed over, so readers never see
 * half a record. A failed write leaves nothing behind (a full disk is LAYERFS_NO_SPACE).
 */
export function writeJsonAtomicSync(file: string, value: unknown, durable = false): void {
  const tmp = writeTemp(file, value, durable);
  try {
    fs.renameSync(tmp, file);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw noSpace(e, `writing ${file}`);
  }
}

/**
 * Like writeJsonAtomicSync, but never over an existing record: the record appears whole, and
 * only if no other was there (a hard link fails with EEXIST, atomically, where a rename would
 * replace). `what` names the record in the LAYERFS_EXISTS error.
 */
export function writeJsonExclusiveSync(file: string, value: unknown, what: string, durable = false): void {
  const tmp = writeTemp(file, value, durable);
  try {
    fs.linkSync(tmp, file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') throw new ExistsError(what);
    throw noSpace(e, `writing ${file}`);
  } finally {
    fs.rmSync(tmp, { force: true });
  }
}

export function readJsonSync<T>(file: string): T | null {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as T;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
}

export function fsyncDirSync(dir: string): void {
  const fd = fs.openSync(dir, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** fsync every file, then every directory, of a tree (deepest first), so a rename after it publishes durable data. */
export function fsyncTreeSync(root: string): void {
  const dirs: string[] = [];
  const walk = (d: string) => {
    dirs.push(d);
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) {
        const fd = fs.openSync(p, 'r');
        try {
          fs.fsyncSync(fd);
        } finally {
          fs.closeSync(fd);
        }
      }
    }
  };
  walk(root);
  for (const d of dirs.reverse()) fsyncDirSync(d);
}
