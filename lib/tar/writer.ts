/**
 * Tar header encoding for deterministic layers: POSIX ustar headers, with a PAX extended
 * header ('x') only where ustar cannot hold a value. No uname/gname (owners are numeric).
 *
 * Choices, so the bytes never depend on who packs:
 * - a path goes in the ustar `name` field when it is at most 100 bytes; a longer path goes in a
 *   PAX `path` record (the ustar `prefix` field is never used: one rule, and no reader has to
 *   join prefix and name). The `name` field then holds the path's first 100 bytes.
 * - a link target longer than 100 bytes goes in a PAX `linkpath` record.
 * - numbers that do not fit their octal field (size >= 8 GiB, uid/gid >= 2^21, mtime outside
 *   0..8^11-1) are written both as a PAX record and in GNU base-256 form in the field, so
 *   readers that ignore PAX still get the right size.
 * - a path or link target that is not valid UTF-8 goes in PAX as raw bytes, without
 *   `hdrcharset=BINARY` (GNU tar warns about that keyword; it, Go and containerd read raw bytes).
 * - xattrs are `SCHILY.xattr.<name>` records, sorted by name, values byte for byte.
 * - a PAX header entry is named `PaxHeaders/<path>` (cut to 100 bytes), mode 0644, owner 0:0,
 *   mtime 0.
 */
import { UnsupportedError } from '../errors';
import { BLOCK, TYPE_FLAG, padding, type TarHeader } from './header';

const MAX_OCTAL_7 = 0o7777777; // 8-byte fields: mode, uid, gid, devmajor, devminor
const MAX_OCTAL_11 = 0o77777777777; // 12-byte fields: size, mtime
const USTAR_MAGIC = Buffer.from('ustar\x0000', 'latin1');

/** One PAX record `"<len> <key>=<value>\n"`; len counts bytes, its own digits included. */
export function paxRecord(key: string, value: Buffer | string): Buffer {
  const v = typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
  const k = Buffer.from(key, 'utf8');
  const rest = k.length + v.length + 3; // ' ', '=', '\n'
  let len = rest + 1;
  while (String(len).length + rest !== len) len = String(len).length + rest;
  return Buffer.concat([Buffer.from(`${len} `), k, Buffer.from('='), v, Buffer.from('\n')]);
}

function writeString(block: Buffer, off: number, width: number, s: Buffer): void {
  s.copy(block, off, 0, Math.min(s.length, width));
}

/** `digits` octal digits, zero-padded (byte by byte: Buffer.write costs a native call per field). */
function writeOctal(block: Buffer, off: number, digits: number, n: number): void {
  for (let i = off + digits - 1; i >= off; i--) {
    block[i] = 0x30 + (n % 8);
    n = Math.floor(n / 8);
  }
}

/** Octal, zero-padded to width-1 digits and a NUL, or GNU base-256 when it does not fit. */
function writeNumber(block: Buffer, off: number, width: number, n: number): void {
  const max = width === 8 ? MAX_OCTAL_7 : MAX_OCTAL_11;
  if (Number.isInteger(n) && n >= 0 && n <= max) {
    writeOctal(block, off, width - 1, n);
    block[off + width - 1] = 0;
    return;
  }
  // base-256: big-endian two's complement, the first byte's high bit marks the form
  let v = BigInt(Math.trunc(n));
  const neg = v < 0n;
  for (let i = width - 1; i >= 0; i--) {
    block[off + i] = Number(v & 0xffn);
    v >>= 8n;
  }
  block[off] = neg ? 0xff : 0x80;
}

function fitsOctal(n: number, width: 8 | 12): boolean {
  return Number.isInteger(n) && n >= 0 && n <= (width === 8 ? MAX_OCTAL_7 : MAX_OCTAL_11);
}

const u8fill = Uint8Array.prototype.fill;

