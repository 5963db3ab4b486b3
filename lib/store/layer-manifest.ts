import * as fs from 'fs';
import * as path from 'path';
import { createHash } from 'crypto';
import { byteOrder, fsPath, readdirNamesSync, readlinkNameSync } from '../names';

/** One line of layers/<id>/manifest.json: what the unpacked layer held when it was published. */
export type ManifestLine = [path: string, type: string, mode: number, size: number, sha256: string | null, target: string | null];

const BUF = Buffer.allocUnsafe(1 << 20);

function hashFile(p: string): string {
  const h = createHash('sha256');
  const fd = fs.openSync(fsPath(p), 'r');
  try {
    for (;;) {
      const n = fs.readSync(fd, BUF, 0, BUF.length, null);
      if (n === 0) break;
      h.update(BUF.subarray(0, n));
    }
  } finally {
    fs.closeSync(fd);
  }
  return h.digest('hex');
}

function typeOf(st: fs.Stats): string {
  return st.isFile() ? 'file' : st.isDirectory() ? 'dir' : st.isSymbolicLink() ? 'symlink' : st.isCharacterDevice() ? `char:${st.rdev}` : st.isBlockDevice() ? `block:${st.rdev}` : st.isFIFO() ? 'fifo' : 'socket';
}

/** Paths, types, modes, sizes and content digests of a layer directory, sorted; paths and targets are name strings (lib/names). */
/** `known`: content digests already computed while the files were written, by inode. */
export function layerManifestSync(dir: string, known?: Map<number, string>): ManifestLine[] {
  const out: ManifestLine[] = [];
  const walk = (real: string, rel: string) => {
    for (const n of readdirNamesSync(real).sort(byteOrder)) {
      const r = path.join(real, n);
      const p = rel + '/' + n;
      const st = fs.lstatSync(fsPath(r));
      out.push([p, typeOf(st), st.mode & 0o7777, st.isFile() ? st.size : 0, st.isFile() ? (known?.get(st.ino) ?? hashFile(r)) : null, st.isSymbolicLink() ? readlinkNameSync(r) : null]);
      if (st.isDirectory()) walk(r, p);
    }
  };
  walk(dir, '');
  return out;
}

export function writeLayerManifestSync(dir: string, file: string, known?: Map<number, string>): void {
  fs.writeFileSync(file, layerManifestSync(dir, known).map((l) => JSON.stringify(l)).join('\n') + '\n');
}

export function readLayerManifestSync(file: string): ManifestLine[] {
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as ManifestLine);
}

/** What differs between a recorded manifest and the directory now: one line per path. */
export function compareLayerManifest(recorded: ManifestLine[], now: ManifestLine[]): string[] {
  const a = new Map(recorded.map((l) => [l[0], JSON.stringify(l)]));
  const b = new Map(now.map((l) => [l[0], JSON.stringify(l)]));
  const out: string[] = [];
  for (const [p, v] of a) {
    if (!b.has(p)) out.push(`removed ${p}`);
    else if (b.get(p) !== v) out.push(`changed ${p}`);
  }
  for (const p of b.keys()) if (!a.has(p)) out.push(`added ${p}`);
  return out.sort();
}
