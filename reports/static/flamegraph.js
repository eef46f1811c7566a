/* profiler-kit report front end: the flame graph. One instance per canvas, all
 * sharing the page's one tooltip; frames are absolutely placed divs (no canvas
 * drawing, so names stay text and the CSP needs no exceptions), and only frames
 * wide enough to see are built. Colours: warm hues by module, saturated for
 * application code, pale for libraries. */
(function (PK) {
  'use strict';

  const { byId, el, debounce, formatDuration, formatCount, formatPct, frameLocation, shareOf } = PK;

  const ROW_HEIGHT = 18;
  const MIN_FRAME_PX = 0.3;
  const LABEL_MIN_PX = 24;

  function hashString(s) {
    let h = 2166136261;
    for (let i = 0; i < s.length; i += 1) {
      h ^= s.charCodeAt(i);
      h = Math.imul(h, 16777619);
    }
    return h >>> 0;
  }

  function moduleKey(frame) {
    if (frame.file) return frame.file;
    const dot = frame.name.lastIndexOf('.');
    return dot > 0 ? frame.name.slice(0, dot) : frame.name;
  }

  // Warm hues by module: saturated for application code, pale for libraries.
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

  let tooltipBox = null;
  const flames = [];

  function placeTooltip(x, y) {
    const box = tooltipBox;
    const pad = 12;
    const w = box.offsetWidth;
    const h = box.offsetHeight;
    let left = x + pad;
    let top = y + pad;
    if (left + w > window.innerWidth - 4) left = Math.max(4, x - w - pad);
    if (top + h > window.innerHeight - 4) top = Math.max(4, y - h - pad);
    box.style.left = left + 'px';
    box.style.top = top + 'px';
  }

  function hideTooltip() {
    if (tooltipBox) tooltipBox.hidden = true;
  }

  // Name and location; the root (which has no source location) omits the location line
  // unless alwaysLocation is set.
  function tooltipHead(node, alwaysLocation) {
    const frag = document.createDocumentFragment();
    frag.appendChild(el('div', 'tt-name', node.frame.name));
    const loc = frameLocation(node.frame);
    if (loc || alwaysLocation || !node.frame.root) frag.appendChild(el('div', 'tt-loc', loc || 'location unknown'));
    return frag;
  }

  function timeTooltip(node, model, alwaysLocation) {
    const frag = tooltipHead(node, alwaysLocation);
    const stats = el('div', 'tt-stats');
    stats.appendChild(el('span', '', 'Total ' + formatDuration(node.t)));
    stats.appendChild(el('span', '', 'Self ' + formatDuration(node.s)));
    stats.appendChild(el('span', '', formatPct(shareOf(model, node.t)) + ' of root'));
    frag.appendChild(stats);
    if (model.requests > 1) {
      frag.appendChild(el('div', 'tt-sub',
        '≈ ' + formatDuration(node.t / model.requests) + ' per request, summed over ' +
        formatCount(model.requests) + ' captures'));
    }
    return frag;
  }

  function onEscape(ev) {
    if (ev.key !== 'Escape' || ev.target.closest('input, select, textarea')) return;
    flames.forEach((f) => f.escape());
  }

  // The elements are #<prefix>-canvas, -viewport, -reset, -orientation, -search and
  // -search-info, plus the page's one #flame-tooltip. Options:
  //   color(node) -> CSS colour (default: frameColor of the node's frame)
  //   tooltip(node, model) -> fragment (default: timeTooltip)
  //   decorate(div, node): extra classes / data-* for a frame's element
  //   model: draw this model right away (otherwise call setModel)
  function FlameGraph(prefix, opts) {
    const o = opts || {};
    const canvas = byId(prefix + '-canvas');
    const viewport = byId(prefix + '-viewport');
    const resetBtn = byId(prefix + '-reset');
    const orientation = byId(prefix + '-orientation');
    const search = byId(prefix + '-search');
    const searchInfo = byId(prefix + '-search-info');
    const colorOf = o.color || ((node) => frameColor(node.frame));
    const fillTooltip = o.tooltip || timeTooltip;
    let model = null;
    let nodeOf = new WeakMap();
    let zoom = null;
    let lastWidth = 0;
    if (!tooltipBox) tooltipBox = byId('flame-tooltip');

    function addFrame(frag, node, x, w, extraClass) {
      const div = el('div', 'flame-frame' + (extraClass ? ' ' + extraClass : ''));
      div.dataset.name = node.frame.name;
      div.dataset.depth = String(node.depth);
      if (!node.frame.app && !node.frame.root) div.classList.add('flame-lib');
      if (o.decorate) o.decorate(div, node);
      const s = div.style;
      s.left = x.toFixed(2) + 'px';
      s.width = w.toFixed(2) + 'px';
      if (orientation.value === 'flame') s.bottom = node.depth * ROW_HEIGHT + 'px';
      else s.top = node.depth * ROW_HEIGHT + 'px';
      s.backgroundColor = colorOf(node);
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
      if (!model) {
        canvas.replaceChildren();
        canvas.style.height = '';
        return;
      }
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
        const node = nodeOf.get(div);
        const match = query !== '' && !!node && frameMatches(node.frame, query);
        div.classList.toggle('flame-match', match);
        div.classList.toggle('flame-dim', query !== '' && !match);
      }
      if (!query || !model) {
        searchInfo.textContent = '';
        return;
      }
      const result = matchedShare(model, query);
      searchInfo.textContent = result.count
        ? 'Matched: ' + formatPct(result.share) + ' of total time.'
        : 'No frames match.';
    }

    function setZoom(node) {
      zoom = model && node && node !== model.root ? node : null;
      if (zoom) canvas.dataset.zoom = zoom.frame.name;
      else delete canvas.dataset.zoom;
      resetBtn.disabled = !zoom;
      hideTooltip();
      render();
    }

    function scrollToRoot() {
      viewport.scrollTop = orientation.value === 'flame' ? viewport.scrollHeight : 0;
    }

    canvas.addEventListener('mouseover', function (ev) {
      const div = ev.target.closest('.flame-frame');
      const node = div && nodeOf.get(div);
      if (!node || !model) return;
      tooltipBox.replaceChildren(fillTooltip(node, model));
      tooltipBox.hidden = false;
      placeTooltip(ev.clientX, ev.clientY);
    });
    canvas.addEventListener('mousemove', function (ev) {
      if (!tooltipBox.hidden) placeTooltip(ev.clientX, ev.clientY);
    });
    canvas.addEventListener('mouseleave', hideTooltip);
    canvas.addEventListener('click', function (ev) {
      const div = ev.target.closest('.flame-frame');
      const node = div && nodeOf.get(div);
      if (node) setZoom(node);
    });
    resetBtn.addEventListener('click', () => setZoom(null));
    orientation.addEventListener('change', function () {
      canvas.dataset.orientation = orientation.value === 'flame' ? 'flame' : 'icicle';
      render();
      scrollToRoot();
    });
    search.addEventListener('input', applySearch);
    const onResize = debounce(function () {
      if (canvas.clientWidth !== lastWidth) render();
    }, 150);
    window.addEventListener('resize', onResize);
    if (typeof ResizeObserver === 'function') new ResizeObserver(onResize).observe(viewport);

    const view = {
      // Shows another model from its root, with no zoom and an empty search.
      setModel: function (m) {
        model = m;
        zoom = null;
        delete canvas.dataset.zoom;
        resetBtn.disabled = true;
        search.value = '';
        hideTooltip();
        render();
        scrollToRoot();
      },
      // Redraws if the canvas was hidden or resized since the last drawing.
      refresh: function () {
        if (model && (canvas.clientWidth !== lastWidth || !canvas.firstChild)) render();
      },
      // Esc zooms out the graphs that are on screen.
      escape: function () {
        if (zoom && canvas.offsetParent !== null) setZoom(null);
      },
    };
    resetBtn.disabled = true;
    if (!flames.length) document.addEventListener('keydown', onEscape);
    flames.push(view);
    if (o.model) {
      model = o.model;
      render();
    }
    return view;
  }

  PK.provide({ tooltipHead: tooltipHead, timeTooltip: timeTooltip, FlameGraph: FlameGraph });
})(window.ProfilerKit);
