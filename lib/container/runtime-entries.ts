import * as fs from 'fs';
import * as path from 'path';
import type { Change } from '../diff/types';

/** A mount target a runtime needs: a directory, or a file for a bind of a file. */
export interface Mountpoint {
  destination: string;
  file: boolean;
}

const DIR_MODE = 0o755;
const FILE_MODE = 0o644;

/**
 * Makes, in the container's tree, the mount targets the runtime would otherwise make itself
 * (runc creates `/proc`, `/dev`, `/sys` and bind targets in the root filesystem). Made by us, they
 * are known: their paths are returned so that diff and commit leave them out, as Docker's init
 * layer does. A target under another mount (`/dev/pts` under `/dev`) is the runtime's own
 * business; a path through a symlink is left to the runtime, which resolves it inside the root.
 * The parents' times are put back, so making a target is no change of its directory.
 */
export function makeMountpoints(root: string, targets: Mountpoint[]): string[] {
  const made: string[] = [];
  // (a working directory of / is no mount: it hides nothing)
  const dests = targets.map((t) => path.posix.normalize(t.destination)).filter((d) => d !== '/');
  for (const t of targets) {
    const dest = path.posix.normalize(t.destination);
    if (dest === '/' || dests.some((d) => d !== dest && dest.startsWith(d + '/'))) continue;
    const parts = dest.split('/').filter(Boolean);
    let real = root;
    let rel = '';
    for (let i = 0; i < parts.length; i++) {
      const parent = real;
      real = path.join(real, parts[i]);
      rel += '/' + parts[i];
      const last = i === parts.length - 1;
      const st = lstatOrNull(real);
      if (st) {
        if (st.isSymbolicLink() || (!last && !st.isDirectory())) break;
        continue;
      }
      const times = fs.lstatSync(parent);
      if (last && t.file) fs.closeSync(fs.openSync(real, fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_WRONLY | fs.constants.O_NOFOLLOW, FILE_MODE));
      else fs.mkdirSync(real, { mode: DIR_MODE });
      fs.chmodSync(real, last && t.file ? FILE_MODE : DIR_MODE); // the umask does not decide
      fs.utimesSync(parent, times.atime, times.mtime);
      made.push(rel);
    }
  }
  return made;
}

/**
 * The changes without the mountpoints made for a runtime: an added empty file or directory of
 * ours, as we made it, with nothing added below it, is no change of the container.
 */
export function withoutRuntimeEntries(changes: Change[], entries: readonly string[] | undefined): Change[] {
  if (!entries || entries.length === 0) return changes;
  const ours = new Set(entries);
  const kept: Change[] = [];
  // sorted by path, so children come after their parents: walk backwards to see them first
  let below: string | null = null;
  for (let i = changes.length - 1; i >= 0; i--) {
    const c = changes[i];
    if (ours.has(c.path) && c.kind === 'A' && asMade(c) && !(below !== null && below.startsWith(c.path + '/'))) continue;
    kept.push(c);
    below = c.path;
  }
  return kept.reverse();
}

function asMade(c: Change): boolean {
  if (c.uid !== 0 || c.gid !== 0) return false;
  if (c.type === 'dir') return c.mode === DIR_MODE;
  return c.type === 'file' && c.mode === FILE_MODE && c.size === 0;
}

function lstatOrNull(p: string): fs.Stats | null {
  try {
    return fs.lstatSync(p);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
}
