import { escapeHtml } from './html';
import { bytesText, countText } from './format';
import { lineDiff } from './line-diff';
import { pathText } from './names';
import { DirTable, packEntries, TYPE_CODES, type PackItem } from './pack-entries';
import { renderPage, treeSection } from './page';
import type { DiffReportOptions, ReportChange } from './types';

const MAX_ENTRIES = 200_000;
const MAX_DIFF_LINES = 200;

/** What a 'C' change's row says changed, or a symlink's target. */
function infoOf(c: ReportChange): string {
  const parts: string[] = [];
  if (c.what?.length) parts.push(c.what.join(', '));
  if (c.opaque) parts.push('recreated: hides everything below it');
  if (c.type === 'symlink' && c.target !== undefined) parts.push(`\u2192 ${c.target}`);
  if (c.mode !== undefined) parts.push(`mode ${c.mode.toString(8).padStart(4, '0')}${c.uid !== undefined ? ` owner ${c.uid}:${c.gid}` : ''}`);
  return parts.join('; ');
}

/**
 * The HTML report of a diff: the changed paths as a tree with their sizes before and after, and
 * for the small text files whose two sides are given, a bounded content diff. A pure function
 * of the changes and the options.
 */
export function renderDiffReport(changes: ReportChange[], opts: DiffReportOptions = {}): string {
  const maxEntries = opts.maxEntries ?? MAX_ENTRIES;
  const maxLines = opts.maxDiffLines ?? MAX_DIFF_LINES;
  const table = new DirTable();
  const notes: string[] = [];
  let added = 0;
  let changed = 0;
  let deleted = 0;
  let bytesBefore = 0;
  let bytesAfter = 0;
  // a deleted directory's bytes count in the total unless its deleted contents are listed too
  const parents = new Set<string>();
  for (const c of changes) {
    const p = pathText(c.path);
    for (let i = p.lastIndexOf('/'); i > 0; i = p.lastIndexOf('/', i - 1)) {
      const d = p.slice(0, i);
      if (parents.has(d)) break;
      parents.add(d);
    }
  }
  const items: PackItem[] = changes.map((c) => {
    const p = pathText(c.path);
    const file = c.type === 'file';
    let before = -1;
    let after = -1;
    if (c.kind === 'A') {
      added++;
      after = file ? c.size : -1;
    } else if (c.kind === 'D') {
      deleted++;
      before = file ? c.size : (opts.sizesBefore?.get(p) ?? -1);
    } else {
      changed++;
      after = file ? c.size : -1;
      before = opts.sizesBefore?.get(p) ?? -1;
    }
    if (before > 0 && (file || !parents.has(p))) bytesBefore += before;
    if (after > 0) bytesAfter += after;
    return { path: p, code: c.kind + TYPE_CODES[c.type] + (c.opaque ? 'o' : ''), values: [before, after, infoOf(c)], dir: c.type === 'dir' };
  });
  const packed = packEntries(items, maxEntries, table, (it) => Math.max(0, it.values[1] as number));
  if (packed.shown < packed.total) notes.push(`${countText(packed.shown)} of ${countText(packed.total)} changes are in this report (the shallowest); the directories that hold the others say how many.`);
  // content diffs of the rows that were kept, by row number
  const texts: Record<string, string[]> = {};
  if (opts.texts?.size) {
    const rowOf = new Map<string, number>();
    for (let i = 0, r = 0; i < packed.rows.length; i += 6, r++) rowOf.set(`${table.dirs[packed.rows[i] as number]}\0${packed.rows[i + 1]}`, r);
    for (const [p, pair] of opts.texts) {
      const i = p.lastIndexOf('/');
      const r = rowOf.get(`${i <= 0 ? '/' : p.slice(0, i)}\0${p.slice(i + 1)}`);
      if (r === undefined) continue;
      const lines = lineDiff(pair.before, pair.after, maxLines);
      if (lines.length) texts[String(r)] = lines;
    }
  }
  const title = opts.title ?? (opts.before !== undefined && opts.after !== undefined ? `${opts.before} \u2192 ${opts.after}` : 'diff');
  const data = {
    v: 1,
    kind: 'diff',
    title,
    summary: { added, changed, deleted, bytesBefore, bytesAfter },
    dirs: table.dirs,
    tree: { rows: packed.rows, more: packed.more },
    texts,
  };
  const card = (id: string, value: string, label: string, cls = '') => `<div class="card${cls}" id="${id}" data-value="${escapeHtml(value)}"><b>${escapeHtml(value)}</b><span>${escapeHtml(label)}</span></div>`;
  const header = `<header>
<h1>${escapeHtml(title)}</h1>
${opts.before !== undefined ? `<p class="sub">before: <span class="mono">${escapeHtml(opts.before)}</span><br>after: <span class="mono">${escapeHtml(opts.after ?? '')}</span></p>` : ''}
<div class="cards">
${card('added', countText(added), 'A added', ' k-A')}
${card('changed', countText(changed), 'C changed', ' k-C')}
${card('deleted', countText(deleted), 'D deleted', ' k-D')}
${card('bytes', `${bytesText(bytesBefore)} \u2192 ${bytesText(bytesAfter)}`, 'files changed, added or deleted: their bytes before and after')}
</div>
${notes.map((n) => `<p class="note cap">${escapeHtml(n)}</p>`).join('\n')}
</header>`;
  return renderPage({ title: `diff: ${title}`, header, body: treeSection(''), data });
}
