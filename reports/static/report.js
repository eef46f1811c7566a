/* profiler-kit HTML report: renders the embedded capture data.
 * Vanilla JS, no dependencies, no network. All data strings are inserted
 * as text (textContent / data-* attributes), never parsed as HTML. */
(function () {
  'use strict';

  const ROW_HEIGHT = 18;
  const MIN_FRAME_PX = 0.3;
  const LABEL_MIN_PX = 24;
  const TREE_CHUNK = 100;
  const HOT_THRESHOLD = 0.25;
  const HOT_MAX_DEPTH = 40;
  const HOTSPOT_LIMIT = 100;
  const SITE_LIMIT = 200;

  /* ---- Small helpers ----------------------------------------------- */

  function byId(id) {
    return document.getElementById(id);
  }

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null && text !== '') node.textContent = String(text);
    return node;
  }

  function isNum(v) {
    return typeof v === 'number' && isFinite(v);
  }

  function num(v) {
    return isNum(v) ? v : 0;
  }

  function debounce(fn, ms) {
    let timer = 0;
    return function () {
      clearTimeout(timer);
      timer = setTimeout(fn, ms);
    };
  }

  function threeDigits(v) {
    const a = Math.abs(v);
    if (a >= 100) return v.toFixed(0);
    if (a >= 10) return v.toFixed(1);
    return v.toFixed(2);
  }

  function formatDuration(s) {
    if (!isNum(s)) return '—';
    const a = Math.abs(s);
    if (a === 0) return '0 s';
    if (a < 9.995e-4) return threeDigits(s * 1e6) + ' µs';
    if (a < 0.9995) return threeDigits(s * 1e3) + ' ms';
    if (a < 59.5) return threeDigits(s) + ' s';
    const total = Math.round(a);
    const sign = s < 0 ? '-' : '';
    if (total < 3600) return sign + Math.floor(total / 60) + ' min ' + (total % 60) + ' s';
    return sign + Math.floor(total / 3600) + ' h ' + Math.floor((total % 3600) / 60) + ' min';
  }

  const BYTE_UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];

  function formatBytes(n) {
    if (!isNum(n)) return '—';
    let v = n;
    let i = 0;
    while (Math.abs(v) >= 1024 && i < BYTE_UNITS.length - 1) {
      v /= 1024;
      i += 1;
    }
    return (i === 0 ? String(Math.round(v)) : threeDigits(v)) + ' ' + BYTE_UNITS[i];
  }

  function formatCount(n) {
    return isNum(n) ? Math.round(n).toLocaleString('en-US') : '—';
  }

  function formatPct(frac) {
    if (!isNum(frac)) return '—';
    const p = frac * 100;
    if (p > 0 && p < 0.1) return '<0.1%';
    return p.toFixed(1) + '%';
  }

  function formatDate(iso) {
    if (!iso) return '—';
    const d = new Date(iso);
    if (isNaN(d.getTime())) return String(iso);
    return d.toISOString().slice(0, 19).replace('T', ' ') + ' UTC';
  }

  function frameLocation(frame) {
    if (!frame || !frame.file) return '';
    return frame.line > 0 ? frame.file + ':' + frame.line : frame.file;
  }

  function clamp01(v) {
    return Math.max(0, Math.min(1, num(v)));
  }

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

  function showMessage(text, kind) {
    const box = byId('report-messages');
    if (!box) return;
    const note = el('div', 'note' + (kind ? ' note-' + kind : ''), text);
    note.setAttribute('role', kind === 'error' ? 'alert' : 'note');
    box.appendChild(note);
  }

  /* ---- Data model -------------------------------------------------- */

  function normFrame(raw) {
    const r = raw && typeof raw === 'object' ? raw : {};
    return {
      name: r.name === undefined || r.name === null || r.name === '' ? '(unknown)' : String(r.name),
      file: r.file ? String(r.file) : '',
      line: isNum(r.line) && r.line > 0 ? Math.floor(r.line) : 0,
      app: r.app === true,
      root: false,
      color: '',
    };
  }

  function makeNode(raw, parent, frameAt) {
    return {
      frame: frameAt(isNum(raw.f) ? raw.f : -1),
      t: Math.max(0, num(raw.t)),
      s: Math.max(0, num(raw.s)),
      children: [],
      parent: parent,
      depth: parent ? parent.depth + 1 : 0,
    };
  }

  function buildModel(data) {
    const frames = (Array.isArray(data.frames) ? data.frames : []).map(normFrame);
    const cap = data.capture && typeof data.capture === 'object' ? data.capture : {};
    const rootFrame = normFrame({ name: cap.target || '(all samples)' });
    rootFrame.root = true;
    const unknown = normFrame({ name: '(unknown frame)' });
    const frameAt = (f) => (f === -1 ? rootFrame : frames[f] || unknown);

    const rawRoot = data.tree && typeof data.tree === 'object' ? data.tree : { f: -1, t: 0 };
    const root = makeNode(rawRoot, null, frameAt);
    const stack = [[rawRoot, root]];
    let count = 1;
    while (stack.length) {
      const pair = stack.pop();
      const kids = Array.isArray(pair[0].c) ? pair[0].c : [];
      for (const raw of kids) {
        if (!raw || typeof raw !== 'object') continue;
        const child = makeNode(raw, pair[1], frameAt);
        pair[1].children.push(child);
        stack.push([raw, child]);
        count += 1;
      }
      pair[1].children.sort((a, b) => b.t - a.t);
    }
    return { frameAt: frameAt, root: root, total: root.t, nodeCount: count };
  }

  function shareOf(model, t) {
    return model.total > 0 ? t / model.total : 0;
  }

  /* ---- Header and summary ------------------------------------------ */

  function renderHeader(data) {
    const cap = data.capture || {};
    if (data.title) {
      byId('report-title').textContent = String(data.title);
      document.title = String(data.title);
    }
    const parts = [];
    if (cap.started_at) parts.push('Captured ' + formatDate(cap.started_at));
    if (cap.host) parts.push('on ' + cap.host);
    if (cap.python) parts.push('· Python ' + cap.python);
    byId('report-subtitle').textContent = parts.join(' ');
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

    const kind = [cap.kind, cap.reason].filter((v, i, arr) => v && arr.indexOf(v) === i).join(' · ');
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
    if (mem && typeof mem === 'object') {
      frag.appendChild(card('peak', 'Peak memory', formatBytes(mem.peak_bytes),
        isNum(mem.total_bytes) ? formatBytes(mem.total_bytes) + ' allocated in total' : ''));
    }
    byId('summary-cards').replaceChildren(frag);
  }

  /* ---- Hotspots table ---------------------------------------------- */

  function compareHotspots(key, dir) {
    const sign = dir === 'asc' ? 1 : -1;
    return function (a, b) {
      let d;
      if (key === 'name' || key === 'location') d = a[key].localeCompare(b[key]);
      else d = a[key] - b[key];
      if (d !== 0) return d * sign;
      return a.index - b.index;
    };
  }

  function hotspotRow(h) {
    const tr = el('tr', 'hotspot-row' + (h.frame.app ? '' : ' is-lib'));
    tr.dataset.name = h.name;
    const nameCell = el('td', 'col-name');
    nameCell.appendChild(el('span', 'fn', h.name));
    if (!h.frame.app) nameCell.appendChild(el('span', 'badge', 'lib'));
    tr.appendChild(nameCell);
    const loc = el('td', 'col-loc loc', h.location);
    if (h.location) loc.title = h.location;
    tr.appendChild(loc);
    tr.appendChild(el('td', 'col-num', formatDuration(h.self)));
    tr.appendChild(el('td', 'col-num', formatDuration(h.total)));
    const selfCell = el('td', 'col-share');
    selfCell.appendChild(shareBar(h.selfShare, 'share-self'));
    tr.appendChild(selfCell);
    const totalCell = el('td', 'col-share');
    totalCell.appendChild(shareBar(h.totalShare, 'share-total'));
    tr.appendChild(totalCell);
    return tr;
  }

  function setupHotspots(data, model) {
    const table = byId('hotspots-table');
    const tbody = table.tBodies[0];
    const all = Array.isArray(data.hotspots) ? data.hotspots : [];
    const rows = all.slice(0, HOTSPOT_LIMIT).map(function (h, index) {
      const frame = model.frameAt(h && isNum(h.f) ? h.f : -2);
      return {
        index: index, frame: frame, name: frame.name, location: frameLocation(frame),
        self: num(h.self_s), total: num(h.total_s),
        selfShare: num(h.self_share), totalShare: num(h.total_share),
      };
    });
    const state = { key: 'self', dir: 'desc' };

    function render() {
      const sorted = rows.slice().sort(compareHotspots(state.key, state.dir));
      const frag = document.createDocumentFragment();
      sorted.forEach((h) => frag.appendChild(hotspotRow(h)));
      if (!sorted.length) {
        const td = el('td', 'empty', 'No samples were recorded.');
        td.colSpan = 6;
        frag.appendChild(el('tr')).appendChild(td);
      }
      tbody.replaceChildren(frag);
      table.querySelectorAll('button.sort').forEach(function (btn) {
        const th = btn.closest('th');
        const active = btn.dataset.key === state.key;
        th.setAttribute('aria-sort', active ? (state.dir === 'asc' ? 'ascending' : 'descending') : 'none');
      });
    }

    table.tHead.addEventListener('click', function (ev) {
      const btn = ev.target.closest('button.sort');
      if (!btn) return;
      const key = btn.dataset.key;
      if (key === state.key) {
        state.dir = state.dir === 'asc' ? 'desc' : 'asc';
      } else {
        state.key = key;
        state.dir = key === 'name' || key === 'location' ? 'asc' : 'desc';
      }
      render();
    });

    byId('hotspots-info').textContent = all.length > rows.length
      ? 'Top ' + rows.length + ' of ' + formatCount(all.length) + ' functions by self time'
      : formatCount(rows.length) + ' functions';
    render();
  }

  /* ---- Call tree (lazy: DOM exists only for expanded nodes) -------- */

  function setupTree(model) {
    const container = byId('tree-container');
    const nodeOf = new WeakMap();

    function makeTreeNode(node) {
      const wrap = el('div', 'tree-node');
      wrap.dataset.name = node.frame.name;
      wrap.dataset.depth = String(node.depth);
      const row = el('div', 'tree-row' + (node.frame.app || node.frame.root ? '' : ' is-lib'));
      if (node.children.length) {
        const btn = el('button', 'tree-toggle');
        btn.type = 'button';
        btn.setAttribute('aria-expanded', 'false');
        btn.setAttribute('aria-label', 'Expand ' + node.frame.name);
        row.appendChild(btn);
      } else {
        row.appendChild(el('span', 'tree-toggle-spacer'));
      }
      const share = shareOf(model, node.t);
      row.appendChild(el('span', 'tree-time', formatDuration(node.t)));
      row.appendChild(el('span', 'tree-pct', formatPct(share)));
      row.appendChild(meter('tree-bar', share));
      row.appendChild(el('span', 'tree-name', node.frame.name));
      const loc = frameLocation(node.frame);
      row.appendChild(el('span', 'tree-loc', loc));
      wrap.appendChild(row);
      nodeOf.set(wrap, node);
      return wrap;
    }

    function childBox(wrap) {
      const last = wrap.lastElementChild;
      return last && last.classList.contains('tree-children') ? last : null;
    }

    function appendChildren(box, node, start) {
      const frag = document.createDocumentFragment();
      const end = Math.min(node.children.length, start + TREE_CHUNK);
      for (let i = start; i < end; i += 1) frag.appendChild(makeTreeNode(node.children[i]));
      if (end < node.children.length) {
        const rest = node.children.length - end;
        const more = el('button', 'tree-more', 'Show ' + Math.min(rest, TREE_CHUNK) + ' more (' + rest + ' remaining)');
        more.type = 'button';
        more.dataset.start = String(end);
        frag.appendChild(more);
      }
      box.appendChild(frag);
    }

    function setExpanded(wrap, expanded) {
      const btn = wrap.firstElementChild.querySelector('.tree-toggle');
      if (!btn) return;
      const node = nodeOf.get(wrap);
      btn.setAttribute('aria-expanded', expanded ? 'true' : 'false');
      btn.setAttribute('aria-label', (expanded ? 'Collapse ' : 'Expand ') + node.frame.name);
    }

    function expand(wrap) {
      const node = nodeOf.get(wrap);
      if (!node || !node.children.length || childBox(wrap)) return;
      const box = el('div', 'tree-children');
      appendChildren(box, node, 0);
      wrap.appendChild(box);
      setExpanded(wrap, true);
    }

    function collapse(wrap) {
      const box = childBox(wrap);
      if (box) box.remove();
      setExpanded(wrap, false);
    }

    function collapseAll() {
      const rootWrap = container.firstElementChild;
      container.querySelectorAll('.tree-row.is-hot').forEach((r) => r.classList.remove('is-hot'));
      if (rootWrap) collapse(rootWrap);
    }

    function expandHotPath(scroll) {
      let wrap = container.firstElementChild;
      if (!wrap) return;
      container.querySelectorAll('.tree-row.is-hot').forEach((r) => r.classList.remove('is-hot'));
      expand(wrap);
      let node = model.root;
      while (node.depth < HOT_MAX_DEPTH) {
        const hot = node.children[0];
        const box = childBox(wrap);
        if (!hot || !box || hot.t < HOT_THRESHOLD * model.total || model.total <= 0) break;
        wrap = box.firstElementChild;
        wrap.firstElementChild.classList.add('is-hot');
        expand(wrap);
        node = hot;
      }
      if (scroll) wrap.firstElementChild.scrollIntoView({ block: 'nearest' });
    }

    container.addEventListener('click', function (ev) {
      const more = ev.target.closest('.tree-more');
      if (more) {
        const box = more.parentElement;
        const node = nodeOf.get(box.parentElement);
        more.remove();
        appendChildren(box, node, Number(more.dataset.start));
        return;
      }
      const row = ev.target.closest('.tree-row');
      if (!row) return;
      if (!ev.target.closest('.tree-toggle') && String(window.getSelection())) return;
      const wrap = row.parentElement;
      if (childBox(wrap)) collapse(wrap);
      else expand(wrap);
    });

    byId('tree-expand-hot').addEventListener('click', () => expandHotPath(true));
    byId('tree-collapse-all').addEventListener('click', collapseAll);

    container.replaceChildren(makeTreeNode(model.root));
    expandHotPath(false);
  }

  /* ---- Flame graph ------------------------------------------------- */

  function hashString(str) {
    let h = 2166136261;
    for (let i = 0; i < str.length; i += 1) {
      h ^= str.charCodeAt(i);
      h = Math.imul(h, 16777619);
    }
    return h >>> 0;
  }

  function moduleKey(frame) {
    if (frame.file) return frame.file;
    const dot = frame.name.lastIndexOf('.');
    return dot > 0 ? frame.name.slice(0, dot) : frame.name;
  }

  function frameColor(frame) {
    if (frame.color) return frame.color;
    if (frame.root) {
      frame.color = 'hsl(30, 10%, 80%)';
    } else {
      const h = hashString(moduleKey(frame));
      const hue = h % 48;
      const light = 56 + ((h >>> 8) % 12);
      frame.color = frame.app
        ? 'hsl(' + hue + ', 88%, ' + light + '%)'
        : 'hsl(' + hue + ', 32%, ' + (light + 8) + '%)';
    }
    return frame.color;
  }

  function frameMatches(frame, query) {
    return frame.name.toLowerCase().includes(query) || frame.file.toLowerCase().includes(query);
  }

  function matchedShare(model, query) {
    let time = 0;
    let count = 0;
    const stack = [model.root];
    while (stack.length) {
      const node = stack.pop();
      if (frameMatches(node.frame, query)) {
        time += node.t;
        count += 1;
        continue;
      }
      for (const c of node.children) stack.push(c);
    }
    return { count: count, share: shareOf(model, time) };
  }

  function setupFlame(model) {
    const canvas = byId('flame-canvas');
    const viewport = byId('flame-viewport');
    const tooltip = byId('flame-tooltip');
    const resetBtn = byId('flame-reset');
    const orientation = byId('flame-orientation');
    const search = byId('flame-search');
    const searchInfo = byId('flame-search-info');
    let nodeOf = new WeakMap();
    let zoom = null;
    let lastWidth = 0;

    function addFrame(frag, node, x, w, extraClass) {
      const div = el('div', 'flame-frame' + (extraClass ? ' ' + extraClass : ''));
      div.dataset.name = node.frame.name;
      div.dataset.depth = String(node.depth);
      if (!node.frame.app && !node.frame.root) div.classList.add('flame-lib');
      const s = div.style;
      s.left = x.toFixed(2) + 'px';
      s.width = w.toFixed(2) + 'px';
      if (orientation.value === 'flame') s.bottom = node.depth * ROW_HEIGHT + 'px';
      else s.top = node.depth * ROW_HEIGHT + 'px';
      s.backgroundColor = frameColor(node.frame);
      if (w >= LABEL_MIN_PX) {
        div.classList.add('flame-labelled');
        div.textContent = node.frame.name;
      }
      nodeOf.set(div, node);
      frag.appendChild(div);
    }

    function render() {
      const width = canvas.clientWidth;
      lastWidth = width;
      if (width <= 0) return;
      nodeOf = new WeakMap();
      const focus = zoom || model.root;
      const frag = document.createDocumentFragment();
      for (let a = focus.parent; a; a = a.parent) addFrame(frag, a, 0, width, 'flame-ancestor');
      let maxDepth = focus.depth;
      if (focus.t <= 0) {
        addFrame(frag, focus, 0, width, zoom ? 'flame-focus' : '');
      } else {
        // Breadth-first (iterative, so depth is unbounded): shallow and wide frames come first.
        const scale = width / focus.t;
        const queue = [focus, 0];
        for (let head = 0; head < queue.length; head += 2) {
          const node = queue[head];
          const x = queue[head + 1];
          addFrame(frag, node, x, node.t * scale, node === zoom ? 'flame-focus' : '');
          if (node.depth > maxDepth) maxDepth = node.depth;
          let cx = x;
          for (const child of node.children) {
            const cw = child.t * scale;
            if (cw < MIN_FRAME_PX) break;
            queue.push(child, cx);
            cx += cw;
          }
        }
      }
      canvas.style.height = (maxDepth + 1) * ROW_HEIGHT + 'px';
      canvas.replaceChildren(frag);
      applySearch();
    }

    function applySearch() {
      const query = search.value.trim().toLowerCase();
      const frames = canvas.children;
      for (let i = 0; i < frames.length; i += 1) {
        const div = frames[i];
        const match = query !== '' && frameMatches(nodeOf.get(div).frame, query);
        div.classList.toggle('flame-match', match);
        div.classList.toggle('flame-dim', query !== '' && !match);
      }
      if (!query) {
        searchInfo.textContent = '';
        return;
      }
      const result = matchedShare(model, query);
      searchInfo.textContent = result.count
        ? 'Matched: ' + formatPct(result.share) + ' of total time.'
        : 'No frames match.';
    }

    function setZoom(node) {
      zoom = node && node !== model.root ? node : null;
      if (zoom) canvas.dataset.zoom = zoom.frame.name;
      else delete canvas.dataset.zoom;
      resetBtn.disabled = !zoom;
      hideTooltip();
      render();
    }

    function fillTooltip(node) {
      const frag = document.createDocumentFragment();
      frag.appendChild(el('div', 'tt-name', node.frame.name));
      frag.appendChild(el('div', 'tt-loc', frameLocation(node.frame) || 'location unknown'));
      const stats = el('div', 'tt-stats');
      stats.appendChild(el('span', '', 'Total ' + formatDuration(node.t)));
      stats.appendChild(el('span', '', 'Self ' + formatDuration(node.s)));
      stats.appendChild(el('span', '', formatPct(shareOf(model, node.t)) + ' of root'));
      frag.appendChild(stats);
      tooltip.replaceChildren(frag);
    }

    function placeTooltip(x, y) {
      const pad = 12;
      const w = tooltip.offsetWidth;
      const h = tooltip.offsetHeight;
      let left = x + pad;
      let top = y + pad;
      if (left + w > window.innerWidth - 4) left = Math.max(4, x - w - pad);
      if (top + h > window.innerHeight - 4) top = Math.max(4, y - h - pad);
      tooltip.style.left = left + 'px';
      tooltip.style.top = top + 'px';
    }

    function hideTooltip() {
      tooltip.hidden = true;
    }

    canvas.addEventListener('mouseover', function (ev) {
      const div = ev.target.closest('.flame-frame');
      const node = div && nodeOf.get(div);
      if (!node) return;
      fillTooltip(node);
      tooltip.hidden = false;
      placeTooltip(ev.clientX, ev.clientY);
    });
    canvas.addEventListener('mousemove', function (ev) {
      if (!tooltip.hidden) placeTooltip(ev.clientX, ev.clientY);
    });
    canvas.addEventListener('mouseleave', hideTooltip);
    canvas.addEventListener('click', function (ev) {
      const div = ev.target.closest('.flame-frame');
      const node = div && nodeOf.get(div);
      if (node) setZoom(node);
    });
    resetBtn.addEventListener('click', () => setZoom(null));
    document.addEventListener('keydown', function (ev) {
      if (ev.key === 'Escape' && zoom && !ev.target.closest('input, select, textarea')) setZoom(null);
    });
    orientation.addEventListener('change', function () {
      canvas.dataset.orientation = orientation.value === 'flame' ? 'flame' : 'icicle';
      render();
      if (orientation.value === 'flame') viewport.scrollTop = viewport.scrollHeight;
      else viewport.scrollTop = 0;
    });
    search.addEventListener('input', applySearch);
    const onResize = debounce(function () {
      if (canvas.clientWidth !== lastWidth) render();
    }, 150);
    window.addEventListener('resize', onResize);
    if (typeof ResizeObserver === 'function') new ResizeObserver(onResize).observe(viewport);

    resetBtn.disabled = true;
    render();
  }

  /* ---- Memory ------------------------------------------------------ */

  function stackFrames(site) {
    return (Array.isArray(site.stack) ? site.stack : []).map(normFrame);
  }

  function frameLine(tag, frame) {
    const item = el(tag, 'frame-line');
    item.appendChild(el('span', 'fn', frame.name));
    const loc = frameLocation(frame);
    if (loc) item.appendChild(el('span', 'loc', loc));
    return item;
  }

  function siteRow(site, maxBytes) {
    const frames = stackFrames(site);
    const top = frames[0] || normFrame({ name: '(unknown)' });
    const tr = el('tr', 'site-row');
    tr.dataset.name = top.name;
    const bytesCell = el('td', 'col-num');
    bytesCell.appendChild(el('span', 'site-bytes', formatBytes(site.bytes)));
    bytesCell.appendChild(meter('share-bar', maxBytes > 0 ? num(site.bytes) / maxBytes : 0));
    tr.appendChild(bytesCell);
    tr.appendChild(el('td', 'col-num', formatCount(site.count)));

    const where = el('td', 'site-where');
    const details = el('details', 'site-stack');
    const summary = frameLine('summary', top);
    details.appendChild(summary);
    const list = el('ol', 'stack');
    frames.forEach((f) => list.appendChild(frameLine('li', f)));
    if (!frames.length) list.appendChild(el('li', 'muted', 'No stack recorded.'));
    details.appendChild(list);
    where.appendChild(details);
    tr.appendChild(where);
    return tr;
  }

  function fillSites(table, sites, emptyText) {
    const list = (Array.isArray(sites) ? sites : []).filter((s) => s && typeof s === 'object');
    const shown = list.slice(0, SITE_LIMIT);
    const maxBytes = shown.reduce((m, s) => Math.max(m, num(s.bytes)), 0);
    const frag = document.createDocumentFragment();
    shown.forEach((s) => frag.appendChild(siteRow(s, maxBytes)));
    if (!shown.length) {
      const td = el('td', 'empty', emptyText);
      td.colSpan = 3;
      frag.appendChild(el('tr')).appendChild(td);
    }
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
    (Array.isArray(mem.notes) ? mem.notes : []).forEach(function (text) {
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

  function loadData() {
    const script = byId('profiler-kit-data');
    const data = JSON.parse(script ? script.textContent : 'null');
    if (!data || typeof data !== 'object') throw new Error('the embedded profile data is empty');
    return data;
  }

  function runStep(name, fn) {
    try {
      fn();
    } catch (err) {
      showMessage('Could not render the ' + name + ' section: ' + (err && err.message ? err.message : err), 'error');
    }
  }

  function init() {
    let data;
    try {
      data = loadData();
    } catch (err) {
      showMessage('Could not read the profile data: ' + (err && err.message ? err.message : err), 'error');
      return;
    }
    if (data.version !== 1) {
      showMessage('This report uses data format version ' + data.version + '; this viewer was written for version 1.');
    }
    const model = buildModel(data);
    runStep('header', () => renderHeader(data));
    runStep('summary', () => renderSummary(data));
    runStep('memory', () => setupMemory(data.memory));
    runStep('hotspots', () => setupHotspots(data, model));
    runStep('call tree', () => setupTree(model));
    runStep('flame graph', () => setupFlame(model));
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', init);
  else init();
})();
