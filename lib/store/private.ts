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

/** Who this process is, for the parents' check: its effective ids, and the uid files not mapped into its user namespace show as (null outside one). */
export interface Viewer {
  uid: number;
  gid: number;
  unmappedUid: number | null;
}

export function currentViewer(inUserNamespace: boolean): Viewer {
  let overflow = 65534;
  try {
    overflow = Number(fs.readFileSync('/proc/sys/kernel/overflowuid', 'utf8').trim()) || overflow;
  } catch {
    // no procfs: the kernel's default
  }
  return { uid: process.geteuid?.() ?? -1, gid: process.getegid?.() ?? -1, unmappedUid: inUserNamespace ? overflow : null };
}

/**
 * The directories above the store that let another user reach it anyway, one sentence each: a
 * 0700 store is private only while nobody else can rename it away and put a directory of their
 * own in its place (the next import would write its setuid files there). That is anyone who may
 * write a parent (group or others write without the sticky bit; the group only when it is not
 * this process's own), and the owner of a parent (who may chmod it) when that is neither root nor
 * this user. An owner this user namespace does not map (the overflow uid: root of the host, for
 * one) is not held against it: it cannot be told apart.
 */
export function parentProblems(root: string, viewer: Viewer): string[] {
  const out: string[] = [];
  let real: string;
  try {
    real = fs.realpathSync(root);
  } catch {
    return out;
  }
  for (let d = path.dirname(real); ; d = path.dirname(d)) {
    const st = fs.statSync(d, { throwIfNoEntry: false });
    if (st) {
      const mode = (st.mode & 0o7777).toString(8).padStart(4, '0');
      const sticky = (st.mode & 0o1000) !== 0;
      const why: string[] = [];
      if (st.uid !== 0 && st.uid !== viewer.uid && st.uid !== viewer.unmappedUid) why.push(`belongs to uid ${st.uid}`);
      if (!sticky && (st.mode & 0o002) !== 0) why.push(`is writable by others (mode ${mode}, no sticky bit)`);
      else if (!sticky && (st.mode & 0o020) !== 0 && st.gid !== viewer.gid) why.push(`is writable by group ${st.gid} (mode ${mode}, no sticky bit)`);
      if (why.length) out.push(`${d}, above the store ${root}, ${why.join(' and ')}: that user can move the store away and put a directory of their own in its place, which would then get the layers (setuid files and devices included); make it the store owner's or root's, and not writable by others`);
    }
    if (path.dirname(d) === d) break;
  }
  return out;
}

/**
 * Creates the store's directories 0700 and tightens existing ones (a store made before this rule
 * was 0755). A directory this process cannot chmod (owned by someone else) is reported, not
 * fatal: the store still works, but it is not private. So is a parent that lets another user
 * replace the store (parentProblems), when `viewer` is given.
 */
export function ensurePrivateStore(paths: StorePaths, viewer?: Viewer): PrivacyReport {
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
  addParents(report, paths, viewer);
  return report;
}

function addParents(report: PrivacyReport, paths: StorePaths, viewer: Viewer | undefined): void {
  if (!viewer) return;
  const parents = parentProblems(paths.root, viewer);
  if (parents.length) report.private = false;
  report.problems.push(...parents);
}

/** The same check without changing anything (fsck). */
export function checkPrivateStore(paths: StorePaths, viewer?: Viewer): PrivacyReport {
  const report: PrivacyReport = { private: true, tightened: [], problems: [] };
  for (const dir of privateDirs(paths)) {
    const st = fs.statSync(dir, { throwIfNoEntry: false });
    if (!st || (st.mode & 0o077) === 0) continue;
    report.private = false;
    report.problems.push(`${dir} is mode ${(st.mode & 0o7777).toString(8).padStart(4, '0')}: other users can reach layer contents, including setuid files and devices`);
  }
  addParents(report, paths, viewer);
  return report;
}
