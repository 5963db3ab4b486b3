import * as fs from 'fs';
import { UnsupportedError } from '../errors';
import { byteOrder } from '../view';

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
  return fs.readdirSync(dirReal).sort(byteOrder);
}

/** lstat of a listed name; a name that is not UTF-8 comes back from readdir mangled, and says so. */
export function lstatListedSync(real: string): fs.Stats;
export function lstatListedSync(real: string, bigint: true): fs.BigIntStats;
export function lstatListedSync(real: string, bigint?: true): fs.Stats | fs.BigIntStats {
  try {
    return bigint ? fs.lstatSync(real, { bigint: true }) : fs.lstatSync(real);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT' && real.includes('\ufffd')) {
      throw new UnsupportedError(`cannot diff ${JSON.stringify(real)}: its name is not UTF-8`);
    }
    throw e;
  }
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

/** UTF-16 code units ranked as the UTF-8 bytes of their code points sort: surrogates (code points above FFFF) last. */
const unitRank = (u: number) => (u < 0xd800 ? u : u < 0xe000 ? u + 0x2000 : u - 0x800);

/**
 * The order walkTreeSync yields paths in: component by component, each compared in byte
 * order. It is the byte order of the paths with '/' ranked below every other character.
 */
export function compareTreePaths(a: string, b: string): number {
  if (a === b) return 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    if (x === 0x2f) return -1;
    if (y === 0x2f) return 1;
    return unitRank(x) - unitRank(y);
  }
  return a.length - b.length;
}

/** Is `p` strictly below `dir`? */
export function isUnder(p: string, dir: string): boolean {
  return dir === '/' ? p !== '/' : p.length > dir.length && p.charCodeAt(dir.length) === 0x2f && p.startsWith(dir);
}
