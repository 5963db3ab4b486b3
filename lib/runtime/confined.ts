import * as fs from 'fs';
import * as path from 'path';
import { UnsafePathError } from '../errors';

/** More symlinks than this on one path is a loop (Linux's own limit is 40). */
const MAX_LINKS = 40;

/**
 * Reads a file of a root filesystem as a process chrooted there would see it: every component
 * is resolved inside `root`, a symlink's target (absolute or relative) is taken relative to the
 * root, and `..` stops at the root. So a symlink in an image (`/etc/passwd -> /etc/shadow` of the
 * host, or `../../..`) can never make us read a host file. Returns null when the file is absent.
 *
 * The root must not change while this runs (it is read before the runtime starts).
 */
export function readFileInRoot(root: string, file: string): Buffer | null {
  const real = resolveInRoot(root, file);
  if (real === null) return null;
  const fd = fs.openSync(real, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK);
  try {
    if (!fs.fstatSync(fd).isFile()) throw new UnsafePathError(file, `${file} in the root filesystem is not a regular file`);
    return fs.readFileSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** The host path of `file` resolved inside `root` (symlinks included), or null when a component is missing. */
export function resolveInRoot(root: string, file: string): string | null {
  const todo = file.split('/').filter((c) => c !== '' && c !== '.').reverse();
  const done: string[] = [];
  let links = 0;
  while (todo.length) {
    const c = todo.pop()!;
    if (c === '..') {
      done.pop();
      continue;
    }
    const real = path.join(root, ...done, c);
    let st: fs.Stats;
    try {
      st = fs.lstatSync(real);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT' || (e as NodeJS.ErrnoException).code === 'ENOTDIR') return null;
      throw e;
    }
    if (st.isSymbolicLink()) {
      if (++links > MAX_LINKS) throw new UnsafePathError(file, `too many symlinks resolving ${file} in the root filesystem`);
      const target = fs.readlinkSync(real);
      if (target.startsWith('/')) done.length = 0;
      todo.push(...target.split('/').filter((x) => x !== '' && x !== '.').reverse());
      continue;
    }
    if (todo.length && !st.isDirectory()) return null;
    done.push(c);
  }
  return path.join(root, ...done);
}
