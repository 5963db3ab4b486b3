import { BadTarError, LimitExceededError, UnsafePathError } from '../errors';
import { nameOfBytes } from '../names';
import type { TarLimits } from './types';
import { BLOCK, ENTRY_TYPES, padding, type TarHeader } from './header';

/**
 * A header as read, every field present: PAX and GNU long-name records folded in, and the times
 * exactly as well as in seconds.
 */
export interface ReadHeader extends TarHeader {
  linkname: Buffer;
  /** seconds: PAX atime, else the mtime */
  atime: number;
  /** the mtime exactly, in nanoseconds (PAX times carry up to nanoseconds; a double cannot hold them) */
  mtimeNs: bigint;
  /** the atime exactly, in nanoseconds: PAX atime, else the mtime */
  atimeNs: bigint;
  devmajor: number;
  devminor: number;
  xattrs: Map<string, Buffer>;
}

/** Where an entry's data goes, chunk by chunk, as it arrives. */
export interface EntrySink {
  write(chunk: Buffer): void;
  end(): void;
}

const SLASH = Buffer.from('/');

const KNOWN_UNSUPPORTED: Record<string, string> = { S: 'a GNU sparse file', D: 'a GNU dump directory', M: 'a GNU multi-volume continuation', V: 'a GNU volume header', N: 'an old GNU long-name record' };

/** An entry's name for messages: its name string (lib/names), so even a name that is not UTF-8 says which it was. */
export function displayName(name: Buffer): string {
  return nameOfBytes(name);
}

/** A NUL-terminated field (or the whole field when it has no NUL), as a view of `b`. */
function cstring(b: Buffer, off: number, len: number): Buffer {
  const end = b.indexOf(0, off);
  return b.subarray(off, end === -1 || end > off + len ? off + len : end);
}

/**
 * A numeric header field: octal ASCII (leading spaces or NULs, ended by a NUL or space, as GNU
 * and Go accept), or GNU base-256 when the high bit is set (two's complement; negative values
 * only where `signed`, for pre-1970 times).
 */
export function parseNumeric(b: Buffer, off: number, len: number, field: string, entry: string | null, signed = false): number {
  const end = off + len;
  if (b[off] & 0x80) {
    const negative = (b[off] & 0x40) !== 0;
    if (negative && !signed) throw new BadTarError(entry, `negative ${field}`);
    const inv = negative ? 0xff : 0;
    let v = (b[off] ^ inv) & 0x7f;
    for (let i = off + 1; i < end; i++) {
      v = v * 256 + (b[i] ^ inv);
      if (v > Number.MAX_SAFE_INTEGER) throw new BadTarError(entry, `${field} is too large`);
    }
    return negative ? -(v + 1) : v;
  }
  let i = off;
  while (i < end && (b[i] === 0x20 || b[i] === 0)) i++;
  let v = 0;
  for (; i < end && b[i] >= 0x30 && b[i] <= 0x37; i++) v = v * 8 + (b[i] - 0x30);
  // after the digits: the end of the field, or a terminator; past a NUL the field is unused
  if (i < end && b[i] === 0x20) while (i < end && b[i] === 0x20) i++;
  if (i < end && b[i] !== 0) throw new BadTarError(entry, `${field} is not an octal number: ${JSON.stringify(b.toString('latin1', off, end))}`);
  if (v > Number.MAX_SAFE_INTEGER) throw new BadTarError(entry, `${field} is too large`);
  return v;
}

/** Whether the block is all zeros (an end-of-archive block), else whether its checksum holds. */
function inspectBlock(h: Buffer): 'zero' | 'ok' | 'bad' {
  let unsigned = 0;
  let high = 0;
  let field = 0;
  for (let i = 0; i < BLOCK; i++) {
    const c = h[i];
    if (i >= 148 && i < 156) {
      field |= c;
      continue;
    }
    unsigned += c;
    if (c > 127) high++;
  }
  if (unsigned === 0 && field === 0) return 'zero';
  unsigned += 8 * 32; // the checksum field counts as spaces
  const signed = unsigned - 256 * high; // some old writers summed signed chars
  let stored: number;
  try {
    stored = parseNumeric(h, 148, 8, 'checksum', null);
  } catch {
    return 'bad';
  }
  return stored === unsigned || stored === signed ? 'ok' : 'bad';
}

