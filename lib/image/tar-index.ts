import * as fs from 'fs';
import * as path from 'path';
import { Readable } from 'stream';
import { BadImageError, LayerfsError, LimitExceededError } from '../errors';
import { parseNumeric } from '../tar/reader';
import { detectCompression } from '../tar/compression';

/** Where a member's bytes are inside the archive. */
export interface TarMember {
  name: string;
  offset: number;
  size: number;
}

type Entry = TarMember | { name: string; link: string };

const BLOCK = 512;
/** largest PAX or GNU long-name body read (they hold one path) */
const MAX_META = 1 << 20;
const MAX_LINK_HOPS = 16;
const HEADER_ONLY = new Set(['1', '2', '3', '4', '5', '6']);

export interface TarIndexOptions {
  /** give up (not an image archive) past this many members */
  maxMembers?: number;
}

/** Member names compare as paths: `./a`, `/a` and `a/` are `a`. */
function normalize(name: string): string | null {
  const n = path.posix.normalize('/' + name).replace(/\/+$/, '');
  return n === '' ? null : n.slice(1);
}

function cstr(b: Buffer, off: number, len: number): string {
  const end = b.indexOf(0, off);
  return b.toString('utf8', off, end === -1 || end > off + len ? off + len : end);
}

function checksumOk(h: Buffer): boolean {
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK; i++) {
    const c = i >= 148 && i < 156 ? 32 : h[i];
    unsigned += c;
    signed += c > 127 ? c - 256 : c;
  }
  const stored = parseInt(h.toString('latin1', 148, 156).replace(/[\0 ]+$/g, '').trim(), 8);
  return stored === unsigned || stored === signed;
}

/** The `path`, `linkpath` and `size` records of a PAX header; the rest does not locate anything. */
function paxFields(body: Buffer): { path?: string; linkpath?: string; size?: number } {
  const out: { path?: string; linkpath?: string; size?: number } = {};
  let i = 0;
  while (i < body.length && body[i] !== 0) {
    const sp = body.indexOf(0x20, i);
    const len = sp === -1 ? NaN : Number(body.toString('latin1', i, sp));
    if (!Number.isInteger(len) || len <= sp - i + 1 || i + len > body.length) throw new Error('malformed PAX record');
    const rec = body.toString('utf8', sp + 1, i + len - 1);
    const eq = rec.indexOf('=');
    if (eq === -1) throw new Error('PAX record without "="');
    const key = rec.slice(0, eq);
    const value = rec.slice(eq + 1);
    if (key === 'path') out.path = value;
    else if (key === 'linkpath') out.linkpath = value;
    else if (key === 'size') {
      if (!/^\d+$/.test(value) || !Number.isSafeInteger(Number(value))) throw new Error(`PAX size ${JSON.stringify(value)} is not a size`);
      out.size = Number(value);
    }
    i += len;
  }
  return out;
}

/**
 * The members of a tar file, found by reading only the headers (data is skipped by offset,
 * never read), so an archive of any size is indexed in a few reads per member. ustar, GNU
 * (long names) and PAX headers; hardlinks and symlinks inside the archive resolve to their
 * target's bytes. Members are then read in place, never extracted.
 */
export class TarIndex {
  private readonly entries = new Map<string, Entry>();

  private constructor(readonly file: string) {}

  static open(file: string, opts: TarIndexOptions = {}): TarIndex {
    const index = new TarIndex(file);
    index.scan(opts.maxMembers ?? 1_000_000);
    return index;
  }

  private fail(reason: string): never {
    throw new BadImageError(`${this.file}: ${reason}`);
  }

