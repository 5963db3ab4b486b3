/**
 * A tiny tar writer for the property tests, written from the POSIX ustar and pax formats and
 * sharing nothing with lib/tar: the layers the suite imports must not be made by the code it
 * tests. Each entry is one ustar header (with a pax extended header before it when a field does
 * not fit or xattrs are carried), its data padded to 512 bytes; two zero blocks end the archive.
 */

export type TarEntryType = 'file' | 'dir' | 'symlink' | 'hardlink';

export interface TarEntry {
  /** the path inside the layer, as bytes or a UTF-8 string; directories may end in '/' */
  name: string | Buffer;
  type: TarEntryType;
  mode: number;
  uid: number;
  gid: number;
  /** whole seconds since the epoch */
  mtime: number;
  /** regular files */
  data?: Buffer;
  /** symlink target, or the path a hardlink names */
  linkname?: Buffer;
  /** xattrs carried as pax SCHILY.xattr.NAME records */
  xattrs?: Record<string, string>;
}

const BLOCK = 512;
const TYPEFLAG: Record<TarEntryType, string> = { file: '0', dir: '5', symlink: '2', hardlink: '1' };

/** A pax record: "LEN KEY=VALUE\n", where LEN counts the whole record, its own digits included. */
function paxRecord(key: string, value: Buffer): Buffer {
  const body = Buffer.concat([Buffer.from(` ${key}=`), value, Buffer.from('\n')]);
  let len = body.length + 1;
  while (String(len).length + body.length !== len) len = String(len).length + body.length;
  return Buffer.concat([Buffer.from(String(len)), body]);
}

/** `value` as a zero-padded octal field of `width` bytes (width - 1 digits and a NUL). */
function octal(value: number, width: number): Buffer {
  const s = value.toString(8).padStart(width - 1, '0');
  if (s.length > width - 1) throw new Error(`tar-bytes: ${value} does not fit an octal field of ${width}`);
  return Buffer.from(s + '\0', 'ascii');
}

function header(fields: { name: Buffer; mode: number; uid: number; gid: number; size: number; mtime: number; typeflag: string; linkname: Buffer }): Buffer {
  const h = Buffer.alloc(BLOCK);
  fields.name.copy(h, 0, 0, 100);
  octal(fields.mode & 0o7777, 8).copy(h, 100);
  octal(fields.uid, 8).copy(h, 108);
  octal(fields.gid, 8).copy(h, 116);
  octal(fields.size, 12).copy(h, 124);
  octal(Math.max(0, fields.mtime), 12).copy(h, 136);
  h.write(fields.typeflag, 156, 'ascii');
  fields.linkname.copy(h, 157, 0, 100);
  h.write('ustar\0', 257, 'ascii');
  h.write('00', 263, 'ascii');
  h.write('root', 265, 'ascii');
  h.write('root', 297, 'ascii');
  octal(0, 8).copy(h, 329);
  octal(0, 8).copy(h, 337);
  // the checksum is the sum of the header's bytes with its own field counted as spaces
  h.fill(0x20, 148, 156);
  let sum = 0;
  for (const b of h) sum += b;
  Buffer.from(sum.toString(8).padStart(6, '0') + '\0 ', 'ascii').copy(h, 148);
  return h;
}

function padded(data: Buffer): Buffer[] {
  const rest = data.length % BLOCK;
  return rest === 0 ? [data] : [data, Buffer.alloc(BLOCK - rest)];
}

/** A pax header ('x' for the next entry, 'g' global) holding `records`. */
function paxHeader(typeflag: 'x' | 'g', records: Buffer[], mtime: number): Buffer[] {
  const body = Buffer.concat(records);
  const name = Buffer.from(typeflag === 'g' ? 'pax_global_header' : 'PaxHeaders/entry');
  return [header({ name, mode: 0o644, uid: 0, gid: 0, size: body.length, mtime, typeflag, linkname: Buffer.alloc(0) }), ...padded(body)];
}

function entryBlocks(e: TarEntry): Buffer[] {
  let name = typeof e.name === 'string' ? Buffer.from(e.name) : e.name;
  if (e.type === 'dir' && name[name.length - 1] !== 0x2f) name = Buffer.concat([name, Buffer.from('/')]);
  const linkname = e.linkname ?? Buffer.alloc(0);
  const data = e.type === 'file' ? (e.data ?? Buffer.alloc(0)) : Buffer.alloc(0);
  const records: Buffer[] = [];
  // names of non-UTF-8 bytes go in the ustar field (pax values are UTF-8); long ones in pax
  if (name.length > 100) records.push(paxRecord('path', name));
  if (linkname.length > 100) records.push(paxRecord('linkpath', linkname));
  for (const [k, v] of Object.entries(e.xattrs ?? {}).sort(([a], [b]) => (a < b ? -1 : 1))) records.push(paxRecord(`SCHILY.xattr.${k}`, Buffer.from(v)));
  const blocks = records.length ? paxHeader('x', records, e.mtime) : [];
  blocks.push(header({ name, mode: e.mode, uid: e.uid, gid: e.gid, size: data.length, mtime: e.mtime, typeflag: TYPEFLAG[e.type], linkname }));
  if (data.length) blocks.push(...padded(data));
  return blocks;
}

export interface TarOptions {
  /** a global pax header first, carrying these records (they apply to no entry) */
  global?: Record<string, string>;
}

/** The bytes of a tar archive holding `entries` in this order. */
export function tarBytes(entries: TarEntry[], opts: TarOptions = {}): Buffer {
  const blocks: Buffer[] = [];
  if (opts.global) blocks.push(...paxHeader('g', Object.entries(opts.global).map(([k, v]) => paxRecord(k, Buffer.from(v))), 0));
  for (const e of entries) blocks.push(...entryBlocks(e));
  blocks.push(Buffer.alloc(2 * BLOCK));
  return Buffer.concat(blocks);
}
