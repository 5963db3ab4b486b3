import * as fs from 'fs';
import * as path from 'path';
import { InvalidArgumentError } from '../errors';
import type { StorePaths } from './paths';

/**
 * The store is reachable by its owner only. Layers come from anywhere: a setuid-root file or a
 * device node in one is as dangerous as the real thing to any local user who can reach it, under
 * layers/<id>/diff or through a mounted containers/<id>/merged (moby CVE-2021-41091). The
 * store's own directories are 0700; what lies below them (a layer's root, a container's merged
 * mount point) keeps the mode the image gives it, since a container's processes need that.
 */
export const PRIVATE_DIR_MODE = 0o700;

/** The directories that guard the store's contents, outermost first. */
export function privateDirs(paths: StorePaths): string[] {
  return [paths.root, path.dirname(paths.blobsDir), paths.blobsDir, paths.layersDir, paths.containersDir, paths.imagesDir, paths.tmpDir];
}

/**
 * mkdir -p of one of the store's directories, 0700. A path that names a file (or runs through
 * one) is said as such, naming the store: mkdir's own EEXIST or ENOTDIR names neither.
 */
export function makeStoreDir(dir: string, root: string): void {
  try {
    fs.mkdirSync(dir, { recursive: true, mode: PRIVATE_DIR_MODE });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'EEXIST' && code !== 'ENOTDIR') throw e;
    let file = dir;
    for (let d = dir; path.dirname(d) !== d; d = path.dirname(d)) {
      let st: fs.Stats | undefined;
      try {
        st = fs.statSync(d);
      } catch {
        continue; // not there, or below a file
      }
      if (!st.isDirectory()) file = d;
    }
    throw new InvalidArgumentError(`the store ${root} cannot be made: ${file} is ${file === root ? 'a file, not a directory' : 'not a directory'} (choose a directory with --store or $LAYERFS_STORE)`);
  }
}

export interface PrivacyReport {
  /** every guarding directory is owner-only now */
  private: boolean;
  /** directories whose group/other bits were cleared by this call */
  tightened: string[];
  /** one sentence per directory that is still reachable by others, saying why */
  problems: string[];
}

/**
 * Creates the store's directories 0700 and tightens existing ones (a store made before this rule
 * was 0755). A directory this process cannot chmod (owned by someone else) is reported, not
 * fatal: the store still works, but it is not private.
 */
export function ensurePrivateStore(paths: StorePaths): PrivacyReport {
  const report: PrivacyReport = { private: true, tightened: [], problems: [] };
  for (const dir of privateDirs(paths)) {
    makeStoreDir(dir, paths.root);
    const st = fs.statSync(dir);
    if ((st.mode & 0o077) === 0) continue;
    try {
      fs.chmodSync(dir, st.mode & 0o7700);
      report.tightened.push(dir);
    } catch (e) {
      report.private = false;
      report.problems.push(`${dir} is mode ${(st.mode & 0o7777).toString(8).padStart(4, '0')} (owner uid ${st.uid}) and could not be made 0700 (${(e as NodeJS.ErrnoException).code}): other users can reach layer contents, including setuid files and devices`);
    }
  }
  return report;
}

/** The same check without changing anything (fsck). */
export function checkPrivateStore(paths: StorePaths): PrivacyReport {
  const report: PrivacyReport = { private: true, tightened: [], problems: [] };
  for (const dir of privateDirs(paths)) {
    const st = fs.statSync(dir, { throwIfNoEntry: false });
    if (!st || (st.mode & 0o077) === 0) continue;
    report.private = false;
    report.problems.push(`${dir} is mode ${(st.mode & 0o7777).toString(8).padStart(4, '0')}: other users can reach layer contents, including setuid files and devices`);
  }
  return report;
}
