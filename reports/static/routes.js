/* profiler-kit report front end: the aggregate report's routes: a route's
 * identity and name, and the overview table of all routes (sortable, filterable,
 * a latency sparkline per row; a click opens the route). */
(function (PK) {
  'use strict';

  const { byId, el, isNum, num, str, selectingIn, formatDuration, formatBytes, formatCount, formatPct } = PK;
  const { emptyRow, numCell, markSorted, onSortClick, sparkline } = PK;

  const METHODS = ['get', 'post', 'put', 'patch', 'delete', 'head', 'options'];

  function methodClass(method) {
    const m = str(method).toLowerCase();
    return METHODS.indexOf(m) >= 0 ? 'method-' + m : 'method-other';
  }

  // span.route-name > span.method + span.route-path, all text.
  function routeName(route) {
    const wrap = el('span', 'route-name');
    if (route.method) wrap.appendChild(el('span', 'method ' + methodClass(route.method), route.method));
    wrap.appendChild(el('span', 'route-path', route.path || route.key || '(unnamed route)'));
    return wrap;
  }

  // A route of the data and the key naming it (in the address, in the comparison with a baseline).
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

  // Fills #routes-table with every route; onOpen(route) when a row is clicked.
  function setupRoutesTable(routes, onOpen) {
    const table = byId('routes-table');
    const tbody = table.tBodies[0];
    const filter = byId('routes-filter');
    const info = byId('routes-info');
    const state = { key: null, dir: 'desc' };
    const frag = document.createDocumentFragment();
    routes.forEach((route) => frag.appendChild(routeRow(route)));
    if (!routes.length) frag.appendChild(emptyRow(10, 'No captures in this report.'));
    tbody.replaceChildren(frag);

    function sortValue(route) {
      const field = ROUTE_SORT[state.key];
      const v = route.raw[field];
      return isNum(v) ? v : null;
    }

    function render() {
      let order = routes.slice();
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
      markSorted(table, state);
    }

    function applyFilter() {
      const q = filter.value.trim().toLowerCase();
      let shown = 0;
      routes.forEach(function (route) {
        const hide = q !== '' && !route.key.toLowerCase().includes(q);
        route.row.hidden = hide;
        if (!hide) shown += 1;
      });
      info.textContent = q ? 'Showing ' + shown + ' of ' + routes.length + ' routes.' : '';
    }

    onSortClick(table, state, function (key) {
      if (!(key in ROUTE_SORT)) return null;
      return key === 'route' ? 'asc' : 'desc';
    }, render);

    tbody.addEventListener('click', function (ev) {
      const row = ev.target.closest('tr.route-row');
      if (!row) return;
      if (!ev.target.closest('button') && selectingIn(row)) return;
      const route = routes[Number(row.dataset.index)];
      if (route) onOpen(route);
    });

    filter.addEventListener('input', applyFilter);
  }

  PK.provide({ routeName: routeName, normRoute: normRoute, setupRoutesTable: setupRoutesTable });
})(window.ProfilerKit);
