/** The container change that the diff and commit groups time, applied the same way to every peer's tree. */
import * as fs from 'fs';
import * as path from 'path';
import { END_OF_ARCHIVE } from '../lib/tar/header';
import { ustarBlock } from '../lib/tar/writer';

export const APPENDS = 100;
export const DELETES = 100;
export const REMOVED_DIR = 'srv/many/d7';

export function newFiles(quick: boolean): number {
  return quick ? 1000 : 3000;
}

export function describeChange(n: number): string {
  return `${n} new files in 30 new directories, ${APPENDS} files appended to, ${DELETES} files deleted, a directory of the small-file layer removed (/${REMOVED_DIR})`;
}

/** Applies the scripted change to a mounted or materialised root. */
export function scriptedChange(root: string, n: number): void {
  const body = Buffer.alloc(300, 'a new file of the scripted change\n');
  for (let d = 0; d < 30; d++) fs.mkdirSync(path.join(root, 'bench-new', `d${d}`), { recursive: true });
  for (let i = 0; i < n; i++) fs.writeFileSync(path.join(root, 'bench-new', `d${i % 30}`, `n${i}`), body);
  for (let i = 1; i <= APPENDS; i++) fs.appendFileSync(path.join(root, 'opt/app', `f${i}`), 'appended by the scripted change\n');
  for (let i = APPENDS + 1; i <= APPENDS + DELETES; i++) fs.rmSync(path.join(root, 'opt/app', `f${i}`));
  fs.rmSync(path.join(root, REMOVED_DIR), { recursive: true });
}

/**
 * A layer tarball of `files` empty files in directories of 1,000, written directly (headers
 * only), to make a root many times larger without making the files first.
 */
export function writeManyEmptyFilesTar(file: string, files: number): void {
  const fd = fs.openSync(file, 'w');
  try {
    const batch: Buffer[] = [];
    const flush = () => {
      if (batch.length) fs.writeSync(fd, Buffer.concat(batch.splice(0)));
    };
    const head = (name: string, type: '0' | '5', mode: number) => ustarBlock({ name: Buffer.from(name), type, mode, uid: 0, gid: 0, size: 0, mtime: 1700000000 });
    batch.push(head('bulk/', '5', 0o755));
    for (let i = 0; i < files; i++) {
      if (i % 1000 === 0) batch.push(head(`bulk/x${i / 1000}/`, '5', 0o755));
      batch.push(head(`bulk/x${Math.floor(i / 1000)}/f${i}`, '0', 0o644));
      if (batch.length >= 4096) flush();
    }
    batch.push(END_OF_ARCHIVE);
    flush();
  } finally {
    fs.closeSync(fd);
  }
}
