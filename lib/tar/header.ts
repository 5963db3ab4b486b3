/**
 * The tar vocabulary the reader (tar/reader.ts) and the writer (tar/writer.ts) share: one header
 * type, one set of entry type names and their typeflags, the block size and its padding.
 */

export const BLOCK = 512;
/** two zero blocks end the archive (no padding to a 10 KiB record) */
export const END_OF_ARCHIVE = Buffer.alloc(2 * BLOCK);

/** What an entry is: `link` is a hardlink, `char` and `block` are devices. */
export type TarEntryType = 'file' | 'link' | 'symlink' | 'char' | 'block' | 'dir' | 'fifo';

/** The typeflag the writer gives each entry type. */
export const TYPE_FLAG = {
  file: '0',
  link: '1',
  symlink: '2',
  char: '3',
  block: '4',
  dir: '5',
  fifo: '6',
} as const satisfies Record<TarEntryType, string>;

/** The entry type of each typeflag the reader accepts: also NUL (pre-POSIX) and '7' (contiguous) as files. */
export const ENTRY_TYPES: Readonly<Record<string, TarEntryType>> = { ...invert(TYPE_FLAG), '\0': 'file', '7': 'file' };

function invert(flags: typeof TYPE_FLAG): Record<string, TarEntryType> {
  const out: Record<string, TarEntryType> = {};
  for (const [type, flag] of Object.entries(flags)) out[flag] = type as TarEntryType;
  return out;
}

/** One tar member: what the writer encodes, and (with the fields of `ReadHeader`) what the reader gives. */
export interface TarHeader {
  /** full path inside the archive, raw bytes (non-UTF-8 names are kept byte for byte); the writer ends directories with `/` */
  name: Buffer;
  type: TarEntryType;
  /** permission bits including setuid/setgid/sticky */
  mode: number;
  uid: number;
  gid: number;
  /** bytes of data that follow: a regular file's size, 0 for every other type */
  size: number;
  /** seconds since the epoch: whole when written; as read possibly fractional or negative (PAX, base-256) */
  mtime: number;
  /** symlink target or hardlink target path */
  linkname?: Buffer;
  devmajor?: number;
  devminor?: number;
  /** SCHILY.xattr.* [name, value] pairs, values as raw bytes; the writer encodes them sorted by name */
  xattrs?: Iterable<[string, Buffer]>;
}

/** Zeros that pad `size` content bytes to a whole block. */
export function padding(size: number): number {
  const r = size % BLOCK;
  return r === 0 ? 0 : BLOCK - r;
}
