import * as path from 'path';

/** Anything normalisation would change: '//', '/./', '/../', a trailing '/' or '/.' or '/..'. */
const NOT_NORMAL = /\/\/|\/\.\.?(?:\/|$)|.\/$/;

/** '/a//b/../c/' -> '/a/c'; relative paths are taken from the root; `..` never climbs above it. */
export function normalisePath(p: string): string {
  if (p.charCodeAt(0) === 0x2f && !NOT_NORMAL.test(p)) return p;
  return path.posix.resolve('/', p);
}

/** Byte order of names (lib/names): what `Buffer.compare` of their bytes gives. */
export { byteOrder } from '../names';
