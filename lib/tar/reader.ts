import { BadTarError, LimitExceededError, UnsafePathError } from '../errors';
import type { TarLimits } from './types';

/** One tar member, after PAX and GNU long-name records were folded into it. */
export interface TarHeader {
  /** raw bytes: non-UTF-8 names are kept byte for byte */
  name: Buffer;
  linkname: Buffer;
  type: 'file' | 'link' | 'symlink' | 'char' | 'block' | 'dir' | 'fifo';
  mode: number;
  uid: number;
  gid: number;
  size: number;
  /** seconds, possibly fractional (PAX) */
  mtime: number;
  devmajor: number;
  devminor: number;
  /** SCHILY.xattr.* values as raw bytes */
  xattrs: Map<string, Buffer>;
}

export interface EntrySink {
  write(chunk: Buffer): void;
  end(): void;
}

const TYPES: Record<string, TarHeader['type']> = { '0': 'file', '\0': 'file', '7': 'file', '1': 'link', '2': 'symlink', '3': 'char', '4': 'block', '5': 'dir', '6': 'fifo' };

export function displayName(name: Buffer): string {
  return name.toString('utf8');
}

function cstring(b: Buffer, off: number, len: number): Buffer {
  const end = b.indexOf(0, off);
  return b.subarray(off, end === -1 || end > off + len ? off + len : end);
}

/** Octal ASCII, or base-256 (GNU) when the high bit is set; negative base-256 is refused. */
export function parseNumeric(b: Buffer, off: number, len: number, field: string, entry: string): number {
  if (b[off] & 0x80) {
    if (b[off] === 0xff) throw new BadTarError(entry, `negative ${field}`);
    let v = b[off] & 0x7f;
    for (let i = 1; i < len; i++) {
      v = v * 256 + b[off + i];
      if (v > Number.MAX_SAFE_INTEGER) throw new BadTarError(entry, `${field} is too large`);
    }
    return v;
  }
  const s = b.toString('latin1', off, off + len).replace(/[\0 ]+$/g, '').replace(/^ +/, '');
  if (s === '') return 0;
  if (!/^[0-7]+$/.test(s)) throw new BadTarError(entry, `${field} is not an octal number: ${JSON.stringify(s)}`);
  const v = parseInt(s, 8);
  if (!Number.isSafeInteger(v)) throw new BadTarError(entry, `${field} is too large`);
  return v;
}

function checksumOk(h: Buffer): boolean {
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < 512; i++) {
    const c = i >= 148 && i < 156 ? 32 : h[i];
    unsigned += c;
    signed += c > 127 ? c - 256 : c;
  }
  const s = h.toString('latin1', 148, 156).replace(/[\0 ]+$/g, '').trim();
  const stored = parseInt(s, 8);
  return stored === unsigned || stored === signed;
}

/** PAX records: "<len> <key>=<value>\n", len counted in bytes; values kept raw. */
function parsePax(body: Buffer, entry: string): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  let i = 0;
  while (i < body.length) {
    if (body[i] === 0) break;
    const sp = body.indexOf(0x20, i);
    if (sp === -1) throw new BadTarError(entry, 'malformed PAX record');
    const len = Number(body.toString('latin1', i, sp));
    if (!Number.isInteger(len) || len <= sp - i + 1 || i + len > body.length) throw new BadTarError(entry, `malformed PAX record length ${JSON.stringify(body.toString('latin1', i, sp))}`);
    const rec = body.subarray(sp + 1, i + len - 1);
    if (body[i + len - 1] !== 0x0a) throw new BadTarError(entry, 'PAX record does not end with a newline');
    const eq = rec.indexOf(0x3d);
    if (eq === -1) throw new BadTarError(entry, 'PAX record without "="');
    out.set(rec.toString('utf8', 0, eq), Buffer.from(rec.subarray(eq + 1)));
    i += len;
  }
  return out;
}