  private scan(maxMembers: number): void {
    const fd = fs.openSync(this.file, 'r');
    try {
      const total = fs.fstatSync(fd).size;
      const h = Buffer.alloc(BLOCK);
      let pos = 0;
      let headers = 0;
      let longName: string | undefined;
      let longLink: string | undefined;
      let pax: ReturnType<typeof paxFields> = {};
      const readBody = (at: number, size: number, what: string): Buffer => {
        if (size > MAX_META) throw new LimitExceededError(null, `${this.file}: a ${what} of ${size} bytes at offset ${at - BLOCK} is over the ${MAX_META}-byte limit`);
        if (at + size > total) this.fail(`the archive ends inside a ${what} at offset ${at - BLOCK}`);
        const b = Buffer.alloc(size);
        fs.readSync(fd, b, 0, size, at);
        return b;
      };
      while (pos < total) {
        const got = fs.readSync(fd, h, 0, BLOCK, pos);
        if (got === BLOCK && h.every((x) => x === 0)) break; // end-of-archive
        if (pos === 0 && (got < BLOCK || !checksumOk(h))) {
          const c = detectCompression(h.subarray(0, got));
          this.fail(c === 'none' ? 'not a tar archive' : `a ${c}-compressed file, not a tar archive (decompress it first)`);
        }
        if (got < BLOCK) this.fail(`the archive ends inside a header at offset ${pos}`);
        if (!checksumOk(h)) this.fail(`bad tar header at offset ${pos} (checksum mismatch)`);
        if (++headers > maxMembers) throw new LimitExceededError(null, `${this.file} has more than ${maxMembers} members`);
        const type = String.fromCharCode(h[156]);
        const headerName = cstr(h, 0, 100);
        let size: number;
        try {
          size = parseNumeric(h, 124, 12, 'size', headerName);
        } catch (e) {
          this.fail(`tar header at offset ${pos}: ${(e as Error).message}`);
        }
        const dataAt = pos + BLOCK;
        if (type === 'x' || type === 'g' || type === 'L' || type === 'K') {
          const body = readBody(dataAt, size, type === 'x' || type === 'g' ? 'PAX header' : 'GNU long name');
          if (type === 'L') longName = cstr(body, 0, body.length);
          else if (type === 'K') longLink = cstr(body, 0, body.length);
          else if (type === 'x') {
            try {
              pax = { ...pax, ...paxFields(body) };
            } catch (e) {
              this.fail(`PAX header at offset ${pos}: ${(e as Error).message}`);
            }
          }
        } else {
          let name = headerName;
          // the POSIX prefix field; GNU tar's old format keeps other things there
          if (h.toString('latin1', 257, 263) === 'ustar\0' && h[345]) name = cstr(h, 345, 155) + '/' + name;
          name = pax.path ?? longName ?? name;
          const link = pax.linkpath ?? longLink ?? cstr(h, 157, 100);
          if (pax.size !== undefined) size = pax.size;
          const key = normalize(name);
          if (key !== null) {
            if (type === '0' || type === '\0' || type === '7') {
              if (dataAt + size > total) this.fail(`the archive ends inside the data of ${JSON.stringify(name)}`);
              this.entries.set(key, { name: key, offset: dataAt, size });
            } else if (type === '1') this.entries.set(key, { name: key, link: normalize(link) ?? '' });
            else if (type === '2') this.entries.set(key, { name: key, link: normalize(path.posix.join(path.posix.dirname('/' + key), link)) ?? '' });
            else this.entries.delete(key); // a directory or a special file: nothing to read
          }
          longName = longLink = undefined;
          pax = {};
          // as Go's archive/tar (which wrote most image archives): these types carry no data whatever their size says
          if (HEADER_ONLY.has(type)) size = 0;
        }
        pos = dataAt + Math.ceil(size / BLOCK) * BLOCK;
      }
    } finally {
      fs.closeSync(fd);
    }
  }

  /** The regular file a name leads to (through links inside the archive), or undefined. */
  get(name: string): TarMember | undefined {
    let key = normalize(name);
    for (let hop = 0; key !== null && hop <= MAX_LINK_HOPS; hop++) {
      const e = this.entries.get(key);
      if (!e) return undefined;
      if (!('link' in e)) return e;
      key = e.link || null;
    }
    return undefined;
  }

  has(name: string): boolean {
    return this.get(name) !== undefined;
  }

  names(): string[] {
    return [...this.entries.keys()];
  }

  /** The whole member (small ones only: the caller caps the size). */
  read(m: TarMember): Buffer {
    const b = Buffer.alloc(m.size);
    const fd = fs.openSync(this.file, 'r');
    try {
      let done = 0;
      while (done < m.size) {
        const n = fs.readSync(fd, b, done, m.size - done, m.offset + done);
        if (n === 0) throw new BadImageError(`${this.file} is shorter than when it was indexed (reading ${m.name})`);
        done += n;
      }
    } catch (e) {
      if (e instanceof LayerfsError) throw e;
      throw new BadImageError(`${this.file}: reading ${m.name} failed: ${(e as Error).message}`);
    } finally {
      fs.closeSync(fd);
    }
    return b;
  }

  /** The first bytes of a member (to tell its compression). */
  head(m: TarMember, n: number): Buffer {
    return this.read({ ...m, size: Math.min(n, m.size) });
  }

  /** The member's bytes, streamed from the archive in 4 MiB reads (large reads keep hashing fast). */
  open(m: TarMember): Readable {
    if (m.size === 0) return Readable.from([]);
    return fs.createReadStream(this.file, { start: m.offset, end: m.offset + m.size - 1, highWaterMark: 4 << 20 });
  }
}
