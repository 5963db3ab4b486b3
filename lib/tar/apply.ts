import * as fs from 'fs';
import { createHash } from 'crypto';
import * as native from '../native';
import { BadTarError, LimitExceededError, UnsafePathError } from '../errors';
import { whiteoutFormat, isOverlayXattr, ociWhiteoutTarget, OCI_OPAQUE_MARKER, OCI_WHITEOUT_PREFIX, WhiteoutFormat } from '../whiteout';
import type { WhiteoutFormatName } from '../store/types';
import type { TarLimits } from './types';
import { displayName, EntrySink, TarHeader } from './reader';
import { UnionView, xattrsOf } from '../view';

type Kind = 'dir' | 'file' | 'symlink' | 'other' | 'whiteout';

interface DirMeta {
  real: Buffer;
  depth: number;
  mode: number;
  mtime: number;
}

const SLASH = Buffer.from('/');

/**
 * Writes tar entries into a fresh, empty layer directory with synchronous fs calls (it runs in
 * a worker thread). It remembers every path it made, so it checks each entry against that map
 * instead of stat-ing the target: nothing is written outside the target, nothing through a
 * symlink or a non-directory, and later entries win (by unlinking first, so a multiply-linked
 * inode is never written into).
 */
export class LayerApplier {
  private readonly made = new Map<string, Kind>();
  private readonly dirs = new Map<string, DirMeta>();
  private readonly fmt: WhiteoutFormat;
  private readonly root: Buffer;
  private readonly canMknod: boolean;
  warnings: string[] = [];
  /** content digests of the files written, by inode: the layer's manifest needs no second read */
  readonly digests = new Map<number, string>();

  /**
   * `lower`: the chain below this layer. A parent directory the tar has no entry for takes the
   * lower copy's owner, mode, times and xattrs (as an overlay copy-up would), or it would hide
   * them behind 0755 root-owned "now" metadata.
   */
  constructor(target: string, private readonly whiteout: WhiteoutFormatName, private readonly limits: TarLimits, private readonly applyOwners: boolean, private readonly durable = false, private readonly lower: UnionView | null = null) {
    this.root = Buffer.from(target);
    this.fmt = whiteoutFormat(whiteout);
    this.canMknod = process.getuid?.() === 0 && native.addonStatus().available;
  }

  /** Splits a name into safe components, or refuses it. */
  private components(raw: Buffer, entry: string, what = 'name'): Buffer[] {
    if (raw.length === 0) throw new UnsafePathError(entry, `empty ${what}`);
    if (raw[0] === 0x2f) throw new UnsafePathError(entry, `absolute ${what}`);
    const parts: Buffer[] = [];
    let start = 0;
    for (let i = 0; i <= raw.length; i++) {
      if (i === raw.length || raw[i] === 0x2f) {
        const c = raw.subarray(start, i);
        start = i + 1;
        if (c.length === 0 || (c.length === 1 && c[0] === 0x2e)) continue;
        if (c.length === 2 && c[0] === 0x2e && c[1] === 0x2e) throw new UnsafePathError(entry, `the ${what} contains a ".." component`);
        parts.push(c);
      }
    }
    if (parts.length > this.limits.maxPathDepth) throw new LimitExceededError(entry, `the path is ${parts.length} components deep (limit ${this.limits.maxPathDepth})`);
    return parts;
  }

  private key(parts: Buffer[]): string {
    return parts.map((p) => p.toString('latin1')).join('/');
  }

  private real(parts: Buffer[]): Buffer {
    const out: Buffer[] = [this.root];
    for (const p of parts) out.push(SLASH, p);
    return Buffer.concat(out);
  }

  /** Makes sure every parent is a directory this layer has (creating missing ones). */
  private parents(parts: Buffer[], entry: string): void {
    for (let i = 1; i < parts.length; i++) {
      const sub = parts.slice(0, i);
      const k = this.key(sub);
      const kind = this.made.get(k);
      if (kind === 'dir') continue;
      if (kind === 'whiteout') this.clearWhiteout(sub);
      else if (kind !== undefined) throw new UnsafePathError(entry, `its parent ${JSON.stringify(displayName(Buffer.from(k, 'latin1')))} is a ${kind === 'symlink' ? 'symlink' : 'non-directory'} in this layer`);
      const real = this.real(sub);
      fs.mkdirSync(real, 0o755);
      this.made.set(k, 'dir');
      this.inheritFromLower(sub, real);
    }
  }