function paxNumber(v: Buffer, key: string, entry: string): number {
  const s = v.toString('latin1');
  if (!/^-?\d+(\.\d+)?$/.test(s)) throw new BadTarError(entry, `PAX ${key} is not a number: ${JSON.stringify(s)}`);
  const n = Number(s);
  if (key === 'size' && (n < 0 || !Number.isSafeInteger(n))) throw new BadTarError(entry, `PAX size ${s} is negative or too large`);
  if ((key === 'uid' || key === 'gid') && (n < 0 || !Number.isSafeInteger(n))) throw new BadTarError(entry, `PAX ${key} ${s} is out of range`);
  return n;
}

/**
 * A synchronous push parser of tar streams (ustar, GNU, PAX). Entry data is handed to the
 * entry's sink as it arrives, never buffered whole; PAX and long-name bodies are bounded by
 * the limits before they are buffered. A stream that ends right after an entry's data (no
 * end-of-archive blocks, even no final padding, as `umoci insert` writes) is complete; one
 * that ends inside a header or inside data is not.
 */
export class TarReader {
  private buf: Buffer[] = [];
  private buffered = 0;
  private state: 'header' | 'data' | 'meta' | 'pad' | 'eof' = 'header';
  private remaining = 0;
  private pad = 0;
  private sink: EntrySink | null = null;
  private current = '';
  private metaType = '';
  private meta: Buffer[] = [];
  private pax = new Map<string, Buffer>();
  private longName: Buffer | null = null;
  private longLink: Buffer | null = null;
  entries = 0;

  constructor(private readonly limits: TarLimits, private readonly onEntry: (h: TarHeader) => EntrySink | null) {}

  push(chunk: Buffer): void {
    let off = 0;
    while (off < chunk.length) {
      if (this.state === 'eof') return; // bytes after the end-of-archive marker are hashed, not read
      if (this.state === 'data' || this.state === 'meta') {
        const n = Math.min(this.remaining, chunk.length - off);
        const part = chunk.subarray(off, off + n);
        if (this.state === 'data') this.sink?.write(part);
        else this.meta.push(Buffer.from(part));
        off += n;
        this.remaining -= n;
        if (this.remaining === 0) this.finishBody();
        continue;
      }
      if (this.state === 'pad') {
        const n = Math.min(this.pad, chunk.length - off);
        off += n;
        this.pad -= n;
        if (this.pad === 0) this.state = 'header';
        continue;
      }
      // header: gather 512 bytes
      const need = 512 - this.buffered;
      const n = Math.min(need, chunk.length - off);
      this.buf.push(chunk.subarray(off, off + n));
      this.buffered += n;
      off += n;
      if (this.buffered === 512) {
        const h = Buffer.concat(this.buf, 512);
        this.buf = [];
        this.buffered = 0;
        this.header(h);
      }
    }
  }

  /** The input ended: decide whether that was a complete archive. */
  end(): void {
    if (this.state === 'eof') return;
    if (this.state === 'header' && this.buffered === 0) {
      if (this.metaType || this.longName || this.longLink || this.pax.size) throw new BadTarError(this.current || null, 'the stream ends after an extended header, before its entry');
      return;
    }
    if (this.state === 'pad') return; // the last entry's data is whole; only its padding is missing
    if (this.state === 'header') throw new BadTarError(null, `the stream ends inside a header (${this.buffered} of 512 bytes) after ${JSON.stringify(this.current)}`);
    throw new BadTarError(this.current, `the stream ends inside the entry's data (${this.remaining} bytes missing)`);
  }

  private startBody(size: number): void {
    this.remaining = size;
    this.pad = (512 - (size % 512)) % 512;
  }

  private finishBody(): void {
    if (this.state === 'data') {
      this.sink?.end();
      this.sink = null;
    } else {
      const body = Buffer.concat(this.meta);
      this.meta = [];
      const t = this.metaType;
      this.metaType = '';
      if (t === 'x') for (const [k, v] of parsePax(body, this.current)) this.pax.set(k, v);
      else if (t === 'g') {
        // a global header may not rename entries; other keys (comments, charset) do not matter to a layer
        const g = parsePax(body, this.current);
        for (const k of g.keys()) if (k === 'path' || k === 'linkpath') throw new UnsafePathError(this.current || '(global header)', `a global PAX header sets ${k}`);
      } else if (t === 'L') this.longName = cstring(body, 0, body.length);
      else if (t === 'K') this.longLink = cstring(body, 0, body.length);
    }
    this.state = this.pad ? 'pad' : 'header';
  }

