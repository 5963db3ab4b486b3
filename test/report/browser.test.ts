import * as fs from 'fs';
import * as path from 'path';
import type { Page } from 'playwright-core';
import { describeIf } from '../fixtures/peers';
import { buildUmociFixture, MANY_FILES, UMOCI_PATHS, type UmociFixture } from '../fixtures/umoci';
import { makeTempDir, removeTempDir } from '../fixtures/tmp';
import { layerfs } from '../cli/run-cli';
import { renderDiffReport, renderLayersReport } from '../../lib/report';
import type { ReportLayerEntry } from '../../lib/report';
import { ARTIFACTS, launch, openReport, type Browser, type OpenedPage } from './browser';

/**
 * The reports as a person sees them: headless Debian chromium opens the pages that `layerfs
 * layers --html` and `layerfs diff --html` write for the umoci fixture image (whiteouts, an
 * opaque directory, hardlinks, 3,000 files), offline, and is driven with the mouse and keys.
 */

const row = (page: Page, p: string) => page.locator(`#tree .row[data-path="${p}"]`);

/** Focuses a tree row (by clicking its name) and presses keys there. */
async function keysOn(page: Page, p: string, ...keys: string[]): Promise<void> {
  await row(page, p).locator('.name').click();
  for (const k of keys) await page.keyboard.press(k);
}

async function selectLayer(page: Page, i: number, merged = false): Promise<void> {
  await page.click(`#layers tbody tr[data-layer="${i}"]`);
  await page.click(merged ? '#mode-merged' : '#mode-layer');
  await page.waitForFunction((t) => document.getElementById('tree-title')!.textContent === t, (merged ? 'Merged tree up to layer ' : 'Changes of layer ') + i);
}