  private inheritFromLower(sub: Buffer[], real: Buffer): void {
    const below = this.lower?.lookupSync('/' + sub.map((c) => c.toString('utf8')).join('/'));
    if (!below || below.type !== 'dir') return;
    if (this.applyOwners) fs.lchownSync(real, below.stat.uid, below.stat.gid);
    for (const [name, value] of Object.entries(xattrsOf(below.realPath))) {
      try {
        native.lsetxattrSync(real, name, value);
      } catch {
        this.warnings.push(`could not copy xattr ${name} to the implicit parent ${below.path}`);
      }
    }
    this.dirs.set(this.key(sub), { real, depth: sub.length, mode: below.stat.mode & 0o7777, mtime: below.stat.mtimeMs / 1000 });
  }

  private clearWhiteout(parts: Buffer[]): void {
    if (this.whiteout !== 'oci') this.fmt.removeWhiteoutSync(this.real(parts.slice(0, -1)), parts[parts.length - 1]);
    this.made.delete(this.key(parts));
  }

  /** Removes whatever this layer already has at the path (later entries win). */
  private clear(parts: Buffer[], keepDir: boolean): void {
    const k = this.key(parts);
    const kind = this.made.get(k);
    if (kind === undefined) return;
    if (kind === 'whiteout') return this.clearWhiteout(parts);
    if (kind === 'dir') {
      if (keepDir) return;
      fs.rmSync(this.real(parts), { recursive: true, force: true }); // does not follow symlinks
      const prefix = k + '/';
      for (const m of [...this.made.keys()]) if (m.startsWith(prefix)) this.made.delete(m);
      for (const m of [...this.dirs.keys()]) if (m === k || m.startsWith(prefix)) this.dirs.delete(m);
    } else fs.unlinkSync(this.real(parts));
    this.made.delete(k);
  }

  entry(h: TarHeader): EntrySink | null {
    const entry = displayName(h.name);
    const parts = this.components(h.name, entry);
    if (parts.length === 0) {
      // the root directory itself ("./"): only its metadata
      if (h.type !== 'dir') throw new UnsafePathError(entry, 'a non-directory at the root of the layer');
      this.dirs.set('', { real: this.root, depth: 0, mode: h.mode, mtime: h.mtime });
      this.metadata(this.root, h, entry, false);
      return null;
    }
    const base = parts[parts.length - 1].toString('latin1');
    if (base.startsWith(OCI_WHITEOUT_PREFIX)) return this.whiteoutEntry(parts, base, entry, h);
    this.parents(parts, entry);
    const real = this.real(parts);
    const k = this.key(parts);
    switch (h.type) {
      case 'dir': {
        const had = this.made.get(k) === 'dir';
        this.clear(parts, true);
        if (!had) fs.mkdirSync(real, 0o755);
        this.made.set(k, 'dir');
        this.dirs.set(k, { real, depth: parts.length, mode: h.mode, mtime: h.mtime });
        this.metadata(real, h, entry, false);
        return null;
      }
      case 'file': {
        this.clear(parts, false);
        const fd = fs.openSync(real, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_NOFOLLOW, 0o600);
        this.made.set(k, 'file');
        const hash = createHash('sha256');
        return {
          write: (chunk) => {
            hash.update(chunk);
            let o = 0;
            while (o < chunk.length) o += fs.writeSync(fd, chunk, o);
          },
          end: () => {
            this.digests.set(fs.fstatSync(fd).ino, hash.digest('hex'));
            if (this.durable) fs.fsyncSync(fd);
            fs.closeSync(fd);
            this.metadata(real, h, entry, true);
          },
        };
      }
      case 'symlink':
        this.clear(parts, false);
        fs.symlinkSync(h.linkname, real);
        this.made.set(k, 'symlink');
        this.metadata(real, h, entry, false);
        return null;
      case 'link': {
        const target = this.components(h.linkname, entry, 'hardlink target');
        const tk = this.key(target);
        const kind = this.made.get(tk);
        if (tk === k) throw new UnsafePathError(entry, 'a hardlink to itself');
        if (kind === undefined || kind === 'whiteout') throw new UnsafePathError(entry, `the hardlink target ${JSON.stringify(displayName(h.linkname))} is not an entry of this layer`);
        if (kind === 'dir') throw new UnsafePathError(entry, `a hardlink to the directory ${JSON.stringify(displayName(h.linkname))}`);
        this.clear(parts, false);
        fs.linkSync(this.real(target), real); // link(2) does not follow a symlink: it links the symlink itself
        this.made.set(k, kind);
        return null;
      }
      case 'char':
      case 'block':
      case 'fifo': {
        if (h.type === 'char' && h.devmajor === 0 && h.devminor === 0) throw new UnsafePathError(entry, 'a character device 0/0 is an overlay whiteout, not a layer entry');
        if (!this.canMknod && h.type !== 'fifo') {
          this.warnings.push(`skipped ${h.type} device ${entry}: creating devices needs root and the native addon`);
          return null;
        }
        if (!native.addonStatus().available) {
          this.warnings.push(`skipped fifo ${entry}: creating fifos needs the native addon`);
          return null;
        }
        this.clear(parts, false);
        const type = h.type === 'char' ? fs.constants.S_IFCHR : h.type === 'block' ? fs.constants.S_IFBLK : fs.constants.S_IFIFO;
        native.mknodSync(real, type | 0o600, h.devmajor, h.devminor);
        this.made.set(k, 'other');
        this.metadata(real, h, entry, true);
        return null;
      }
    }
  }