/** PAX records: "<len> <key>=<value>\n", len counted in bytes; values kept as raw bytes. */
function parsePax(body: Buffer, entry: string): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  let i = 0;
  while (i < body.length) {
    if (body[i] === 0) break; // padding some writers leave inside the body
    const sp = body.indexOf(0x20, i);
    const digits = sp === -1 ? '' : body.toString('latin1', i, sp);
    if (!/^[0-9]{1,20}$/.test(digits)) throw new BadTarError(entry, `malformed PAX record length ${JSON.stringify(digits || body.toString('latin1', i, i + 20))}`);
    const len = Number(digits);
    if (len <= sp - i + 1 || i + len > body.length) throw new BadTarError(entry, `PAX record length ${len} does not fit the ${body.length}-byte header`);
    if (body[i + len - 1] !== 0x0a) throw new BadTarError(entry, 'PAX record does not end with a newline');
    const rec = body.subarray(sp + 1, i + len - 1);
    const eq = rec.indexOf(0x3d);
    if (eq <= 0) throw new BadTarError(entry, 'PAX record without a "key="');
    out.set(rec.toString('utf8', 0, eq), Buffer.from(rec.subarray(eq + 1)));
    i += len;
  }
  return out;
}

function paxInteger(v: Buffer, key: string, entry: string): number {
  const s = v.toString('latin1');
  if (!/^[0-9]{1,16}$/.test(s) || !Number.isSafeInteger(Number(s))) throw new BadTarError(entry, `PAX ${key} ${JSON.stringify(s.slice(0, 40))} is not a non-negative integer in range`);
  return Number(s);
}

const NS_PER_S = 1_000_000_000n;

/** A PAX time in nanoseconds: digits past the ninth decimal are cut, as Go's reader does. */
function paxTime(v: Buffer, key: string, entry: string): bigint {
  const s = v.toString('latin1');
  const m = /^(-?)([0-9]{1,16})(?:\.([0-9]*))?$/.exec(s);
  if (!m) throw new BadTarError(entry, `PAX ${key} is not a number: ${JSON.stringify(s.slice(0, 40))}`);
  const ns = BigInt(m[2]) * NS_PER_S + BigInt((m[3] ?? '').slice(0, 9).padEnd(9, '0'));
  return m[1] ? -ns : ns;
}

/** Seconds as a number (possibly fractional) of a time in ns. */
const secondsOf = (ns: bigint) => Number(ns / NS_PER_S) + Number(ns % NS_PER_S) / 1e9;

type Meta = 'x' | 'g' | 'L' | 'K';

/**
 * A synchronous push parser of tar streams: ustar, GNU (long names and links, base-256 numbers)
 * and PAX (path, linkpath, size, mtime, atime, uid, gid, SCHILY.xattr.*). Entry data is handed to
 * the entry's sink as it arrives, never buffered whole; extended headers are bounded by
 * `limits.maxHeaderBytes` (all of one entry's together) before they are buffered.
 *
 * Like Go's archive/tar, which the container tools use, hardlinks, symlinks, devices, fifos and
 * directories carry no data whatever their size field says, and one end-of-archive block followed
 * by anything but a second one is refused. A stream may end right after its last entry's data (no
 * end-of-archive blocks, even no padding, as `umoci insert` writes); one that ends inside a header
 * or inside data is refused, naming the entry.
 *
 * A global PAX header ('g') is read as Go's archive/tar reads it (and so containerd and moby):
 * its records must be well-formed, and they apply to no entry. Go hands it out as an entry of its
 * own, which the appliers skip, so extended headers pending before it are dropped with it. GNU tar
 * applies a global `path` to every later entry instead; a layer means what the container tools
 * make of it.
 */
export class TarReader {
  private state: 'header' | 'data' | 'meta' | 'pad' | 'eof' = 'header';
  private readonly partial = Buffer.alloc(BLOCK);
  private buffered = 0;
  private zeroBlocks = 0;
  private remaining = 0;
  private pad = 0;
  private sink: EntrySink | null = null;
  /** the entry being read (for errors) */
  private current: string | null = null;
  /** the last complete header's entry name, for errors about what follows it */
  private last: string | null = null;
  private metaType: Meta | null = null;
  private meta: Buffer[] = [];
  /** bytes of extended headers gathered for the next entry */
  private metaBytes = 0;
  private pax = new Map<string, Buffer>();
  private longName: Buffer | null = null;
  private longLink: Buffer | null = null;
  /** entries seen (extended headers not counted) */
  entries = 0;

  constructor(private readonly limits: TarLimits, private readonly onEntry: (h: ReadHeader) => EntrySink | null) {}

  /** The entry being read, when there is one: errors from outside the parser (a truncated gzip stream) name it. */
  get currentEntry(): string | null {
    return this.state === 'data' || this.state === 'meta' ? this.current : null;
  }

