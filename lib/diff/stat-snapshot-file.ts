import * as fs from 'fs';
import { InvalidArgumentError } from '../errors';
import { hasEscapes } from '../names';
import type { WalkEntry } from './walk';

/**
 * The stat snapshot of a materialised copy: one text line per entry, in walk order (root first,
 * depth first, names in byte order), written as the copy is finished and read back as a stream,
 * so neither side holds the whole list. Fields, tab-separated:
 *   path ino btime size mode uid gid mtime ctime nlink rdev [target]
 * times in nanoseconds; path and target escaped (\\, \t, \n, and \xNN for a byte that is not UTF-8, see lib/names).
 */
const HEADER = 'layerfs-copy-manifest 1\n';
const FLUSH_AT = 1 << 20;

export interface SnapshotRecord {
  path: string;
  ino: bigint;
  /** birth time: ext4 hands a freed inode number straight to the next new file, so identity is (inode, birth) */
  btimeNs: bigint;
  size: bigint;
  mode: number;
  uid: number;
  gid: number;
  mtimeNs: bigint;
  ctimeNs: bigint;
  nlink: number;
  rdev: number;
  target?: string;
}

/** A lone U+DC80..U+DCFF (an escaped byte, lib/names) is written as `\xNN`: UTF-8 cannot hold it. */
const escapeChar = (c: string) => (c === '\\' ? '\\\\' : c === '\t' ? '\\t' : c === '\n' ? '\\n' : '\\x' + (c.charCodeAt(0) - 0xdc00).toString(16).padStart(2, '0'));
const escape = (s: string) => {
  if (hasEscapes(s)) return s.replace(/[\\\t\n]|(?<![\ud800-\udbff])[\udc80-\udcff]/g, escapeChar);
  return /[\\\t\n]/.test(s) ? s.replace(/[\\\t\n]/g, escapeChar) : s;
};
const unescape = (s: string) =>
  s.includes('\\') ? s.replace(/\\(x[0-9a-f]{2}|.)/g, (_, c: string) => (c === 't' ? '\t' : c === 'n' ? '\n' : c.length === 3 ? String.fromCharCode(0xdc00 + parseInt(c.slice(1), 16)) : c)) : s;

export class SnapshotWriter {
  private readonly fd: number;
  private pending: string[] = [HEADER];
  private size = HEADER.length;

  constructor(file: string) {
    this.fd = fs.openSync(file, 'w', 0o600);
  }

  add(e: WalkEntry, target?: string): void {
    const st = e.st;
    let line = `${escape(e.path)}\t${st.ino}\t${st.birthtimeNs}\t${st.size}\t${st.mode}\t${st.uid}\t${st.gid}\t${st.mtimeNs}\t${st.ctimeNs}\t${st.nlink}\t${st.rdev}`;
    if (target !== undefined) line += '\t' + escape(target);
    line += '\n';
    this.pending.push(line);
    this.size += line.length;
    if (this.size >= FLUSH_AT) this.flush();
  }

  private flush(): void {
    if (this.pending.length) fs.writeSync(this.fd, this.pending.join(''));
    this.pending = [];
    this.size = 0;
  }

  close(): void {
    try {
      this.flush();
    } finally {
      fs.closeSync(this.fd);
    }
  }
}

/** Reads the manifest record by record, 1 MiB at a time. */
export class SnapshotReader {
  private readonly fd: number;
  private readonly buf = Buffer.allocUnsafe(FLUSH_AT);
  private rest: Buffer = Buffer.alloc(0);
  private lines: string[] = [];
  private next = 0;
  private eof = false;

  constructor(private readonly file: string) {
    this.fd = fs.openSync(file, 'r');
    const first = this.line();
    if (first + '\n' !== HEADER) {
      fs.closeSync(this.fd);
      throw new InvalidArgumentError(`${file} is not a copy manifest this layerfs can read (first line ${JSON.stringify(first)}, expected ${JSON.stringify(HEADER.trim())}); a container made by an older layerfs must be made again`);
    }
  }

  read(): SnapshotRecord | null {
    const l = this.line();
    if (l === null) return null;
    const f = l.split('\t');
    if (f.length < 11) throw new InvalidArgumentError(`${this.file}: malformed manifest line ${JSON.stringify(l)}`);
    const r: SnapshotRecord = {
      path: unescape(f[0]),
      ino: BigInt(f[1]),
      btimeNs: BigInt(f[2]),
      size: BigInt(f[3]),
      mode: Number(f[4]),
      uid: Number(f[5]),
      gid: Number(f[6]),
      mtimeNs: BigInt(f[7]),
      ctimeNs: BigInt(f[8]),
      nlink: Number(f[9]),
      rdev: Number(f[10]),
    };
    if (f.length > 11) r.target = unescape(f[11]);
    return r;
  }

  close(): void {
    fs.closeSync(this.fd);
  }

  private line(): string | null {
    while (this.next === this.lines.length) {
      if (this.eof) return null;
      this.fill();
    }
    return this.lines[this.next++];
  }

  /** Reads the next chunk and splits off its complete lines (a line may span chunks; UTF-8 is decoded per line). */
  private fill(): void {
    const n = fs.readSync(this.fd, this.buf, 0, this.buf.length, null);
    const data = n === 0 ? this.rest : Buffer.concat([this.rest, this.buf.subarray(0, n)]);
    this.lines = [];
    this.next = 0;
    let start = 0;
    for (let nl = data.indexOf(0x0a); nl >= 0; nl = data.indexOf(0x0a, start)) {
      this.lines.push(data.toString('utf8', start, nl));
      start = nl + 1;
    }
    this.rest = Buffer.from(data.subarray(start));
    if (n === 0) {
      if (this.rest.length) throw new InvalidArgumentError(`${this.file}: the manifest ends in the middle of a line`);
      this.eof = true;
    }
  }
}
