import * as fs from 'fs';
import * as path from 'path';
import * as native from '../native';
import { FileCopier } from '../drivers/file-copy';
import { whiteoutFormat, isOverlayXattr } from '../whiteout';
import type { WhiteoutFormatName } from '../store/types';
import type { PackEntry } from '../tar/types';

/**
 * Builds a layer directory from the entries of a commit, taking every file from the
 * container (a reflink where the filesystem can, else copy_file_range): the tarball that was
 * just written is never read back or extracted. Hardlinks among the entries stay hardlinks.
 */
export function buildLayerDirSync(entries: PackEntry[], dest: string, whiteout: WhiteoutFormatName): void {
  const fmt = whiteoutFormat(whiteout);
  const copier = new FileCopier();
  const asRoot = process.getuid?.() === 0;
  const links = new Map<string, string>();
  const dirs: Array<{ real: string; st: fs.Stats }> = [];
  const rel = (e: PackEntry) => String(e.path);
  const sorted = [...entries].sort((a, b) => rel(a).split('/').length - rel(b).split('/').length || (rel(a) < rel(b) ? -1 : 1));
  for (const e of sorted) {
    const real = path.join(dest, rel(e));
    fs.mkdirSync(path.dirname(real), { recursive: true });
    if (e.whiteout) {
      fmt.writeWhiteoutSync(path.dirname(real), path.basename(real));
      continue;
    }
    const src = String(e.source);
    const st = fs.lstatSync(src);
    if (st.isDirectory()) {
      fs.mkdirSync(real, { recursive: true });
      if (e.opaque) fmt.markOpaqueSync(real);
      dirs.push({ real, st });
    } else if (st.nlink > 1 && links.has(`${st.dev}:${st.ino}`)) {
      fs.linkSync(links.get(`${st.dev}:${st.ino}`)!, real);
      continue;
    } else if (st.isFile()) copier.copy(src, real, st);
    else if (st.isSymbolicLink()) fs.symlinkSync(fs.readlinkSync(src, { encoding: 'buffer' }), real);
    else if (st.isCharacterDevice() || st.isBlockDevice() || st.isFIFO()) native.mknodSync(real, (st.mode & fs.constants.S_IFMT) | 0o600, Math.floor(st.rdev / 256) & 0xfff, (st.rdev & 0xff) | ((st.rdev >> 12) & 0xfff00));
    else continue; // sockets are not layer content
    if (st.nlink > 1) links.set(`${st.dev}:${st.ino}`, real);
    copyMetadata(src, real, st, asRoot);
  }
  for (const d of dirs.reverse()) {
    fs.chmodSync(d.real, d.st.mode & 0o7777);
    fs.utimesSync(d.real, d.st.atime, d.st.mtime);
  }
}

function copyMetadata(src: string, dest: string, st: fs.Stats, asRoot: boolean): void {
  if (asRoot) fs.lchownSync(dest, st.uid, st.gid);
  if (native.addonStatus().available) {
    for (const name of native.llistxattrSync(src)) {
      if (isOverlayXattr(name)) continue;
      const v = native.lgetxattrSync(src, name);
      if (v !== null) native.lsetxattrSync(dest, name, v);
    }
  }
  if (!st.isSymbolicLink() && !st.isDirectory()) fs.chmodSync(dest, st.mode & 0o7777);
  fs.lutimesSync(dest, st.atime, st.mtime);
}