  push(chunk: Buffer): void {
    let off = 0;
    const n = chunk.length;
    while (off < n) {
      switch (this.state) {
        case 'eof':
          return; // what follows the end-of-archive blocks is hashed, never read
        case 'data':
        case 'meta': {
          const k = Math.min(this.remaining, n - off);
          const part = chunk.subarray(off, off + k);
          if (this.state === 'data') this.sink?.write(part);
          else this.meta.push(Buffer.from(part));
          off += k;
          this.remaining -= k;
          if (this.remaining === 0) this.finishBody();
          break;
        }
        case 'pad': {
          const k = Math.min(this.pad, n - off);
          off += k;
          this.pad -= k;
          if (this.pad === 0) this.state = 'header';
          break;
        }
        case 'header':
          if (this.buffered === 0 && n - off >= BLOCK) {
            off += BLOCK;
            this.header(chunk.subarray(off - BLOCK, off));
          } else {
            const k = Math.min(BLOCK - this.buffered, n - off);
            chunk.copy(this.partial, this.buffered, off, off + k);
            this.buffered += k;
            off += k;
            if (this.buffered === BLOCK) {
              this.buffered = 0;
              this.header(this.partial);
            }
          }
          break;
      }
    }
  }

  /** The input ended: throws unless that was a complete archive. */
  end(): void {
    if (this.state === 'eof') return;
    if (this.state === 'data') throw new BadTarError(this.current, `the stream ends inside the entry's data (${this.remaining} bytes missing)`);
    if (this.state === 'meta') throw new BadTarError(this.current, `the stream ends inside an extended header (${this.remaining} bytes missing)`);
    if (this.metaType !== null || this.pendingMeta()) throw new BadTarError(this.current, 'the stream ends after an extended header, before its entry');
    if (this.state === 'header' && this.buffered > 0 && !this.partial.subarray(0, this.buffered).every((b) => b === 0)) {
      // a cut end-of-archive block (all zeros) is as good as none; a cut header is not
      const name = this.buffered >= 100 ? displayName(cstring(this.partial, 0, 100)) : null;
      const after = this.last === null ? 'at the start of the archive' : `after ${JSON.stringify(this.last)}`;
      throw new BadTarError(name, `the stream ends inside a header (${this.buffered} of ${BLOCK} bytes), ${after}`);
    }
    // 'pad': the last entry's data is whole, only its padding is missing
  }

  private pendingMeta(): boolean {
    return this.pax.size > 0 || this.longName !== null || this.longLink !== null;
  }

  private startBody(size: number, state: 'data' | 'meta'): void {
    this.remaining = size;
    this.pad = padding(size);
    this.state = state;
    if (size === 0) this.finishBody();
  }

  private finishBody(): void {
    if (this.state === 'data') {
      const sink = this.sink;
      this.sink = null;
      sink?.end();
    } else if (this.metaType !== null) {
      const body = Buffer.concat(this.meta);
      this.meta = [];
      const t = this.metaType;
      this.metaType = null;
      const name = this.current ?? '';
      if (t === 'x') for (const [k, v] of parsePax(body, name)) this.pax.set(k, v);
      else if (t === 'g') parsePax(body, name); // well-formed, and applied to nothing (see the class comment)
      else if (t === 'L') this.longName = Buffer.from(cstring(body, 0, body.length));
      else this.longLink = Buffer.from(cstring(body, 0, body.length));
    }
    this.state = this.pad ? 'pad' : 'header';
  }

