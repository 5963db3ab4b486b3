/** The report page's style sheet: light and dark, and marks that never rely on colour alone. */
export const PAGE_STYLE = `
:root { --bg: #fff; --fg: #1d1f21; --muted: #5f6368; --line: #dadce0; --panel: #f6f8fa; --sel: #dbeafe;
  --add: #137333; --chg: #9a6700; --del: #c5221f; --bar: #1a73e8; --mono: "DejaVu Sans Mono", ui-monospace, Menlo, Consolas, monospace; }
@media (prefers-color-scheme: dark) { :root { --bg: #16181b; --fg: #e8eaed; --muted: #9aa0a6; --line: #3c4043; --panel: #202327;
  --sel: #1e3a5f; --add: #81c995; --chg: #fdd663; --del: #f28b82; --bar: #8ab4f8; } }
* { box-sizing: border-box; }
body { margin: 0; padding: 1rem 1.5rem 2rem; background: var(--bg); color: var(--fg);
  font: 14px/1.45 "DejaVu Sans", system-ui, -apple-system, "Segoe UI", sans-serif; }
h1 { font-size: 1.35rem; margin: 0 0 .2rem; word-break: break-all; }
h2 { font-size: 1.05rem; margin: 1.4rem 0 .5rem; }
h3 { font-size: .95rem; margin: .8rem 0 .3rem; }
.sub { color: var(--muted); margin: 0 0 .8rem; word-break: break-all; }
.cards { display: flex; flex-wrap: wrap; gap: .6rem; margin: .6rem 0; }
.card { background: var(--panel); border: 1px solid var(--line); border-radius: 6px; padding: .45rem .8rem; min-width: 9rem; }
.card b { display: block; font-size: 1.2rem; }
.card span { color: var(--muted); font-size: .85rem; }
.note { background: #fff4e5; color: #663c00; border: 1px solid #f5c26b; border-radius: 6px; padding: .4rem .7rem; margin: .5rem 0; }
@media (prefers-color-scheme: dark) { .note { background: #3a2a0a; color: #fdd663; border-color: #7a5a1a; } }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: .22rem .5rem; border-bottom: 1px solid var(--line); vertical-align: top; }
th { font-weight: 600; color: var(--muted); font-size: .85rem; }
td.num, th.num { text-align: right; white-space: nowrap; font-variant-numeric: tabular-nums; }
td.mono, .mono { font-family: var(--mono); font-size: .85rem; }
td.cmd { font-family: var(--mono); font-size: .8rem; max-width: 32rem; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
td.path { font-family: var(--mono); font-size: .85rem; word-break: break-all; }
td.path a { color: inherit; }
td.bar { width: 9rem; }
.scroll { max-height: 45vh; overflow: auto; border: 1px solid var(--line); border-radius: 6px; }
.scroll thead th { position: sticky; top: 0; background: var(--bg); }
.bar .fill { display: block; height: .7rem; margin-top: .25rem; background: var(--bar); border-radius: 2px; min-width: 2px; }
#layers tbody tr { cursor: pointer; }
#layers tbody tr.selected { background: var(--sel); }
#layers tbody tr:focus { outline: 2px solid var(--bar); outline-offset: -2px; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: .15rem .8rem; margin: .4rem 0; }
dt { color: var(--muted); }
dd { margin: 0; font-family: var(--mono); font-size: .85rem; word-break: break-all; }
.toolbar { display: flex; flex-wrap: wrap; align-items: center; gap: .5rem 1rem; margin: .3rem 0 .5rem; }
.toolbar button { font: inherit; padding: .2rem .7rem; border: 1px solid var(--line); background: var(--panel); color: var(--fg); border-radius: 4px; cursor: pointer; }
.toolbar button[aria-pressed=true] { background: var(--bar); color: var(--bg); border-color: var(--bar); }
#search { font: inherit; font-family: var(--mono); padding: .25rem .5rem; width: 22rem; max-width: 100%; border: 1px solid var(--line); border-radius: 4px; background: var(--bg); color: var(--fg); }
#matches { color: var(--muted); }
#filters label { margin-right: .6rem; white-space: nowrap; }
.split { display: grid; grid-template-columns: minmax(0, 3fr) minmax(16rem, 2fr); gap: 1rem; }
@media (max-width: 900px) { .split { grid-template-columns: 1fr; } }
#tree { border: 1px solid var(--line); border-radius: 6px; max-height: 70vh; min-height: 12rem; overflow: auto; font-family: var(--mono); font-size: .85rem; padding: .2rem 0; }
#details, #layer-details { background: var(--panel); border: 1px solid var(--line); border-radius: 6px; padding: .5rem .8rem; align-self: start; }
.row { display: flex; align-items: baseline; gap: .45rem; padding: .05rem .5rem; white-space: nowrap; cursor: default; }
.row:hover { background: var(--panel); }
.row.selected { background: var(--sel); }
.row:focus { outline: 2px solid var(--bar); outline-offset: -2px; }
.twisty { width: .8em; display: inline-block; color: var(--muted); cursor: pointer; }
.mark { display: inline-block; width: 1.3em; text-align: center; font-weight: 700; border-radius: 3px; }
.name { overflow: hidden; text-overflow: ellipsis; }
.size { margin-left: auto; padding-left: 1rem; color: var(--muted); font-variant-numeric: tabular-nums; }
.type, .from, .inside { color: var(--muted); font-size: .8em; }
.inside { font-style: italic; }
.flag { font-size: .75em; border: 1px solid currentColor; border-radius: 3px; padding: 0 .25em; color: var(--chg); }
.k-A, .k-A .mark { color: var(--add); }
.k-C, .k-C .mark { color: var(--chg); }
.k-D, .k-D .mark { color: var(--del); }
.row.k-D .name { text-decoration: line-through; }
.k-U .mark { color: var(--muted); }
.row.next-chunk, .row.left-out, .row.empty { color: var(--muted); font-style: italic; }
.row.next-chunk { cursor: pointer; text-decoration: underline; }
.legend .mark { border: 1px solid currentColor; }
pre.content-diff { font-family: var(--mono); font-size: .8rem; background: var(--bg); border: 1px solid var(--line); padding: .4rem; overflow: auto; max-height: 40vh; margin: 0; }
pre .add { color: var(--add); } pre .del { color: var(--del); } pre .hunk { color: var(--muted); }
.hint, footer { color: var(--muted); font-size: .85rem; }
kbd { font-family: var(--mono); font-size: .8rem; border: 1px solid var(--line); border-bottom-width: 2px; border-radius: 3px; padding: 0 .3em; background: var(--panel); }
`;
