import * as path from 'path';

/** Anything normalisation would change: '//', '/./', '/../', a trailing '/' or '/.' or '/..'. */
const NOT_NORMAL = /\/\/|\/\.\.?(?:\/|$)|.\/$/;

/** '/a//b/../c/' -> '/a/c'; relative paths are taken from the root; `..` never climbs above it. */
export function normalisePath(p: string): string {
  if (p.charCodeAt(0) === 0x2f && !NOT_NORMAL.test(p)) return p;
  return path.posix.resolve('/', p);
}

// UTF-16 code units sort like code points (hence like UTF-8 bytes) except that surrogates
// (D800-DFFF, the halves of code points above FFFF) must come after E000-FFFF.
const codePointRank = (u: number) => (u >= 0xe000 ? u - 0x800 : u + 0x2000);

/** Byte order of the UTF-8 encodings (what `Buffer.compare` gives), without encoding anything. */
export function byteOrder(a: string, b: string): number {
  if (a === b) return 0;
  const n = a.length < b.length ? a.length : b.length;
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) return x >= 0xd800 && y >= 0xd800 ? codePointRank(x) - codePointRank(y) : x - y;
  }
  return a.length - b.length;
}
