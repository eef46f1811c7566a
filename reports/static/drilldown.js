/* profiler-kit report front end: the aggregate report's drill-down: one route
 * (summary, latency histogram, flame graph, hot functions, comparison with the
 * baseline, call tree, slowest captures, memory sites) or one of its kept
 * captures. The address (#route=…&capture=…) names what is open, so a link or
 * the back button reopens it. Heavy DOM is built only for what is open. */
(function (PK) {
  'use strict';

  const { byId, el, isNum, num, isObj, arr, str, selectingIn, runStep, card, emptyRow, numCell } = PK;
  const { threeDigits, formatDuration, formatBytes, formatCount, formatPct, formatChange, formatDate } = PK;
  const { siteRows, bigHistogram, routeName, diffClass, addBaseline, diffTooltip, roundedDelta, functionDiffRows } = PK;
  const { buildModel, FlameGraph, CallTree, HotspotTable } = PK;

  const HOTSPOT_LIMIT = 200;
  const SITE_LIMIT = 100;
  const MODEL_CACHE_SIZE = 12;

  // The report: {data, frameAt, routes, routeByKey}, set by setupDrilldown.
  let report = null;

  // What is open and the components that draw it (a page has one drill-down).
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

  // {route, capture?} from the address, or null when it names no route.
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

  // requests: how many requests the times are summed over (1 for per-request means).
  function routeModel(rawTree, rootLabel, requests, withBaseline) {
    return buildModel(rawTree, rootLabel || '(all requests)', report.frameAt, {
      requests: requests,
      extend: withBaseline ? addBaseline : null,
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
    tbody.replaceChildren(siteRows(sites, true));
  }

  function renderDrillHead(route) {
    const r = route.raw;
    const title = byId('drilldown-title');
    title.replaceChildren(routeName(route));
    const totals = isObj(report.data.totals) ? report.data.totals : {};
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
    const labels = isObj(report.data.diff) ? report.data.diff : {};
    byId('route-diff-info').textContent = (labels.baseline_label ? 'Baseline ' + String(labels.baseline_label) + ' · ' : '') +
      formatCount(num(diff.baseline_captures)) + ' baseline captures';
    const model = cachedModel('diff:' + route.index, () => routeModel(diff.tree, route.key, 1, true));
    view.diffFlame.setModel(model);
    functionDiffRows(byId('route-diff-functions').tBodies[0], diff.functions, 'No function changed for this route.', report.frameAt);
  }

  function selectRow(route) {
    report.routes.forEach(function (r) {
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
        const model = cachedModel('route:' + route.index, () => routeModel(route.raw.tree, route.key, route.raw.captures, false));
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
    const model = routeModel(c.tree, route.key, 1, false);
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
    const route = report.routeByKey.get(h.route);
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

  // r: {data, frameAt, routes, routeByKey}, the report as the page's file read it.
  function setupDrilldown(r) {
    report = r;
    view.routeFlame = FlameGraph('route-flame');
    view.captureFlame = FlameGraph('capture-flame');
    view.diffFlame = FlameGraph('diff-flame', {
      color: (node) => node.color,
      tooltip: diffTooltip,
      decorate: function (div, node) {
        div.dataset.delta = roundedDelta(node.t - node.b);
        div.classList.add('diff-' + node.diff);
      },
    });
    view.routeTree = CallTree('route-tree');
    view.captureTree = CallTree('capture-tree');
    const hotspots = { allLabel: ' functions by self time', limit: HOTSPOT_LIMIT, frameAt: report.frameAt };
    view.routeHotspots = HotspotTable('route-hotspots',
      Object.assign({ info: 'route-hotspots-info', withCaptures: true }, hotspots));
    view.captureHotspots = HotspotTable('capture-hotspots', Object.assign({ info: 'capture-hotspots-info' }, hotspots));

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

  PK.provide({ setupDrilldown: setupDrilldown, openRoute: openRoute, applyHash: applyHash });
})(window.ProfilerKit);
