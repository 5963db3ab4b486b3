/** Helpers for the pack tests: build trees, snapshot them, and run GNU tar over packed output. */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { execFileSync, spawnSync } from 'child_process';
import { createHash } from 'crypto';

export const isRoot = process.getuid?.() === 0;
export const itRoot = isRoot ? it : it.skip;
if (!isRoot) console.warn('pack tests: not running as root; owner, device, security.capability and overlay-whiteout cases are skipped');

export function have(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
}

/** Worker scripts run from dist/: fail early and clearly when it was not built. */
export function requireDist(): void {
  const script = path.resolve(__dirname, '../../dist/lib/tar/pack-worker.js');
  if (!fs.existsSync(script)) throw new Error(`${script} is missing: build with \`npx tsc -p tsconfig.json\` before running the pack tests`);
}

export function tmpdir(prefix = 'layerfs-pack-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export function sha256(b: Buffer): string {
  return 'sha256:' + createHash('sha256').update(b).digest('hex');
}

/** Sets the mtime (seconds) of a path without following a symlink. */
export function setMtime(p: string | Buffer, sec: number): void {
  fs.lutimesSync(p, sec, sec);
}

/** All xattrs of every path under `root` (not following symlinks), from one getfattr run. */
export function xattrsOf(root: string): Map<string, Record<string, string>> {
  const out = new Map<string, Record<string, string>>();
  const r = spawnSync('getfattr', ['-R', '-h', '-d', '-m', '-', '-e', 'hex', '--absolute-names', root], { maxBuffer: 64 << 20 });
  let cur: Record<string, string> | null = null;
  // getfattr prints file names escaped (octal for unusual bytes); keys are compared in that form
  for (const line of r.stdout.toString('latin1').split('\n')) {
    if (line.startsWith('# file: ')) {
      cur = {};
      out.set(line.slice('# file: '.length), cur);
    } else if (cur && line.includes('=')) {
      const i = line.indexOf('=');
      cur[line.slice(0, i)] = line.slice(i + 1);
    }
  }
  const rel = new Map<string, Record<string, string>>();
  for (const [k, v] of out) rel.set(k === root ? '.' : k.slice(root.length + 1), v);
  return rel;
}

export interface Snap {
  type: string;
  mode: number;
  uid: number;
  gid: number;
  mtime: number;
  size?: number;
  content?: string;
  target?: string;
  rdev?: number;
  link?: string;
  xattrs?: Record<string, string>;
}

/**
 * Everything tar should carry about each path under `root` (the root itself left out), keyed by
 * the path's bytes in hex-safe latin1. Hardlinks: every path of an inode records the group's
 * first path (byte order).
 */
export function snapshot(root: string, opts: { xattrs?: boolean } = {}): Record<string, Snap> {
  const out: Record<string, Snap> = {};
  const inodes = new Map<string, string>();
  const xa = opts.xattrs ? xattrsOf(root) : null;
  const walk = (abs: Buffer, rel: string) => {
    const names = fs.readdirSync(abs, { encoding: 'buffer' }).sort(Buffer.compare);
    for (const n of names) {
      const a = Buffer.concat([abs, Buffer.from('/'), n]);
      const r = rel ? rel + '/' + n.toString('latin1') : n.toString('latin1');
      const st = fs.lstatSync(a, { bigint: true });
      const s: Snap = {
        type: st.isDirectory() ? 'dir' : st.isFile() ? 'file' : st.isSymbolicLink() ? 'symlink' : st.isCharacterDevice() ? 'char' : st.isBlockDevice() ? 'block' : st.isFIFO() ? 'fifo' : 'other',
        mode: Number(st.mode & 0o7777n),
        uid: Number(st.uid),
        gid: Number(st.gid),
        mtime: Number(st.mtimeNs / 1_000_000_000n),
      };
      if (st.isFile()) {
        s.size = Number(st.size);
        s.content = sha256(fs.readFileSync(a));
        if (st.nlink > 1n) {
          const key = `${st.ino}`;
          if (!inodes.has(key)) inodes.set(key, r);
          s.link = inodes.get(key);
        }
      }
      if (st.isSymbolicLink()) s.target = fs.readlinkSync(a, { encoding: 'buffer' }).toString('latin1');
      if (st.isCharacterDevice() || st.isBlockDevice()) s.rdev = Number(st.rdev);
      if (xa) {
        const x = xa.get(r);
        if (x && Object.keys(x).length) s.xattrs = x;
      }
      out[r] = s;
      if (st.isDirectory()) walk(a, r);
    }
  };
  walk(Buffer.from(root), '');
  return out;
}

/** `tar -tvf` output; throws with GNU tar's stderr when it complains. */
export function gnuList(tarFile: string): string {
  const r = spawnSync('tar', ['--numeric-owner', '-tvf', tarFile], { maxBuffer: 64 << 20 });
  if (r.status !== 0 || r.stderr.length) throw new Error(`tar -tvf failed (${r.status}): ${r.stderr}`);
  return r.stdout.toString('latin1');
}

/** `tar -tf` names in archive order, as raw bytes in latin1. */
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

export function run(cmd: string, args: string[], input?: Buffer): Buffer {
  return execFileSync(cmd, args, { input, maxBuffer: 1 << 30 });
}

/** Splits an uncompressed tar into its 512-byte headers (PAX 'x' headers included), for byte-level checks. */
export function headers(tar: Buffer): Array<{ name: string; type: string; size: number; mtime: number; mode: number; uid: number; gid: number; linkname: string; body?: string }> {
  const out = [];
  let off = 0;
  const str = (o: number, n: number) => {
    const s = tar.subarray(off + o, off + o + n);
    const z = s.indexOf(0);
    return (z < 0 ? s : s.subarray(0, z)).toString('latin1');
  };
  const num = (o: number, n: number) => parseInt(str(o, n) || '0', 8);
  while (off + 512 <= tar.length && tar[off] !== 0) {
    const h = { name: str(0, 100), type: str(156, 1), size: num(124, 12), mtime: num(136, 12), mode: num(100, 8), uid: num(108, 8), gid: num(116, 8), linkname: str(157, 100), body: undefined as string | undefined };
    if (h.type === 'x') h.body = tar.subarray(off + 512, off + 512 + h.size).toString('latin1');
    out.push(h);
    off += 512 + Math.ceil(h.size / 512) * 512;
  }
  return out;
}
