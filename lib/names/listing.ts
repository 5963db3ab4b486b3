import * as fs from 'fs';
import { ChangedMeanwhileError } from '../errors';
import { fsArg, nameOfBytes } from './escape';

const REPLACEMENT = '\ufffd';

/**
 * A directory's names as name strings. Node decodes names as UTF-8 and turns invalid bytes into
 * U+FFFD, a different name: a listing with one is read again as bytes (a real U+FFFD survives that).
 */
export function readdirNamesSync(dir: string | Buffer): string[] {
  const p = fsArg(dir);
  const names = fs.readdirSync(p);
  for (const n of names) if (n.includes(REPLACEMENT)) return fs.readdirSync(p, { encoding: 'buffer' }).map(nameOfBytes);
  return names;
}

export async function readdirNames(dir: string | Buffer): Promise<string[]> {
  const p = fsArg(dir);
  const names = await fs.promises.readdir(p);
  for (const n of names) if (n.includes(REPLACEMENT)) return (await fs.promises.readdir(p, { encoding: 'buffer' })).map(nameOfBytes);
  return names;
}

/** A symlink's target as a name string (byte for byte, as readdirNamesSync). */
export function readlinkNameSync(p: string | Buffer): string {
  return nameOfBytes(fs.readlinkSync(fsArg(p), { encoding: 'buffer' }));
}

/**
 * The target (bytes) of a symlink a walk of `tree` listed as `shown`: one gone, or no longer a
 * link (readlink's EINVAL), since it was listed is the tree changing under the walk, not an error
 * of the call.
 */
export function readListedLinkSync(p: string | Buffer, tree: string, shown: string): Buffer {
  try {
    return fs.readlinkSync(fsArg(p), { encoding: 'buffer' });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EINVAL') throw new ChangedMeanwhileError(tree, shown, 'it was a symlink when listed and is not one now', { cause: e });
    if (code === 'ENOENT') throw new ChangedMeanwhileError(tree, shown, 'it is gone', { cause: e });
    throw e;
  }
}

export async function readlinkName(p: string | Buffer): Promise<string> {
  return nameOfBytes(await fs.promises.readlink(fsArg(p), { encoding: 'buffer' }));
}
