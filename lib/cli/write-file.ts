import * as fs from 'fs';
import * as path from 'path';
import type { Readable } from 'stream';
import { pipeline } from 'stream/promises';

/** Writes beside the target, then renames: a failed write leaves no half file. "-" is stdout. */
export async function writeStreamAtomically(src: Readable, dest: string): Promise<void> {
  if (dest === '-') return pipeline(src, process.stdout);
  const tmp = path.join(path.dirname(path.resolve(dest)), `.${path.basename(dest)}.${process.pid}.tmp`);
  try {
    await pipeline(src, fs.createWriteStream(tmp));
    fs.renameSync(tmp, dest);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw e;
  }
}
