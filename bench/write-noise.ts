/**
 * How noisy writing is on this machine, for the report's machine section: every layerfs and peer
 * line that unpacks or stores a layer writes gigabytes into the page cache, and on these virtual
 * machines the cost of that varies from run to run by several times.
 *
 * The cause, seen here: the kernel's free page reporting (virtio-balloon) hands the pages the guest
 * frees back to the host, and the host maps a page again on its next use. A run that removes a
 * store frees its page cache; the next run's writes then pay a host fault per page, or not,
 * depending on how much was handed back meanwhile. Measured by hand with dd, a 2 GiB buffered
 * write took 0.35 s to 5.41 s, one run after the other.
 */
import * as fs from 'fs';
import * as path from 'path';
import { execFileSync } from 'child_process';

const PARAMS = '/sys/module/page_reporting/parameters';

export interface PageReporting {
  /** pages are handed back in free blocks of 2^order pages */
  order: number;
  /** how long a freed block waits before it is handed back (a parameter of some kernels only) */
  minFreeMs: number | null;
  /** KiB handed back since boot (a counter of some kernels only) */
  reportedKib: number | null;
}

function readNumber(file: string): number | null {
  try {
    const n = Number(fs.readFileSync(file, 'utf8').trim());
    return Number.isFinite(n) ? n : null;
  } catch {
    return null;
  }
}

/** The kernel's free page reporting, or null where it is not built in or not set up. */
export function pageReporting(): PageReporting | null {
  const order = readNumber(path.join(PARAMS, 'page_reporting_order'));
  if (order === null) return null;
  return { order, minFreeMs: readNumber(path.join(PARAMS, 'min_free_ms')), reportedKib: readNumber(path.join(PARAMS, 'reported_kib')) };
}

/** The machine-section line: how pages go back to the host, and how many did during the run. */
export function describePageReporting(atStart: PageReporting | null): string {
  const now = pageReporting();
  if (!atStart || !now) return 'not in this kernel (freed pages stay with the guest)';
  const block = (4 << atStart.order) >= 1024 ? `${(4 << atStart.order) >> 10} MiB` : `${4 << atStart.order} KiB`;
  const wait = atStart.minFreeMs === null ? '' : `, ${atStart.minFreeMs} ms after they are freed`;
  const during = atStart.reportedKib !== null && now.reportedKib !== null ? `; ${((now.reportedKib - atStart.reportedKib) / 2 ** 20).toFixed(1)} GiB went back during the run` : '';
  return `on: freed pages go back to the host in free blocks of ${block}${wait}, and the host maps each again on its next use, so a write costs more or less from one run to the next${during}`;
}

/**
 * Times `runs` buffered writes of `bytes` into `dir` (dd from /dev/zero, no fsync: the page-cache
 * cost that every unpack pays), each after the last one's file is removed and synced, as the
 * bench's runs are. Returns the seconds of each.
 */
export function bufferedWrites(dir: string, bytes: number, runs: number): number[] {
  const file = path.join(dir, `write-noise-${process.pid}`);
  const times: number[] = [];
  try {
    for (let i = 0; i < runs; i++) {
      fs.rmSync(file, { force: true });
      execFileSync('sync');
      const t0 = process.hrtime.bigint();
      execFileSync('dd', ['if=/dev/zero', `of=${file}`, 'bs=1M', `count=${Math.round(bytes / 2 ** 20)}`, 'status=none']);
      times.push(Number(process.hrtime.bigint() - t0) / 1e9);
    }
  } finally {
    fs.rmSync(file, { force: true });
  }
  return times;
}

/** The machine-section line for bufferedWrites. */
export function describeBufferedWrites(times: number[], bytes: number): string {
  if (!times.length) return 'not measured';
  const s = [...times].sort((a, b) => a - b);
  return `a ${(bytes / 2 ** 30).toFixed(0)} GiB buffered write (dd, no fsync) into the scratch filesystem took ${s[0].toFixed(2)}–${s[s.length - 1].toFixed(2)} s in ${times.length} runs at the start (each after rm + sync): read the lines that write a layer with that spread in mind`;
}
