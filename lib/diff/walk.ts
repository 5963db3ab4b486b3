import * as fs from 'fs';
import { byteOrder, fsPath, readdirNamesSync } from '../names';

/** '/a' + 'b' -> '/a/b'; '/' + 'b' -> '/b'. */
export function childPath(dir: string, name: string): string {
  return dir === '/' ? '/' + name : dir + '/' + name;
}

/** The last component of a path: '/a/b' -> 'b'. */
export function baseName(p: string): string {
  return p.slice(p.lastIndexOf('/') + 1);
}

/** A directory's names in byte order (the order every walk and every manifest uses). */
export function sortedNamesSync(dirReal: string): string[] {
  return readdirNamesSync(dirReal).sort(byteOrder);
}

/** lstat of a path whose names are name strings (lib/names). */
export function lstatListedSync(real: string): fs.Stats;
export function lstatListedSync(real: string, bigint: true): fs.BigIntStats;
export function lstatListedSync(real: string, bigint?: true): fs.Stats | fs.BigIntStats {
  return bigint ? fs.lstatSync(fsPath(real), { bigint: true }) : fs.lstatSync(fsPath(real));
}

export interface WalkEntry {
  /** '/a/b'; '/' for the root */
  path: string;
  real: string;
  st: fs.BigIntStats;
}

/**
 * Every entry of a directory tree, root first, depth first, each directory's children in byte
 * order right after it (so two walks of one tree, or a walk and a manifest written by one, can
 * be merged like sorted lists). Memory holds one listing per open directory.
 */
export function* walkTreeSync(root: string): Generator<WalkEntry> {
  const top = lstatListedSync(root, true);
  yield { path: '/', real: root, st: top };
  if (!top.isDirectory()) return;
  const open: Array<{ path: string; real: string; names: string[]; i: number }> = [{ path: '/', real: root, names: sortedNamesSync(root), i: 0 }];
  while (open.length > 0) {
    const dir = open[open.length - 1];
    if (dir.i === dir.names.length) {
      open.pop();
      continue;
    }
    const name = dir.names[dir.i++];
    const real = dir.real + '/' + name;
    const p = childPath(dir.path, name);
    let st: fs.BigIntStats;
    try {
      st = lstatListedSync(real, true);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') continue; // removed since the listing
      throw e;
    }
    yield { path: p, real, st };
    if (st.isDirectory()) open.push({ path: p, real, names: sortedNamesSync(real), i: 0 });
  }
}

/**
 * The order walkTreeSync yields paths in: component by component, each compared in byte
 * order. It is the byte order of the paths with '/' ranked below every other character.
 */
export { compareTreePaths } from '../names';

/** Is `p` strictly below `dir`? */
export function isUnder(p: string, dir: string): boolean {
  return dir === '/' ? p !== '/' : p.length > dir.length && p.charCodeAt(dir.length) === 0x2f && p.startsWith(dir);
}
