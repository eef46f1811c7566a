/* profiler-kit report front end: rows of a memory allocation-sites table,
 * each site's full stack folded under its top frame. */
(function (PK) {
  'use strict';

  const { el, isNum, num, arr, formatBytes, formatCount, normFrame, frameLocation, meter, numCell } = PK;

  function frameLine(tag, frame) {
    const item = el(tag, 'frame-line');
    item.appendChild(el('span', 'fn', frame.name));
    const loc = frameLocation(frame);
    if (loc) item.appendChild(el('span', 'loc', loc));
    return item;
  }

  function siteRow(site, maxBytes, withCaptures) {
    const frames = arr(site.stack).map(normFrame);
    const top = frames[0] || normFrame({ name: '(unknown)' });
    const tr = el('tr', 'site-row');
    tr.dataset.name = top.name;
    const bytesCell = el('td', 'col-num');
    bytesCell.appendChild(el('span', 'site-bytes', formatBytes(site.bytes)));
    bytesCell.appendChild(meter('share-bar', maxBytes > 0 ? num(site.bytes) / maxBytes : 0));
    tr.appendChild(bytesCell);
    tr.appendChild(numCell(formatCount(site.count)));
    if (withCaptures) tr.appendChild(numCell(isNum(site.captures) ? 'in ' + formatCount(site.captures) : '—'));
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

  // Rows of a sites table (bytes with a bar relative to the largest, count, [captures,] stack).
  function siteRows(sites, withCaptures) {
    const maxBytes = sites.reduce((m, s) => Math.max(m, num(s.bytes)), 0);
    const frag = document.createDocumentFragment();
    sites.forEach((s) => frag.appendChild(siteRow(s, maxBytes, withCaptures)));
    return frag;
  }

  PK.provide({ siteRows: siteRows });
})(window.ProfilerKit);
