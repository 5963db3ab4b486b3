import * as fs from 'fs';
import * as zlib from 'zlib';
import * as tarStream from 'tar-stream';

/** One header of a tarball, as the tests look at it. */
export interface Listed {
  name: string;
  type: string;
  linkname: string | null;
  mode: number;
  mtime: number;
  uid: number;
  gid: number;
  /** a device's numbers (0 for other entries) */
  devmajor: number;
  devminor: number;
  pax: Record<string, string>;
}

/**
 * The tar inside a layer blob (gzip, zstd or plain). zstd is read by the optional zstd-napi
 * package the library itself uses, so no zstd program need be installed.
 */
export function plainTar(data: Buffer): Buffer {
  if (data[0] === 0x1f && data[1] === 0x8b) return zlib.gunzipSync(data);
  if (data.length >= 4 && data.readUInt32LE(0) === 0xfd2fb528) {
    const { decompress } = require('zstd-napi') as typeof import('zstd-napi');
    return decompress(data);
  }
  return data;
}

/** The headers of a layer blob (gzip, zstd or plain), in order. */
export async function listTar(blob: string): Promise<Listed[]> {
  const data = plainTar(fs.readFileSync(blob));
  const out: Listed[] = [];
  const ex = tarStream.extract();
  const done = new Promise<void>((resolve, reject) => {
    ex.on('finish', resolve);
    ex.on('error', reject);
  });
  ex.on('entry', (h, stream, next) => {
    out.push({ name: h.name, type: h.type ?? 'file', linkname: h.linkname ?? null, mode: h.mode ?? 0, mtime: Math.floor((h.mtime?.getTime() ?? 0) / 1000), uid: h.uid ?? 0, gid: h.gid ?? 0, devmajor: h.devmajor ?? 0, devminor: h.devminor ?? 0, pax: (h.pax ?? {}) as Record<string, string> });
    stream.on('end', next);
    stream.resume();
  });
  ex.end(data);
  await done;
  return out;
}

/** The bytes of the regular file entry `name` of a layer blob (gzip, zstd or plain); null when it has none. */
export async function tarFileBytes(blob: string, name: string): Promise<Buffer | null> {
  const data = plainTar(fs.readFileSync(blob));
  let found: Buffer | null = null;
  const ex = tarStream.extract();
  const done = new Promise<void>((resolve, reject) => {
    ex.on('finish', resolve);
    ex.on('error', reject);
  });
  ex.on('entry', (h, stream, next) => {
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => {
      if (h.name === name && (h.type ?? 'file') === 'file') found = Buffer.concat(chunks);
      next();
    });
  });
  ex.end(data);
  await done;
  return found;
}
