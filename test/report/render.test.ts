import { createHash } from 'crypto';
import { renderLayersReport, renderDiffReport, lineDiff, pathText, shownText } from '../../lib/report';
import type { LayersReportData, ReportLayerEntry } from '../../lib/report';
import { PAGE_SCRIPT } from '../../lib/report/page-script';
import { pageData, rowsOf } from './page-data';

const HOSTILE = '</script><img src=x onerror="alert(1)"><!--';

function layersData(entries: ReportLayerEntry[][], title = 'img'): LayersReportData {
  return {
    title,
    chainId: 'sha256:' + 'c'.repeat(64),
    layers: entries.map((list, index) => ({
      index,
      diffId: 'sha256:' + String(index).repeat(64).slice(0, 64),
      added: list.filter((e) => e.kind === 'A').length,
      changed: list.filter((e) => e.kind === 'C').length,
      deleted: list.filter((e) => e.kind === 'D').length,
      fileBytes: list.filter((e) => e.kind !== 'D' && e.type === 'file').reduce((a, e) => a + e.size, 0),
      command: `RUN step ${index}`,
    })),
    efficiency: 0.75,
    wastedBytes: 1234,
    sizeBytes: 5000,
    userSizeBytes: 100,
    wastedUserPercent: 12.34,
    inefficiencies: [{ path: '/etc/motd', count: 2, cumulativeSize: 1234 }],
    entries,
  };
}

/** Everything of the page that is markup: the data element's text taken out. */
const markupOf = (html: string) => html.replace(/(<script type="application\/json" id="report-data">)[^]*?(<\/script>)/, '$1$2');

