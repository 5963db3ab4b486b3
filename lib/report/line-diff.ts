/** The middle part (after the common head and tail) is aligned by LCS only up to this many cells. */
const MAX_CELLS = 4_000_000;
const CONTEXT = 3;

type Op = { op: ' ' | '-' | '+'; line: string; a: number; b: number };

function splitLines(s: string): string[] {
  if (s === '') return [];
  const lines = s.split('\n');
  if (lines.length > 1 && lines[lines.length - 1] === '') lines.pop();
  return lines;
}

/** The edit script of the middle parts: LCS where it is small enough, else all of one then all of the other. */
function middle(a: string[], b: string[], a0: number, b0: number): Op[] {
  const n = a.length;
  const m = b.length;
  if (n * m > MAX_CELLS) return [...a.map((line, i) => ({ op: '-' as const, line, a: a0 + i, b: b0 })), ...b.map((line, j) => ({ op: '+' as const, line, a: a0 + n, b: b0 + j }))];
  // lengths of the LCS of a[i..] and b[j..]
  const w = m + 1;
  const L = new Uint32Array((n + 1) * w);
  for (let i = n - 1; i >= 0; i--) for (let j = m - 1; j >= 0; j--) L[i * w + j] = a[i] === b[j] ? L[(i + 1) * w + j + 1] + 1 : Math.max(L[(i + 1) * w + j], L[i * w + j + 1]);
  const out: Op[] = [];
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && a[i] === b[j]) out.push({ op: ' ', line: a[i], a: a0 + i++, b: b0 + j++ });
    else if (i < n && (j === m || L[(i + 1) * w + j] >= L[i * w + j + 1])) out.push({ op: '-', line: a[i], a: a0 + i++, b: b0 + j });
    else out.push({ op: '+', line: b[j], a: a0 + i, b: b0 + j++ });
  }
  return out;
}

/**
 * A unified diff of two texts (hunks with three lines of context, "@@ -a,n +b,m @@" headers),
 * at most `maxLines` lines; when it is longer, the last line says how many were left out.
 * Empty when the texts are equal.
 */
export function lineDiff(before: string, after: string, maxLines: number): string[] {
  const a = splitLines(before);
  const b = splitLines(after);
  let head = 0;
  while (head < a.length && head < b.length && a[head] === b[head]) head++;
  let tail = 0;
  while (tail < a.length - head && tail < b.length - head && a[a.length - 1 - tail] === b[b.length - 1 - tail]) tail++;
  if (head === a.length && head === b.length) return [];
  const ops: Op[] = [
    ...a.slice(0, head).map((line, i) => ({ op: ' ' as const, line, a: i, b: i })),
    ...middle(a.slice(head, a.length - tail), b.slice(head, b.length - tail), head, head),
    ...a.slice(a.length - tail).map((line, k) => ({ op: ' ' as const, line, a: a.length - tail + k, b: b.length - tail + k })),
  ];
  // hunks: runs of changes with their context, merged where the context would overlap
  const out: string[] = [];
  let k = 0;
  while (k < ops.length) {
    while (k < ops.length && ops[k].op === ' ') k++;
    if (k === ops.length) break;
    const start = Math.max(0, k - CONTEXT);
    let end = k;
    for (;;) {
      while (end < ops.length && ops[end].op !== ' ') end++;
      let next = end;
      while (next < ops.length && ops[next].op === ' ') next++;
      if (next < ops.length && next - end <= 2 * CONTEXT) end = next;
      else break;
    }
    const stop = Math.min(ops.length, end + CONTEXT);
    const hunk = ops.slice(start, stop);
    const na = hunk.filter((o) => o.op !== '+').length;
    const nb = hunk.filter((o) => o.op !== '-').length;
    out.push(`@@ -${hunk[0].a + (na ? 1 : 0)},${na} +${hunk[0].b + (nb ? 1 : 0)},${nb} @@`);
    for (const o of hunk) out.push(o.op + o.line);
    k = stop;
  }
  if (out.length > maxLines) {
    const left = out.length - (maxLines - 1);
    return [...out.slice(0, maxLines - 1), `… ${left} more line${left === 1 ? '' : 's'} not shown`];
  }
  return out;
}
