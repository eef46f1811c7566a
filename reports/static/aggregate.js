/* profiler-kit aggregate report: many captures grouped by route.
 * Vanilla JS, no dependencies, no network. Every data string is inserted as
 * text (textContent / data-* attributes / title), never parsed as HTML.
 * Heavy DOM (flame graphs, trees, tables of one route) is built lazily, only
 * for the route or capture that is open. */
(function () {
  'use strict';

  const ROW_HEIGHT = 18;
  const MIN_FRAME_PX = 0.3;
  const LABEL_MIN_PX = 24;
  const TREE_CHUNK = 100;
  const HOT_THRESHOLD = 0.25;
  const HOT_MAX_DEPTH = 40;
  const HOTSPOT_LIMIT = 200;
  const SITE_LIMIT = 100;
  const DIFF_FUNCTION_LIMIT = 100;
  const MODEL_CACHE_SIZE = 12;
  // Differential colouring: slower when t > b * 1.1 (and by more than a tiny floor), faster when t < b * 0.9.
  const SLOWER_RATIO = 1.1;
  const FASTER_RATIO = 0.9;
  const DIFF_FLOOR_S = 1e-6;
  const METHODS = ['get', 'post', 'put', 'patch', 'delete', 'head', 'options'];

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

  function svgEl(tag, className) {
    const node = document.createElementNS('http://www.w3.org/2000/svg', tag);
    if (className) node.setAttribute('class', className);
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

  function debounce(fn, ms) {
    let timer = 0;
    return function () {
      clearTimeout(timer);
      timer = setTimeout(fn, ms);
    };
  }

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

  function formatSignedDuration(s) {
    if (!isNum(s)) return '—';
    return (s > 0 ? '+' : '') + formatDuration(s);
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

  function formatPct(frac) {
    if (!isNum(frac)) return '—';
    const p = frac * 100;
    if (p > 0 && p < 0.1) return '<0.1%';
    return p.toFixed(1) + '%';
  }

  // Relative change of `now` against `before`, e.g. "+32%", "−8.5%", "new".
  function formatChange(before, now) {
    if (!isNum(before) || !isNum(now)) return '—';
    if (before <= 0) return now > 0 ? 'new' : '±0%';
    const p = (now / before - 1) * 100;
    const a = Math.abs(p);
    const digits = a >= 10 ? 0 : 1;
    if (a < 0.05) return '±0%';
    return (p > 0 ? '+' : '−') + a.toFixed(digits) + '%';
  }

  function formatSpan(seconds) {
    if (!isNum(seconds) || seconds < 0) return '—';
    if (seconds < 86400) return formatDuration(seconds);
    const days = Math.floor(seconds / 86400);
    const hours = Math.floor((seconds % 86400) / 3600);
    return days + (days === 1 ? ' day' : ' days') + (hours ? ' ' + hours + ' h' : '');
  }

  function formatRatio(r) {
    if (!isNum(r)) return '—';
    return '×' + (r >= 100 ? r.toFixed(0) : r >= 10 ? r.toFixed(1) : r.toFixed(2));
  }

  function formatDate(iso) {
    if (!iso) return '—';
    const d = new Date(iso);
    if (isNaN(d.getTime())) return String(iso);
    return d.toISOString().slice(0, 19).replace('T', ' ') + ' UTC';
  }

  function formatDay(iso) {
    const d = new Date(iso || '');
    return isNaN(d.getTime()) ? '—' : d.toISOString().slice(0, 10);
  }

  function frameLocation(frame) {
    if (!frame || !frame.file) return '';
    return frame.line > 0 ? frame.file + ':' + frame.line : frame.file;
  }

  function clamp01(v) {
    return Math.max(0, Math.min(1, num(v)));
  }

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

  function showMessage(text, kind) {
    const box = byId('report-messages');
    if (!box) return;
    const note = el('div', 'note' + (kind ? ' note-' + kind : ''), text);
    note.setAttribute('role', kind === 'error' ? 'alert' : 'note');
    box.appendChild(note);
  }

  // True while the user is selecting text inside `node` (a click then should not navigate).
  function selectingIn(node) {
    const sel = window.getSelection();
    return !!sel && !sel.isCollapsed && !!sel.anchorNode && node.contains(sel.anchorNode);
  }

  function runStep(name, fn) {
    try {
      fn();
    } catch (err) {
      showMessage('Could not render the ' + name + ': ' + (err && err.message ? err.message : err), 'error');
    }
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

  function methodClass(method) {
    const m = str(method).toLowerCase();
    return METHODS.indexOf(m) >= 0 ? 'method-' + m : 'method-other';
  }

  // span.route-name > span.method + span.route-path, all text.
  function routeName(route, tag) {
    const wrap = el(tag || 'span', 'route-name');
    if (route.method) wrap.appendChild(el('span', 'method ' + methodClass(route.method), route.method));
    wrap.appendChild(el('span', 'route-path', route.path || route.key || '(unnamed route)'));
    return wrap;
  }

  /* ---- Data model -------------------------------------------------- */

  let FRAMES = [];
  const UNKNOWN_FRAME = normFrame({ name: '(unknown frame)' });

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

  function frameAtIndex(f) {
    return isNum(f) && f >= 0 ? FRAMES[f] || UNKNOWN_FRAME : UNKNOWN_FRAME;
  }

  function diffClass(t, b) {
    if (t <= 0 && b <= 0) return 'same';
    if (b <= 0) return 'slower'; // absent from the baseline
    if (t > b * SLOWER_RATIO && t - b > DIFF_FLOOR_S) return 'slower';
    if (t < b * FASTER_RATIO) return 'faster';
    return 'same';
  }

  // Red for slower, blue for faster; the stronger the relative change the more saturated.
  function diffColor(kind, t, b) {
    if (kind === 'same') return 'hsl(32, 12%, 84%)';
    let ratio;
    if (kind === 'slower') ratio = b > 0 ? t / b : Infinity;
    else ratio = t > 0 ? b / t : Infinity;
    const k = ratio === Infinity ? 1 : clamp01(Math.log2(ratio) / 2);
    const i = 0.2 + 0.8 * k;
    const light = (88 - 30 * i).toFixed(1);
    const sat = (55 + 35 * i).toFixed(1);
    return kind === 'slower' ? 'hsl(2, ' + sat + '%, ' + light + '%)' : 'hsl(214, ' + sat + '%, ' + light + '%)';
  }

  function makeNode(raw, parent, frameAt, withBase) {
    const node = {
      frame: frameAt(isNum(raw.f) ? raw.f : -2),
      t: Math.max(0, num(raw.t)),
      s: Math.max(0, num(raw.s)),
      children: [],
      parent: parent,
      depth: parent ? parent.depth + 1 : 0,
    };
    if (withBase) {
      node.b = Math.max(0, num(raw.b));
      node.diff = diffClass(node.t, node.b);
      node.color = diffColor(node.diff, node.t, node.b);
    }
    return node;
  }

  // requests: how many requests the times are summed over (1 for per-request means).
  function buildModel(rawTree, rootLabel, requests, withBase) {
    const rootFrame = normFrame({ name: rootLabel || '(all requests)' });
    rootFrame.root = true;
    const frameAt = (f) => (f === -1 ? rootFrame : frameAtIndex(f));
    const rawRoot = isObj(rawTree) ? rawTree : { f: -1, t: 0 };
    const root = makeNode(rawRoot, null, frameAt, withBase);
    root.frame = rootFrame;
    const stack = [[rawRoot, root]];
    let count = 1;
    while (stack.length) {
      const pair = stack.pop();
      const kids = arr(pair[0].c);
      for (const raw of kids) {
        if (!isObj(raw)) continue;
        const child = makeNode(raw, pair[1], frameAt, withBase);
        pair[1].children.push(child);
        stack.push([raw, child]);
        count += 1;
      }
      pair[1].children.sort((a, b) => b.t - a.t);
    }
    return {
      frameAt: frameAt,
      root: root,
      total: root.t,
      requests: isNum(requests) && requests > 0 ? requests : 1,
      nodeCount: count,
    };
  }

  function shareOf(model, t) {
    return model.total > 0 ? t / model.total : 0;
  }

  // A tiny LRU so that switching back and forth between routes does not rebuild trees.
  const modelCache = new Map();

  function cachedModel(key, build) {
    if (modelCache.has(key)) {
      const m = modelCache.get(key);
      modelCache.delete(key);
      modelCache.set(key, m);
      return m;
    }
    const m = build();
    modelCache.set(key, m);
    while (modelCache.size > MODEL_CACHE_SIZE) modelCache.delete(modelCache.keys().next().value);
    return m;
  }

  /* ---- Flame graph (one instance per canvas, reused across routes) -- */

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

  const tooltip = { box: null };

  function placeTooltip(x, y) {
    const box = tooltip.box;
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
    if (tooltip.box) tooltip.box.hidden = true;
  }

  function tooltipHead(node) {
    const frag = document.createDocumentFragment();
    frag.appendChild(el('div', 'tt-name', node.frame.name));
    const loc = frameLocation(node.frame);
    if (loc || !node.frame.root) frag.appendChild(el('div', 'tt-loc', loc || 'location unknown'));
    return frag;
  }

  function timeTooltip(node, model) {
    const frag = tooltipHead(node);
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

  function diffTooltip(node) {
    const frag = tooltipHead(node);
    const stats = el('div', 'tt-stats');
    stats.appendChild(el('span', '', 'Before ' + (node.b > 0 ? formatDuration(node.b) : '—')));
    stats.appendChild(el('span', '', 'After ' + formatDuration(node.t)));
    frag.appendChild(stats);
    const delta = el('div', 'tt-delta tt-' + node.diff,
      'Δ ' + formatSignedDuration(node.t - node.b) + ' per request' +
      (node.b > 0 ? ' (' + formatChange(node.b, node.t) + ')' : ' (absent from the baseline)'));
    frag.appendChild(delta);
    return frag;
  }

  function roundedDelta(v) {
    return String(Number(v.toPrecision(12)));
  }

  const flameViews = [];

  function FlameView(prefix, opts) {
    const canvas = byId(prefix + '-canvas');
    const viewport = byId(prefix + '-viewport');
    const resetBtn = byId(prefix + '-reset');
    const orientation = byId(prefix + '-orientation');
    const search = byId(prefix + '-search');
    const searchInfo = byId(prefix + '-search-info');
    const colorOf = opts.color || ((node) => frameColor(node.frame));
    const fillTooltip = opts.tooltip || timeTooltip;
    let model = null;
    let nodeOf = new WeakMap();
    let zoom = null;
    let lastWidth = 0;

    function addFrame(frag, node, x, w, extraClass) {
      const div = el('div', 'flame-frame' + (extraClass ? ' ' + extraClass : ''));
      div.dataset.name = node.frame.name;
      div.dataset.depth = String(node.depth);
      if (!node.frame.app && !node.frame.root) div.classList.add('flame-lib');
      if (opts.decorate) opts.decorate(div, node);
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
      tooltip.box.replaceChildren(fillTooltip(node, model));
      tooltip.box.hidden = false;
      placeTooltip(ev.clientX, ev.clientY);
    });
    canvas.addEventListener('mousemove', function (ev) {
      if (!tooltip.box.hidden) placeTooltip(ev.clientX, ev.clientY);
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
      refresh: function () {
        if (model && (canvas.clientWidth !== lastWidth || !canvas.firstChild)) render();
      },
      escape: function () {
        if (zoom && canvas.offsetParent !== null) setZoom(null);
      },
    };
    resetBtn.disabled = true;
    flameViews.push(view);
    return view;
  }

  /* ---- Call tree (lazy: DOM exists only for expanded nodes) -------- */

  function TreeView(prefix) {
    const container = byId(prefix);
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
      if (!ev.target.closest('.tree-toggle') && selectingIn(row)) return;
      const wrap = row.parentElement;
      if (childBox(wrap)) collapse(wrap);
      else expand(wrap);
    });

    byId(prefix + '-expand-hot').addEventListener('click', () => expandHotPath(true));
    byId(prefix + '-collapse-all').addEventListener('click', collapseAll);

    return {
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

  function HotspotTable(tableId, infoId, withCaptures) {
    const table = byId(tableId);
    const tbody = table.tBodies[0];
    const info = byId(infoId);
    const cols = withCaptures ? 7 : 6;
    let rows = [];
    let capturesTotal = 0;
    const state = { key: 'self', dir: 'desc' };

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
      const perReq = capturesTotal > 1 ? ' · ' : '';
      tr.appendChild(numCell(formatDuration(h.self), '',
        perReq ? 'summed over all captures' + perReq + formatDuration(h.self / capturesTotal) + ' per request' : ''));
      tr.appendChild(numCell(formatDuration(h.total), '',
        perReq ? 'summed over all captures' + perReq + formatDuration(h.total / capturesTotal) + ' per request' : ''));
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
      table.querySelectorAll('button.sort').forEach(function (btn) {
        const th = btn.closest('th');
        const active = btn.dataset.key === state.key;
        th.setAttribute('aria-sort', active ? (state.dir === 'asc' ? 'ascending' : 'descending') : 'none');
      });
    }

    table.tHead.addEventListener('click', function (ev) {
      const btn = ev.target.closest('button.sort');
      if (!btn) return;
      const key = btn.dataset.key;
      if (key === state.key) {
        state.dir = state.dir === 'asc' ? 'desc' : 'asc';
      } else {
        state.key = key;
        state.dir = key === 'name' || key === 'location' ? 'asc' : 'desc';
      }
      render();
    });

    return {
      setData: function (hotspots, captures) {
        const all = arr(hotspots).filter(isObj);
        capturesTotal = num(captures);
        rows = all.slice(0, HOTSPOT_LIMIT).map(function (h, index) {
          const frame = frameAtIndex(h.f);
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
          : formatCount(rows.length) + ' functions by self time';
        render();
      },
    };
  }

  /* ---- Memory sites ------------------------------------------------- */

  function frameLine(tag, frame) {
    const item = el(tag, 'frame-line');
    item.appendChild(el('span', 'fn', frame.name));
    const loc = frameLocation(frame);
    if (loc) item.appendChild(el('span', 'loc', loc));
    return item;
  }

  function siteRow(site, maxBytes) {
    const frames = arr(site.stack).map(normFrame);
    const top = frames[0] || normFrame({ name: '(unknown)' });
    const tr = el('tr', 'site-row');
    tr.dataset.name = top.name;
    const bytesCell = el('td', 'col-num');
    bytesCell.appendChild(el('span', 'site-bytes', formatBytes(site.bytes)));
    bytesCell.appendChild(meter('share-bar', maxBytes > 0 ? num(site.bytes) / maxBytes : 0));
    tr.appendChild(bytesCell);
    tr.appendChild(numCell(formatCount(site.count)));
    tr.appendChild(numCell(isNum(site.captures) ? 'in ' + formatCount(site.captures) : '—'));
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

  function renderMemory(route) {
    const sites = arr(route.raw.memory_sites).filter(isObj).slice(0, SITE_LIMIT);
    const empty = !sites.length;
    byId('route-memory-empty').hidden = !empty;
    byId('route-memory-wrap').hidden = empty;
    const tbody = byId('route-memory-sites').tBodies[0];
    if (empty) {
      tbody.replaceChildren();
      return;
    }
    const maxBytes = sites.reduce((m, s) => Math.max(m, num(s.bytes)), 0);
    const frag = document.createDocumentFragment();
    sites.forEach((s) => frag.appendChild(siteRow(s, maxBytes)));
    tbody.replaceChildren(frag);
  }

  /* ---- Latency histograms ------------------------------------------- */

  function histogramOf(raw) {
    const h = isObj(raw) ? raw : {};
    const edges = arr(h.edges).filter(isNum);
    const counts = arr(h.counts).map(num);
    const n = Math.min(counts.length, edges.length - 1);
    if (n <= 0) return null;
    return { edges: edges.slice(0, n + 1), counts: counts.slice(0, n), n: n };
  }

  // Position (0..1) of a value on the histogram's x axis (log within a bin when possible).
  function histPos(hist, v) {
    if (!isNum(v)) return null;
    const e = hist.edges;
    if (v <= e[0]) return 0;
    if (v >= e[hist.n]) return 1;
    for (let i = 0; i < hist.n; i += 1) {
      const lo = e[i];
      const hi = e[i + 1];
      if (v < hi) {
        let f;
        if (lo > 0 && hi > lo) f = Math.log(v / lo) / Math.log(hi / lo);
        else f = hi > lo ? (v - lo) / (hi - lo) : 0;
        return (i + clamp01(f)) / hist.n;
      }
    }
    return 1;
  }

  function sparkline(raw, p50, p95) {
    const hist = histogramOf(raw);
    if (!hist) return el('span', 'muted', '—');
    const max = hist.counts.reduce((m, c) => Math.max(m, c), 0);
    const svg = svgEl('svg', 'spark');
    svg.setAttribute('viewBox', '0 0 ' + hist.n + ' 1');
    svg.setAttribute('preserveAspectRatio', 'none');
    svg.setAttribute('role', 'img');
    const tail = histPos(hist, p95);
    const title = svgEl('title');
    const total = hist.counts.reduce((a, c) => a + c, 0);
    title.textContent = formatCount(total) + ' requests from ' + formatDuration(hist.edges[0]) + ' to ' +
      formatDuration(hist.edges[hist.n]) + ' · p50 ' + formatDuration(p50) + ' · p95 ' + formatDuration(p95);
    svg.appendChild(title);
    svg.setAttribute('aria-label', title.textContent);
    const base = svgEl('rect', 'spark-base');
    base.setAttribute('x', '0');
    base.setAttribute('y', '0.96');
    base.setAttribute('width', String(hist.n));
    base.setAttribute('height', '0.04');
    svg.appendChild(base);
    for (let i = 0; i < hist.n; i += 1) {
      const c = hist.counts[i];
      if (c <= 0 || max <= 0) continue;
      // sqrt keeps rare slow buckets visible next to a tall mode
      const h = Math.max(0.06, Math.sqrt(c / max)) * 0.94;
      const rect = svgEl('rect', tail !== null && (i + 1) / hist.n > tail ? 'spark-bar spark-tail' : 'spark-bar');
      rect.setAttribute('x', String(i + 0.08));
      rect.setAttribute('y', (1 - h).toFixed(4));
      rect.setAttribute('width', '0.84');
      rect.setAttribute('height', h.toFixed(4));
      svg.appendChild(rect);
    }
    return svg;
  }

  function bigHistogram(container, raw, marks) {
    const hist = histogramOf(raw);
    if (!hist) {
      container.replaceChildren(el('p', 'muted', 'No latency histogram recorded.'));
      return;
    }
    const max = hist.counts.reduce((m, c) => Math.max(m, c), 0);
    const plot = el('div', 'hist-plot');
    const bars = el('div', 'hist-bars');
    for (let i = 0; i < hist.n; i += 1) {
      const c = hist.counts[i];
      const bar = el('div', 'hist-bar' + (c > 0 ? '' : ' is-empty'));
      const fill = bar.appendChild(el('span', 'hist-fill'));
      fill.style.height = (max > 0 && c > 0 ? Math.max(2, (c / max) * 100) : 0).toFixed(2) + '%';
      bar.title = formatDuration(hist.edges[i]) + ' – ' + formatDuration(hist.edges[i + 1]) + ': ' +
        formatCount(c) + (c === 1 ? ' request' : ' requests');
      bars.appendChild(bar);
    }
    plot.appendChild(bars);
    marks.forEach(function (m, idx) {
      const pos = histPos(hist, m.value);
      if (pos === null) return;
      const marker = el('div', 'hist-marker hist-marker-' + m.key);
      marker.style.left = (pos * 100).toFixed(2) + '%';
      const label = el('span', 'hist-marker-label', m.label + ' ' + formatDuration(m.value));
      label.style.top = idx * 16 + 'px';
      if (pos > 0.85) label.classList.add('is-left');
      marker.appendChild(label);
      plot.appendChild(marker);
    });
    const axis = el('div', 'hist-axis');
    const ticks = Math.min(hist.n, 6);
    for (let k = 0; k <= ticks; k += 1) {
      const i = Math.round((k * hist.n) / ticks);
      const tick = el('span', 'hist-tick', formatDuration(hist.edges[i]));
      tick.style.left = ((i / hist.n) * 100).toFixed(2) + '%';
      if (k === 0) tick.classList.add('is-first');
      if (k === ticks) tick.classList.add('is-last');
      axis.appendChild(tick);
    }
    container.replaceChildren(plot, axis);
  }

  /* ---- Routes ------------------------------------------------------- */

  let DATA = null;
  let ROUTES = [];
  const routeByKey = new Map();

  function normRoute(raw, index) {
    const method = str(raw.method);
    const path = str(raw.route);
    const key = raw.key !== undefined && raw.key !== null && raw.key !== ''
      ? String(raw.key) : [method, path].filter(Boolean).join(' ') || '(route ' + (index + 1) + ')';
    return { raw: raw, index: index, key: key, method: method, path: path || key, row: null };
  }

  const ROUTE_SORT = {
    route: null,
    captures: 'captures',
    error_rate: 'error_rate',
    p50: 'p50_s',
    p95: 'p95_s',
    p99: 'p99_s',
    cpu: 'cpu_mean_s',
    gc: 'gc_mean_s',
    memory: 'peak_memory_max',
  };

  function renderHeader() {
    const totals = isObj(DATA.totals) ? DATA.totals : {};
    if (DATA.title) {
      byId('report-title').textContent = String(DATA.title);
      document.title = String(DATA.title);
    }
    const parts = [];
    const captures = isNum(totals.captures) ? totals.captures : ROUTES.reduce((n, r) => n + num(r.raw.captures), 0);
    parts.push(formatCount(captures) + ' captures');
    parts.push(formatCount(isNum(totals.routes) ? totals.routes : ROUTES.length) + ' routes');
    if (totals.first || totals.last) parts.push(formatDate(totals.first) + ' → ' + formatDate(totals.last));
    if (num(totals.skipped) > 0) parts.push(formatCount(totals.skipped) + ' skipped');
    byId('report-subtitle').textContent = parts.join(' · ');
    if (DATA.generated_at) byId('report-generated').textContent = 'on ' + formatDate(DATA.generated_at);
  }

  function renderOverviewCards() {
    const totals = isObj(DATA.totals) ? DATA.totals : {};
    let errors = 0;
    let captured = 0;
    let worst = null;
    ROUTES.forEach(function (r) {
      errors += num(r.raw.errors);
      captured += num(r.raw.captures);
      if (isNum(r.raw.p95_s) && (!worst || r.raw.p95_s > worst.raw.p95_s)) worst = r;
    });
    const captures = isNum(totals.captures) ? totals.captures : captured;
    const frag = document.createDocumentFragment();
    frag.appendChild(card('captures', 'Captures', formatCount(captures), 'profiled requests'));
    frag.appendChild(card('routes', 'Routes', formatCount(isNum(totals.routes) ? totals.routes : ROUTES.length), ''));
    frag.appendChild(card('errors', 'Errors', formatCount(errors),
      captured > 0 ? formatPct(errors / captured) + ' of requests' : '', errors > 0 ? 'bad' : ''));
    if (worst) frag.appendChild(card('worst', 'Worst p95', formatDuration(worst.raw.p95_s), worst.key));
    const first = new Date(totals.first || '').getTime();
    const last = new Date(totals.last || '').getTime();
    if (isFinite(first) && isFinite(last)) {
      frag.appendChild(card('range', 'Time span', formatSpan((last - first) / 1000),
        formatDay(totals.first) + ' → ' + formatDay(totals.last)));
    }
    if (num(totals.skipped) > 0) {
      frag.appendChild(card('skipped', 'Skipped', formatCount(totals.skipped), 'captures that could not be read', 'warn'));
    }
    byId('overview-cards').replaceChildren(frag);
  }

  function routeRow(route) {
    const r = route.raw;
    const tr = el('tr', 'route-row');
    tr.dataset.key = route.key;
    tr.dataset.index = String(route.index);
    const nameCell = el('td', 'col-route');
    const open = el('button', 'route-open');
    open.type = 'button';
    open.title = 'Open ' + route.key;
    open.appendChild(routeName(route));
    nameCell.appendChild(open);
    tr.appendChild(nameCell);
    tr.appendChild(numCell(formatCount(r.captures)));
    const errCell = numCell('', num(r.errors) > 0 ? 'has-errors' : 'no-errors');
    errCell.appendChild(el('span', 'err-count', formatCount(num(r.errors))));
    if (isNum(r.error_rate) && num(r.errors) > 0) errCell.appendChild(el('span', 'err-rate', '(' + formatPct(r.error_rate) + ')'));
    tr.appendChild(errCell);
    tr.appendChild(numCell(formatDuration(r.p50_s)));
    tr.appendChild(numCell(formatDuration(r.p95_s), 'is-key'));
    tr.appendChild(numCell(formatDuration(r.p99_s)));
    tr.appendChild(numCell(formatDuration(r.cpu_mean_s), 'col-opt'));
    tr.appendChild(numCell(formatDuration(r.gc_mean_s), 'col-opt'));
    tr.appendChild(numCell(isNum(r.peak_memory_max) ? formatBytes(r.peak_memory_max) : '—', 'col-opt'));
    const histCell = el('td', 'col-hist');
    histCell.appendChild(sparkline(r.histogram, r.p50_s, r.p95_s));
    tr.appendChild(histCell);
    route.row = tr;
    return tr;
  }

  function setupRoutesTable() {
    const table = byId('routes-table');
    const tbody = table.tBodies[0];
    const filter = byId('routes-filter');
    const info = byId('routes-info');
    const state = { key: null, dir: 'desc' };
    const frag = document.createDocumentFragment();
    ROUTES.forEach((route) => frag.appendChild(routeRow(route)));
    if (!ROUTES.length) frag.appendChild(emptyRow(10, 'No captures in this report.'));
    tbody.replaceChildren(frag);

    function sortValue(route) {
      const field = ROUTE_SORT[state.key];
      const v = route.raw[field];
      return isNum(v) ? v : null;
    }

    function render() {
      let order = ROUTES.slice();
      if (state.key === 'route') {
        const sign = state.dir === 'asc' ? 1 : -1;
        order.sort((a, b) => a.key.localeCompare(b.key) * sign || a.index - b.index);
      } else if (state.key) {
        const sign = state.dir === 'asc' ? 1 : -1;
        order.sort(function (a, b) {
          const va = sortValue(a);
          const vb = sortValue(b);
          if (va === null || vb === null) {
            if (va === vb) return a.index - b.index;
            return va === null ? 1 : -1; // missing values always last
          }
          return (va - vb) * sign || a.index - b.index;
        });
      }
      const f = document.createDocumentFragment();
      order.forEach((route) => f.appendChild(route.row));
      tbody.appendChild(f);
      table.querySelectorAll('button.sort').forEach(function (btn) {
        const active = btn.dataset.key === state.key;
        btn.closest('th').setAttribute('aria-sort', active ? (state.dir === 'asc' ? 'ascending' : 'descending') : 'none');
      });
    }

    function applyFilter() {
      const q = filter.value.trim().toLowerCase();
      let shown = 0;
      ROUTES.forEach(function (route) {
        const hide = q !== '' && !route.key.toLowerCase().includes(q);
        route.row.hidden = hide;
        if (!hide) shown += 1;
      });
      info.textContent = q ? 'Showing ' + shown + ' of ' + ROUTES.length + ' routes.' : '';
    }

    table.tHead.addEventListener('click', function (ev) {
      const btn = ev.target.closest('button.sort');
      if (!btn || !(btn.dataset.key in ROUTE_SORT)) return;
      const key = btn.dataset.key;
      if (key === state.key) {
        state.dir = state.dir === 'asc' ? 'desc' : 'asc';
      } else {
        state.key = key;
        state.dir = key === 'route' ? 'asc' : 'desc';
      }
      render();
    });

    tbody.addEventListener('click', function (ev) {
      const row = ev.target.closest('tr.route-row');
      if (!row) return;
      if (!ev.target.closest('button') && selectingIn(row)) return;
      const route = ROUTES[Number(row.dataset.index)];
      if (route) openRoute(route, { scroll: true, hash: true });
    });

    filter.addEventListener('input', applyFilter);
  }

  /* ---- Diff (whole report) ----------------------------------------- */

  function diffKindOfRatio(ratio) {
    if (!isNum(ratio)) return 'same';
    if (ratio > SLOWER_RATIO) return 'slower';
    if (ratio < FASTER_RATIO) return 'faster';
    return 'same';
  }

  function deltaBar(delta, maxAbs) {
    const bar = el('span', 'delta-bar');
    bar.appendChild(el('span', 'delta-axis'));
    if (maxAbs > 0 && isNum(delta) && delta !== 0) {
      const fill = el('span', 'delta-fill ' + (delta > 0 ? 'is-pos' : 'is-neg'));
      const w = (clamp01(Math.abs(delta) / maxAbs) * 50).toFixed(2) + '%';
      fill.style.width = w;
      if (delta > 0) fill.style.left = '50%';
      else fill.style.right = '50%';
      bar.appendChild(fill);
    }
    return bar;
  }

  function functionDiffRows(tbody, list, emptyText) {
    const rows = arr(list).filter(isObj).slice(0, DIFF_FUNCTION_LIMIT);
    const maxAbs = rows.reduce((m, f) => Math.max(m, Math.abs(num(f.delta_s))), 0);
    const frag = document.createDocumentFragment();
    rows.forEach(function (f) {
      const frame = frameAtIndex(f.f);
      const before = num(f.base_self_s);
      const after = num(f.new_self_s);
      const delta = isNum(f.delta_s) ? f.delta_s : after - before;
      const kind = diffClass(after, before);
      const tr = el('tr', 'diff-function-row diff-' + kind + (frame.app ? '' : ' is-lib'));
      tr.dataset.name = frame.name;
      tr.dataset.delta = roundedDelta(delta);
      const nameCell = el('td', 'col-name');
      nameCell.appendChild(el('span', 'fn', frame.name));
      if (!frame.app) nameCell.appendChild(el('span', 'badge', 'lib'));
      tr.appendChild(nameCell);
      const loc = frameLocation(frame);
      const locCell = el('td', 'col-loc loc', loc);
      if (loc) locCell.title = loc;
      tr.appendChild(locCell);
      tr.appendChild(numCell(before > 0 ? formatDuration(before) : '—'));
      tr.appendChild(numCell(after > 0 ? formatDuration(after) : '—'));
      const change = numCell('', 'delta-cell');
      change.appendChild(el('span', 'delta-abs', formatSignedDuration(delta)));
      change.appendChild(el('span', 'delta-rel', formatChange(before, after)));
      tr.appendChild(change);
      const barCell = el('td', 'col-delta');
      barCell.appendChild(deltaBar(delta, maxAbs));
      tr.appendChild(barCell);
      frag.appendChild(tr);
    });
    if (!rows.length) frag.appendChild(emptyRow(6, emptyText));
    tbody.replaceChildren(frag);
    return arr(list).length;
  }

  function renderDiff() {
    const diff = DATA.diff;
    const section = byId('diff');
    if (!isObj(diff)) {
      section.hidden = true;
      return;
    }
    const labels = byId('diff-labels');
    labels.replaceChildren();
    labels.appendChild(el('span', 'diff-label-name', 'Baseline ' + (diff.baseline_label ? String(diff.baseline_label) : '(unnamed)')));
    labels.appendChild(el('span', 'diff-arrow', ' → '));
    labels.appendChild(el('span', 'diff-label-name', 'current ' + (diff.current_label ? String(diff.current_label) : '(this report)')));

    const frag = document.createDocumentFragment();
    const list = arr(diff.routes).filter(isObj);
    list.forEach(function (d) {
      const key = str(d.key);
      let ratio = d.ratio_p50;
      if (!isNum(ratio) && isNum(d.base_p50_s) && isNum(d.new_p50_s) && d.base_p50_s > 0) ratio = d.new_p50_s / d.base_p50_s;
      const isNew = !num(d.base_captures) && num(d.new_captures) > 0;
      const isGone = num(d.base_captures) > 0 && !num(d.new_captures);
      let kind = diffKindOfRatio(ratio);
      if (!isNum(ratio)) kind = isNew ? 'slower' : 'same';
      const tr = el('tr', 'diff-row diff-' + kind);
      tr.dataset.key = key;
      const target = routeByKey.get(key);
      const nameCell = el('td', 'col-route');
      const parts = key.indexOf(' ') > 0 ? { method: key.slice(0, key.indexOf(' ')), path: key.slice(key.indexOf(' ') + 1) } : { method: '', path: key };
      const label = routeName(target || { method: parts.method, path: parts.path, key: key });
      if (target) {
        const btn = el('button', 'route-open');
        btn.type = 'button';
        btn.title = 'Open ' + key;
        btn.appendChild(label);
        nameCell.appendChild(btn);
        tr.classList.add('is-link');
      } else {
        nameCell.appendChild(label);
      }
      tr.appendChild(nameCell);
      tr.appendChild(numCell(formatDuration(d.base_p50_s)));
      tr.appendChild(numCell(formatDuration(d.new_p50_s)));
      const change = el('td', 'col-change');
      const pill = el('span', 'ratio-pill ratio-' + kind);
      let text;
      if (isNum(ratio)) text = (kind === 'slower' ? '▲ ' : kind === 'faster' ? '▼ ' : '') + formatRatio(ratio);
      else text = isNew ? 'new route' : isGone ? 'no longer seen' : '—';
      pill.textContent = text;
      change.appendChild(pill);
      if (isNum(ratio)) change.appendChild(el('span', 'ratio-rel', formatChange(1, ratio)));
      tr.appendChild(change);
      tr.appendChild(numCell(formatDuration(d.base_p95_s), 'col-opt'));
      tr.appendChild(numCell(formatDuration(d.new_p95_s), 'col-opt'));
      tr.appendChild(numCell(formatCount(num(d.base_captures)) + ' → ' + formatCount(num(d.new_captures)), 'col-opt'));
      frag.appendChild(tr);
    });
    if (!list.length) frag.appendChild(emptyRow(7, 'No routes to compare.'));
    const routesBody = byId('diff-routes').tBodies[0];
    routesBody.replaceChildren(frag);
    routesBody.addEventListener('click', function (ev) {
      const row = ev.target.closest('tr.diff-row');
      if (!row) return;
      if (!ev.target.closest('button') && selectingIn(row)) return;
      const route = routeByKey.get(row.dataset.key);
      if (route) openRoute(route, { scroll: true, hash: true });
    });

    const total = functionDiffRows(byId('diff-functions').tBodies[0], diff.functions, 'No function changed.');
    byId('diff-functions-info').textContent = total > DIFF_FUNCTION_LIMIT
      ? '· top ' + DIFF_FUNCTION_LIMIT + ' of ' + formatCount(total) : '';
    section.hidden = false;
    byId('nav-diff-item').hidden = false;
  }

  /* ---- Drill-down --------------------------------------------------- */

  const view = {
    route: null,
    capture: null,
    routeFlame: null,
    routeTree: null,
    routeHotspots: null,
    diffFlame: null,
    captureFlame: null,
    captureTree: null,
    captureHotspots: null,
    lastHash: '',
  };

  function setHash(value) {
    const target = '#' + value;
    if (location.hash !== target) location.hash = target;
    view.lastHash = location.hash; // as the browser normalised it
  }

  function routeHash(route, capture) {
    let h = 'route=' + encodeURIComponent(route.key);
    if (capture) h += '&capture=' + encodeURIComponent(capture);
    return h;
  }

  function parseHash() {
    const raw = location.hash.replace(/^#/, '');
    if (raw.indexOf('route=') !== 0) return null;
    const out = {};
    for (const part of raw.split('&')) {
      const i = part.indexOf('=');
      if (i <= 0) continue;
      try {
        out[part.slice(0, i)] = decodeURIComponent(part.slice(i + 1));
      } catch (err) {
        return null;
      }
    }
    return typeof out.route === 'string' ? out : null;
  }

  function renderDrillHead(route) {
    const r = route.raw;
    const title = byId('drilldown-title');
    title.replaceChildren(routeName(route));
    const totals = isObj(DATA.totals) ? DATA.totals : {};
    const frag = document.createDocumentFragment();
    const share = num(totals.captures) > 0 ? formatPct(num(r.captures) / totals.captures) + ' of all captures' : '';
    frag.appendChild(card('captures', 'Captures', formatCount(r.captures), share));
    frag.appendChild(card('errors', 'Errors', formatCount(num(r.errors)),
      isNum(r.error_rate) ? formatPct(r.error_rate) + ' error rate' : '', num(r.errors) > 0 ? 'bad' : ''));
    frag.appendChild(card('p50', 'p50', formatDuration(r.p50_s), 'median latency'));
    frag.appendChild(card('p95', 'p95', formatDuration(r.p95_s), '95th percentile'));
    frag.appendChild(card('p99', 'p99', formatDuration(r.p99_s), 'max ' + formatDuration(r.max_s)));
    frag.appendChild(card('mean', 'Mean', formatDuration(r.mean_s), ''));
    frag.appendChild(card('cpu', 'CPU (mean)', formatDuration(r.cpu_mean_s),
      isNum(r.cpu_mean_s) && isNum(r.mean_s) && r.mean_s > 0 ? formatPct(r.cpu_mean_s / r.mean_s) + ' of wall time' : ''));
    frag.appendChild(card('gc', 'GC (mean)', formatDuration(r.gc_mean_s), 'garbage collection'));
    frag.appendChild(card('memory', 'Peak memory', isNum(r.peak_memory_max) ? formatBytes(r.peak_memory_max) : '—',
      isNum(r.peak_memory_max) ? 'highest of any capture' : 'not captured'));
    byId('drilldown-cards').replaceChildren(frag);
    bigHistogram(byId('route-histogram'), r.histogram, [
      { key: 'p50', label: 'p50', value: r.p50_s },
      { key: 'p95', label: 'p95', value: r.p95_s },
      { key: 'p99', label: 'p99', value: r.p99_s },
    ]);
  }

  function captureStatusClass(status) {
    if (!isNum(status)) return 'status-unknown';
    if (status >= 500) return 'status-bad';
    if (status >= 400) return 'status-warn';
    return 'status-ok';
  }

  function renderSlowest(route) {
    const list = arr(route.raw.slowest).filter(isObj);
    const frag = document.createDocumentFragment();
    list.forEach(function (c, index) {
      const id = str(c.id) || '#' + (index + 1);
      const tr = el('tr', 'capture-row');
      tr.dataset.id = id;
      tr.dataset.index = String(index);
      const idCell = el('td', 'col-id');
      idCell.appendChild(el('span', 'capture-id', id));
      tr.appendChild(idCell);
      tr.appendChild(numCell(formatDuration(c.wall_s), 'is-key'));
      tr.appendChild(numCell(formatDuration(c.cpu_s)));
      const st = numCell('');
      st.appendChild(el('span', 'status ' + captureStatusClass(c.status), isNum(c.status) ? String(c.status) : '—'));
      tr.appendChild(st);
      tr.appendChild(el('td', 'col-reason', str(c.reason) || '—'));
      tr.appendChild(el('td', 'col-opt muted', formatDate(c.started_at)));
      const openCell = el('td', 'col-open');
      const btn = el('button', 'btn btn-small capture-open', 'Open');
      btn.type = 'button';
      btn.setAttribute('aria-label', 'Open capture ' + id);
      openCell.appendChild(btn);
      tr.appendChild(openCell);
      frag.appendChild(tr);
    });
    if (!list.length) frag.appendChild(emptyRow(7, 'No individual captures kept for this route.'));
    byId('route-slowest').tBodies[0].replaceChildren(frag);
  }

  function renderRouteDiff(route) {
    const section = byId('route-diff');
    const diff = route.raw.diff;
    byId('jump-diff').hidden = !isObj(diff);
    if (!isObj(diff)) {
      section.hidden = true;
      view.diffFlame.setModel(null);
      return;
    }
    section.hidden = false;
    const r = route.raw;
    function changeCard(key, label, before, now) {
      const kind = isNum(before) && isNum(now) ? diffClass(now, before) : 'same';
      return card(key, label, formatDuration(before) + ' → ' + formatDuration(now),
        formatChange(before, now) + (kind === 'slower' ? ' slower' : kind === 'faster' ? ' faster' : ''),
        kind === 'slower' ? 'bad' : kind === 'faster' ? 'good' : '');
    }
    const frag = document.createDocumentFragment();
    frag.appendChild(changeCard('diff-p50', 'p50 before → now', diff.baseline_p50_s, r.p50_s));
    frag.appendChild(changeCard('diff-p95', 'p95 before → now', diff.baseline_p95_s, r.p95_s));
    frag.appendChild(changeCard('diff-mean', 'Mean before → now', diff.baseline_mean_s, r.mean_s));
    frag.appendChild(card('diff-captures', 'Captures', formatCount(num(diff.baseline_captures)) + ' → ' + formatCount(r.captures), 'baseline → now'));
    byId('route-diff-cards').replaceChildren(frag);
    const labels = isObj(DATA.diff) ? DATA.diff : {};
    byId('route-diff-info').textContent = (labels.baseline_label ? 'Baseline ' + String(labels.baseline_label) + ' · ' : '') +
      formatCount(num(diff.baseline_captures)) + ' baseline captures';
    const model = cachedModel('diff:' + route.index, () => buildModel(diff.tree, route.key, 1, true));
    view.diffFlame.setModel(model);
    functionDiffRows(byId('route-diff-functions').tBodies[0], diff.functions, 'No function changed for this route.');
  }

  function selectRow(route) {
    ROUTES.forEach(function (r) {
      if (!r.row) return;
      const on = r === route;
      r.row.classList.toggle('is-selected', on);
      if (on) r.row.setAttribute('aria-current', 'true');
      else r.row.removeAttribute('aria-current');
    });
  }

  function openRoute(route, opts) {
    const o = opts || {};
    const drill = byId('drilldown');
    const same = view.route === route;
    view.route = route;
    drill.hidden = false;
    drill.dataset.key = route.key;
    selectRow(route);
    if (!same || view.capture) {
      showRouteBody();
      if (!same) {
        runStep('route summary', () => renderDrillHead(route));
        const model = cachedModel('route:' + route.index, () => buildModel(route.raw.tree, route.key, route.raw.captures, false));
        runStep('flame graph', () => view.routeFlame.setModel(model));
        runStep('hot functions', () => view.routeHotspots.setData(route.raw.hotspots, route.raw.captures));
        runStep('baseline comparison', () => renderRouteDiff(route));
        runStep('call tree', () => view.routeTree.setModel(model));
        runStep('slowest captures', () => renderSlowest(route));
        runStep('memory sites', () => renderMemory(route));
      }
    }
    if (o.hash) setHash(routeHash(route, null));
    if (o.scroll) drill.scrollIntoView({ block: 'start' });
  }

  function showRouteBody() {
    view.capture = null;
    const cv = byId('capture-view');
    cv.hidden = true;
    delete cv.dataset.id;
    byId('route-body').hidden = false;
    byId('drilldown-kicker').textContent = 'Route';
    byId('drilldown').classList.remove('is-capture');
    view.routeFlame.refresh();
    view.diffFlame.refresh();
  }

  function closeDrilldown() {
    const drill = byId('drilldown');
    drill.hidden = true;
    delete drill.dataset.key;
    view.route = null;
    view.capture = null;
    selectRow(null);
    setHash('overview');
    const row = byId('overview');
    if (row) row.scrollIntoView({ block: 'start' });
  }

  function openCapture(route, index, opts) {
    const o = opts || {};
    const c = arr(route.raw.slowest)[index];
    if (!isObj(c)) return;
    const id = str(c.id) || '#' + (index + 1);
    view.capture = id;
    byId('route-body').hidden = true;
    const cv = byId('capture-view');
    cv.hidden = false;
    cv.dataset.id = id;
    byId('drilldown').classList.add('is-capture');
    byId('drilldown-kicker').textContent = 'Route › capture';
    byId('capture-title').replaceChildren(el('span', 'muted', 'Capture '), el('span', 'capture-id', id));
    const frag = document.createDocumentFragment();
    frag.appendChild(card('wall', 'Wall time', formatDuration(c.wall_s),
      isNum(route.raw.p50_s) && route.raw.p50_s > 0 && isNum(c.wall_s) ? threeDigits(c.wall_s / route.raw.p50_s) + '× the route median' : ''));
    frag.appendChild(card('cpu', 'CPU time', formatDuration(c.cpu_s),
      isNum(c.cpu_s) && isNum(c.wall_s) && c.wall_s > 0 ? formatPct(c.cpu_s / c.wall_s) + ' of wall time' : ''));
    frag.appendChild(card('status', 'Status', isNum(c.status) ? String(c.status) : '—', '',
      isNum(c.status) ? (c.status < 500 ? 'ok' : 'bad') : ''));
    frag.appendChild(card('reason', 'Kept because', str(c.reason) || '—', ''));
    frag.appendChild(card('started', 'Started', formatDate(c.started_at), ''));
    byId('capture-cards').replaceChildren(frag);
    const model = buildModel(c.tree, route.key, 1, false);
    runStep('capture flame graph', () => view.captureFlame.setModel(model));
    runStep('capture hot functions', () => view.captureHotspots.setData(c.hotspots, 0));
    runStep('capture call tree', () => view.captureTree.setModel(model));
    if (o.hash) setHash(routeHash(route, id));
    if (o.scroll !== false) byId('drilldown').scrollIntoView({ block: 'start' });
  }

  function closeCapture() {
    if (!view.route) return;
    showRouteBody();
    setHash(routeHash(view.route, null));
    byId('route-slowest-section').scrollIntoView({ block: 'start' });
  }

  function applyHash(scroll) {
    if (location.hash === view.lastHash && view.route) return;
    view.lastHash = location.hash;
    const h = parseHash();
    if (!h) return;
    const route = routeByKey.get(h.route);
    if (!route) return;
    openRoute(route, { scroll: scroll && !h.capture });
    if (h.capture) {
      const list = arr(route.raw.slowest);
      const index = list.findIndex((c, i) => isObj(c) && (str(c.id) || '#' + (i + 1)) === h.capture);
      if (index >= 0) openCapture(route, index, { scroll: scroll });
    } else if (view.capture) {
      showRouteBody();
    }
  }

  function setupDrilldown() {
    view.routeFlame = FlameView('route-flame', {});
    view.captureFlame = FlameView('capture-flame', {});
    view.diffFlame = FlameView('diff-flame', {
      color: (node) => node.color,
      tooltip: diffTooltip,
      decorate: function (div, node) {
        div.dataset.delta = roundedDelta(node.t - node.b);
        div.classList.add('diff-' + node.diff);
      },
    });
    view.routeTree = TreeView('route-tree');
    view.captureTree = TreeView('capture-tree');
    view.routeHotspots = HotspotTable('route-hotspots', 'route-hotspots-info', true);
    view.captureHotspots = HotspotTable('capture-hotspots', 'capture-hotspots-info', false);

    byId('drilldown-close').addEventListener('click', closeDrilldown);
    byId('capture-back').addEventListener('click', closeCapture);
    byId('route-slowest').tBodies[0].addEventListener('click', function (ev) {
      const row = ev.target.closest('tr.capture-row');
      if (!row || !view.route) return;
      if (!ev.target.closest('button') && selectingIn(row)) return;
      openCapture(view.route, Number(row.dataset.index), { hash: true });
    });
    document.querySelector('.drill-nav').addEventListener('click', function (ev) {
      const btn = ev.target.closest('button.jump');
      if (!btn) return;
      if (view.capture) showRouteBody();
      const target = byId(btn.dataset.target);
      if (target && !target.hidden) target.scrollIntoView({ block: 'start', behavior: 'smooth' });
    });
    document.addEventListener('keydown', function (ev) {
      if (ev.key !== 'Escape' || ev.target.closest('input, select, textarea')) return;
      flameViews.forEach((f) => f.escape());
    });
    window.addEventListener('hashchange', () => applyHash(true));
  }

  /* ---- Boot -------------------------------------------------------- */

  function loadData() {
    const script = byId('profiler-kit-data');
    const data = JSON.parse(script ? script.textContent : 'null');
    if (!isObj(data)) throw new Error('the embedded report data is empty');
    return data;
  }

  function init() {
    tooltip.box = byId('flame-tooltip');
    try {
      DATA = loadData();
    } catch (err) {
      showMessage('Could not read the report data: ' + (err && err.message ? err.message : err), 'error');
      return;
    }
    if (DATA.version !== 1) {
      showMessage('This report uses data format version ' + DATA.version + '; this viewer was written for version 1.');
    }
    if (DATA.kind !== undefined && DATA.kind !== 'aggregate') {
      showMessage('This data is of kind "' + String(DATA.kind) + '", not an aggregate report.');
    }
    FRAMES = arr(DATA.frames).map(normFrame);
    ROUTES = arr(DATA.routes).filter(isObj).map(normRoute);
    ROUTES.forEach(function (r) {
      if (!routeByKey.has(r.key)) routeByKey.set(r.key, r);
    });
    runStep('header', renderHeader);
    runStep('overview', renderOverviewCards);
    runStep('routes table', setupRoutesTable);
    runStep('comparison', renderDiff);
    runStep('drill-down', setupDrilldown);
    runStep('route from the address', () => applyHash(true));
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', init);
  else init();
})();
