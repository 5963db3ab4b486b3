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

function readText(file: string): string | null {
  try {
    return fs.readFileSync(file, 'utf8').trim();
  } catch {
    return null;
  }
}

function readNumber(file: string): number | null {
  const t = readText(file);
  if (t === null) return null;
  const n = Number(t);
  return Number.isFinite(n) ? n : null;
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

const DAMON = '/sys/kernel/mm/damon/admin/kdamonds';

/** One DAMON scheme that pages memory out (proactive reclaim), as it stood when read. */
export interface DamonPageout {
  /** kdamonds/N/contexts/M/schemes/K */
  where: string;
  /** memory idle this long is paged out (the scheme's minimum age times the aggregation interval) */
  minIdleS: number | null;
  /** at most this many bytes per quota interval, and that interval */
  quotaBytes: number | null;
  quotaMs: number | null;
  /** bytes the action was applied to since the scheme started */
  appliedBytes: number | null;
}

function dirs(dir: string): string[] {
  try {
    return fs.readdirSync(dir).filter((n) => /^\d+$/.test(n));
  } catch {
    return [];
  }
}

/**
 * The running DAMON schemes whose action is pageout: the kernel reclaims memory that has not been
 * touched for a while, clean page cache included, and on these VMs the pages freed then go back to
 * the host like any others (measured by hand: an idle 2 GiB cached file lost 290 MB in 100 s, so
 * the cache warmMemory fills thins out during a long run). Their counters are refreshed first (update_schemes_stats, root only;
 * without it they may be stale). Empty where DAMON is not built in or not running.
 */
export function damonPageout(): DamonPageout[] {
  const out: DamonPageout[] = [];
  for (const k of dirs(DAMON)) {
    const kd = path.join(DAMON, k);
    if (readText(path.join(kd, 'state')) !== 'on') continue;
    try {
      fs.writeFileSync(path.join(kd, 'state'), 'update_schemes_stats');
    } catch {
      /* not root: the counters as they are */
    }
    for (const c of dirs(path.join(kd, 'contexts'))) {
      const ctx = path.join(kd, 'contexts', c);
      const aggrUs = readNumber(path.join(ctx, 'monitoring_attrs/intervals/aggr_us'));
      for (const s of dirs(path.join(ctx, 'schemes'))) {
        const sc = path.join(ctx, 'schemes', s);
        if (readText(path.join(sc, 'action')) !== 'pageout') continue;
        const minAge = readNumber(path.join(sc, 'access_pattern/age/min'));
        out.push({
          where: `kdamonds/${k}/contexts/${c}/schemes/${s}`,
          minIdleS: minAge !== null && aggrUs !== null ? (minAge * aggrUs) / 1e6 : null,
          quotaBytes: readNumber(path.join(sc, 'quotas/bytes')),
          quotaMs: readNumber(path.join(sc, 'quotas/reset_interval_ms')),
          appliedBytes: readNumber(path.join(sc, 'stats/sz_applied')),
        });
      }
    }
  }
  return out;
}

/** The machine-section line: what DAMON pages out, and how much it did during the run. */
export function describeDamonPageout(atStart: DamonPageout[]): string {
  if (!atStart.length) return 'off (no DAMON scheme pages memory out)';
  const now = new Map(damonPageout().map((d) => [d.where, d]));
  return atStart
    .map((d) => {
      const idle = d.minIdleS === null ? '' : ` idle for ${d.minIdleS.toFixed(0)} s or more`;
      const quota = d.quotaBytes && d.quotaMs ? `, up to ${(d.quotaBytes / 2 ** 20).toFixed(0)} MiB per ${d.quotaMs} ms` : '';
      const end = now.get(d.where)?.appliedBytes;
      const during = d.appliedBytes !== null && end != null ? `; it was applied to ${((end - d.appliedBytes) / 2 ** 30).toFixed(1)} GiB during the run` : '';
      return `on (${d.where}): the kernel pages out memory${idle}${quota}, clean page cache included, so the cache filled before the run thins out as it sits idle and the pages freed go back to the host${during}`;
    })
    .join('; ');
}
