/** Helpers for the pack tests: GNU tar over packed output, raw header reading, tree comparison. */
import * as fs from 'fs';
import * as path from 'path';
import { execFileSync, spawnSync } from 'child_process';
import { createHash } from 'crypto';
import { diffSnapshots, snapshotTree } from '../fixtures/tree';

/** Worker scripts run from dist/: fail early and clearly when it was not built. */
export function requireDist(): void {
  const script = path.resolve(__dirname, '../../dist/lib/tar/pack.worker.js');
  if (!fs.existsSync(script)) throw new Error(`${script} is missing: build with \`npx tsc -p tsconfig.json\` before running the pack tests`);
}

export function sha256(b: Buffer): string {
  return 'sha256:' + createHash('sha256').update(b).digest('hex');
}

/** Sets the mtime (seconds) of a path without following a symlink. */
export function setMtime(p: string | Buffer, sec: number): void {
  fs.lutimesSync(p, sec, sec);
}

export function run(cmd: string, args: string[], input?: Buffer): Buffer {
  return execFileSync(cmd, args, { input, maxBuffer: 1 << 30 });
}

/** How two directories differ as tar carries them (mtimes included, the roots' own records left out); [] when equal. */
export function treeDiff(a: string, b: string, opts: { xattrs?: boolean } = {}): string[] {
  const snap = (d: string) => snapshotTree(d, { mtime: true, xattrs: opts.xattrs ?? true, ignore: (p) => p === '/' });
  return diffSnapshots(snap(a), snap(b));
}

/** `tar -tvf` output; throws with GNU tar's stderr when it complains. */
export function gnuList(tarFile: string): string {
  const r = spawnSync('tar', ['--numeric-owner', '-tvf', tarFile], { maxBuffer: 64 << 20 });
  if (r.status !== 0 || r.stderr.length) throw new Error(`tar -tvf failed (${r.status}): ${r.stderr}`);
  return r.stdout.toString('latin1');
}

/** `tar -tf` names in archive order, raw bytes as latin1 strings. */
export function gnuNames(tarFile: string): string[] {
  const r = spawnSync('tar', ['--quoting-style=literal', '-tf', tarFile], { maxBuffer: 64 << 20 });
  if (r.status !== 0 || r.stderr.length) throw new Error(`tar -tf failed (${r.status}): ${r.stderr}`);
  return r.stdout.toString('latin1').split('\n').filter(Boolean);
}

/** Extracts with GNU tar, keeping permissions, owners and every xattr. */
export function gnuExtract(tarFile: string, dir: string): void {
  fs.mkdirSync(dir, { recursive: true });
  const r = spawnSync('tar', ['--xattrs', '--xattrs-include=*', '--numeric-owner', '-xpf', tarFile, '-C', dir]);
  if (r.status !== 0 || r.stderr.length) throw new Error(`tar -x failed (${r.status}): ${r.stderr}`);
}

export interface RawHeader {
  name: string;
  type: string;
  size: number;
  mtime: number;
  mode: number;
  uid: number;
  gid: number;
  linkname: string;
  /** the records of a PAX ('x') header */
  body?: string;
}

/** The 512-byte headers of an uncompressed tar (PAX 'x' headers included), read field by field. */
export function headers(tar: Buffer): RawHeader[] {
  const out: RawHeader[] = [];
  let off = 0;
  const str = (o: number, n: number) => {
    const s = tar.subarray(off + o, off + o + n);
    const z = s.indexOf(0);
    return (z < 0 ? s : s.subarray(0, z)).toString('latin1');
  };
  const num = (o: number, n: number) => parseInt(str(o, n) || '0', 8);
  while (off + 512 <= tar.length && tar[off] !== 0) {
    const h: RawHeader = { name: str(0, 100), type: str(156, 1), size: num(124, 12), mtime: num(136, 12), mode: num(100, 8), uid: num(108, 8), gid: num(116, 8), linkname: str(157, 100) };
    if (h.type === 'x') h.body = tar.subarray(off + 512, off + 512 + h.size).toString('latin1');
    out.push(h);
    off += 512 + Math.ceil(h.size / 512) * 512;
  }
  return out;
}
