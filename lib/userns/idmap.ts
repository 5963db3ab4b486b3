import * as fs from 'fs';

/** One line of /proc/PID/uid_map or gid_map: `count` ids from `inside` map to `outside`. */
export interface IdRange {
  inside: number;
  outside: number;
  count: number;
}
export type IdMap = IdRange[];

/** The map of the initial user namespace: every id is itself. */
export const IDENTITY: IdMap = [{ inside: 0, outside: 0, count: 4294967295 }];

export function parseIdMap(text: string): IdMap {
  return text
    .split('\n')
    .map((l) => l.trim().split(/\s+/).map(Number))
    .filter((f) => f.length === 3 && f.every(Number.isSafeInteger))
    .map(([inside, outside, count]) => ({ inside, outside, count }));
}

/** The uid and gid maps of a process (`self` by default). */
export function readIdMaps(pid: number | 'self' = 'self'): { uids: IdMap; gids: IdMap } {
  return { uids: parseIdMap(fs.readFileSync(`/proc/${pid}/uid_map`, 'utf8')), gids: parseIdMap(fs.readFileSync(`/proc/${pid}/gid_map`, 'utf8')) };
}

export function isIdentity(m: IdMap): boolean {
  return sameMap(m, IDENTITY);
}

export function sameMap(a: IdMap, b: IdMap): boolean {
  return a.length === b.length && a.every((r, i) => r.inside === b[i].inside && r.outside === b[i].outside && r.count === b[i].count);
}

/** The id outside for `id` inside, or null when it is not mapped. */
export function toOutside(m: IdMap, id: number): number | null {
  for (const r of m) if (id >= r.inside && id < r.inside + r.count) return r.outside + (id - r.inside);
  return null;
}

/** How many ids, counted from 0 inside, are mapped without a gap (what an image's owners may use). */
export function mappedFromZero(m: IdMap): number {
  let next = 0;
  for (;;) {
    const r = m.find((x) => next >= x.inside && next < x.inside + x.count);
    if (!r) return next;
    next = r.inside + r.count;
  }
}

/** `0→1000 (1), 1→100000 (65536)`: a map as people read it. */
export function describeMap(m: IdMap): string {
  if (isIdentity(m)) return 'the identity (no user namespace)';
  return m.map((r) => `${r.inside}→${r.outside} (${r.count})`).join(', ');
}

/** The `inside outside count` triples newuidmap and newgidmap take, flattened. */
export function mapArgs(m: IdMap): string[] {
  return m.flatMap((r) => [String(r.inside), String(r.outside), String(r.count)]);
}
