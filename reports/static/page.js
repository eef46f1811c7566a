/* profiler-kit report front end: the page around the components: its title,
 * its notes and errors, and the start from the embedded JSON. A component that
 * fails becomes a note naming it rather than a blank page. */
(function (PK) {
  'use strict';

  const { byId, el, isObj, errorText } = PK;

  function showTitle(title) {
    if (!title) return;
    byId('report-title').textContent = String(title);
    document.title = String(title);
  }

  function showMessage(text, kind) {
    const box = byId('report-messages');
    if (!box) return;
    const note = el('div', 'note' + (kind ? ' note-' + kind : ''), text);
    note.setAttribute('role', kind === 'error' ? 'alert' : 'note');
    box.appendChild(note);
  }

  // Runs one rendering step; a failure becomes a note naming `what` instead of a blank page.
  function runStep(what, fn) {
    try {
      fn();
    } catch (err) {
      showMessage('Could not render the ' + what + ': ' + errorText(err), 'error');
    }
  }

  // Reads the page's embedded JSON (what: 'profile data', 'report data'…) and calls
  // render(data) once the DOM is ready; unreadable data becomes an error note.
  // Called last, by the page's own file: every file has added its names by then,
  // so the namespace is frozen here and nothing later can swap a component.
  function boot(what, render) {
    Object.freeze(PK);
    function init() {
      let data;
      try {
        const script = byId('profiler-kit-data');
        data = JSON.parse(script ? script.textContent : 'null');
        if (!isObj(data)) throw new Error('the embedded ' + what + ' is empty');
      } catch (err) {
        showMessage('Could not read the ' + what + ': ' + errorText(err), 'error');
        return;
      }
      if (data.version !== 1) {
        showMessage('This report uses data format version ' + data.version + '; this viewer was written for version 1.');
      }
      render(data);
    }
    if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', init);
    else init();
  }

  PK.provide({ showTitle: showTitle, showMessage: showMessage, runStep: runStep, boot: boot });
})(window.ProfilerKit);
