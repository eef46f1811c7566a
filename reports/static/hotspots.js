/* profiler-kit report front end: the hot-functions table, sortable by any
 * column, with self and total time and their shares of the whole. */
(function (PK) {
  'use strict';

  const { byId, el, isNum, num, isObj, arr, formatDuration, formatCount, formatPct, frameLocation } = PK;
  const { shareBar, emptyRow, numCell, markSorted, onSortClick } = PK;

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

  PK.provide({ HotspotTable: HotspotTable });
})(window.ProfilerKit);
