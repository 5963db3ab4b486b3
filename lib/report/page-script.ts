/**
 * The report page's own script, inlined into every page: it reads the JSON data element and
 * draws the layer table, the trees (lazily: a directory's rows are made when it is opened) and
 * the tables. Plain ES2017 in a raw string, with no template literal inside and no "</script"
 * (test/report checks both). Every name from the data reaches the page through textContent or
 * setAttribute, never through markup.
 */
export const PAGE_SCRIPT = String.raw`
(function () {
  'use strict';
  var D = JSON.parse(document.getElementById('report-data').textContent);
  var CHUNK = 500;          // rows of one directory drawn at a time
  var AUTO_OPEN = 3000;     // rows a search opens at most
  var KINDS = { A: 'added', C: 'changed', D: 'deleted', '': 'unmodified' };
  var MARKS = { A: 'A', C: 'C', D: 'D', '': '\u00b7' };
  var TYPES = { f: 'file', d: 'directory', l: 'symlink', c: 'character device', b: 'block device', p: 'fifo', s: 'socket' };

  function $(id) { return document.getElementById(id); }
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  var UNSHOWABLE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]|[\u0000-\u001f\u007f]/g;
  function shown(s) {
    return s.replace(UNSHOWABLE, function (c) {
      var u = c.charCodeAt(0);
      if (u >= 0xdc80 && u <= 0xdcff) return '\\x' + ('0' + (u - 0xdc00).toString(16)).slice(-2);
      if (u >= 0xd800) return '\\u{' + u.toString(16) + '}';
      return '\\x' + ('0' + u.toString(16)).slice(-2);
    });
  }
  function bytes(n) {
    var units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
    var i = 0, v = n;
    while (v >= 1024 && i < units.length - 1) { v /= 1024; i++; }
    return i === 0 ? n + ' B' : v.toFixed(1) + ' ' + units[i];
  }
  function count(n) { return n.toLocaleString('en-US'); }
  function pct(x) { return (x * 100).toFixed(2) + ' %'; }
  function join(dir, name) { return dir === '/' ? '/' + name : dir + '/' + name; }

  // ---- trees -------------------------------------------------------------------------------
  // node: { name, path, t (type letter), kind, size, before, after, kids (object or null),
  //         sorted (cached child list), agg, more, moreBytes, opaque, layer, row (index of its data row) }
  function node(name, path, t, kind) {
    return { name: name, path: path, t: t, kind: kind, size: 0, kids: t === 'd' ? {} : null, sorted: null, agg: 0, more: 0, moreBytes: 0, opaque: false, layer: -1, row: -1, hit: true, selfHit: true };
  }
  function dirNode(root, path) {
    if (path === '/') return root;
    var parts = path.split('/'), n = root, p = '';
    for (var i = 1; i < parts.length; i++) {
      p = p + '/' + parts[i];
      var k = n.kids[parts[i]];
      if (!k || !k.kids) { k = node(parts[i], p, 'd', ''); n.kids[parts[i]] = k; n.sorted = null; }
      n = k;
    }
    return n;
  }
  function eachRow(rows, width, f) {
    for (var i = 0, r = 0; i < rows.length; i += width, r++) f(D.dirs[rows[i]], rows[i + 1], rows[i + 2], rows, i, r);
  }
  function addMore(root, more) {
    for (var i = 0; i < more.length; i += 3) {
      var d = dirNode(root, D.dirs[more[i]]);
      d.more += more[i + 1];
      d.moreBytes += more[i + 2];
    }
  }
  /** a node for a data row, put in place of whatever had its name (a directory keeps its children) */
  function place(parent, name, path, code, keepKids) {
    var t = code.charAt(1), old = parent.kids[name];
    var n = node(name, path, t, code.charAt(0) === '.' ? '' : code.charAt(0));
    if (keepKids && old && old.kids && n.kids) n.kids = old.kids;
    n.opaque = code.indexOf('o', 2) >= 0;
    parent.kids[name] = n;
    parent.sorted = null;
    return n;
  }
  /** sizes of directories (their files' bytes) and how many changes each holds */
  function finish(n) {
    n.inside = 0;
    // a diff's entries also sum what they held before: a path that was a file, a deleted
    // directory's bytes (unless its deleted contents are listed below it)
    n.aggBefore = n.before > 0 ? n.before : 0;
    if (!n.kids) { n.agg = n.kind === 'D' ? 0 : n.size; return n.agg; }
    var s = n.moreBytes, b = 0, listed = false;
    for (var k in n.kids) {
      var c = n.kids[k];
      s += finish(c);
      b += c.aggBefore;
      listed = true;
      n.inside += c.inside + (c.kind ? 1 : 0);
    }
    n.aggBefore = n.kind === 'D' && listed ? b : b + n.aggBefore;
    n.agg = s;
    return s;
  }
  function children(n) {
    if (!n.sorted) {
      var a = [];
      for (var k in n.kids) a.push(n.kids[k]);
      a.sort(function (x, y) { return x.name < y.name ? -1 : x.name > y.name ? 1 : 0; });
      n.sorted = a;
    }
    return n.sorted;
  }

  /** layer li alone: its own entries */
  function layerTree(li) {
    var root = node('/', '/', 'd', '');
    var tr = D.trees[li];
    eachRow(tr.rows, 4, function (dir, name, code, rows, i, r) {
      var n = place(dirNode(root, dir), name, join(dir, name), code, true);
      n.size = rows[i + 3];
      n.layer = li;
      n.row = r;
    });
    addMore(root, tr.more);
    finish(root);
    return root;
  }
  /** the union of layers 0..li, the changes of li marked, what li deleted kept as marked ghosts */
  function mergedTree(li) {
    var root = node('/', '/', 'd', '');
    for (var l = 0; l <= li; l++) {
      var tr = D.trees[l];
      // deletions first: they hide what the layers below hold
      eachRow(tr.rows, 4, function (dir, name, code, rows, i, r) {
        if (code.charAt(0) !== 'D') return;
        var parent = dirNode(root, dir);
        if (l === li) {
          var g = place(parent, name, join(dir, name), code, false);
          g.kids = null;
          g.size = rows[i + 3];
          g.layer = l;
          g.row = r;
        } else { delete parent.kids[name]; parent.sorted = null; }
      });
      eachRow(tr.rows, 4, function (dir, name, code, rows, i, r) {
        var k = code.charAt(0);
        if (k === 'D') return;
        var parent = dirNode(root, dir), old = parent.kids[name];
        if (k === '' || k === '.') {
          if (old && old.kids) { if (l === li) old.row = r; return; }
        }
        // (an opaque directory's hidden children come as 'D' rows of its layer, handled above)
        var n = place(parent, name, join(dir, name), code, true);
        n.size = rows[i + 3];
        n.layer = k === '.' && old ? old.layer : l;
        n.row = r;
        if (l !== li) n.kind = '';
      });
      addMore(root, tr.more);
    }
    finish(root);
    return root;
  }
  function diffTree() {
    var root = node('/', '/', 'd', '');
    eachRow(D.tree.rows, 6, function (dir, name, code, rows, i, r) {
      var path = join(dir, name);
      var n = path === '/' ? root : place(dirNode(root, dir), name, path, code, true);
      if (path === '/') { n.kind = code.charAt(0); }
      n.before = rows[i + 3];
      n.after = rows[i + 4];
      n.size = n.kind === 'D' ? 0 : Math.max(0, n.after);
      n.info = rows[i + 5] || '';
      n.row = r;
    });
    addMore(root, D.tree.more);
    finish(root);
    return root;
  }

  // ---- state ---------------------------------------------------------------------------------
  var state = { layer: D.kind === 'layers' ? D.layers.length - 1 : 0, merged: false, query: '', show: { A: true, C: true, D: true, '': true } };
  var cache = {};
  function currentTree() {
    var key = D.kind === 'diff' ? 'diff' : (state.merged ? 'm' : 'l') + state.layer;
    if (!cache[key]) cache[key] = D.kind === 'diff' ? diffTree() : state.merged ? mergedTree(state.layer) : layerTree(state.layer);
    return cache[key];
  }

  /** marks each node hit (it or something under it matches the filters) and selfHit */
  function filter(root) {
    var q = state.query.toLowerCase(), matches = 0;
    function walk(n) {
      var self = state.show[n.kind] && (!q || shown(n.path).toLowerCase().indexOf(q) >= 0);
      var any = false;
      if (n.kids) for (var k in n.kids) if (walk(n.kids[k])) any = true;
      n.selfHit = self;
      n.hit = self || any;
      if (self && q && n !== root) matches++;
      return n.hit;
    }
    walk(root);
    root.hit = true;
    return matches;
  }

  // ---- the tree view -------------------------------------------------------------------------
  var treeEl = $('tree');
  var rowNode = new WeakMap();
  function sizeText(n) {
    if (D.kind === 'diff') {
      if (n.kind === 'D') return n.before >= 0 ? 'was ' + bytes(n.before) : '';
      if (n.t === 'd' && n.kids) return n.aggBefore !== n.agg ? bytes(n.aggBefore) + ' \u2192 ' + bytes(n.agg) : bytes(n.agg);
      var b = n.before >= 0 ? bytes(n.before) : '';
      var a = n.after >= 0 ? bytes(n.after) : '';
      if (n.kind === 'A') return a;
      if (n.kind === 'D') return 'was ' + b;
      return b && a && b !== a ? b + ' \u2192 ' + a : a || b;
    }
    if (n.kind === 'D') return n.size ? 'was ' + bytes(n.size) : '';
    return n.kids ? bytes(n.agg) : n.t === 'f' ? bytes(n.size) : '';
  }
  function makeRow(n, depth) {
    var r = el('div', 'row k-' + (n.kind || 'U'));
    r.setAttribute('role', 'treeitem');
    r.setAttribute('aria-level', String(depth + 1));
    r.setAttribute('data-path', n.path);
    r.setAttribute('data-kind', n.kind || 'U');
    r.tabIndex = -1;
    r.style.paddingLeft = (0.4 + depth * 1.1) + 'em';
    var open = n.kids && children(n).length + (n.more ? 1 : 0) > 0;
    if (open) r.setAttribute('aria-expanded', 'false');
    r.appendChild(el('span', 'twisty', open ? '\u25b8' : ''));
    var mark = el('span', 'mark', MARKS[n.kind]);
    mark.title = KINDS[n.kind];
    r.appendChild(mark);
    r.appendChild(el('span', 'name', shown(n.name) + (n.t === 'd' ? '/' : '')));
    if (n.t !== 'f' && n.t !== 'd') r.appendChild(el('span', 'type', TYPES[n.t]));
    if (n.opaque) { var o = el('span', 'flag', 'opaque'); o.title = 'hides what the layers below have in this directory'; r.appendChild(o); }
    if (D.kind === 'layers' && state.merged && n.layer >= 0 && n.kind === '') r.appendChild(el('span', 'from', 'layer ' + n.layer));
    if (n.inside && (D.kind === 'diff' || state.merged || n.kind === '')) r.appendChild(el('span', 'inside', count(n.inside) + (n.inside === 1 ? ' change' : ' changes') + ' inside'));
    r.appendChild(el('span', 'size', sizeText(n)));
    r.setAttribute('aria-label', KINDS[n.kind] + ' ' + TYPES[n.t] + ' ' + shown(n.path));
    rowNode.set(r, { n: n, depth: depth });
    return r;
  }
  function moreRow(text, depth, cls) {
    var r = el('div', 'row ' + cls, text);
    r.setAttribute('role', 'treeitem');
    r.setAttribute('aria-level', String(depth + 1));
    r.tabIndex = -1;
    r.style.paddingLeft = (0.4 + depth * 1.1 + 2.2) + 'em';
    return r;
  }
  /** the rows of the children of n (from index "from"), inserted after the row "after"; returns the last row */
  function drawChildren(n, depth, after, from, budget) {
    var list = children(n).filter(function (c) { return c.hit; });
    var end = Math.min(list.length, from + CHUNK), last = after, frag = document.createDocumentFragment(), opened = [];
    for (var i = from; i < end; i++) {
      var r = makeRow(list[i], depth);
      frag.appendChild(r);
      if (budget && budget.n > 0 && state.query && list[i].kids && hasHitKids(list[i])) opened.push(r);
      if (budget) budget.n--;
    }
    if (end < list.length) {
      var m = moreRow('\u2026 ' + count(list.length - end) + ' more entries here: Enter to show them', depth, 'next-chunk');
      rowNode.set(m, { next: { n: n, depth: depth, from: end } });
      frag.appendChild(m);
    }
    if (end === list.length && n.more && !state.query) {
      var lo = moreRow(count(n.more) + ' more entries (' + bytes(n.moreBytes) + ') are left out of this report', depth, 'left-out');
      frag.appendChild(lo);
    }
    var ref = after ? after.nextSibling : treeEl.firstChild;
    var lastRow = frag.lastChild;
    treeEl.insertBefore(frag, ref);
    for (var j = 0; j < opened.length; j++) expand(opened[j], budget);
    return lastRow || last;
  }
  function hasHitKids(n) { for (var k in n.kids) if (n.kids[k].hit) return true; return false; }
  function expand(r, budget) {
    var info = rowNode.get(r);
    if (!info || !info.n || r.getAttribute('aria-expanded') !== 'false') return;
    r.setAttribute('aria-expanded', 'true');
    r.firstChild.textContent = '\u25be';
    drawChildren(info.n, info.depth + 1, r, 0, budget);
  }
  function collapse(r) {
    var info = rowNode.get(r);
    if (!info || r.getAttribute('aria-expanded') !== 'true') return;
    r.setAttribute('aria-expanded', 'false');
    r.firstChild.textContent = '\u25b8';
    var level = Number(r.getAttribute('aria-level'));
    while (r.nextSibling && Number(r.nextSibling.getAttribute('aria-level')) > level) treeEl.removeChild(r.nextSibling);
  }
  function showNextChunk(r) {
    var info = rowNode.get(r).next;
    var prev = r.previousSibling;
    treeEl.removeChild(r);
    drawChildren(info.n, info.depth, prev, info.from, null);
    var next = prev ? prev.nextSibling : treeEl.firstChild;
    if (next) focusRow(next);
  }
  var current = null;
  function focusRow(r, noScroll) {
    if (!r) return;
    if (current) current.tabIndex = -1;
    current = r;
    r.tabIndex = 0;
    r.focus({ preventScroll: !!noScroll });
    var sel = treeEl.querySelector('.selected');
    if (sel) sel.classList.remove('selected');
    r.classList.add('selected');
    details(rowNode.get(r));
  }
  function drawTree() {
    var root = currentTree();
    var matches = filter(root);
    treeEl.textContent = '';
    current = null;
    var budget = { n: AUTO_OPEN };
    drawChildren(root, 0, null, 0, budget);
    if (!treeEl.firstChild) treeEl.appendChild(moreRow('nothing here matches', 0, 'empty'));
    var first = treeEl.firstChild;
    first.tabIndex = 0;
    current = first;
    $('matches').textContent = state.query ? count(matches) + ' match' + (matches === 1 ? '' : 'es') : '';
    var title = D.kind === 'diff' ? 'Changed paths' : (state.merged ? 'Merged tree up to layer ' : 'Changes of layer ') + state.layer;
    $('tree-title').textContent = title;
    details(null);
  }
  treeEl.addEventListener('click', function (ev) {
    var r = ev.target.closest('.row');
    if (!r) return;
    var info = rowNode.get(r);
    if (info && info.next) return showNextChunk(r);
    focusRow(r, true);
    if (info && info.n && ev.target.classList.contains('twisty')) toggle(r);
    else if (info && info.n && info.n.kids && ev.detail === 2) toggle(r);
  });
  function toggle(r) {
    if (r.getAttribute('aria-expanded') === 'true') collapse(r);
    else expand(r, null);
  }
  function parentRow(r) {
    var level = Number(r.getAttribute('aria-level'));
    for (var p = r.previousSibling; p; p = p.previousSibling) if (Number(p.getAttribute('aria-level')) < level) return p;
    return null;
  }
  treeEl.addEventListener('keydown', function (ev) {
    var r = current;
    if (!r) return;
    var info = rowNode.get(r) || {};
    var k = ev.key;
    if (k === 'ArrowDown') focusRow(r.nextSibling);
    else if (k === 'ArrowUp') focusRow(r.previousSibling);
    else if (k === 'Home') focusRow(treeEl.firstChild);
    else if (k === 'End') focusRow(treeEl.lastChild);
    else if (k === 'PageDown') { var d = r; for (var i = 0; i < 20 && d.nextSibling; i++) d = d.nextSibling; focusRow(d); }
    else if (k === 'PageUp') { var u = r; for (var j = 0; j < 20 && u.previousSibling; j++) u = u.previousSibling; focusRow(u); }
    else if (k === 'ArrowRight' || k === 'Enter') {
      if (info.next) showNextChunk(r);
      else if (r.getAttribute('aria-expanded') === 'false') expand(r, null);
      else if (k === 'ArrowRight' && r.getAttribute('aria-expanded') === 'true') focusRow(r.nextSibling);
      else if (k === 'Enter' && r.getAttribute('aria-expanded') === 'true') collapse(r);
    } else if (k === 'ArrowLeft') {
      if (r.getAttribute('aria-expanded') === 'true') collapse(r);
      else focusRow(parentRow(r));
    } else return;
    ev.preventDefault();
  });

  // ---- the details pane ----------------------------------------------------------------------
  function details(info) {
    var box = $('details');
    box.textContent = '';
    if (!info || !info.n) { box.appendChild(el('p', 'hint', 'Select an entry to see its details.')); return; }
    var n = info.n;
    var dl = el('dl');
    function item(k, v) { dl.appendChild(el('dt', null, k)); dl.appendChild(el('dd', null, v)); }
    item('path', shown(n.path));
    item('change', MARKS[n.kind] + ' ' + KINDS[n.kind]);
    item('type', TYPES[n.t] + (n.opaque ? ' (opaque)' : ''));
    if (D.kind === 'diff') {
      if (n.before >= 0) item('size before', bytes(n.before) + ' (' + count(n.before) + ' bytes)');
      if (n.after >= 0) item('size after', bytes(n.after) + ' (' + count(n.after) + ' bytes)');
      if (n.kids && n.t === 'd' && n.kind !== 'D') item('its changes\u2019 bytes', bytes(n.aggBefore) + ' before, ' + bytes(n.agg) + ' after');
      if (n.info) item(n.t === 'l' ? 'details' : 'what changed', shown(n.info));
    } else {
      if (n.kids) item('size of its files', bytes(n.agg) + ' (' + count(n.agg) + ' bytes)');
      else if (n.kind === 'D') item('bytes deleted', count(n.size));
      else item('size', bytes(n.size) + ' (' + count(n.size) + ' bytes)');
      if (n.layer >= 0) item('from layer', String(n.layer));
    }
    if (n.more) item('left out of this report', count(n.more) + ' entries, ' + bytes(n.moreBytes));
    box.appendChild(dl);
    var lines = D.kind === 'diff' && n.row >= 0 && D.texts && D.texts[String(n.row)];
    if (lines) {
      var pre = el('pre', 'content-diff');
      for (var i = 0; i < lines.length; i++) {
        var c = lines[i].charAt(0);
        pre.appendChild(el('span', c === '+' ? 'add' : c === '-' ? 'del' : c === '@' ? 'hunk' : c === '\u2026' ? 'hunk' : 'ctx', shown(lines[i]) + '\n'));
      }
      box.appendChild(el('h3', null, 'Content diff'));
      box.appendChild(pre);
    }
  }

  // ---- search and filters --------------------------------------------------------------------
  var search = $('search'), timer = 0;
  search.addEventListener('input', function () {
    clearTimeout(timer);
    timer = setTimeout(function () { state.query = search.value.trim(); drawTree(); }, 120);
  });
  search.addEventListener('keydown', function (ev) {
    if (ev.key === 'Enter' || ev.key === 'ArrowDown') {
      clearTimeout(timer);
      if (state.query !== search.value.trim()) { state.query = search.value.trim(); drawTree(); }
      var rows = treeEl.querySelectorAll('.row');
      for (var i = 0; i < rows.length; i++) { var inf = rowNode.get(rows[i]); if (inf && inf.n && inf.n.selfHit) { focusRow(rows[i]); break; } }
      if (i === rows.length && rows.length) focusRow(rows[0]);
      ev.preventDefault();
    } else if (ev.key === 'Escape') {
      search.value = '';
      state.query = '';
      drawTree();
      focusRow(treeEl.firstChild);
    }
  });
  var boxes = document.querySelectorAll('#filters input[type=checkbox]');
  for (var b = 0; b < boxes.length; b++) boxes[b].addEventListener('change', function (ev) {
    state.show[ev.target.getAttribute('data-kind') === 'U' ? '' : ev.target.getAttribute('data-kind')] = ev.target.checked;
    drawTree();
  });
  document.addEventListener('keydown', function (ev) {
    var t = ev.target;
    var typing = t && (t.tagName === 'INPUT' || t.tagName === 'TEXTAREA');
    if (ev.key === '/' && !typing) { ev.preventDefault(); search.focus(); search.select(); }
    else if (!typing && D.kind === 'layers' && (ev.key === '[' || ev.key === ']')) selectLayer(state.layer + (ev.key === ']' ? 1 : -1));
    else if (!typing && D.kind === 'layers' && ev.key === 'm') setMerged(!state.merged);
  });

  // ---- the layers and the wasted space -------------------------------------------------------
  function setMerged(m) {
    state.merged = m;
    $('mode-layer').setAttribute('aria-pressed', String(!m));
    $('mode-merged').setAttribute('aria-pressed', String(m));
    drawTree();
  }
  function selectLayer(i) {
    if (i < 0 || i >= D.layers.length) return;
    state.layer = i;
    var rows = document.querySelectorAll('#layers tbody tr');
    for (var k = 0; k < rows.length; k++) {
      rows[k].classList.toggle('selected', k === i);
      rows[k].setAttribute('aria-selected', String(k === i));
      rows[k].tabIndex = k === i ? 0 : -1;
    }
    var L = D.layers[i];
    var box = $('layer-details');
    box.textContent = '';
    var dl = el('dl');
    function item(k, v) { dl.appendChild(el('dt', null, k)); dl.appendChild(el('dd', null, v)); }
    item('layer', String(i));
    item('DiffID', L.diffId);
    if (L.digest) item('blob', L.digest + (L.size !== undefined ? ' (' + bytes(L.size) + ')' : ''));
    if (L.command) item('command', shown(L.command));
    if (L.created) item('created', L.created);
    item('entries', count(L.total) + (L.shown < L.total ? ' (' + count(L.shown) + ' shown: the deepest are left out of this report)' : ''));
    box.appendChild(dl);
    if (D.trees) drawTree();
  }
  function drawLayers() {
    var tbody = $('layers').querySelector('tbody');
    var total = D.summary.sizeBytes || 1;
    D.layers.forEach(function (L, i) {
      var tr = el('tr');
      tr.setAttribute('data-layer', String(i));
      tr.setAttribute('role', 'option');
      tr.tabIndex = -1;
      tr.appendChild(el('td', 'num', i));
      var bar = el('td', 'bar');
      var fill = el('span', 'fill');
      fill.style.width = Math.max(0.5, (100 * L.fileBytes) / total).toFixed(2) + '%';
      bar.title = pct(L.fileBytes / total) + ' of the files\u2019 bytes';
      bar.appendChild(fill);
      tr.appendChild(bar);
      tr.appendChild(el('td', 'num', bytes(L.fileBytes)));
      tr.appendChild(el('td', 'num', L.uncompressedSize !== undefined ? bytes(L.uncompressedSize) : ''));
      tr.appendChild(el('td', 'num k-A', '+' + count(L.added)));
      tr.appendChild(el('td', 'num k-C', '~' + count(L.changed)));
      tr.appendChild(el('td', 'num k-D', '\u2212' + count(L.deleted)));
      var id = el('td', 'mono', L.diffId.replace(/^sha256:/, '').slice(0, 12));
      id.title = L.diffId;
      tr.appendChild(id);
      var cmd = el('td', 'cmd', L.command ? shown(L.command) : '');
      cmd.title = L.command ? shown(L.command) : '';
      tr.appendChild(cmd);
      tr.addEventListener('click', function () { selectLayer(i); });
      tbody.appendChild(tr);
    });
    $('layers').addEventListener('keydown', function (ev) {
      if (ev.key === 'ArrowDown' || ev.key === 'ArrowUp') {
        selectLayer(state.layer + (ev.key === 'ArrowDown' ? 1 : -1));
        var s = document.querySelector('#layers tbody tr.selected');
        if (s) s.focus();
        ev.preventDefault();
      } else if (ev.key === 'Enter' || ev.key === 'ArrowRight') {
        if (treeEl.firstChild) focusRow(treeEl.firstChild);
        ev.preventDefault();
      }
    });
  }
  function drawWaste() {
    var tbody = $('waste').querySelector('tbody');
    var w = D.waste;
    for (var i = 0; i < w.length; i += 3) {
      var tr = el('tr');
      var p = el('td', 'path');
      var a = el('a', null, shown(w[i]));
      a.href = '#';
      a.setAttribute('data-path', w[i]);
      a.addEventListener('click', function (ev) {
        ev.preventDefault();
        search.value = shown(ev.target.getAttribute('data-path'));
        state.query = search.value;
        drawTree();
        $('tree-section').scrollIntoView();
      });
      p.appendChild(a);
      tr.appendChild(p);
      tr.appendChild(el('td', 'num', count(w[i + 1])));
      tr.appendChild(el('td', 'num', bytes(w[i + 2])));
      tr.lastChild.title = count(w[i + 2]) + ' bytes';
      tbody.appendChild(tr);
    }
  }

  if (D.kind === 'layers') {
    drawLayers();
    drawWaste();
    $('mode-layer').addEventListener('click', function () { setMerged(false); });
    $('mode-merged').addEventListener('click', function () { setMerged(true); });
    if (!D.trees) $('tree-section').hidden = true;
    selectLayer(state.layer);
  } else drawTree();
  document.body.setAttribute('data-ready', 'true');
})();
`;
