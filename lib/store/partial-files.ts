import * as fs from 'fs';
import * as path from 'path';
import { isStale, stagingName } from './tmp';

/**
 * Files written beside their target (an exported layer, an image archive, a blob of a layout)
 * and renamed over it when complete. A failed write removes its partial file itself; these
 * helpers cover the rest: a signal (Ctrl-C) removes every partial file still open before the
 * process dies, and one left by a process that was killed outright is reaped by the next write
 * to the same target, told stale by the pid and start time in its name.
 */

const SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
const live = new Set<string>();

function onSignal(sig: NodeJS.Signals): void {
  for (const f of live) fs.rmSync(f, { force: true });
  live.clear();
  uninstall();
  // nobody else listens: die of the signal, as the process would have without this handler
  if (process.listenerCount(sig) === 0) process.kill(process.pid, sig);
}

function install(): void {
  for (const s of SIGNALS) process.on(s, onSignal);
}

function uninstall(): void {
  for (const s of SIGNALS) process.removeListener(s, onSignal);
}

/** `.<name>.<pid>.<start>.part-<random>.tmp` beside `dest`: hidden, and told stale by its name. */
export function partialPath(dest: string): string {
  const abs = path.resolve(dest);
  return path.join(path.dirname(abs), `.${path.basename(abs)}.${stagingName('part')}.tmp`);
}

/**
 * A write stream on a new `file` (O_EXCL), opened now rather than on the stream's own deferred
 * open: a pipeline whose source fails at once rejects before that open would have run, and the
 * file it then made would outlive the cleanup that removed it.
 */
export function createNewFileStream(file: string, mode = 0o666): fs.WriteStream {
  return fs.createWriteStream(file, { fd: fs.openSync(file, 'wx', mode) });
}

/** Removes `file` if a signal ends the process before the returned function is called. */
export function trackPartial(file: string): () => void {
  if (live.size === 0) install();
  live.add(file);
  return () => {
    if (!live.delete(file)) return;
    if (live.size === 0) uninstall();
  };
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Removes the partial files of `dest` whose writers are gone; returns their paths. */
export function reapStalePartials(dest: string): string[] {
  const abs = path.resolve(dest);
  const dir = path.dirname(abs);
  const re = new RegExp(`^\\.${escapeRe(path.basename(abs))}\\.(\\d+\\.\\d+\\.part-[0-9a-f]+)\\.tmp$`);
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return [];
  }
  const out: string[] = [];
  for (const n of names) {
    const m = re.exec(n);
    if (!m || !isStale(m[1])) continue;
    fs.rmSync(path.join(dir, n), { force: true });
    out.push(path.join(dir, n));
  }
  return out;
}

/**
 * Writes a partial file with `write` and renames it to `dest`; on failure or a signal the
 * partial file is removed. The partial file is named for `beside` (default: `dest`), whose
 * stale partial files are reaped first.
 */
export async function writeBeside(dest: string, write: (tmp: string) => Promise<void>, opts: { beside?: string } = {}): Promise<void> {
  const beside = opts.beside ?? dest;
  reapStalePartials(beside);
  const tmp = partialPath(beside);
  const untrack = trackPartial(tmp);
  try {
    await write(tmp);
    fs.renameSync(tmp, dest);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw e;
  } finally {
    untrack();
  }
}
