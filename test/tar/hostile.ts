import * as zlib from 'zlib';

/** Raw tar headers for inputs no well-behaved writer would make. */
export interface RawEntry {
  name: string | Buffer;
  type?: string;
  body?: Buffer | string;
  size?: number;
  linkname?: string | Buffer;
  mode?: number;
  uid?: number;
  gid?: number;
  mtime?: number;
  devmajor?: number;
  devminor?: number;
  pax?: Record<string, string | Buffer>;
  badChecksum?: boolean;
}

function octal(n: number, len: number): string {
  return n.toString(8).padStart(len - 1, '0') + '\0';
}

export function header(e: RawEntry, size: number): Buffer {
  const h = Buffer.alloc(512);
  const name = Buffer.isBuffer(e.name) ? e.name : Buffer.from(e.name);
  name.copy(h, 0, 0, Math.min(100, name.length));
  h.write(octal(e.mode ?? 0o644, 8), 100, 'latin1');
  h.write(octal(e.uid ?? 0, 8), 108, 'latin1');
  h.write(octal(e.gid ?? 0, 8), 116, 'latin1');
  h.write(octal(size, 12), 124, 'latin1');
  h.write(octal(e.mtime ?? 1700000000, 12), 136, 'latin1');
  h.write(e.type ?? '0', 156, 'latin1');
  const ln = e.linkname === undefined ? Buffer.alloc(0) : Buffer.isBuffer(e.linkname) ? e.linkname : Buffer.from(e.linkname);
  ln.copy(h, 157, 0, Math.min(100, ln.length));
  h.write('ustar\0', 257, 'latin1');
  h.write('00', 263, 'latin1');
  h.write(octal(e.devmajor ?? 0, 8), 329, 'latin1');
  h.write(octal(e.devminor ?? 0, 8), 337, 'latin1');
  h.fill(32, 148, 156);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(octal(e.badChecksum ? sum + 1 : sum, 7) + ' ', 148, 'latin1');
  return h;
}

function pad(b: Buffer): Buffer {
  const r = b.length % 512;
  return r ? Buffer.concat([b, Buffer.alloc(512 - r)]) : b;
}

function paxBody(rec: Record<string, string | Buffer>): Buffer {
  const parts: Buffer[] = [];
  for (const [k, v] of Object.entries(rec)) {
    const val = Buffer.isBuffer(v) ? v : Buffer.from(v);
    const rest = Buffer.concat([Buffer.from(` ${k}=`), val, Buffer.from('\n')]);
    let len = rest.length + 1;
    while (String(len).length + rest.length !== len) len = String(len).length + rest.length;
    parts.push(Buffer.concat([Buffer.from(String(len)), rest]));
  }
  return Buffer.concat(parts);
}

/** A tar stream from raw entries; `end: false` leaves out the end-of-archive blocks. */
export function rawTar(entries: RawEntry[], opts: { end?: boolean; padLast?: boolean } = {}): Buffer {
  const out: Buffer[] = [];
  entries.forEach((e, i) => {
    if (e.pax) {
      const body = paxBody(e.pax);
      out.push(header({ name: 'PaxHeaders/x', type: 'x' }, body.length), pad(body));
    }
    const body = e.body === undefined ? Buffer.alloc(0) : Buffer.isBuffer(e.body) ? e.body : Buffer.from(e.body);
    out.push(header(e, e.size ?? body.length));
    const last = i === entries.length - 1;
    out.push(last && opts.padLast === false ? body : pad(body));
  });
  if (opts.end !== false) out.push(Buffer.alloc(1024));
  return Buffer.concat(out);
}

export const gzip = (b: Buffer) => zlib.gzipSync(b);