  /** `.wh.NAME` hides NAME of lower layers; `.wh..wh..opq` makes its directory opaque. */
  private whiteoutEntry(parts: Buffer[], base: string, entry: string, h: TarHeader): null {
    if (h.type === 'dir') throw new UnsafePathError(entry, 'a whiteout that is a directory');
    const dirParts = parts.slice(0, -1);
    // the parent must be a real directory of this layer: never a whiteout through a symlink
    this.parents([...dirParts, Buffer.from('x')], entry);
    const dirReal = this.real(dirParts);
    if (base === OCI_OPAQUE_MARKER) {
      this.fmt.markOpaqueSync(dirReal);
      return null;
    }
    const target = ociWhiteoutTarget(base);
    if (target === null) throw new UnsafePathError(entry, `${JSON.stringify(base)} is not a valid whiteout name`);
    const targetParts = [...dirParts, Buffer.from(target, 'latin1')];
    const tk = this.key(targetParts);
    const kind = this.made.get(tk);
    if (kind !== undefined && kind !== 'whiteout' && this.whiteout !== 'oci') return null; // an entry of this layer survives its whiteout
    this.fmt.writeWhiteoutSync(dirReal, targetParts[targetParts.length - 1]);
    if (kind === undefined) this.made.set(tk, 'whiteout');
    if (this.whiteout === 'oci') this.made.set(this.key(parts), 'file');
    return null;
  }

  private metadata(real: Buffer, h: TarHeader, entry: string, chmod: boolean): void {
    if (this.applyOwners) fs.lchownSync(real, h.uid, h.gid);
    for (const [name, value] of h.xattrs) {
      if (isOverlayXattr(name)) continue;
      try {
        native.lsetxattrSync(real, name, value);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'EPERM' || code === 'ENOTSUP' || code === 'EOPNOTSUPP' || code === 'LAYERFS_NO_ADDON') this.warnings.push(`skipped xattr ${name} of ${entry}: ${(e as Error).message}`);
        else throw e;
      }
    }
    // chmod after chown: chown clears setuid/setgid
    if (chmod) fs.chmodSync(real, h.mode);
    fs.lutimesSync(real, h.mtime, h.mtime);
  }

  /** Directory modes and times last, deepest first: writing children would change them. */
  finish(): void {
    const dirs = [...this.dirs.values()].sort((a, b) => b.depth - a.depth);
    for (const d of dirs) {
      fs.chmodSync(d.real, d.mode);
      fs.lutimesSync(d.real, d.mtime, d.mtime);
    }
    if (this.durable) {
      for (const [k, kind] of this.made) if (kind === 'dir') fsyncPath(this.real(k.split('/').map((s) => Buffer.from(s, 'latin1'))));
      fsyncPath(this.root);
    }
  }
}

function fsyncPath(p: Buffer): void {
  const fd = fs.openSync(p, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

export { BadTarError };
