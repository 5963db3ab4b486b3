import { nameBytes } from './escape';

/** A lone escaped byte (U+DC80..U+DCFF, not the low half of a pair) at `s[i]`. */
function escapedAt(s: string, i: number): boolean {
  const u = s.charCodeAt(i);
  return u >= 0xdc80 && u <= 0xdcff && !(i > 0 && (s.charCodeAt(i - 1) & 0xfc00) === 0xd800);
}

// UTF-16 code units sort like code points (hence like UTF-8 bytes) except that surrogates
// (D800-DFFF, the halves of code points above FFFF) must come after E000-FFFF.
const codePointRank = (u: number) => (u >= 0xe000 ? u - 0x800 : u + 0x2000);

/**
 * Byte order of the names' bytes (what `Buffer.compare` of nameBytes gives), without encoding
 * anything unless an escaped byte is where they first differ.
 */
export function byteOrder(a: string, b: string): number {
  if (a === b) return 0;
  const n = a.length < b.length ? a.length : b.length;
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    if (x >= 0xdc80 || y >= 0xdc80) {
      if (escapedAt(a, i) || escapedAt(b, i)) return Buffer.compare(nameBytes(a.slice(i)), nameBytes(b.slice(i)));
    }
    return x >= 0xd800 && y >= 0xd800 ? codePointRank(x) - codePointRank(y) : x - y;
  }
  return a.length - b.length;
}

/** UTF-16 code units ranked as the UTF-8 bytes of their code points sort: surrogates (code points above FFFF) last. */
const unitRank = (u: number) => (u < 0xd800 ? u : u < 0xe000 ? u + 0x2000 : u - 0x800);

/** Byte order with '/' ranked below every other byte, on bytes. */
function compareBytesSlashFirst(a: Buffer, b: Buffer): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a[i];
    const y = b[i];
    if (x === y) continue;
    if (x === 0x2f) return -1;
    if (y === 0x2f) return 1;
    return x - y;
  }
  return a.length - b.length;
}

/**
 * The order of a depth-first walk that lists each directory in byte order: component by
 * component, each compared in byte order. It is the byte order of the paths with '/' ranked
 * below every other byte.
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
    if ((x >= 0xdc80 || y >= 0xdc80) && (escapedAt(a, i) || escapedAt(b, i))) return compareBytesSlashFirst(nameBytes(a.slice(i)), nameBytes(b.slice(i)));
    return unitRank(x) - unitRank(y);
  }
  return a.length - b.length;
}