  private header(h: Buffer): void {
    if (h.every((b) => b === 0)) {
      this.state = 'eof';
      return;
    }
    const rawName = cstring(h, 0, 100);
    const entry = displayName(rawName);
    this.current = entry;
    if (!checksumOk(h)) throw new BadTarError(entry, 'header checksum mismatch');
    const typeflag = String.fromCharCode(h[156]);
    const size = parseNumeric(h, 124, 12, 'size', entry);
    if (typeflag === 'x' || typeflag === 'g' || typeflag === 'L' || typeflag === 'K') {
      if (size > this.limits.maxHeaderBytes) throw new LimitExceededError(entry, `${typeflag === 'L' || typeflag === 'K' ? 'GNU long name' : 'PAX header'} of ${size} bytes is over the ${this.limits.maxHeaderBytes}-byte limit`);
      this.metaType = typeflag;
      this.startBody(size);
      this.state = size ? 'meta' : 'header';
      if (!size) this.finishBody();
      return;
    }
    const type = TYPES[typeflag];
    if (!type) throw new BadTarError(entry, `unsupported tar entry type ${JSON.stringify(typeflag)}`);
    const ustar = h.toString('latin1', 257, 262) === 'ustar';
    let name = rawName;
    if (ustar && h[345] !== 0) name = Buffer.concat([cstring(h, 345, 155), Buffer.from('/'), rawName]);
    let linkname = cstring(h, 157, 100);
    if (this.longName) name = this.longName;
    if (this.longLink) linkname = this.longLink;
    const pax = this.pax;
    const hdr: TarHeader = {
      name,
      linkname,
      type,
      mode: parseNumeric(h, 100, 8, 'mode', entry) & 0o7777,
      uid: parseNumeric(h, 108, 8, 'uid', entry),
      gid: parseNumeric(h, 116, 8, 'gid', entry),
      size,
      mtime: parseNumeric(h, 136, 12, 'mtime', entry),
      devmajor: ustar ? parseNumeric(h, 329, 8, 'devmajor', entry) : 0,
      devminor: ustar ? parseNumeric(h, 337, 8, 'devminor', entry) : 0,
      xattrs: new Map(),
    };
    for (const [k, v] of pax) {
      if (k === 'path') hdr.name = v;
      else if (k === 'linkpath') hdr.linkname = v;
      else if (k === 'size') hdr.size = paxNumber(v, k, entry);
      else if (k === 'mtime') hdr.mtime = paxNumber(v, k, entry);
      else if (k === 'uid') hdr.uid = paxNumber(v, k, entry);
      else if (k === 'gid') hdr.gid = paxNumber(v, k, entry);
      else if (k.startsWith('SCHILY.xattr.')) hdr.xattrs.set(k.slice('SCHILY.xattr.'.length), v);
    }
    this.pax = new Map();
    this.longName = null;
    this.longLink = null;
    this.current = displayName(hdr.name);
    if (hdr.name.includes(0)) throw new UnsafePathError(this.current, 'the name contains a NUL byte');
    if (hdr.linkname.includes(0)) throw new UnsafePathError(this.current, 'the link target contains a NUL byte');
    // only regular files carry data; a size on anything else is skipped, not applied
    const dataSize = hdr.type === 'file' ? hdr.size : 0;
    this.entries++;
    const sink = this.onEntry({ ...hdr, size: dataSize });
    this.sink = sink;
    this.startBody(hdr.size);
    if (hdr.size === 0) {
      sink?.end();
      this.sink = null;
      this.state = 'header';
    } else if (hdr.type === 'file') this.state = 'data';
    else {
      // a directory (or link, device) with a body: the body is read and dropped
      sink?.end();
      this.sink = null;
      this.state = 'data';
    }
  }
}