describeIf(['umoci', 'chromium'])('the HTML reports in a real browser', () => {
  let fixture: UmociFixture;
  let work: string;
  let store: string;
  let browser: Browser;
  let layersJson: any;
  let layersPage: OpenedPage;
  const layersFile = () => path.join(work, 'layers.html');

  beforeAll(async () => {
    fixture = await buildUmociFixture();
    work = makeTempDir('report-browser');
    store = path.join(work, 'store');
    // one run prints the figures and writes the page: both come from the same analysis
    const r = layerfs(['--store', store, '--json', 'layers', fixture.ref, '--html', layersFile()]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    layersJson = r.json();
    browser = await launch();
    layersPage = await openReport(browser, layersFile());
  });
  afterAll(async () => {
    await browser?.close();
    removeTempDir(work);
  });

  test('the page loads offline, asks for nothing but its own file, and its script runs without an error', async () => {
    const { page, requests, errors } = layersPage;
    expect(requests).toEqual([page.url()]);
    expect(errors).toEqual([]);
    expect(await page.locator('#layers tbody tr').count()).toBe(fixture.diffIds.length);
    // a page of a few KB per thousand files
    expect(fs.statSync(layersFile()).size).toBeLessThan(1 << 20);
  });

  test('the layers, the wasted bytes and the efficiency are those of `layers --json`', async () => {
    const { page } = layersPage;
    expect(Number(await page.getAttribute('#wasted', 'data-bytes'))).toBe(layersJson.wastedBytes);
    expect(await page.textContent('#wasted')).toContain(`${layersJson.wastedBytes.toLocaleString('en-US')} bytes`);
    expect(await page.textContent('#waste-total')).toBe(`${(layersJson.wastedBytes / 1024).toFixed(1)} KiB`);
    expect(Number(await page.getAttribute('#efficiency', 'data-value'))).toBe(layersJson.efficiency);
    expect(await page.textContent('#efficiency b')).toBe(`${(layersJson.efficiency * 100).toFixed(2)} %`);
    const cells = await page.$$eval('#layers tbody tr', (trs) => trs.map((tr) => Array.from(tr.children).map((td) => td.textContent)));
    expect(cells.map((c) => [c[4], c[5], c[6], c[7]])).toEqual(
      layersJson.layers.map((l: any) => [`+${l.added.toLocaleString('en-US')}`, `~${l.changed}`, `\u2212${l.deleted}`, l.diffId.slice(7, 19)]),
    );
    // the wasted-space table: the paths of --json (its first 50), in the same order, with the same bytes
    const waste = await page.$$eval('#waste tbody tr', (trs) => trs.map((tr) => [tr.children[0].textContent, tr.children[2].getAttribute('title')]));
    expect(waste.slice(0, layersJson.inefficiencies.length)).toEqual(layersJson.inefficiencies.map((x: any) => [x.path, `${x.cumulativeSize.toLocaleString('en-US')} bytes`]));
    // the commands come from the image's history
    expect(cells[0][8]).toBe('umoci repack');
  });

  test('expanding a directory shows its children, with the keyboard; Left closes it again', async () => {
    const { page } = layersPage;
    await selectLayer(page, 0);
    expect(await row(page, '/many/g0').count()).toBe(0);
    await keysOn(page, UMOCI_PATHS.many, 'ArrowRight');
    expect(await row(page, '/many/g0').count()).toBe(1);
    expect(await page.locator('#tree .row[data-path^="/many/g"]').count()).toBe(30);
    // aggregate sizes: /many holds the 3,000 files 'file <i>\n'
    const manyBytes = Array.from({ length: MANY_FILES }, (_, i) => `file ${i}\n`.length).reduce((a, b) => a + b, 0);
    expect(await row(page, UMOCI_PATHS.many).locator('.size').textContent()).toBe(`${(manyBytes / 1024).toFixed(1)} KiB`);
    // Down moves into the children, Right opens /many/g0 (100 files), Left on a child goes back up
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('Enter');
    expect(await page.locator('#tree .row[data-path^="/many/g0/"]').count()).toBe(100);
    await page.keyboard.press('ArrowDown');
    expect(await page.evaluate(() => document.activeElement?.getAttribute('data-path'))).toBe('/many/g0/f0');
    await page.keyboard.press('ArrowLeft');
    expect(await page.evaluate(() => document.activeElement?.getAttribute('data-path'))).toBe('/many/g0');
    await page.keyboard.press('ArrowLeft');
    expect(await page.locator('#tree .row[data-path^="/many/g0/"]').count()).toBe(0);
    expect(await page.textContent('#details')).toContain('/many/g0');
  });

  test('a deleted file is marked as deleted, by colour and by its letter; the merged tree drops it a layer later', async () => {
    const { page } = layersPage;
    await selectLayer(page, 1);
    await keysOn(page, '/etc', 'ArrowRight');
    const gone = row(page, UMOCI_PATHS.deletedLater);
    expect(await gone.getAttribute('data-kind')).toBe('D');
    expect(await gone.locator('.mark').textContent()).toBe('D');
    expect(await gone.locator('.size').textContent()).toBe('was 4 B');
    const colour = (p: string) => row(page, p).evaluate((e) => getComputedStyle(e.querySelector('.name')!).color);
    const changed = row(page, UMOCI_PATHS.motd);
    expect(await changed.getAttribute('data-kind')).toBe('C');
    expect(await colour(UMOCI_PATHS.deletedLater)).not.toBe(await colour('/etc'));
    expect(await colour(UMOCI_PATHS.deletedLater)).not.toBe(await colour(UMOCI_PATHS.motd));
    expect(await gone.evaluate((e) => getComputedStyle(e.querySelector('.name')!).textDecorationLine)).toBe('line-through');
    expect(await row(page, UMOCI_PATHS.doomedDir).getAttribute('data-kind')).toBe('D');

    // merged up to layer 1: the deleted file is shown, marked; up to layer 2 it is gone, motd is unmodified there
    await selectLayer(page, 1, true);
    await keysOn(page, '/etc', 'ArrowRight');
    expect(await row(page, UMOCI_PATHS.deletedLater).getAttribute('data-kind')).toBe('D');
    expect(await row(page, UMOCI_PATHS.motd).getAttribute('data-kind')).toBe('C');
    await selectLayer(page, 2, true);
    await keysOn(page, '/etc', 'ArrowRight');
    expect(await row(page, UMOCI_PATHS.deletedLater).count()).toBe(0);
    expect(await row(page, UMOCI_PATHS.motd).getAttribute('data-kind')).toBe('U');
    expect(await row(page, UMOCI_PATHS.motd).locator('.from').textContent()).toBe('layer 1');
  });

  test("the opaque directory: its layer hides the lower contents, the merged tree keeps only the layer's own", async () => {
    const { page } = layersPage;
    await selectLayer(page, 2);
    expect(await row(page, UMOCI_PATHS.opaqueDir).locator('.flag').textContent()).toBe('opaque');
    await keysOn(page, UMOCI_PATHS.opaqueDir, 'ArrowRight');
    expect(await row(page, '/opaque-dir/old').getAttribute('data-kind')).toBe('D');
    expect(await row(page, '/opaque-dir/new').getAttribute('data-kind')).toBe('A');
    await selectLayer(page, 3, true);
    await keysOn(page, UMOCI_PATHS.opaqueDir, 'ArrowRight');
    expect(await page.locator('#tree .row[data-path^="/opaque-dir/"]').evaluateAll((rs) => rs.map((r) => r.getAttribute('data-path')))).toEqual(['/opaque-dir/new']);
    // the last layer deletes /l5/short-lived, which layer 4 made: the whole tree up to the top has no trace of it
    await selectLayer(page, 5, true);
    await keysOn(page, '/l5', 'ArrowRight');
    expect(await row(page, UMOCI_PATHS.shortLived).getAttribute('data-kind')).toBe('D');
    expect(await row(page, '/l5/a').getAttribute('data-kind')).toBe('U');
  });

  test('the filters: with unmodified entries hidden, the tree shows the changes and the directories down to them', async () => {
    const { page } = layersPage;
    await selectLayer(page, 4, true);
    const all = await page.locator('#tree .row').count();
    await page.uncheck('#filters input[data-kind="U"]');
    const top = await page.locator('#tree .row').evaluateAll((rs) => rs.map((r) => [r.getAttribute('data-path'), r.getAttribute('data-kind'), !!r.querySelector('.inside')]));
    expect(top.length).toBeLessThan(all);
    for (const [, kind, inside] of top) expect(kind !== 'U' || inside).toBe(true);
    expect(top.map((r) => r[0])).toEqual(expect.arrayContaining([UMOCI_PATHS.app, UMOCI_PATHS.fileThenDir, UMOCI_PATHS.lnkDir]));
    expect(top.map((r) => r[0])).not.toContain(UMOCI_PATHS.lnkRel);
    await page.uncheck('#filters input[data-kind="A"]');
    await page.uncheck('#filters input[data-kind="C"]');
    await keysOn(page, UMOCI_PATHS.many, 'ArrowRight');
    expect(await page.locator('#tree .row').evaluateAll((rs) => rs.map((r) => r.getAttribute('data-path')))).toEqual([UMOCI_PATHS.many, UMOCI_PATHS.manyDeleted]);
    for (const k of ['A', 'C', 'U']) await page.check(`#filters input[data-kind="${k}"]`);
  });

  test('the keyboard drives the layers too: Up/Down pick a layer, Enter goes to its tree, m toggles the merged tree, [ and ] step through the layers', async () => {
    const { page } = layersPage;
    await selectLayer(page, 0);
    const title = () => page.textContent('#tree-title');
    await page.focus('#layers tbody tr[data-layer="0"]');
    await page.keyboard.press('ArrowDown');
    expect(await title()).toBe('Changes of layer 1');
    expect(await page.evaluate(() => document.activeElement?.getAttribute('data-layer'))).toBe('1');
    expect(await page.textContent('#layer-details')).toContain(layersJson.layers[1].diffId);
    await page.keyboard.press('Enter');
    const first = await page.evaluate(() => document.activeElement?.getAttribute('data-path'));
    expect(first).toBe(await page.locator('#tree .row').first().getAttribute('data-path'));
    await page.keyboard.press('m');
    expect(await title()).toBe('Merged tree up to layer 1');
    expect(await page.getAttribute('#mode-merged', 'aria-pressed')).toBe('true');
    await page.keyboard.press(']');
    expect(await title()).toBe('Merged tree up to layer 2');
    await page.keyboard.press('[');
    await page.keyboard.press('[');
    expect(await title()).toBe('Merged tree up to layer 0');
    await page.keyboard.press('m');
    expect(await title()).toBe('Changes of layer 0');
  });

  test('a big tree stays usable: a directory is drawn 500 rows at a time, and what the cap left out is said where it was', async () => {
    const list: ReportLayerEntry[] = [{ path: '/big', kind: 'A', type: 'dir', size: 0 }];
    for (let i = 0; i < 1200; i++) list.push({ path: `/big/f${String(i).padStart(4, '0')}`, kind: 'A', type: 'file', size: 10 });
    list.push({ path: '/deep', kind: 'A', type: 'dir', size: 0 }, { path: '/deep/sub', kind: 'A', type: 'dir', size: 0 });
    for (let i = 0; i < 10; i++) list.push({ path: `/deep/sub/x${i}`, kind: 'A', type: 'file', size: 5 });
    const html = renderLayersReport(
      { title: 'big', layers: [{ index: 0, diffId: 'sha256:' + '0'.repeat(64), added: list.length, changed: 0, deleted: 0, fileBytes: 12_050 }], efficiency: 1, wastedBytes: 0, sizeBytes: 12_050, userSizeBytes: 0, wastedUserPercent: 0, inefficiencies: [], entries: [list] },
      { maxEntriesPerLayer: 1203 },
    );
    const file = path.join(work, 'big.html');
    fs.writeFileSync(file, html);
    const { page, errors } = await openReport(browser, file);
    expect(errors).toEqual([]);
    expect(await page.textContent('.note.cap')).toContain('Layer 0: 1,203 of its 1,213 entries are in this report');
    await keysOn(page, '/big', 'ArrowRight');
    const files = page.locator('#tree .row[data-path^="/big/"]');
    expect(await files.count()).toBe(500);
    const next = page.locator('#tree .row.next-chunk');
    expect(await next.textContent()).toBe('\u2026 700 more entries here: Enter to show them');
    await next.click();
    expect(await files.count()).toBe(1000);
    expect(await page.evaluate(() => document.activeElement?.getAttribute('data-path'))).toBe('/big/f0500');
    await page.keyboard.press('End');
    // End goes to the last row of the tree (/deep); Up to the row of /big's last 200, and Enter draws them
    expect(await page.evaluate(() => document.activeElement?.getAttribute('data-path'))).toBe('/deep');
    await page.keyboard.press('ArrowUp');
    expect(await page.evaluate(() => document.activeElement?.className)).toContain('next-chunk');
    await page.keyboard.press('Enter');
    expect(await files.count()).toBe(1200);
    expect(await page.locator('#tree .row.next-chunk').count()).toBe(0);
    // the deepest entries were cut: their directory says how many and how big, and counts their bytes
    await keysOn(page, '/deep', 'ArrowRight', 'ArrowDown', 'ArrowRight');
    expect(await row(page, '/deep/sub').locator('.size').textContent()).toBe('50 B');
    expect(await page.textContent('#tree .row.left-out')).toBe('10 more entries (50 B) are left out of this report');
    expect(await page.locator('#tree .row[data-path^="/deep/sub/"]').count()).toBe(0);
    await page.close();
  });

  test('search finds a path: "/" goes to the box, the tree opens down to the matches, Enter goes to the first', async () => {
    const { page } = layersPage;
    await selectLayer(page, 0);
    await page.locator('#tree .row').first().click();
    await page.keyboard.press('/');
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('search');
    await page.keyboard.type('g7/f1027');
    await page.waitForSelector('#tree .row[data-path="/many/g7/f1027"]');
    expect(await page.textContent('#matches')).toBe('1 match');
    await page.keyboard.press('Enter');
    expect(await page.evaluate(() => document.activeElement?.getAttribute('data-path'))).toBe('/many/g7/f1027');
    expect(await page.textContent('#details')).toContain('/many/g7/f1027');
    // the rows shown are the match and the directories down to it
    expect(await page.locator('#tree .row').evaluateAll((rs) => rs.map((r) => r.getAttribute('data-path')))).toEqual(['/many', '/many/g7', '/many/g7/f1027']);
    // the same search in the merged tree of the top layer: /many/g7 was deleted (layer 4)
    await selectLayer(page, 5, true);
    expect(await page.textContent('#matches')).toBe('0 matches');
    await page.fill('#search', UMOCI_PATHS.utf8Name.slice(1, 6));
    await page.waitForSelector(`#tree .row[data-path="${UMOCI_PATHS.utf8Name}"]`);
    await page.keyboard.press('Escape');
    expect(await page.inputValue('#search')).toBe('');
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    await selectLayer(page, 1, true);
    await keysOn(page, '/etc', 'ArrowRight', 'ArrowDown');
    await page.screenshot({ path: path.join(ARTIFACTS, 'layers-report.png'), fullPage: true });
  });

  test('`diff A B --html`: the changed paths as a tree, sizes before and after, a content diff of a small text file', async () => {
    const file = path.join(work, 'diff.html');
    const r = layerfs(['--store', store, 'diff', `${fixture.layout}:l4`, `${fixture.layout}:l5`, '--html', file]);
    expect(r.code).toBe(0);
    const json = layerfs(['--store', store, '--json', 'diff', `${fixture.layout}:l4`, `${fixture.layout}:l5`]).json();
    const { page, requests, errors } = await openReport(browser, file);
    expect(requests).toEqual([page.url()]);
    expect(errors).toEqual([]);
    const kinds = (k: string) => json.changes.filter((c: any) => c.kind === k).length;
    expect([await page.getAttribute('#added', 'data-value'), await page.getAttribute('#changed', 'data-value'), await page.getAttribute('#deleted', 'data-value')]).toEqual([String(kinds('A')), String(kinds('C')), String(kinds('D'))]);
    await keysOn(page, UMOCI_PATHS.app, 'ArrowRight');
    const main = row(page, UMOCI_PATHS.appMain);
    expect(await main.getAttribute('data-kind')).toBe('C');
    expect(await main.locator('.size').textContent()).toBe('18 B \u2192 19 B');
    await main.locator('.name').click();
    expect(await page.textContent('#details .content-diff')).toBe('@@ -1,1 +1,1 @@\n-console.log("hi")\n+console.log("bye")\n');
    // /many/g7 and its 100 files are deleted
    await keysOn(page, UMOCI_PATHS.many, 'ArrowRight');
    expect(await row(page, UMOCI_PATHS.manyDeleted).getAttribute('data-kind')).toBe('D');
    // what the deleted directory held: its 100 files 'file <i>\n'
    const g7 = Array.from({ length: MANY_FILES }, (_, i) => i).filter((i) => i % 30 === 7).reduce((a, i) => a + `file ${i}\n`.length, 0);
    expect(await row(page, UMOCI_PATHS.manyDeleted).locator('.size').textContent()).toBe(`was ${g7} B`);
    // a directory sums the bytes of the changes below it, before and after
    expect(await row(page, UMOCI_PATHS.many).locator('.size').textContent()).toBe(`${g7} B \u2192 0 B`);
    expect(await row(page, UMOCI_PATHS.app).locator('.size').textContent()).toBe('37 B \u2192 38 B');
    await page.screenshot({ path: path.join(ARTIFACTS, 'diff-report.png'), fullPage: true });
    await page.close();
  });

  test('hostile and non-UTF-8 names stay text in the page: nothing injected, nothing run', async () => {
    const hostile = '</script><img src=x onerror="alert(1)"><script>alert(2)</script>';
    // a name holds no slash: the same attack, as far as a name can go
    const name = '<img src=x onerror="alert(1)"><svg onload=alert(2)>&amp;<!--';
    const html = renderDiffReport(
      [
        { kind: 'A', path: '/d', type: 'dir', size: 0 },
        { kind: 'A', path: '/d/' + name, type: 'file', size: 3 },
        { kind: 'A', path: '/' + hostile, type: 'file', size: 3 },
        { kind: 'A', path: Buffer.from([0x2f, 0x64, 0x2f, 0x62, 0x61, 0x64, 0x80, 0xff]), type: 'file', size: 1 },
        { kind: 'C', path: '/d/lone-\udcfe', type: 'symlink', size: 0, target: hostile },
      ],
      { before: hostile, after: '<b>after</b>' },
    );
    const file = path.join(work, 'hostile.html');
    fs.writeFileSync(file, html);
    const { page, errors } = await openReport(browser, file);
    expect(errors).toEqual([]);
    expect(await page.locator('img, svg, #tree script').count()).toBe(0);
    expect(await page.locator('b', { hasText: 'after' }).count()).toBe(0);
    expect(await page.title()).toBe(`diff: ${hostile} \u2192 <b>after</b>`);
    await keysOn(page, '/d', 'ArrowRight');
    const names = await page.locator('#tree .row[data-path^="/d/"] .name').evaluateAll((rs) => rs.map((r) => r.textContent));
    expect(names).toEqual([name, 'bad\\x80\\xff', 'lone-\\xfe']);
    await page.locator('#tree .row[data-path^="/d/"] .name').nth(2).click();
    expect(await page.textContent('#details')).toContain('\u2192 ' + hostile);
    // the path with slashes in it: the directories it makes, and its last part as a name
    await keysOn(page, '/<', 'ArrowRight');
    expect(await page.locator('#tree .row .name').evaluateAll((rs) => rs.map((r) => r.textContent))).toContain('script><img src=x onerror="alert(1)"><script>alert(2)</');
    await page.close();
  });
});
