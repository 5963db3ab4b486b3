import * as fs from 'fs';
import * as path from 'path';
import type { Readable } from 'stream';
import { pipeline } from 'stream/promises';

/**
 * Writes beside the target, then renames: a failed write leaves no half file. A stream (stdout
 * claimed with `ctx.dataOut()` for "-") is written as it is.
 */
export async function writeStreamAtomically(src: Readable, dest: string | NodeJS.WritableStream): Promise<void> {
  if (typeof dest !== 'string') return pipeline(src, dest);
  const tmp = path.join(path.dirname(path.resolve(dest)), `.${path.basename(dest)}.${process.pid}.tmp`);
  try {
    await pipeline(src, fs.createWriteStream(tmp));
    fs.renameSync(tmp, dest);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw e;
  }
}