describe('the page script', () => {
  test('parses as JavaScript, and cannot end its element or open a comment', () => {
    expect(() => new Function(PAGE_SCRIPT)).not.toThrow();
    expect(PAGE_SCRIPT).not.toMatch(/<\/script|<!--/i);
  });

  test('is the only script the page lets run: the policy names its hash', () => {
    const html = renderLayersReport(layersData([[]]));
    const hash = createHash('sha256').update(PAGE_SCRIPT).digest('base64');
    expect(html).toContain(`script-src 'sha256-${hash}'`);
    expect(html).toContain("default-src 'none'");
    // nothing is loaded from anywhere
    expect(html).not.toMatch(/\b(src|href)=["']?(https?:)?\/\//i);
    // no URL of any scheme anywhere in the markup, the style or the script (only the data holds names)
    expect(markupOf(html)).not.toContain('://');
    expect(html).not.toMatch(/@import|url\(/i);
    expect(html).not.toMatch(/<link\b/i);
  });
});

describe('escaping', () => {
  test('a hostile file name and title stay text: no element, no end of the data element', () => {
    const html = renderLayersReport(layersData([[{ path: '/' + HOSTILE, kind: 'A', type: 'file', size: 3 }, { path: '/d/' + HOSTILE, kind: 'D', type: 'file', size: 1 }]], HOSTILE));
    const markup = markupOf(html);
    expect(markup).not.toContain('<img');
    expect(markup).not.toContain('onerror="');
    expect(html.match(/<\/script>/g)).toHaveLength(2); // the data element's and the script's own
    expect(html.match(/<script/g)).toHaveLength(2);
    expect(html).toContain('&#60;/script&#62;&#60;img src=x onerror=&#34;alert(1)&#34;&#62;&#60;!--');
    const data = pageData(html);
    expect(rowsOf(data, data.trees[0].rows, 4).map((r) => r.path)).toEqual(['/' + HOSTILE, '/d/' + HOSTILE]);
    expect(data.title).toBe(HOSTILE);
  });

  test('a diff report escapes the labels, names and symlink targets the same way', () => {
    const html = renderDiffReport([{ kind: 'A', path: '/x/' + HOSTILE, type: 'symlink', size: 0, target: HOSTILE }], { before: HOSTILE, after: 'b' });
    expect(markupOf(html)).not.toContain('<img');
    expect(html.match(/<script/g)).toHaveLength(2);
    const data = pageData(html);
    const [row] = rowsOf(data, data.tree.rows, 6);
    expect(row.path).toBe('/x/' + HOSTILE);
    expect(row.values[2]).toBe('\u2192 ' + HOSTILE);
  });

  test('names that are not UTF-8 survive: lone surrogates as \\udcXX escapes, bytes decoded to them', () => {
    const bytes = Buffer.from([0x2f, 0x66, 0x80, 0xff, 0xc3, 0xa9, 0xe2, 0x82]); // "/f", two bad bytes, "é", a cut sequence
    expect(pathText(bytes)).toBe('/f\udc80\udcff\u00e9\udce2\udc82');
    expect(pathText(Buffer.from([0xc0, 0xaf, 0xed, 0xa0, 0x80]))).toBe('\udcc0\udcaf\udced\udca0\udc80'); // overlong, surrogate
    expect(pathText(Buffer.from('😀 ok'))).toBe('😀 ok');
    const lone = '/bad-\udc80\udcfe-name';
    const html = renderLayersReport(layersData([[{ path: lone, kind: 'A', type: 'file', size: 1 }, { path: bytes, kind: 'A', type: 'file', size: 2 }]], 'title-\udc80'));
    // the page is well-formed UTF-16 (and so writes as UTF-8 without a replacement character)
    expect(html).not.toMatch(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/);
    expect(html).toContain('\\udc80\\udcfe');
    expect(html).toContain('<title>layers of title-\\x80</title>');
    const data = pageData(html);
    expect(rowsOf(data, data.trees[0].rows, 4).map((r) => r.path)).toEqual([lone, '/f\udc80\udcff\u00e9\udce2\udc82']);
    expect(Buffer.from(html, 'utf8').toString('utf8')).toBe(html);
    expect(shownText('a\udc80b\ud800c\n')).toBe('a\\x80b\\u{d800}c\\x0a');
  });
});

describe('figures and caps', () => {
  test('the layer rows, the wasted bytes and the efficiency are the data given', () => {
    const d = layersData([[{ path: '/a', kind: 'A', type: 'file', size: 10 }], [{ path: '/a', kind: 'C', type: 'file', size: 4 }]]);
    const html = renderLayersReport(d);
    expect(html).toMatch(/id="wasted" data-bytes="1234"/);
    expect(html).toMatch(/id="waste-total" data-bytes="1234">1\.2 KiB</);
    expect(html).toMatch(/id="efficiency" data-value="0\.75"><b>75\.00 %/);
    const data = pageData(html);
    expect(data.layers.map((l: any) => [l.added, l.changed, l.deleted, l.fileBytes, l.command, l.total, l.shown])).toEqual([
      [1, 0, 0, 10, 'RUN step 0', 1, 1],
      [0, 1, 0, 4, 'RUN step 1', 1, 1],
    ]);
    expect(data.waste).toEqual(['/etc/motd', 2, 1234]);
    expect(data.summary).toEqual({ efficiency: 0.75, wastedBytes: 1234, sizeBytes: 5000, userSizeBytes: 100, wastedUserPercent: 12.34 });
    expect(html).not.toContain('class="note cap"');
  });

  test('a layer over the cap keeps its shallowest entries and says how many, and how big, the rest are', () => {
    const list: ReportLayerEntry[] = [{ path: '/big', kind: 'A', type: 'dir', size: 0 }];
    for (let i = 0; i < 5; i++) list.push({ path: `/big/d${i}`, kind: 'A', type: 'dir', size: 0 });
    for (let i = 0; i < 100; i++) list.push({ path: `/big/d${i % 5}/f${i}`, kind: 'A', type: 'file', size: 7 });
    list.push({ path: '/top', kind: 'A', type: 'file', size: 1 });
    const html = renderLayersReport(layersData([list]), { maxEntriesPerLayer: 20 });
    expect(html).toContain('Layer 0: 20 of its 107 entries are in this report');
    const data = pageData(html);
    const rows = rowsOf(data, data.trees[0].rows, 4);
    expect(rows).toHaveLength(20);
    // the shallowest first: /big, /top and the five directories are all there
    for (const p of ['/big', '/top', '/big/d0', '/big/d4']) expect(rows.map((r) => r.path)).toContain(p);
    const more = data.trees[0].more as number[];
    let n = 0;
    let bytes = 0;
    for (let i = 0; i < more.length; i += 3) {
      expect(data.dirs[more[i]]).toMatch(/^\/big\/d[0-4]$/);
      n += more[i + 1];
      bytes += more[i + 2];
    }
    expect(n).toBe(87);
    expect(bytes).toBe(87 * 7);
    expect(data.layers[0]).toMatchObject({ total: 107, shown: 20 });
  });

  test('the wasted-space table is capped with a note; the total still counts every path', () => {
    const d = layersData([[]]);
    d.inefficiencies = Array.from({ length: 30 }, (_, i) => ({ path: `/f${i}`, count: 2, cumulativeSize: 30 - i }));
    const html = renderLayersReport(d, { maxInefficiencies: 10 });
    expect(pageData(html).waste).toHaveLength(30);
    expect(html).toContain('shows the 10 largest of 30 paths');
    expect(html).toContain('over 30 paths');
  });

  test('without entries the page says it has no trees', () => {
    const d = layersData([[]]);
    delete d.entries;
    const html = renderLayersReport(d);
    expect(pageData(html).trees).toBeNull();
    expect(html).toContain('No file lists were given');
  });

  test('25,000 files in 6 layers make a page of a few MB at most, and rendering is deterministic', () => {
    const base: ReportLayerEntry[] = [];
    for (let d = 0; d < 250; d++) {
      base.push({ path: `/usr/share/package-${d}`, kind: 'A', type: 'dir', size: 0 });
      for (let f = 0; f < 100; f++) base.push({ path: `/usr/share/package-${d}/some-file-name-${f}.txt`, kind: 'A', type: 'file', size: 1000 + f });
    }
    const upper = Array.from({ length: 5 }, (_, l) => base.slice(0, 2000).map((e) => ({ ...e, kind: e.type === 'dir' ? ('' as const) : ('C' as const), size: e.size + l })));
    const d = layersData([base, ...upper]);
    const html = renderLayersReport(d);
    expect(Buffer.byteLength(html)).toBeLessThan(3 << 20);
    expect(html).not.toContain('class="note cap"');
    expect(renderLayersReport(d)).toBe(html);
  });
});

describe('the diff report', () => {
  test('sizes before and after, counts, and a content diff of the small text files given', () => {
    const changes = [
      { kind: 'A' as const, path: '/new', type: 'file' as const, size: 5, mode: 0o644 },
      { kind: 'C' as const, path: '/etc/motd', type: 'file' as const, size: 8, what: ['content'] },
      { kind: 'D' as const, path: '/old', type: 'file' as const, size: 3 },
      { kind: 'D' as const, path: '/gone-dir', type: 'dir' as const, size: 0 },
    ];
    const html = renderDiffReport(changes, { before: 'a', after: 'b', sizesBefore: new Map([['/etc/motd', 6], ['/gone-dir', 40]]), texts: new Map([['/etc/motd', { before: 'hello\n', after: 'changed\n' }]]) });
    const data = pageData(html);
    const rows = rowsOf(data, data.tree.rows, 6);
    expect(rows.map((r) => [r.path, r.code, r.values[0], r.values[1]])).toEqual([
      ['/new', 'Af', -1, 5],
      ['/etc/motd', 'Cf', 6, 8],
      ['/old', 'Df', 3, -1],
      ['/gone-dir', 'Dd', 40, -1],
    ]);
    expect(data.summary).toEqual({ added: 1, changed: 1, deleted: 2, bytesBefore: 49, bytesAfter: 13 });
    expect(data.texts).toEqual({ '1': ['@@ -1,1 +1,1 @@', '-hello', '+changed'] });
    expect(html).toMatch(/id="deleted" data-value="2"/);
    expect(html).toContain('49 B \u2192 13 B');
    // a deleted directory whose contents are listed as deleted too is not counted twice
    const listed = pageData(renderDiffReport([{ kind: 'D', path: '/d', type: 'dir', size: 0 }, { kind: 'D', path: '/d/f', type: 'file', size: 5 }], { sizesBefore: new Map([['/d', 5]]) }));
    expect(listed.summary.bytesBefore).toBe(5);
  });

  test('over the cap: the shallowest changes, and a note', () => {
    const changes = Array.from({ length: 50 }, (_, i) => ({ kind: 'A' as const, path: `/d/f${i}`, type: 'file' as const, size: 1 }));
    const html = renderDiffReport([{ kind: 'A', path: '/d', type: 'dir', size: 0 }, ...changes], { maxEntries: 10 });
    expect(html).toContain('10 of 51 changes are in this report');
    const data = pageData(html);
    expect(rowsOf(data, data.tree.rows, 6)).toHaveLength(10);
    expect(data.tree.more).toEqual([data.dirs.indexOf('/d'), 41, 41]);
  });
});

describe('lineDiff', () => {
  test('hunks with three lines of context', () => {
    const a = Array.from({ length: 20 }, (_, i) => `line ${i}`).join('\n') + '\n';
    const b = a.replace('line 10\n', 'line ten\n').replace('line 1\n', '');
    expect(lineDiff(a, b, 100)).toEqual([
      '@@ -1,5 +1,4 @@',
      ' line 0',
      '-line 1',
      ' line 2',
      ' line 3',
      ' line 4',
      '@@ -8,7 +7,7 @@',
      ' line 7',
      ' line 8',
      ' line 9',
      '-line 10',
      '+line ten',
      ' line 11',
      ' line 12',
      ' line 13',
    ]);
    expect(lineDiff(a, a, 100)).toEqual([]);
    expect(lineDiff('', 'x\n', 100)).toEqual(['@@ -0,0 +1,1 @@', '+x']);
  });

  test('bounded: a long diff is cut with a count of what was left out', () => {
    const a = Array.from({ length: 500 }, (_, i) => `a${i}`).join('\n');
    const b = Array.from({ length: 500 }, (_, i) => `b${i}`).join('\n');
    const d = lineDiff(a, b, 50);
    expect(d).toHaveLength(50);
    expect(d[49]).toBe('… 952 more lines not shown');
  });
});
