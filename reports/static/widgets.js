/* profiler-kit report front end: small DOM pieces both reports build with:
 * bars, summary cards, table cells and sortable table headers. */
(function (PK) {
  'use strict';

  const { el, clamp01, formatPct } = PK;

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

  PK.provide({
    meter: meter, shareBar: shareBar, card: card, emptyRow: emptyRow, numCell: numCell,
    markSorted: markSorted, onSortClick: onSortClick,
  });
})(window.ProfilerKit);
