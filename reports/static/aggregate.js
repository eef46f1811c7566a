/* profiler-kit aggregate report: many captures grouped by route.
 * Uses the shared components of common.js (window.ProfilerKit), inlined ahead
 * of this file. Vanilla JS, no dependencies, no network. Every data string is
 * inserted as text (textContent / data-* attributes / title), never parsed as HTML.
 * Heavy DOM (flame graphs, trees, tables of one route) is built lazily, only
 * for the route or capture that is open. */
(function () {
  'use strict';

  const PK = window.ProfilerKit;
  const {
    byId, el, isNum, num, isObj, arr, str, clamp01, selectingIn, runStep, card, emptyRow, numCell,
    threeDigits, formatDuration, formatBytes, formatCount, formatPct, formatDate, frameLocation,
  } = PK;

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

  function svgEl(tag, className) {
    const node = document.createElementNS('http://www.w3.org/2000/svg', tag);
    if (className) node.setAttribute('class', className);
    return node;
  }

  function formatSignedDuration(s) {
    if (!isNum(s)) return '—';
    return (s > 0 ? '+' : '') + formatDuration(s);
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

  function formatDay(iso) {
    const d = new Date(iso || '');
    return isNaN(d.getTime()) ? '—' : d.toISOString().slice(0, 10);
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

  let frameAt = PK.frameTable([]);

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

  // The baseline time (b) of a differential tree's node, its verdict and its colour.
  function addBase(node, raw) {
    node.b = Math.max(0, num(raw.b));
    node.diff = diffClass(node.t, node.b);
    node.color = diffColor(node.diff, node.t, node.b);
  }

  // requests: how many requests the times are summed over (1 for per-request means).
  function buildModel(rawTree, rootLabel, requests, withBase) {
    return PK.buildModel(rawTree, rootLabel || '(all requests)', (f) => frameAt(f), {
      requests: requests,
      extend: withBase ? addBase : null,
    });
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

  /* ---- Differential flame graph ----------------------------------- */

  function diffTooltip(node) {
    const frag = PK.tooltipHead(node);
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

  /* ---- Memory sites ------------------------------------------------- */

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
    tbody.replaceChildren(PK.siteRows(sites, true));
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
    PK.showTitle(DATA.title);
    const parts = [];
    const captures = isNum(totals.captures) ? totals.captures : ROUTES.reduce((n, r) => n + num(r.raw.captures), 0);
    parts.push(PK.counted(captures, 'capture'));
    parts.push(PK.counted(isNum(totals.routes) ? totals.routes : ROUTES.length, 'route'));
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
      PK.markSorted(table, state);
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

    PK.onSortClick(table, state, function (key) {
      if (!(key in ROUTE_SORT)) return null;
      return key === 'route' ? 'asc' : 'desc';
    }, render);

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
      const frame = frameAt(f.f);
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
    view.routeFlame = PK.FlameGraph('route-flame');
    view.captureFlame = PK.FlameGraph('capture-flame');
    view.diffFlame = PK.FlameGraph('diff-flame', {
      color: (node) => node.color,
      tooltip: diffTooltip,
      decorate: function (div, node) {
        div.dataset.delta = roundedDelta(node.t - node.b);
        div.classList.add('diff-' + node.diff);
      },
    });
    view.routeTree = PK.CallTree('route-tree');
    view.captureTree = PK.CallTree('capture-tree');
    const hotspots = { allLabel: ' functions by self time', limit: HOTSPOT_LIMIT, frameAt: (f) => frameAt(f) };
    view.routeHotspots = PK.HotspotTable('route-hotspots',
      Object.assign({ info: 'route-hotspots-info', withCaptures: true }, hotspots));
    view.captureHotspots = PK.HotspotTable('capture-hotspots', Object.assign({ info: 'capture-hotspots-info' }, hotspots));

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
    window.addEventListener('hashchange', () => applyHash(true));
  }

  /* ---- Boot -------------------------------------------------------- */

  function renderReport(data) {
    DATA = data;
    if (DATA.kind !== undefined && DATA.kind !== 'aggregate') {
      PK.showMessage('This data is of kind "' + String(DATA.kind) + '", not an aggregate report.');
    }
    frameAt = PK.frameTable(DATA.frames);
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

  PK.boot('report data', renderReport);
})();
