/* profiler-kit report components shared by the capture report (report.js) and
 * the aggregate report (aggregate.js): formatting, DOM helpers, the frame model
 * and colours, the flame graph, the lazy call tree and the hot-functions table.
 *
 * It is inlined ahead of the page's own script, in the same script element,
 * and defines one global: the frozen namespace window.ProfilerKit.
 * Vanilla JS, no dependencies, no network. Every data string is inserted as
 * text (textContent / data-* attributes / title), never parsed as HTML. */
(function () {
  'use strict';

  const ROW_HEIGHT = 18;
  const MIN_FRAME_PX = 0.3;
  const LABEL_MIN_PX = 24;
  const TREE_CHUNK = 100;
  const HOT_THRESHOLD = 0.25;
  const HOT_MAX_DEPTH = 40;

  /* ---- Small helpers ----------------------------------------------- */

  function byId(id) {
    return document.getElementById(id);
  }

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null && text !== '') node.textContent = String(text);
    return node;
  }

  function isNum(v) {
    return typeof v === 'number' && isFinite(v);
  }

  function num(v) {
    return isNum(v) ? v : 0;
  }

  function isObj(v) {
    return v !== null && typeof v === 'object' && !Array.isArray(v);
  }

  function arr(v) {
    return Array.isArray(v) ? v : [];
  }

  function str(v) {
    return v === undefined || v === null ? '' : String(v);
  }

  function clamp01(v) {
    return Math.max(0, Math.min(1, num(v)));
  }

  function debounce(fn, ms) {
    let timer = 0;
    return function () {
      clearTimeout(timer);
      timer = setTimeout(fn, ms);
    };
  }

  function errorText(err) {
    return err && err.message ? err.message : err;
  }

  // True while the user is selecting text inside `node` (a click then should not act).
  function selectingIn(node) {
    const sel = window.getSelection();
    return !!sel && !sel.isCollapsed && !!sel.anchorNode && node.contains(sel.anchorNode);
  }

  /* ---- Formatting -------------------------------------------------- */

  function threeDigits(v) {
    const a = Math.abs(v);
    if (a >= 100) return v.toFixed(0);
    if (a >= 10) return v.toFixed(1);
    return v.toFixed(2);
  }

  function formatDuration(s) {
    if (!isNum(s)) return '—';
    const a = Math.abs(s);
    if (a === 0) return '0 s';
    if (a < 9.995e-4) return threeDigits(s * 1e6) + ' µs';
    if (a < 0.9995) return threeDigits(s * 1e3) + ' ms';
    if (a < 59.5) return threeDigits(s) + ' s';
    const total = Math.round(a);
    const sign = s < 0 ? '-' : '';
    if (total < 3600) return sign + Math.floor(total / 60) + ' min ' + (total % 60) + ' s';
    return sign + Math.floor(total / 3600) + ' h ' + Math.floor((total % 3600) / 60) + ' min';
  }

  const BYTE_UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];

  function formatBytes(n) {
    if (!isNum(n)) return '—';
    let v = n;
    let i = 0;
    while (Math.abs(v) >= 1024 && i < BYTE_UNITS.length - 1) {
      v /= 1024;
      i += 1;
    }
    return (i === 0 ? String(Math.round(v)) : threeDigits(v)) + ' ' + BYTE_UNITS[i];
  }

  function formatCount(n) {
    return isNum(n) ? Math.round(n).toLocaleString('en-US') : '—';
  }

  // "1 capture", "2,000 captures".
  function counted(n, noun) {
    return formatCount(n) + ' ' + noun + (Math.round(n) === 1 ? '' : 's');
  }

  function formatPct(frac) {
    if (!isNum(frac)) return '—';
    const p = frac * 100;
    if (p > 0 && p < 0.1) return '<0.1%';
    return p.toFixed(1) + '%';
  }

  function formatDate(iso) {
    if (!iso) return '—';
    const d = new Date(iso);
    if (isNaN(d.getTime())) return String(iso);
    return d.toISOString().slice(0, 19).replace('T', ' ') + ' UTC';
  }

  function frameLocation(frame) {
    if (!frame || !frame.file) return '';
    return frame.line > 0 ? frame.file + ':' + frame.line : frame.file;
  }

  /* ---- DOM pieces -------------------------------------------------- */

  // A thin horizontal bar: span.<cls> > span.<cls>-fill, width set through the CSSOM (CSP-safe).
  function meter(cls, frac) {
    const bar = el('span', cls);
    bar.appendChild(el('span', cls + '-fill')).style.width = (clamp01(frac) * 100).toFixed(2) + '%';
    return bar;
  }

  function shareBar(frac, extraClass) {
    const wrap = el('span', 'share ' + extraClass);
    wrap.appendChild(meter('share-bar', frac));
    wrap.appendChild(el('span', 'share-num', formatPct(frac)));
    return wrap;
  }

  function card(key, label, value, sub, tone) {
    const box = el('div', 'card' + (tone ? ' card-' + tone : ''));
    box.dataset.key = key;
    box.appendChild(el('div', 'card-label', label));
    const v = el('div', 'card-value', value);
    v.title = String(value);
    box.appendChild(v);
    if (sub) box.appendChild(el('div', 'card-sub', sub));
    return box;
  }

  function emptyRow(colSpan, text) {
    const tr = el('tr', 'empty-row');
    const td = el('td', 'empty', text);
    td.colSpan = colSpan;
    tr.appendChild(td);
    return tr;
  }

  function numCell(text, extraClass, title) {
    const td = el('td', 'col-num' + (extraClass ? ' ' + extraClass : ''), text);
    if (title) td.title = title;
    return td;
  }

  // Reflects the sort state on every sortable header: th[aria-sort] around button.sort[data-key].
  function markSorted(table, state) {
    table.querySelectorAll('button.sort').forEach(function (btn) {
      const active = btn.dataset.key === state.key;
      btn.closest('th').setAttribute('aria-sort', active ? (state.dir === 'asc' ? 'ascending' : 'descending') : 'none');
    });
  }

  // Clicking a header's button.sort toggles the direction of the current key, or sorts by
  // a new key in the direction firstDir(key) gives ('asc' / 'desc'; anything else: ignored).
  function onSortClick(table, state, firstDir, render) {
    table.tHead.addEventListener('click', function (ev) {
      const btn = ev.target.closest('button.sort');
      if (!btn) return;
      const key = btn.dataset.key;
      const dir = firstDir(key);
      if (dir !== 'asc' && dir !== 'desc') return;
      if (key === state.key) {
        state.dir = state.dir === 'asc' ? 'desc' : 'asc';
      } else {
        state.key = key;
        state.dir = dir;
      }
      render();
    });
  }

  function showTitle(title) {
    if (!title) return;
    byId('report-title').textContent = String(title);
    document.title = String(title);
  }

  function showMessage(text, kind) {
    const box = byId('report-messages');
    if (!box) return;
    const note = el('div', 'note' + (kind ? ' note-' + kind : ''), text);
    note.setAttribute('role', kind === 'error' ? 'alert' : 'note');
    box.appendChild(note);
  }

  // Runs one rendering step; a failure becomes a note naming `what` instead of a blank page.
  function runStep(what, fn) {
    try {
      fn();
    } catch (err) {
      showMessage('Could not render the ' + what + ': ' + errorText(err), 'error');
    }
  }

  /* ---- Frames and the call-tree model ------------------------------ */

  function normFrame(raw) {
    const r = isObj(raw) ? raw : {};
    return {
      name: r.name === undefined || r.name === null || r.name === '' ? '(unknown)' : String(r.name),
      file: r.file ? String(r.file) : '',
      line: isNum(r.line) && r.line > 0 ? Math.floor(r.line) : 0,
      app: r.app === true,
      root: false,
      color: '',
    };
  }

  const UNKNOWN_FRAME = normFrame({ name: '(unknown frame)' });

  // The report's frame table as a lookup: index -> frame, anything else -> '(unknown frame)'.
  function frameTable(rawFrames) {
    const frames = arr(rawFrames).map(normFrame);
    return function (f) {
      return (isNum(f) && f >= 0 && frames[f]) || UNKNOWN_FRAME;
    };
  }

  // rawTree: {f, t, s, c: [children]}, frame index -1 standing for the root (named rootLabel).
  // opts.requests: how many requests the times are summed over (1 for one capture or means);
  // opts.extend(node, raw): adds fields of its own to each node.
  function buildModel(rawTree, rootLabel, frameAt, opts) {
    const o = opts || {};
    const rootFrame = normFrame({ name: rootLabel });
    rootFrame.root = true;
    const at = (f) => (f === -1 ? rootFrame : frameAt(f));

    function makeNode(raw, parent) {
      const node = {
        frame: at(isNum(raw.f) ? raw.f : -2),
        t: Math.max(0, num(raw.t)),
        s: Math.max(0, num(raw.s)),
        children: [],
        parent: parent,
        depth: parent ? parent.depth + 1 : 0,
      };
      if (o.extend) o.extend(node, raw);
      return node;
    }

    const rawRoot = isObj(rawTree) ? rawTree : { f: -1, t: 0 };
    const root = makeNode(rawRoot, null);
    root.frame = rootFrame;
    const stack = [[rawRoot, root]];
    let count = 1;
    while (stack.length) {
      const pair = stack.pop();
      for (const raw of arr(pair[0].c)) {
        if (!isObj(raw)) continue;
        const child = makeNode(raw, pair[1]);
        pair[1].children.push(child);
        stack.push([raw, child]);
        count += 1;
      }
      pair[1].children.sort((a, b) => b.t - a.t);
    }
    return {
      frameAt: at,
      root: root,
      total: root.t,
      requests: isNum(o.requests) && o.requests > 0 ? o.requests : 1,
      nodeCount: count,
    };
  }

  function shareOf(model, t) {
    return model.total > 0 ? t / model.total : 0;
  }

  /* ---- Colour palette ---------------------------------------------- */

  function hashString(s) {
    let h = 2166136261;
    for (let i = 0; i < s.length; i += 1) {
      h ^= s.charCodeAt(i);
      h = Math.imul(h, 16777619);
    }
    return h >>> 0;
  }

  function moduleKey(frame) {
    if (frame.file) return frame.file;
    const dot = frame.name.lastIndexOf('.');
    return dot > 0 ? frame.name.slice(0, dot) : frame.name;
  }

  // Warm hues by module: saturated for application code, pale for libraries.
  function frameColor(frame) {
    if (frame.color) return frame.color;
    if (frame.root) {
      frame.color = 'hsl(30, 10%, 80%)';
    } else {
      const h = hashString(moduleKey(frame));
      const hue = h % 48;
      const light = 56 + ((h >>> 8) % 12);
      frame.color = frame.app
        ? 'hsl(' + hue + ', 88%, ' + light + '%)'
        : 'hsl(' + hue + ', 32%, ' + (light + 8) + '%)';
    }
    return frame.color;
  }

  /* ---- Flame graph (one instance per canvas; one shared tooltip) --- */

  function frameMatches(frame, query) {
    return frame.name.toLowerCase().includes(query) || frame.file.toLowerCase().includes(query);
  }

  function matchedShare(model, query) {
    let time = 0;
    let count = 0;
    const stack = [model.root];
    while (stack.length) {
      const node = stack.pop();
      if (frameMatches(node.frame, query)) {
        time += node.t;
        count += 1;
        continue;
      }
      for (const c of node.children) stack.push(c);
    }
    return { count: count, share: shareOf(model, time) };
  }

  let tooltipBox = null;
  const flames = [];

  function placeTooltip(x, y) {
    const box = tooltipBox;
    const pad = 12;
    const w = box.offsetWidth;
    const h = box.offsetHeight;
    let left = x + pad;
    let top = y + pad;
    if (left + w > window.innerWidth - 4) left = Math.max(4, x - w - pad);
    if (top + h > window.innerHeight - 4) top = Math.max(4, y - h - pad);
    box.style.left = left + 'px';
    box.style.top = top + 'px';
  }

  function hideTooltip() {
    if (tooltipBox) tooltipBox.hidden = true;
  }

  // Name and location; the root (which has no source location) omits the location line
  // unless alwaysLocation is set.
  function tooltipHead(node, alwaysLocation) {
    const frag = document.createDocumentFragment();
    frag.appendChild(el('div', 'tt-name', node.frame.name));
    const loc = frameLocation(node.frame);
    if (loc || alwaysLocation || !node.frame.root) frag.appendChild(el('div', 'tt-loc', loc || 'location unknown'));
    return frag;
  }

  function timeTooltip(node, model, alwaysLocation) {
    const frag = tooltipHead(node, alwaysLocation);
    const stats = el('div', 'tt-stats');
    stats.appendChild(el('span', '', 'Total ' + formatDuration(node.t)));
    stats.appendChild(el('span', '', 'Self ' + formatDuration(node.s)));
    stats.appendChild(el('span', '', formatPct(shareOf(model, node.t)) + ' of root'));
    frag.appendChild(stats);
    if (model.requests > 1) {
      frag.appendChild(el('div', 'tt-sub',
        '≈ ' + formatDuration(node.t / model.requests) + ' per request, summed over ' +
        formatCount(model.requests) + ' captures'));
    }
    return frag;
  }

  function onEscape(ev) {
    if (ev.key !== 'Escape' || ev.target.closest('input, select, textarea')) return;
    flames.forEach((f) => f.escape());
  }

  // The elements are #<prefix>-canvas, -viewport, -reset, -orientation, -search and
  // -search-info, plus the page's one #flame-tooltip. Options:
  //   color(node) -> CSS colour (default: frameColor of the node's frame)
  //   tooltip(node, model) -> fragment (default: timeTooltip)
  //   decorate(div, node): extra classes / data-* for a frame's element
  //   model: draw this model right away (otherwise call setModel)
  function FlameGraph(prefix, opts) {
    const o = opts || {};
    const canvas = byId(prefix + '-canvas');
    const viewport = byId(prefix + '-viewport');
    const resetBtn = byId(prefix + '-reset');
    const orientation = byId(prefix + '-orientation');
    const search = byId(prefix + '-search');
    const searchInfo = byId(prefix + '-search-info');
    const colorOf = o.color || ((node) => frameColor(node.frame));
    const fillTooltip = o.tooltip || timeTooltip;
    let model = null;
    let nodeOf = new WeakMap();
    let zoom = null;
    let lastWidth = 0;
    if (!tooltipBox) tooltipBox = byId('flame-tooltip');

    function addFrame(frag, node, x, w, extraClass) {
      const div = el('div', 'flame-frame' + (extraClass ? ' ' + extraClass : ''));
      div.dataset.name = node.frame.name;
      div.dataset.depth = String(node.depth);
      if (!node.frame.app && !node.frame.root) div.classList.add('flame-lib');
      if (o.decorate) o.decorate(div, node);
      const s = div.style;
      s.left = x.toFixed(2) + 'px';
      s.width = w.toFixed(2) + 'px';
      if (orientation.value === 'flame') s.bottom = node.depth * ROW_HEIGHT + 'px';
      else s.top = node.depth * ROW_HEIGHT + 'px';
      s.backgroundColor = colorOf(node);
      if (w >= LABEL_MIN_PX) {
        div.classList.add('flame-labelled');
        div.textContent = node.frame.name;
      }
      nodeOf.set(div, node);
      frag.appendChild(div);
    }

    function render() {
      const width = canvas.clientWidth;
      lastWidth = width;
      if (!model) {
        canvas.replaceChildren();
        canvas.style.height = '';
        return;
      }
      if (width <= 0) return;
      nodeOf = new WeakMap();
      const focus = zoom || model.root;
      const frag = document.createDocumentFragment();
      for (let a = focus.parent; a; a = a.parent) addFrame(frag, a, 0, width, 'flame-ancestor');
      let maxDepth = focus.depth;
      if (focus.t <= 0) {
        addFrame(frag, focus, 0, width, zoom ? 'flame-focus' : '');
      } else {
        // Breadth-first (iterative, so depth is unbounded): shallow and wide frames come first.
        const scale = width / focus.t;
        const queue = [focus, 0];
        for (let head = 0; head < queue.length; head += 2) {
          const node = queue[head];
          const x = queue[head + 1];
          addFrame(frag, node, x, node.t * scale, node === zoom ? 'flame-focus' : '');
          if (node.depth > maxDepth) maxDepth = node.depth;
          let cx = x;
          for (const child of node.children) {
            const cw = child.t * scale;
            if (cw < MIN_FRAME_PX) break;
            queue.push(child, cx);
            cx += cw;
          }
        }
      }
      canvas.style.height = (maxDepth + 1) * ROW_HEIGHT + 'px';
      canvas.replaceChildren(frag);
      applySearch();
    }

    function applySearch() {
      const query = search.value.trim().toLowerCase();
      const frames = canvas.children;
      for (let i = 0; i < frames.length; i += 1) {
        const div = frames[i];
        const node = nodeOf.get(div);
        const match = query !== '' && !!node && frameMatches(node.frame, query);
        div.classList.toggle('flame-match', match);
        div.classList.toggle('flame-dim', query !== '' && !match);
      }
      if (!query || !model) {
        searchInfo.textContent = '';
        return;
      }
      const result = matchedShare(model, query);
      searchInfo.textContent = result.count
        ? 'Matched: ' + formatPct(result.share) + ' of total time.'
        : 'No frames match.';
    }

    function setZoom(node) {
      zoom = model && node && node !== model.root ? node : null;
      if (zoom) canvas.dataset.zoom = zoom.frame.name;
      else delete canvas.dataset.zoom;
      resetBtn.disabled = !zoom;
      hideTooltip();
      render();
    }

    function scrollToRoot() {
      viewport.scrollTop = orientation.value === 'flame' ? viewport.scrollHeight : 0;
    }

    canvas.addEventListener('mouseover', function (ev) {
      const div = ev.target.closest('.flame-frame');
      const node = div && nodeOf.get(div);
      if (!node || !model) return;
      tooltipBox.replaceChildren(fillTooltip(node, model));
      tooltipBox.hidden = false;
      placeTooltip(ev.clientX, ev.clientY);
    });
    canvas.addEventListener('mousemove', function (ev) {
      if (!tooltipBox.hidden) placeTooltip(ev.clientX, ev.clientY);
    });
    canvas.addEventListener('mouseleave', hideTooltip);
    canvas.addEventListener('click', function (ev) {
      const div = ev.target.closest('.flame-frame');
      const node = div && nodeOf.get(div);
      if (node) setZoom(node);
    });
    resetBtn.addEventListener('click', () => setZoom(null));
    orientation.addEventListener('change', function () {
      canvas.dataset.orientation = orientation.value === 'flame' ? 'flame' : 'icicle';
      render();
      scrollToRoot();
    });
    search.addEventListener('input', applySearch);
    const onResize = debounce(function () {
      if (canvas.clientWidth !== lastWidth) render();
    }, 150);
    window.addEventListener('resize', onResize);
    if (typeof ResizeObserver === 'function') new ResizeObserver(onResize).observe(viewport);

    const view = {
      // Shows another model from its root, with no zoom and an empty search.
      setModel: function (m) {
        model = m;
        zoom = null;
        delete canvas.dataset.zoom;
        resetBtn.disabled = true;
        search.value = '';
        hideTooltip();
        render();
        scrollToRoot();
      },
      // Redraws if the canvas was hidden or resized since the last drawing.
      refresh: function () {
        if (model && (canvas.clientWidth !== lastWidth || !canvas.firstChild)) render();
      },
      // Esc zooms out the graphs that are on screen.
      escape: function () {
        if (zoom && canvas.offsetParent !== null) setZoom(null);
      },
    };
    resetBtn.disabled = true;
    if (!flames.length) document.addEventListener('keydown', onEscape);
    flames.push(view);
    if (o.model) {
      model = o.model;
      render();
    }
    return view;
  }

  /* ---- Call tree (lazy: DOM exists only for expanded nodes) -------- */

  // The tree goes in #<id>; its buttons are #<controls>-expand-hot and
  // #<controls>-collapse-all (controls defaults to id). opts.selecting(row): true when
  // a click on the row is the end of a text selection, not a toggle (default selectingIn).
  function CallTree(id, opts) {
    const o = opts || {};
    const container = byId(id);
    const controls = o.controls || id;
    const selecting = o.selecting || selectingIn;
    let nodeOf = new WeakMap();
    let model = null;

    function makeTreeNode(node) {
      const wrap = el('div', 'tree-node');
      wrap.dataset.name = node.frame.name;
      wrap.dataset.depth = String(node.depth);
      const row = el('div', 'tree-row' + (node.frame.app || node.frame.root ? '' : ' is-lib'));
      if (node.children.length) {
        const btn = el('button', 'tree-toggle');
        btn.type = 'button';
        btn.setAttribute('aria-expanded', 'false');
        btn.setAttribute('aria-label', 'Expand ' + node.frame.name);
        row.appendChild(btn);
      } else {
        row.appendChild(el('span', 'tree-toggle-spacer'));
      }
      const share = shareOf(model, node.t);
      row.appendChild(el('span', 'tree-time', formatDuration(node.t)));
      if (model.requests > 1) {
        const mean = el('span', 'tree-mean', formatDuration(node.t / model.requests));
        mean.title = 'mean per request';
        row.appendChild(mean);
      }
      row.appendChild(el('span', 'tree-pct', formatPct(share)));
      row.appendChild(meter('tree-bar', share));
      row.appendChild(el('span', 'tree-name', node.frame.name));
      row.appendChild(el('span', 'tree-loc', frameLocation(node.frame)));
      wrap.appendChild(row);
      nodeOf.set(wrap, node);
      return wrap;
    }

    function childBox(wrap) {
      const last = wrap.lastElementChild;
      return last && last.classList.contains('tree-children') ? last : null;
    }

    function appendChildren(box, node, start) {
      const frag = document.createDocumentFragment();
      const end = Math.min(node.children.length, start + TREE_CHUNK);
      for (let i = start; i < end; i += 1) frag.appendChild(makeTreeNode(node.children[i]));
      if (end < node.children.length) {
        const rest = node.children.length - end;
        const more = el('button', 'tree-more', 'Show ' + Math.min(rest, TREE_CHUNK) + ' more (' + rest + ' remaining)');
        more.type = 'button';
        more.dataset.start = String(end);
        frag.appendChild(more);
      }
      box.appendChild(frag);
    }

    function setExpanded(wrap, expanded) {
      const btn = wrap.firstElementChild.querySelector('.tree-toggle');
      if (!btn) return;
      const node = nodeOf.get(wrap);
      btn.setAttribute('aria-expanded', expanded ? 'true' : 'false');
      btn.setAttribute('aria-label', (expanded ? 'Collapse ' : 'Expand ') + node.frame.name);
    }

    function expand(wrap) {
      const node = nodeOf.get(wrap);
      if (!node || !node.children.length || childBox(wrap)) return;
      const box = el('div', 'tree-children');
      appendChildren(box, node, 0);
      wrap.appendChild(box);
      setExpanded(wrap, true);
    }

    function collapse(wrap) {
      const box = childBox(wrap);
      if (box) box.remove();
      setExpanded(wrap, false);
    }

    function collapseAll() {
      const rootWrap = container.firstElementChild;
      container.querySelectorAll('.tree-row.is-hot').forEach((r) => r.classList.remove('is-hot'));
      if (rootWrap) collapse(rootWrap);
    }

    function expandHotPath(scroll) {
      let wrap = container.firstElementChild;
      if (!wrap || !model) return;
      container.querySelectorAll('.tree-row.is-hot').forEach((r) => r.classList.remove('is-hot'));
      expand(wrap);
      let node = model.root;
      while (node.depth < HOT_MAX_DEPTH) {
        const hot = node.children[0];
        const box = childBox(wrap);
        if (!hot || !box || hot.t < HOT_THRESHOLD * model.total || model.total <= 0) break;
        wrap = box.firstElementChild;
        wrap.firstElementChild.classList.add('is-hot');
        expand(wrap);
        node = hot;
      }
      if (scroll) wrap.firstElementChild.scrollIntoView({ block: 'nearest' });
    }

    container.addEventListener('click', function (ev) {
      const more = ev.target.closest('.tree-more');
      if (more) {
        const box = more.parentElement;
        const node = nodeOf.get(box.parentElement);
        more.remove();
        appendChildren(box, node, Number(more.dataset.start));
        return;
      }
      const row = ev.target.closest('.tree-row');
      if (!row) return;
      if (!ev.target.closest('.tree-toggle') && selecting(row)) return;
      const wrap = row.parentElement;
      if (childBox(wrap)) collapse(wrap);
      else expand(wrap);
    });

    byId(controls + '-expand-hot').addEventListener('click', () => expandHotPath(true));
    byId(controls + '-collapse-all').addEventListener('click', collapseAll);

    return {
      // Shows another model, collapsed but for its hot path.
      setModel: function (m) {
        model = m;
        nodeOf = new WeakMap();
        container.replaceChildren(makeTreeNode(model.root));
        container.scrollTop = 0;
        expandHotPath(false);
      },
    };
  }

  /* ---- Hot functions table ----------------------------------------- */

  function compareBy(key, dir) {
    const sign = dir === 'asc' ? 1 : -1;
    return function (a, b) {
      let d;
      if (key === 'name' || key === 'location') d = a[key].localeCompare(b[key]);
      else d = a[key] - b[key];
      if (d !== 0) return d * sign;
      return a.index - b.index;
    };
  }

  // Options:
  //   info: id of the element that tells how many functions are listed
  //   allLabel: what follows the count when every function is listed
  //   limit: most rows shown; frameAt(f): the frame of an index
  //   withCaptures: a 7th column, in how many captures the function was seen
  function HotspotTable(tableId, opts) {
    const table = byId(tableId);
    const tbody = table.tBodies[0];
    const info = byId(opts.info);
    const withCaptures = !!opts.withCaptures;
    const cols = withCaptures ? 7 : 6;
    let rows = [];
    let capturesTotal = 0;
    const state = { key: 'self', dir: 'desc' };

    function timeCell(seconds) {
      return numCell(formatDuration(seconds), '', capturesTotal > 1
        ? 'summed over all captures · ' + formatDuration(seconds / capturesTotal) + ' per request' : '');
    }

    function rowFor(h) {
      const tr = el('tr', 'hotspot-row' + (h.frame.app ? '' : ' is-lib'));
      tr.dataset.name = h.name;
      const nameCell = el('td', 'col-name');
      nameCell.appendChild(el('span', 'fn', h.name));
      if (!h.frame.app) nameCell.appendChild(el('span', 'badge', 'lib'));
      tr.appendChild(nameCell);
      const loc = el('td', 'col-loc loc', h.location);
      if (h.location) loc.title = h.location;
      tr.appendChild(loc);
      tr.appendChild(timeCell(h.self));
      tr.appendChild(timeCell(h.total));
      const selfCell = el('td', 'col-share');
      selfCell.appendChild(shareBar(h.selfShare, 'share-self'));
      tr.appendChild(selfCell);
      const totalCell = el('td', 'col-share');
      totalCell.appendChild(shareBar(h.totalShare, 'share-total'));
      tr.appendChild(totalCell);
      if (withCaptures) {
        const seen = isNum(h.captures) ? 'in ' + formatCount(h.captures) + ' captures' : '—';
        tr.appendChild(numCell(seen, 'seen', capturesTotal > 0 && isNum(h.captures)
          ? formatPct(h.captures / capturesTotal) + ' of ' + formatCount(capturesTotal) + ' captures' : ''));
      }
      return tr;
    }

    function render() {
      const sorted = rows.slice().sort(compareBy(state.key, state.dir));
      const frag = document.createDocumentFragment();
      sorted.forEach((h) => frag.appendChild(rowFor(h)));
      if (!sorted.length) frag.appendChild(emptyRow(cols, 'No samples were recorded.'));
      tbody.replaceChildren(frag);
      markSorted(table, state);
    }

    onSortClick(table, state, (key) => (key === 'name' || key === 'location' ? 'asc' : 'desc'), render);

    return {
      // hotspots: [{f, self_s, total_s, self_share, total_share, captures?}], by self time;
      // captures: how many captures the times are summed over (0: one capture).
      setData: function (hotspots, captures) {
        const all = arr(hotspots).filter(isObj);
        capturesTotal = num(captures);
        rows = all.slice(0, opts.limit).map(function (h, index) {
          const frame = opts.frameAt(h.f);
          return {
            index: index, frame: frame, name: frame.name, location: frameLocation(frame),
            self: num(h.self_s), total: num(h.total_s),
            selfShare: num(h.self_share), totalShare: num(h.total_share),
            captures: isNum(h.captures) ? h.captures : null,
          };
        });
        state.key = 'self';
        state.dir = 'desc';
        info.textContent = all.length > rows.length
          ? 'Top ' + rows.length + ' of ' + formatCount(all.length) + ' functions by self time'
          : formatCount(rows.length) + opts.allLabel;
        render();
      },
    };
  }

  /* ---- Memory allocation sites ------------------------------------- */

  function frameLine(tag, frame) {
    const item = el(tag, 'frame-line');
    item.appendChild(el('span', 'fn', frame.name));
    const loc = frameLocation(frame);
    if (loc) item.appendChild(el('span', 'loc', loc));
    return item;
  }

  function siteRow(site, maxBytes, withCaptures) {
    const frames = arr(site.stack).map(normFrame);
    const top = frames[0] || normFrame({ name: '(unknown)' });
    const tr = el('tr', 'site-row');
    tr.dataset.name = top.name;
    const bytesCell = el('td', 'col-num');
    bytesCell.appendChild(el('span', 'site-bytes', formatBytes(site.bytes)));
    bytesCell.appendChild(meter('share-bar', maxBytes > 0 ? num(site.bytes) / maxBytes : 0));
    tr.appendChild(bytesCell);
    tr.appendChild(numCell(formatCount(site.count)));
    if (withCaptures) tr.appendChild(numCell(isNum(site.captures) ? 'in ' + formatCount(site.captures) : '—'));
    const where = el('td', 'site-where');
    const details = el('details', 'site-stack');
    details.appendChild(frameLine('summary', top));
    const list = el('ol', 'stack');
    frames.forEach((f) => list.appendChild(frameLine('li', f)));
    if (!frames.length) list.appendChild(el('li', 'muted', 'No stack recorded.'));
    details.appendChild(list);
    where.appendChild(details);
    tr.appendChild(where);
    return tr;
  }

  // Rows of a sites table (bytes with a bar relative to the largest, count, [captures,] stack).
  function siteRows(sites, withCaptures) {
    const maxBytes = sites.reduce((m, s) => Math.max(m, num(s.bytes)), 0);
    const frag = document.createDocumentFragment();
    sites.forEach((s) => frag.appendChild(siteRow(s, maxBytes, withCaptures)));
    return frag;
  }

  /* ---- Boot -------------------------------------------------------- */

  // Reads the page's embedded JSON (what: 'profile data', 'report data'…) and calls
  // render(data) once the DOM is ready; unreadable data becomes an error note.
  function boot(what, render) {
    function init() {
      let data;
      try {
        const script = byId('profiler-kit-data');
        data = JSON.parse(script ? script.textContent : 'null');
        if (!isObj(data)) throw new Error('the embedded ' + what + ' is empty');
      } catch (err) {
        showMessage('Could not read the ' + what + ': ' + errorText(err), 'error');
        return;
      }
      if (data.version !== 1) {
        showMessage('This report uses data format version ' + data.version + '; this viewer was written for version 1.');
      }
      render(data);
    }
    if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', init);
    else init();
  }

  window.ProfilerKit = Object.freeze({
    byId: byId, el: el, isNum: isNum, num: num, isObj: isObj, arr: arr, str: str,
    clamp01: clamp01, debounce: debounce, errorText: errorText, selectingIn: selectingIn,
    threeDigits: threeDigits, formatDuration: formatDuration, formatBytes: formatBytes,
    formatCount: formatCount, counted: counted, formatPct: formatPct, formatDate: formatDate, frameLocation: frameLocation,
    meter: meter, shareBar: shareBar, card: card, emptyRow: emptyRow, numCell: numCell,
    markSorted: markSorted, onSortClick: onSortClick,
    showTitle: showTitle, showMessage: showMessage, runStep: runStep,
    normFrame: normFrame, frameTable: frameTable, buildModel: buildModel, shareOf: shareOf,
    frameColor: frameColor, tooltipHead: tooltipHead, timeTooltip: timeTooltip,
    FlameGraph: FlameGraph, CallTree: CallTree, HotspotTable: HotspotTable,
    siteRows: siteRows, boot: boot,
  });
})();
