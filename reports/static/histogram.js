/* profiler-kit report front end: latency histograms, as a sparkline in a table
 * row (SVG) and as a large chart with percentile markers (divs). Buckets are
 * log-spaced, so a value is placed within its bucket on a log scale. */
(function (PK) {
  'use strict';

  const { el, isNum, num, isObj, arr, clamp01, formatDuration, formatCount } = PK;

  function svgEl(tag, className) {
    const node = document.createElementNS('http://www.w3.org/2000/svg', tag);
    if (className) node.setAttribute('class', className);
    return node;
  }

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

  PK.provide({ sparkline: sparkline, bigHistogram: bigHistogram });
})(window.ProfilerKit);
