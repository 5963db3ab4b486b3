import { escapeHtml } from './html';
import { bytesText, countText, percentText } from './format';
import { pathText } from './names';
import { DirTable, packEntries, TYPE_CODES, type PackItem } from './pack-entries';
import { renderPage, treeSection } from './page';
import type { LayersReportData, LayersReportOptions } from './types';

const MAX_ENTRIES_PER_LAYER = 60_000;
const MAX_INEFFICIENCIES = 1_000;

/**
 * The HTML report of an image's layers (what `layerfs layers` prints, and each layer's tree):
 * one self-contained page. A pure function of its data: the same data gives the same bytes.
 */
export function renderLayersReport(report: LayersReportData, opts: LayersReportOptions = {}): string {
  const maxEntries = opts.maxEntriesPerLayer ?? MAX_ENTRIES_PER_LAYER;
  const maxWaste = opts.maxInefficiencies ?? MAX_INEFFICIENCIES;
  const table = new DirTable();
  const notes: string[] = [];

  const trees = report.entries?.map((list, i) => {
    const items: PackItem[] = list.map((e) => ({
      path: pathText(e.path),
      code: (e.kind === '' ? '.' : e.kind) + TYPE_CODES[e.type] + (e.opaque ? 'o' : ''),
      values: [e.size],
      dir: e.type === 'dir',
    }));
    const packed = packEntries(items, maxEntries, table, (it) => (it.code[0] === 'D' ? 0 : (it.values[0] as number)));
    if (packed.shown < packed.total) notes.push(`Layer ${i}: ${countText(packed.shown)} of its ${countText(packed.total)} entries are in this report (the shallowest); the directories that hold the others say how many and how big.`);
    return { rows: packed.rows, more: packed.more, total: packed.total, shown: packed.shown };
  });
  if (!trees) notes.push('No file lists were given: the report shows the layers and the wasted space only.');
  const waste = report.inefficiencies.slice(0, maxWaste).flatMap((x) => [pathText(x.path), x.count, x.cumulativeSize]);
  if (report.inefficiencies.length > maxWaste) notes.push(`The wasted-space table shows the ${countText(maxWaste)} largest of ${countText(report.inefficiencies.length)} paths; the total counts them all.`);

  const data = {
    v: 1,
    kind: 'layers',
    title: report.title,
    summary: { efficiency: report.efficiency, wastedBytes: report.wastedBytes, sizeBytes: report.sizeBytes, userSizeBytes: report.userSizeBytes, wastedUserPercent: report.wastedUserPercent },
    layers: report.layers.map((l, i) => ({ ...l, total: trees?.[i].total ?? 0, shown: trees?.[i].shown ?? 0 })),
    dirs: table.dirs,
    trees: trees?.map((t) => ({ rows: t.rows, more: t.more })) ?? null,
    waste,
    wasteCount: report.inefficiencies.length,
  };

  const card = (id: string, value: string, label: string, attrs = '') => `<div class="card" id="${id}"${attrs}><b>${escapeHtml(value)}</b><span>${escapeHtml(label)}</span></div>`;
  const header = `<header>
<h1>${escapeHtml(report.title)}</h1>
${report.chainId && report.chainId !== report.title ? `<p class="sub">ChainID <span class="mono">${escapeHtml(report.chainId)}</span></p>` : ''}
<div class="cards">
${card('efficiency', percentText(report.efficiency), 'efficiency', ` data-value="${report.efficiency}"`)}
${card('wasted', bytesText(report.wastedBytes), `wasted (${countText(report.wastedBytes)} bytes, ${percentText(report.wastedUserPercent)} of the layers above the base)`, ` data-bytes="${report.wastedBytes}"`)}
${card('image-size', bytesText(report.sizeBytes), `in the files of ${countText(report.layers.length)} layer${report.layers.length === 1 ? '' : 's'}`, ` data-bytes="${report.sizeBytes}"`)}
</div>
${notes.map((n) => `<p class="note cap">${escapeHtml(n)}</p>`).join('\n')}
</header>`;
  const body = `<section id="layers-section">
<h2>Layers</h2>
<table id="layers" role="listbox" aria-label="layers, bottom first">
<thead><tr><th class="num">#</th><th>share</th><th class="num" title="the bytes of the layer’s regular files">file bytes</th><th class="num" title="the bytes of the uncompressed layer tarball">tar</th><th class="num">added</th><th class="num">changed</th><th class="num">deleted</th><th>DiffID</th><th>command</th></tr></thead>
<tbody></tbody>
</table>
<div id="layer-details"></div>
</section>
${treeSection(`<span role="group" aria-label="view"><button id="mode-layer" type="button" aria-pressed="true">this layer\u2019s changes</button> <button id="mode-merged" type="button" aria-pressed="false">merged tree up to this layer</button></span>`)}
<section id="waste-section">
<h2>Wasted space</h2>
<p class="hint">Files written by more than one layer, or deleted by a later one: each copy but the smallest is wasted. Total: <b id="waste-total" data-bytes="${report.wastedBytes}">${escapeHtml(bytesText(report.wastedBytes))}</b> (${countText(report.wastedBytes)} bytes) over ${countText(report.inefficiencies.length)} path${report.inefficiencies.length === 1 ? '' : 's'}; efficiency ${escapeHtml(percentText(report.efficiency))}.</p>
<div class="scroll"><table id="waste"><thead><tr><th>path</th><th class="num">layers</th><th class="num">bytes</th></tr></thead><tbody></tbody></table></div>
</section>`;
  return renderPage({ title: `layers of ${report.title}`, header, body, data });
}
