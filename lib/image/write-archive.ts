import * as fs from 'fs';
import { once } from 'events';
import { pipeline } from 'stream/promises';
import * as tarStream from 'tar-stream';
import { InvalidArgumentError } from '../errors';
import { createNewFileStream, writeBeside } from '../store/partial-files';
import { openVerified, OutBlob } from './blob-copy';

export type ArchiveMember = { name: string; dir: true } | { name: string; blob: OutBlob };

/** Fixed metadata, so the same image gives the same archive bytes. */
const EPOCH = new Date(0);

type Entry = ReturnType<tarStream.Pack['entry']>;

/** `broken` settles (rejecting) only if the output fails first, so no wait can outlive it. */
async function addMember(pack: tarStream.Pack, m: ArchiveMember, broken: Promise<never>): Promise<void> {
  let entry!: Entry;
  /** the entry, and when tar-stream is done with it; its errors arrive through the callback */
  const add = (make: (cb: (e?: Error | null) => void) => Entry) => {
    const done = Promise.race([new Promise<void>((resolve, reject) => (entry = make((e) => (e ? reject(e) : resolve())))), broken]);
    entry.on('error', () => undefined); // a destroyed pack destroys its entries with its error: reported once, by the callback
    done.catch(() => undefined); // awaited below; a verification error may come first
    return done;
  };
  if ('dir' in m) return add((cb) => pack.entry({ name: m.name, type: 'directory', mode: 0o755, mtime: EPOCH, uid: 0, gid: 0 }, cb));
  const header = { name: m.name, type: 'file' as const, size: m.blob.size, mode: 0o644, mtime: EPOCH, uid: 0, gid: 0 };
  const b = m.blob;
  if (b.bytes || b.size === 0) return add((cb) => pack.entry(header, b.bytes ?? Buffer.alloc(0), cb));
  const finished = add((cb) => pack.entry(header, cb));
  // by hand, with backpressure: a verification error ends the loop and fails the archive
  for await (const chunk of openVerified(b)) if (!entry.write(chunk as Buffer)) await Promise.race([once(entry, 'drain'), broken]);
  entry.end(undefined); // streamx: end(data), nothing more to write
  await finished;
}

/**
 * Writes a tar of `members`, in the given order, streamed (no blob is held whole), to a
 * temporary file beside `dest` that is renamed over it only when complete and verified (and
 * removed on failure or a signal).
 */
export async function writeArchive(dest: string, members: ArchiveMember[]): Promise<void> {
  checkArchiveTarget(dest);
  await writeBeside(dest, async (tmp) => {
    const pack = tarStream.pack();
    const written = pipeline(pack, createNewFileStream(tmp));
    const broken = written.then(
      () => Promise.reject(new Error('the archive ended before its last member')),
      (e) => Promise.reject(e),
    ) as Promise<never>;
    broken.catch(() => undefined);
    try {
      for (const m of members) await addMember(pack, m, broken);
      pack.finalize();
      await written;
    } catch (e) {
      pack.destroy(e as Error);
      await written.catch(() => undefined);
      throw e;
    }
  });
}

/** An archive is written as a file: a directory there is refused before anything is written. */
export function checkArchiveTarget(dest: string): void {
  if (fs.statSync(dest, { throwIfNoEntry: false })?.isDirectory()) throw new InvalidArgumentError(`${dest} is a directory; an archive is written as a file`);
}
