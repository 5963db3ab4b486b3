/**
 * These machines are virtual machines whose host maps guest memory on first touch and takes back
 * pages the guest frees (the balloon's free page reporting). So free memory is slow memory: every
 * new page costs a host fault. Measured here, writing 1 GiB into a fresh ext4 cost 3.6 s of system
 * time on a freshly booted machine, 0.8 s right after its memory had been touched, and 1.0 s with
 * the memory held by clean page cache (reclaimed, never handed back); a whole-image import took
 * 11 s against 7.4 s. A tool that happens to run while free memory is handed out pays that alone,
 * which skews its ratios.
 *
 * So the bench starts from the state of a machine that has been working for a while: memory full
 * of clean page cache. Reading a sparse file fills the cache with zeroed pages and no disk I/O;
 * the file is kept (it takes no disk space) until the run ends, so its pages are reclaimed for the
 * bench's own work instead of being freed back to the host.
 */
import * as fs from 'fs';
import * as path from 'path';

/** Left free, so the bench data read just before is not evicted to make room. */
const MARGIN = 1 << 30;

function meminfo(field: string): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(fs.readFileSync('/proc/meminfo', 'utf8'));
  return m ? Number(m[1]) * 1024 : 0;
}

export interface WarmMemory {
  /** for the report's machine section */
  note: string;
  /** removes the file that holds the cache */
  done(): void;
}

/** Fills the free memory with clean page cache of a sparse file in `dir` (on a filesystem with holes: ext4, XFS). */
export function warmMemory(dir: string): WarmMemory {
  const bytes = meminfo('MemFree') - MARGIN;
  const gib = (n: number) => `${(n / 2 ** 30).toFixed(1)} GiB`;
  if (bytes < MARGIN) return { note: `memory already in use (${gib(meminfo('Cached'))} of page cache)`, done: () => undefined };
  const file = path.join(dir, `memory-fill-${process.pid}`);
  const t0 = process.hrtime.bigint();
  const fd = fs.openSync(file, 'w+');
  try {
    fs.ftruncateSync(fd, bytes);
    const buf = Buffer.allocUnsafe(1 << 20);
    for (let at = 0; at < bytes; ) {
      const n = fs.readSync(fd, buf, 0, buf.length, at);
      if (n === 0) break;
      at += n;
    }
  } finally {
    fs.closeSync(fd);
  }
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  return {
    note: `${gib(bytes)} of free memory filled with clean page cache before the run (${s.toFixed(0)} s), as on a machine that has been working: a fresh VM's host maps a free page on first touch`,
    done: () => fs.rmSync(file, { force: true }),
  };
}
