import type { Readable } from 'stream';
import { pipeline } from 'stream/promises';
import { createNewFileStream, writeBeside } from '../store/partial-files';

/**
 * Writes beside the target, then renames: a failed or interrupted write leaves no half file
 * (lib/store/partial-files.ts). A stream (stdout claimed with `ctx.dataOut()` for "-") is
 * written as it is.
 */
export async function writeStreamAtomically(src: Readable, dest: string | NodeJS.WritableStream): Promise<void> {
  if (typeof dest !== 'string') return pipeline(src, dest);
  await writeBeside(dest, (tmp) => pipeline(src, createNewFileStream(tmp)));
}
