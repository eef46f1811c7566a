/* profiler-kit report front end: the frame model. The report data holds a frame
 * table (name, file, line, app) and trees of {f: frame index, t: total, s: self,
 * c: children}; this turns them into linked nodes that the flame graph, the call
 * tree and the tables share, with every field checked (the data may be damaged). */
(function (PK) {
  'use strict';

  const { isNum, num, isObj, arr } = PK;

  function normFrame(raw) {
    const r = isObj(raw) ? raw : {};
    return {
      name: r.name === undefined || r.name === null || r.name === '' ? '(unknown)' : String(r.name),
      file: r.file ? String(r.file) : '',
      line: isNum(r.line) && r.line > 0 ? Math.floor(r.line) : 0,
      app: r.app === true,
      root: false,
      color: '',
    };
  }

  const UNKNOWN_FRAME = normFrame({ name: '(unknown frame)' });

  // The report's frame table as a lookup: index -> frame, anything else -> '(unknown frame)'.
  function frameTable(rawFrames) {
    const frames = arr(rawFrames).map(normFrame);
    return function (f) {
      return (isNum(f) && f >= 0 && frames[f]) || UNKNOWN_FRAME;
    };
  }

  function frameLocation(frame) {
    if (!frame || !frame.file) return '';
    return frame.line > 0 ? frame.file + ':' + frame.line : frame.file;
  }

  // rawTree: {f, t, s, c: [children]}, frame index -1 standing for the root (named rootLabel).
  // opts.requests: how many requests the times are summed over (1 for one capture or means);
  // opts.extend(node, raw): adds fields of its own to each node.
  function buildModel(rawTree, rootLabel, frameAt, opts) {
    const o = opts || {};
    const rootFrame = normFrame({ name: rootLabel });
    rootFrame.root = true;
    const at = (f) => (f === -1 ? rootFrame : frameAt(f));

    function makeNode(raw, parent) {
      const node = {
        frame: at(isNum(raw.f) ? raw.f : -2),
        t: Math.max(0, num(raw.t)),
        s: Math.max(0, num(raw.s)),
        children: [],
        parent: parent,
        depth: parent ? parent.depth + 1 : 0,
      };
      if (o.extend) o.extend(node, raw);
      return node;
    }

    const rawRoot = isObj(rawTree) ? rawTree : { f: -1, t: 0 };
    const root = makeNode(rawRoot, null);
    root.frame = rootFrame;
    const stack = [[rawRoot, root]];
    while (stack.length) {
      const pair = stack.pop();
      for (const raw of arr(pair[0].c)) {
        if (!isObj(raw)) continue;
        const child = makeNode(raw, pair[1]);
        pair[1].children.push(child);
        stack.push([raw, child]);
      }
      pair[1].children.sort((a, b) => b.t - a.t);
    }
    return {
      frameAt: at,
      root: root,
      total: root.t,
      requests: isNum(o.requests) && o.requests > 0 ? o.requests : 1,
    };
  }

  function shareOf(model, t) {
    return model.total > 0 ? t / model.total : 0;
  }

  PK.provide({
    normFrame: normFrame, frameTable: frameTable, frameLocation: frameLocation,
    buildModel: buildModel, shareOf: shareOf,
  });
})(window.ProfilerKit);
