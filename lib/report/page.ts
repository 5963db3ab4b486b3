import { createHash } from 'crypto';
import { embedJson, escapeHtml } from './html';
import { PAGE_SCRIPT } from './page-script';
import { PAGE_STYLE } from './page-style';

/** The page's policy: nothing is fetched, and the only script that runs is the page's own (by its hash). */
const SCRIPT_HASH = createHash('sha256').update(PAGE_SCRIPT).digest('base64');
const CSP = `default-src 'none'; script-src 'sha256-${SCRIPT_HASH}'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'`;

export interface PageParts {
  /** plain text: escaped here */
  title: string;
  /** markup made by the caller from escaped pieces */
  header: string;
  body: string;
  data: unknown;
}

const MARKS_LEGEND = `<span class="legend" id="filters" role="group" aria-label="show entries that are">
<label class="k-A"><input type="checkbox" data-kind="A" checked> <span class="mark">A</span> added</label>
<label class="k-C"><input type="checkbox" data-kind="C" checked> <span class="mark">C</span> changed</label>
<label class="k-D"><input type="checkbox" data-kind="D" checked> <span class="mark">D</span> deleted</label>
<label class="k-U"><input type="checkbox" data-kind="U" checked> <span class="mark">\u00b7</span> unmodified</label>
</span>`;

/** The tree section: its toolbar (with `modes`, the layer page's view buttons), the tree and the details pane. */
export function treeSection(modes: string): string {
  return `<section id="tree-section">
<h2 id="tree-title">Tree</h2>
<div class="toolbar">${modes}
<input id="search" type="search" placeholder="search by path ( / )" aria-label="search by path" autocomplete="off" spellcheck="false">
<span id="matches" aria-live="polite"></span>
${MARKS_LEGEND}
</div>
<div class="split">
<div id="tree" role="tree" aria-labelledby="tree-title"></div>
<aside id="details" aria-live="polite"></aside>
</div>
<footer><p>Keys: <kbd>\u2191</kbd> <kbd>\u2193</kbd> move, <kbd>Enter</kbd> or <kbd>\u2192</kbd> open, <kbd>\u2190</kbd> close, <kbd>/</kbd> search, <kbd>Esc</kbd> clear the search${modes ? ', <kbd>[</kbd> <kbd>]</kbd> previous and next layer, <kbd>m</kbd> this layer / merged tree' : ''}. Sizes are the bytes of regular files (a directory: of everything below it).</p></footer>
</section>`;
}

/** One whole HTML document: the style, the data as JSON and the script inline; nothing else is loaded. */
export function renderPage(p: PageParts): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${CSP}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="layerfs">
<title>${escapeHtml(p.title)}</title>
<style>${PAGE_STYLE}</style>
</head>
<body>
${p.header}
<noscript><p class="note">The trees and tables of this report are drawn by its script: open it with JavaScript enabled.</p></noscript>
${p.body}
<script type="application/json" id="report-data">${embedJson(p.data)}</script>
<script>${PAGE_SCRIPT}</script>
</body>
</html>
`;
}
