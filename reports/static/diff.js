/* profiler-kit report front end: the comparison with a baseline. Each node of a
 * differential tree carries its baseline time (b) beside its time (t); the
 * verdict (slower, faster, same) and its colour, the differential flame graph's
 * tooltip, the changed-functions tables and the report-wide comparison section. */
(function (PK) {
  'use strict';

  const { byId, el, isNum, num, isObj, arr, str, clamp01, selectingIn } = PK;
  const { formatDuration, formatSignedDuration, formatCount, formatChange, formatRatio, frameLocation } = PK;
  const { emptyRow, numCell, tooltipHead, routeName } = PK;

  const DIFF_FUNCTION_LIMIT = 100;
  // Differential colouring: slower when t > b * 1.1 (and by more than a tiny floor), faster when t < b * 0.9.
  const SLOWER_RATIO = 1.1;
  const FASTER_RATIO = 0.9;
  const DIFF_FLOOR_S = 1e-6;

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
  function addBaseline(node, raw) {
    node.b = Math.max(0, num(raw.b));
    node.diff = diffClass(node.t, node.b);
    node.color = diffColor(node.diff, node.t, node.b);
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

  // For data-delta: 12 significant digits, so float noise (0.30000000000000004) does not show.
  function roundedDelta(v) {
    return String(Number(v.toPrecision(12)));
  }

  // The verdict on a route from its ratio of medians (now / baseline).
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

  // Fills a changed-functions table (the largest changes first, as the data orders them)
  // and returns how many functions changed in all.
  function functionDiffRows(tbody, list, emptyText, frameAt) {
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

  // The report-wide comparison (#diff), if the data has one; onOpen(route) when a row is clicked.
  function renderComparison(report, onOpen) {
    const diff = report.data.diff;
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
      const target = report.routeByKey.get(key);
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
      const route = report.routeByKey.get(row.dataset.key);
      if (route) onOpen(route);
    });

    const total = functionDiffRows(byId('diff-functions').tBodies[0], diff.functions, 'No function changed.', report.frameAt);
    byId('diff-functions-info').textContent = total > DIFF_FUNCTION_LIMIT
      ? '· top ' + DIFF_FUNCTION_LIMIT + ' of ' + formatCount(total) : '';
    section.hidden = false;
    byId('nav-diff-item').hidden = false;
  }

  PK.provide({
    diffClass: diffClass, addBaseline: addBaseline, diffTooltip: diffTooltip, roundedDelta: roundedDelta,
    functionDiffRows: functionDiffRows, renderComparison: renderComparison,
  });
})(window.ProfilerKit);
