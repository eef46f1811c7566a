/* profiler-kit report front end: the call tree. Lazy: DOM exists only for the
 * expanded nodes and wide nodes show their children in chunks, so a large tree
 * costs no more DOM than the part the reader opened. */
(function (PK) {
  'use strict';

  const { byId, el, selectingIn, formatDuration, formatPct, frameLocation, shareOf, meter } = PK;

  const TREE_CHUNK = 100;
  // The hot path follows the heaviest child while it holds this share of the root's time.
  const HOT_THRESHOLD = 0.25;
  const HOT_MAX_DEPTH = 40;

  // The tree goes in #<id>; its buttons are #<controls>-expand-hot and
  // #<controls>-collapse-all (controls defaults to id). opts.selecting(row): true when
  // a click on the row is the end of a text selection, not a toggle (default selectingIn).
  function CallTree(id, opts) {
    const o = opts || {};
    const container = byId(id);
    const controls = o.controls || id;
    const selecting = o.selecting || selectingIn;
    let nodeOf = new WeakMap();
    let model = null;

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
      if (model.requests > 1) {
        const mean = el('span', 'tree-mean', formatDuration(node.t / model.requests));
        mean.title = 'mean per request';
        row.appendChild(mean);
      }
      row.appendChild(el('span', 'tree-pct', formatPct(share)));
      row.appendChild(meter('tree-bar', share));
      row.appendChild(el('span', 'tree-name', node.frame.name));
      row.appendChild(el('span', 'tree-loc', frameLocation(node.frame)));
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
      if (!wrap || !model) return;
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
      if (!ev.target.closest('.tree-toggle') && selecting(row)) return;
      const wrap = row.parentElement;
      if (childBox(wrap)) collapse(wrap);
      else expand(wrap);
    });

    byId(controls + '-expand-hot').addEventListener('click', () => expandHotPath(true));
    byId(controls + '-collapse-all').addEventListener('click', collapseAll);

    return {
      // Shows another model, collapsed but for its hot path.
      setModel: function (m) {
        model = m;
        nodeOf = new WeakMap();
        container.replaceChildren(makeTreeNode(model.root));
        container.scrollTop = 0;
        expandHotPath(false);
      },
    };
  }

  PK.provide({ CallTree: CallTree });
})(window.ProfilerKit);
