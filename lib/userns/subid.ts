import * as fs from 'fs';

/** One line of /etc/subuid or /etc/subgid that belongs to the user. */
export interface SubidRange {
  start: number;
  count: number;
}

/**
 * The subordinate id ranges of a user, by name or by numeric id, as shadow's newuidmap reads
 * them (`name:start:count` or `uid:start:count`, one per line). A missing file is no range.
 */
export function subidRanges(file: string, user: string, id: number): SubidRange[] {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return [];
  }
  const out: SubidRange[] = [];
  for (const line of text.split('\n')) {
    const [who, start, count] = line.trim().split(':');
    if (who !== user && who !== String(id)) continue;
    const s = Number(start);
    const c = Number(count);
    if (Number.isSafeInteger(s) && Number.isSafeInteger(c) && s >= 0 && c > 0) out.push({ start: s, count: c });
  }
  return out;
}