/** One 512-byte ustar header block, checksum included; `type` is the typeflag itself ('x' for a PAX header). */
export function ustarBlock(h: Omit<TarHeader, 'type' | 'xattrs'> & { type: string }): Buffer {
  // from the shared pool: cheaper than a new ArrayBuffer per header; the typed array's own fill, without Buffer.fill's checks in JS
  const b = Buffer.allocUnsafe(BLOCK);
  u8fill.call(b, 0);
  writeString(b, 0, 100, h.name);
  writeNumber(b, 100, 8, h.mode & 0o7777);
  writeNumber(b, 108, 8, h.uid);
  writeNumber(b, 116, 8, h.gid);
  writeNumber(b, 124, 12, h.size);
  writeNumber(b, 136, 12, h.mtime);
  u8fill.call(b, 0x20, 148, 156); // checksum counted as spaces
  b[156] = h.type.charCodeAt(0);
  if (h.linkname) writeString(b, 157, 100, h.linkname);
  USTAR_MAGIC.copy(b, 257);
  // uname (265) and gname (297) stay empty
  writeNumber(b, 329, 8, h.devmajor ?? 0);
  writeNumber(b, 337, 8, h.devminor ?? 0);
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += b[i];
  writeOctal(b, 148, 6, sum); // then NUL and the space already there
  b[154] = 0;
  return b;
}

function compareNames(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/** The PAX records a header needs, in a fixed order; empty when ustar holds everything. */
export function paxRecords(h: TarHeader): Buffer[] {
  const recs: Buffer[] = [];
  if (h.name.length > 100) recs.push(paxRecord('path', h.name));
  if (h.linkname && h.linkname.length > 100) recs.push(paxRecord('linkpath', h.linkname));
  if (!fitsOctal(h.size, 12)) recs.push(paxRecord('size', String(h.size)));
  if (!fitsOctal(h.uid, 8)) recs.push(paxRecord('uid', String(h.uid)));
  if (!fitsOctal(h.gid, 8)) recs.push(paxRecord('gid', String(h.gid)));
  if (!fitsOctal(h.mtime, 12)) recs.push(paxRecord('mtime', String(h.mtime)));
  // (most entries have none: no copy, no sort)
  if (h.xattrs === undefined || (Array.isArray(h.xattrs) && h.xattrs.length === 0)) return recs;
  const xattrs = [...h.xattrs].sort((a, b) => compareNames(a[0], b[0]));
  for (const [name, value] of xattrs) {
    if (name.includes('=') || name.includes('\n')) throw new UnsupportedError(`xattr name ${JSON.stringify(name)} on ${JSON.stringify(h.name.toString())} cannot be written in a PAX header`);
    recs.push(paxRecord('SCHILY.xattr.' + name, value));
  }
  return recs;
}

const PAX_PREFIX = Buffer.from('PaxHeaders/');

/** The header bytes of one entry: an optional PAX header entry (with its padded body), then the ustar block. */
export function encodeHeader(h: TarHeader): Buffer {
  const ustar = ustarBlock({
    name: h.name.subarray(0, 100),
    type: TYPE_FLAG[h.type],
    mode: h.mode,
    uid: h.uid,
    gid: h.gid,
    size: h.size,
    mtime: h.mtime,
    linkname: h.linkname?.subarray(0, 100),
    devmajor: h.devmajor,
    devminor: h.devminor,
  });
  const recs = paxRecords(h);
  if (recs.length === 0) return ustar;
  const body = Buffer.concat(recs);
  let paxName = Buffer.concat([PAX_PREFIX, h.name]);
  if (paxName[paxName.length - 1] === 0x2f) paxName = paxName.subarray(0, -1);
  const paxHead = ustarBlock({ name: paxName.subarray(0, 100), type: 'x', mode: 0o644, uid: 0, gid: 0, size: body.length, mtime: 0 });
  return Buffer.concat([paxHead, body, Buffer.alloc(padding(body.length)), ustar]);
}
