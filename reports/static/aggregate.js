/* profiler-kit aggregate report, many captures grouped by route: the page's own
 * file, joined last after the components it uses (see reports/render.py). It
 * reads the embedded data, shows the header and overview, and wires the routes
 * table and the comparison to the drill-down. */
(function (PK) {
  'use strict';

  const { byId, isNum, num, isObj, arr, runStep, card } = PK;
  const { formatDuration, formatCount, formatPct, formatDate, formatSpan, formatDay } = PK;

  function renderHeader(report) {
    const data = report.data;
    const routes = report.routes;
    const totals = isObj(data.totals) ? data.totals : {};
    PK.showTitle(data.title);
    const parts = [];
    const captures = isNum(totals.captures) ? totals.captures : routes.reduce((n, r) => n + num(r.raw.captures), 0);
    parts.push(PK.counted(captures, 'capture'));
    parts.push(PK.counted(isNum(totals.routes) ? totals.routes : routes.length, 'route'));
    if (totals.first || totals.last) parts.push(formatDate(totals.first) + ' → ' + formatDate(totals.last));
    if (num(totals.skipped) > 0) parts.push(formatCount(totals.skipped) + ' skipped');
    byId('report-subtitle').textContent = parts.join(' · ');
    if (data.generated_at) byId('report-generated').textContent = 'on ' + formatDate(data.generated_at);
  }

  function renderOverviewCards(report) {
    const routes = report.routes;
    const totals = isObj(report.data.totals) ? report.data.totals : {};
    let errors = 0;
    let captured = 0;
    let worst = null;
    routes.forEach(function (r) {
      errors += num(r.raw.errors);
      captured += num(r.raw.captures);
      if (isNum(r.raw.p95_s) && (!worst || r.raw.p95_s > worst.raw.p95_s)) worst = r;
    });
    const captures = isNum(totals.captures) ? totals.captures : captured;
    const frag = document.createDocumentFragment();
    frag.appendChild(card('captures', 'Captures', formatCount(captures), 'profiled requests'));
    frag.appendChild(card('routes', 'Routes', formatCount(isNum(totals.routes) ? totals.routes : routes.length), ''));
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

  // The report every component is given: the data, its frame table, its routes in data
  // order and by key (the first route of a key wins, as links can only name one).
  function readReport(data) {
    const routes = arr(data.routes).filter(isObj).map(PK.normRoute);
    const routeByKey = new Map();
    routes.forEach(function (r) {
      if (!routeByKey.has(r.key)) routeByKey.set(r.key, r);
    });
    return { data: data, frameAt: PK.frameTable(data.frames), routes: routes, routeByKey: routeByKey };
  }

  function renderReport(data) {
    if (data.kind !== undefined && data.kind !== 'aggregate') {
      PK.showMessage('This data is of kind "' + String(data.kind) + '", not an aggregate report.');
    }
    const report = readReport(data);
    const open = (route) => PK.openRoute(route, { scroll: true, hash: true });
    runStep('header', () => renderHeader(report));
    runStep('overview', () => renderOverviewCards(report));
    runStep('routes table', () => PK.setupRoutesTable(report.routes, open));
    runStep('comparison', () => PK.renderComparison(report, open));
    runStep('drill-down', () => PK.setupDrilldown(report));
    runStep('route from the address', () => PK.applyHash(true));
  }

  PK.boot('report data', renderReport);
})(window.ProfilerKit);
