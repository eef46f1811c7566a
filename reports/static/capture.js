/* profiler-kit report of one capture: the page's own file, joined last after
 * the shared components (see reports/render.py). It renders the embedded
 * capture data: summary cards, hot functions, call tree, flame graph, memory. */
(function (PK) {
  'use strict';

  const { byId, el, isNum, num, isObj, arr, card, formatDuration, formatBytes, formatCount, formatPct, formatDate } = PK;

  const HOTSPOT_LIMIT = 100;
  const SITE_LIMIT = 200;

  /* ---- Header and summary ------------------------------------------ */

  function renderHeader(data) {
    const cap = data.capture || {};
    PK.showTitle(data.title);
    const parts = [];
    if (cap.started_at) parts.push('Captured ' + formatDate(cap.started_at));
    if (cap.host) parts.push('on ' + cap.host);
    if (cap.python) parts.push('· Python ' + cap.python);
    byId('report-subtitle').textContent = parts.join(' ');
  }

  function renderSummary(data) {
    const cap = data.capture || {};
    const mem = data.memory;
    const frag = document.createDocumentFragment();
    const cpuRatio = isNum(cap.cpu_s) && isNum(cap.wall_s) && cap.wall_s > 0
      ? formatPct(cap.cpu_s / cap.wall_s) + ' of wall time' : '';
    const hostPid = [cap.host, isNum(cap.pid) ? 'pid ' + cap.pid : ''].filter(Boolean).join(' · ');
    const exit = cap.exit_code === null || cap.exit_code === undefined ? '—' : String(cap.exit_code);
    let exitTone = '';
    if (exit !== '—') exitTone = exit === '0' ? 'ok' : 'bad';

    const kind = [cap.kind, cap.reason].filter((v, i, all) => v && all.indexOf(v) === i).join(' · ');
    frag.appendChild(card('target', 'Target', cap.target || '—', kind));
    frag.appendChild(card('wall', 'Wall time', formatDuration(cap.wall_s), ''));
    frag.appendChild(card('cpu', 'CPU time', formatDuration(cap.cpu_s), cpuRatio));
    frag.appendChild(card('samples', 'Samples', formatCount(cap.samples),
      isNum(cap.interval_s) ? 'every ' + formatDuration(cap.interval_s) : ''));
    frag.appendChild(card('started', 'Started', formatDate(cap.started_at), cap.id ? 'capture ' + cap.id : ''));
    const req = data.request;
    if (req && typeof req === 'object') {
      const status = isNum(req.status) ? String(req.status) : '—';
      frag.appendChild(card('status', 'Status', status, [req.method, req.route || req.path]
        .filter(Boolean).join(' '), isNum(req.status) ? (req.status < 500 ? 'ok' : 'bad') : ''));
      frag.appendChild(card('gc', 'GC time', formatDuration(req.gc_s),
        isNum(req.gc_collections) ? formatCount(req.gc_collections) + ' collections' : ''));
      if (isNum(req.rss_delta)) {
        frag.appendChild(card('rss', 'RSS change', formatBytes(req.rss_delta), 'resident memory'));
      }
    } else {
      frag.appendChild(card('exit', 'Exit code', exit, '', exitTone));
    }
    frag.appendChild(card('host', 'Host / PID', hostPid || '—', cap.python ? 'Python ' + cap.python : ''));
    // The way from a capture to its distributed trace (and back, by searching for the id).
    if (cap.trace_id) {
      frag.appendChild(card('trace', 'Trace ID', String(cap.trace_id),
        cap.span_id ? 'span ' + String(cap.span_id) : ''));
    }
    if (mem && typeof mem === 'object') {
      frag.appendChild(card('peak', 'Peak memory', formatBytes(mem.peak_bytes),
        isNum(mem.total_bytes) ? formatBytes(mem.total_bytes) + ' allocated in total' : ''));
    }
    byId('summary-cards').replaceChildren(frag);
  }

  /* ---- Memory ------------------------------------------------------ */

  function fillSites(table, sites, emptyText) {
    const shown = arr(sites).filter(isObj).slice(0, SITE_LIMIT);
    const frag = PK.siteRows(shown, false);
    if (!shown.length) frag.appendChild(PK.emptyRow(3, emptyText));
    table.tBodies[0].replaceChildren(frag);
  }

  function setupMemory(mem) {
    const section = byId('memory');
    const navItem = byId('nav-memory-item');
    if (!mem || typeof mem !== 'object') {
      section.remove();
      navItem.hidden = true;
      byId('nav-memory').hidden = true;
      return;
    }
    const cards = document.createDocumentFragment();
    cards.appendChild(card('peak', 'Peak', formatBytes(mem.peak_bytes), 'highest traced usage'));
    cards.appendChild(card('total', 'Total allocated', formatBytes(mem.total_bytes), 'over the whole run'));
    cards.appendChild(card('allocations', 'Allocations', formatCount(mem.allocations), ''));
    cards.appendChild(card('leaked', 'Still allocated at exit', formatBytes(mem.leaked_bytes),
      isNum(mem.leaked_allocations) ? formatCount(mem.leaked_allocations) + ' allocations' : '',
      num(mem.leaked_bytes) > 0 ? 'warn' : ''));
    byId('memory-cards').replaceChildren(cards);

    const notes = document.createDocumentFragment();
    arr(mem.notes).forEach(function (text) {
      if (text === null || text === undefined || text === '') return;
      const note = el('div', 'note', String(text));
      note.setAttribute('role', 'note');
      notes.appendChild(note);
    });
    byId('memory-notes').replaceChildren(notes);

    fillSites(byId('memory-sites'), mem.top_sites, 'No allocation sites were recorded.');
    fillSites(byId('memory-leaks'), mem.leaks, 'Nothing was still allocated at exit.');
    section.hidden = false;
  }

  /* ---- Boot -------------------------------------------------------- */

  // A click on a call-tree row does not toggle it while any text on the page is selected.
  function anySelection() {
    return String(window.getSelection()) !== '';
  }

  function renderReport(data) {
    const cap = isObj(data.capture) ? data.capture : {};
    const model = PK.buildModel(data.tree, cap.target || '(all samples)', PK.frameTable(data.frames));
    const step = (name, fn) => PK.runStep(name + ' section', fn);
    step('header', () => renderHeader(data));
    step('summary', () => renderSummary(data));
    step('memory', () => setupMemory(data.memory));
    step('hotspots', () => PK.HotspotTable('hotspots-table', {
      info: 'hotspots-info', allLabel: ' functions', limit: HOTSPOT_LIMIT, frameAt: model.frameAt,
    }).setData(data.hotspots, 0));
    step('call tree', () => PK.CallTree('tree-container', { controls: 'tree', selecting: anySelection }).setModel(model));
    step('flame graph', () => PK.FlameGraph('flame', {
      model: model,
      tooltip: (node, m) => PK.timeTooltip(node, m, true),
    }));
  }

  PK.boot('profile data', renderReport);
})(window.ProfilerKit);
