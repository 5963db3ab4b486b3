import * as fs from 'fs';
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

export async function readlinkName(p: string | Buffer): Promise<string> {
  return nameOfBytes(await fs.promises.readlink(fsArg(p), { encoding: 'buffer' }));
}