  private header(h: Buffer): void {
    const kind = inspectBlock(h);
    if (kind === 'zero') {
      if (this.pendingMeta()) throw new BadTarError(this.current, 'an end-of-archive block follows an extended header, before its entry');
      if (++this.zeroBlocks === 2) this.state = 'eof';
      return;
    }
    const rawName = cstring(h, 0, 100);
    const headerName = displayName(rawName);
    this.current = headerName;
    if (this.zeroBlocks) throw new BadTarError(headerName, 'an entry follows a single end-of-archive block');
    if (kind === 'bad') throw new BadTarError(headerName, 'header checksum mismatch');
    const flag = String.fromCharCode(h[156]);
    const size = parseNumeric(h, 124, 12, 'size', headerName);
    if (flag === 'x' || flag === 'g' || flag === 'L' || flag === 'K') return this.startMeta(flag, size, headerName);

    let type = ENTRY_TYPES[flag];
    if (!type) throw new BadTarError(headerName, KNOWN_UNSUPPORTED[flag] ? `${KNOWN_UNSUPPORTED[flag]} (typeflag ${flag}) is not supported` : `unsupported entry type ${JSON.stringify(flag)}`);
    const posix = h.toString('latin1', 257, 263) === 'ustar\0';
    const gnu = h.toString('latin1', 257, 265) === 'ustar  \0';
    let name: Buffer = rawName;
    if (posix && h[345] !== 0) name = Buffer.concat([cstring(h, 345, 155), SLASH, rawName]);
    let linkname: Buffer = cstring(h, 157, 100);
    if (this.longName) name = this.longName;
    if (this.longLink) linkname = this.longLink;
    const mtime = parseNumeric(h, 136, 12, 'mtime', headerName, true);
    const hdr: ReadHeader = {
      name,
      linkname,
      type,
      mode: parseNumeric(h, 100, 8, 'mode', headerName) & 0o7777,
      uid: parseNumeric(h, 108, 8, 'uid', headerName),
      gid: parseNumeric(h, 116, 8, 'gid', headerName),
      size,
      mtime,
      atime: mtime,
      mtimeNs: BigInt(mtime) * NS_PER_S,
      atimeNs: 0n,
      devmajor: posix || gnu ? parseNumeric(h, 329, 8, 'devmajor', headerName) : 0,
      devminor: posix || gnu ? parseNumeric(h, 337, 8, 'devminor', headerName) : 0,
      xattrs: new Map(),
    };
    let atime: bigint | null = null;
    for (const [k, v] of this.pax) {
      if (k === 'path') hdr.name = v;
      else if (k === 'linkpath') hdr.linkname = v;
      else if (k === 'size') hdr.size = paxInteger(v, k, headerName);
      else if (k === 'uid') hdr.uid = paxInteger(v, k, headerName);
      else if (k === 'gid') hdr.gid = paxInteger(v, k, headerName);
      else if (k === 'mtime') hdr.mtimeNs = paxTime(v, k, headerName);
      else if (k === 'atime') atime = paxTime(v, k, headerName);
      else if (k.startsWith('SCHILY.xattr.')) hdr.xattrs.set(k.slice('SCHILY.xattr.'.length), v);
      else if (k.startsWith('GNU.sparse.')) throw new BadTarError(headerName, 'a GNU sparse file (PAX GNU.sparse records) is not supported');
    }
    hdr.atimeNs = atime ?? hdr.mtimeNs;
    hdr.mtime = secondsOf(hdr.mtimeNs);
    hdr.atime = secondsOf(hdr.atimeNs);
    this.pax = new Map();
    this.longName = null;
    this.longLink = null;
    this.metaBytes = 0;
    // names outlive this block (it may be the reused partial buffer)
    hdr.name = Buffer.from(hdr.name);
    hdr.linkname = Buffer.from(hdr.linkname);
    const entry = displayName(hdr.name);
    this.current = entry;
    this.last = entry;
    if (flag === '\0' && hdr.name[hdr.name.length - 1] === 0x2f) {
      // old tars mark a directory by its trailing slash; with a size it is ambiguous between readers
      if (hdr.size !== 0) throw new BadTarError(entry, 'an old-style directory entry (typeflag NUL, trailing slash) with a size');
      type = hdr.type = 'dir';
    }
    if (hdr.name.includes(0)) throw new UnsafePathError(entry, 'the name contains a NUL byte');
    if (hdr.linkname.includes(0)) throw new UnsafePathError(entry, 'the link target contains a NUL byte');
    // only regular files carry data (as Go's archive/tar reads them, so the trees agree)
    if (type !== 'file') hdr.size = 0;
    this.entries++;
    this.sink = this.onEntry(hdr);
    this.startBody(hdr.size, 'data');
  }

  private startMeta(flag: Meta, size: number, headerName: string): void {
    const what = flag === 'L' || flag === 'K' ? 'GNU long name' : flag === 'g' ? 'global PAX header' : 'PAX header';
    const limit = this.limits.maxHeaderBytes;
    if (size > limit) throw new LimitExceededError(headerName, `${what} of ${size} bytes is over the ${limit}-byte limit`);
    if (flag !== 'g') {
      this.metaBytes += size;
      if (this.metaBytes > limit) throw new LimitExceededError(headerName, `the extended headers of one entry add up to ${this.metaBytes} bytes, over the ${limit}-byte limit`);
    } else {
      // Go's reader returns the global header with what was pending merged into it: gone with it
      this.pax = new Map();
      this.longName = null;
      this.longLink = null;
      this.metaBytes = 0;
    }
    this.metaType = flag;
    this.startBody(size, 'meta');
  }
}
