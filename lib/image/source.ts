import * as fs from 'fs';
import * as path from 'path';
import type { Readable } from 'stream';
import { BadImageError, NotFoundError } from '../errors';

/** Where an image's files are: a directory, or members of a tar archive read in place (never extracted). */
export interface FileSource {
  has(name: string): boolean;
  read(name: string, max: number): Buffer;
  open(name: string): Readable;
  size(name: string): number;
}

export function dirSource(root: string): FileSource {
  const at = (n: string) => path.join(root, n);
  return {
    has: (n) => fs.existsSync(at(n)),
    size: (n) => fs.statSync(at(n)).size,
    read: (n, max) => {
      if (!fs.existsSync(at(n))) throw new NotFoundError(n, `${n} is missing from ${root}`);
      const st = fs.statSync(at(n));
      if (st.size > max) throw new BadImageError(`${n} is ${st.size} bytes, over the ${max}-byte limit for metadata`);
      return fs.readFileSync(at(n));
    },
    open: (n) => {
      if (!fs.existsSync(at(n))) throw new NotFoundError(n, `${n} is missing from ${root}`);
      return fs.createReadStream(at(n), { highWaterMark: 4 << 20 });
    },
  };
}

function octal(b: Buffer, off: number, len: number): number {
  if (b[off] & 0x80) {
    let v = 0;
    for (let i = 1; i < len; i++) v = v * 256 + b[off + i];
    return v;
  }
  const s = b.toString('latin1', off, off + len).replace(/[\0 ]+$/g, '').trim();
  return s ? parseInt(s, 8) : 0;
}

function cstr(b: Buffer, off: number, len: number): string {
  const e = b.indexOf(0, off);
  return b.toString('utf8', off, e === -1 || e > off + len ? off + len : e);
}

/** Indexes the members of a tar archive by reading only their headers. */
export function tarSource(file: string): FileSource {
  const members = new Map<string, { offset: number; size: number }>();
  const fd = fs.openSync(file, 'r');
  try {
    const total = fs.fstatSync(fd).size;
    const h = Buffer.alloc(512);
    let pos = 0;
    let longName: string | null = null;
    let paxPath: string | null = null;
    while (pos + 512 <= total) {
      fs.readSync(fd, h, 0, 512, pos);
      if (h.every((x) => x === 0)) break;
      const size = octal(h, 124, 12);
      const type = String.fromCharCode(h[156]);
      const dataAt = pos + 512;
      let name = cstr(h, 0, 100);
      if (h.toString('latin1', 257, 262) === 'ustar' && h[345]) name = cstr(h, 345, 155) + '/' + name;
      if (type === 'L' || type === 'x') {
        const body = Buffer.alloc(Math.min(size, 1 << 20));
        fs.readSync(fd, body, 0, body.length, dataAt);
        if (type === 'L') longName = cstr(body, 0, body.length);
        else {
          const m = /(?:^|\n)\d+ path=([^\n]*)\n/.exec(body.toString('utf8'));
          if (m) paxPath = m[1];
        }
      } else {
        name = paxPath ?? longName ?? name;
        longName = paxPath = null;
        if (type === '0' || type === '\0' || type === '7') members.set(name.replace(/^\.\//, '').replace(/^\/+/, ''), { offset: dataAt, size });
      }
      pos = dataAt + Math.ceil(size / 512) * 512;
    }
  } finally {
    fs.closeSync(fd);
  }
  const get = (n: string) => {
    const m = members.get(n);
    if (!m) throw new NotFoundError(n, `${n} is missing from the archive ${file}`);
    return m;
  };
  return {
    has: (n) => members.has(n),
    size: (n) => get(n).size,
    read: (n, max) => {
      const m = get(n);
      if (m.size > max) throw new BadImageError(`${n} is ${m.size} bytes, over the ${max}-byte limit for metadata`);
      const b = Buffer.alloc(m.size);
      const f = fs.openSync(file, 'r');
      try {
        fs.readSync(f, b, 0, m.size, m.offset);
      } finally {
        fs.closeSync(f);
      }
      return b;
    },
    open: (n) => {
      const m = get(n);
      if (m.size === 0) return fs.createReadStream(file, { start: 1, end: 0 });
      return fs.createReadStream(file, { start: m.offset, end: m.offset + m.size - 1, highWaterMark: 4 << 20 });
    },
  };
}
