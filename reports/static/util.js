/* profiler-kit report front end: the namespace and the small helpers every
 * other file uses.
 *
 * The report is one self-contained HTML file: reports/render.py joins the files
 * of static/ in the order it lists and inlines them as one script element, so
 * each file may use what the files before it defined. Each file is a closure
 * that adds its public names to one global, window.ProfilerKit, which is frozen
 * once the page boots. Vanilla JS, no dependencies, no network. Every data
 * string is inserted as text (textContent / data-* attributes / title), never
 * parsed as HTML. */
(function () {
  'use strict';

  const PK = {};

  // Adds a file's public names. A name given twice means a helper was copied or
  // the join order is wrong: better to fail loudly than to let one copy win.
  function provide(names) {
    for (const name of Object.keys(names)) {
      if (Object.prototype.hasOwnProperty.call(PK, name)) throw new Error('ProfilerKit.' + name + ' is defined twice');
      PK[name] = names[name];
    }
  }

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

  function isObj(v) {
    return v !== null && typeof v === 'object' && !Array.isArray(v);
  }

  function arr(v) {
    return Array.isArray(v) ? v : [];
  }

  function str(v) {
    return v === undefined || v === null ? '' : String(v);
  }

  function clamp01(v) {
    return Math.max(0, Math.min(1, num(v)));
  }

  function debounce(fn, ms) {
    let timer = 0;
    return function () {
      clearTimeout(timer);
      timer = setTimeout(fn, ms);
    };
  }

  function errorText(err) {
    return err && err.message ? err.message : err;
  }

  // True while the user is selecting text inside `node` (a click then should not act).
  function selectingIn(node) {
    const sel = window.getSelection();
    return !!sel && !sel.isCollapsed && !!sel.anchorNode && node.contains(sel.anchorNode);
  }

  provide({
    provide: provide,
    byId: byId, el: el, isNum: isNum, num: num, isObj: isObj, arr: arr, str: str,
    clamp01: clamp01, debounce: debounce, errorText: errorText, selectingIn: selectingIn,
  });
  window.ProfilerKit = PK;
})();
