// The run report's timeline and detail view. Reads the data in #ripple-data (see
// src/report/html.rs), draws only what is in view, and puts every string from the run into
// the page as text (textContent, attributes), never as markup.
(function () {
  'use strict';
  var D = JSON.parse(document.getElementById('ripple-data').textContent);
  var S = D.strings;
  var N = D.records.length;
  var SVG_NS = 'http://www.w3.org/2000/svg';

  // Geometry, in pixels at zoom 1.
  var LABEL_W = 230, AXIS_H = 28, ROW_H = 24, LEFT = LABEL_W + 16;
  var STEP_PX = 18;          // between two records of one instant
  var GAP_MIN = 14;          // between two instants, however close
  var GAP_CAP = 90;          // a longer quiet stretch is collapsed to this
  var PX_PER_MS = 2;
  var WIDTH_MAX = 3e7;       // browsers stop laying out somewhere past this
  var LINKS_MAX = 4000;      // arrows drawn at once
  var TICK_GAP = 110;        // between two time labels
  var MARKER_GAP = 40;       // between two collapsed-stretch markers

  function val(v) { return (typeof v === 'number' && v < 0) ? S[-v - 1] : v; }
  function at(i) { return D.records[i][1]; }
  function kindOf(i) { return D.shapes[D.records[i][0]][0]; }
  function rec(i) {
    var r = D.records[i], sh = D.shapes[r[0]], o = { kind: sh[0] }, keys = sh[1];
    for (var j = 0; j < keys.length; j++) { o[keys[j]] = val(r[j + 1]); }
    return o;
  }
  function fmt(ms) {
    if (ms === 0) { return '0ms'; }
    var out = '', rest = ms, units = [['h', 3600000], ['m', 60000], ['s', 1000], ['ms', 1]];
    for (var u = 0; u < units.length; u++) {
      if (rest >= units[u][1]) { out += Math.floor(rest / units[u][1]) + units[u][0]; rest %= units[u][1]; }
    }
    return out;
  }
  function by(o) {
    if (o.by === 'root') { return 'by root event #' + o.event; }
    if (o.by === 'reflex') { return 'by reflex ' + o.handler + ' (event ' + o.event + ')'; }
    return 'by rule ' + o.rule + (o.copy ? ' (duplicate)' : '');
  }
  function faultOn(o) {
    if (o.of === 'reaction') { return 'rule ' + o.rule + ' \u2192 ' + o.target; }
    if (o.of === 'delivery') { return o.subject + ' \u2192 ' + o.handler; }
    if (o.of === 'action') { return o.target + '.' + o.action; }
    return o.handler + ' on ' + o.subject;
  }
  function describe(o) {
    switch (o.kind) {
      case 'input': return 'root event #' + o.event;
      case 'publish': return 'publish ' + o.subject + ' (' + o.subscribers + ' subscriber' + (o.subscribers === 1 ? '' : 's') + ')';
      case 'deliver': return 'deliver event ' + o.event + ' to ' + o.handler;
      case 'outcome': return o.handler + ': ' + o.outcome + ' (' + o.severity + ')' + (o.target ? ' on ' + o.target : '');
      case 'dispatch': return o.entity_type + '/' + o.id + '.' + o.action + ' ' + by(o);
      case 'transition': return o.entity_type + '/' + o.id + '.' + o.action + ': ' + o.from + ' \u2192 ' + o.to + (o.created ? ' (created)' : '');
      case 'action_failed': return o.entity_type + '/' + o.id + '.' + o.action + ' failed: ' + o.error;
      case 'reaction': return 'rule ' + o.rule + ' \u2192 ' + o.target_type + '/' + (o.target_id === null ? '?' : o.target_id) + ': ' + (o.success ? o.target_status : 'failed: ' + o.error);
      case 'guard_skip': return 'rule ' + o.rule + ': guard false, not fired';
      case 'depth_limit': return 'rule ' + o.rule + ' dropped at the depth bound (depth ' + o.depth + ')';
      case 'fault': return 'fault ' + o.fault + (o.delay_ms ? ' +' + fmt(o.delay_ms) : '') + ' on ' + faultOn(o);
      case 'warning': return 'warning: ' + o.message;
    }
    return String(o.kind);
  }

  // Derived tables.
  var lanes = D.lanes.map(function (l) {
    var tenant = val(l[1]), name = val(l[2]);
    var label = l[0] === 0 ? 'root inputs' : (l[0] === 2 ? 'reflex ' + name : name);
    return { kind: l[0], tenant: tenant, name: name, label: label };
  });
  var effects = new Map();
  for (var i0 = 0; i0 < N; i0++) {
    var c0 = D.cause[i0];
    if (c0 >= 0) { if (!effects.has(c0)) { effects.set(c0, []); } effects.get(c0).push(i0); }
  }
  var states = new Map();
  for (var s0 = 0; s0 < D.state_at.length; s0++) { states.set(D.state_at[s0], [D.state_before[s0], D.state_after[s0]]); }
  var failing = new Map();
  D.violations.forEach(function (v) {
    var step = Math.min(v[0], N - 1);
    if (step < 0) { return; }
    if (!failing.has(step)) { failing.set(step, []); }
    failing.get(step).push({ invariant: val(v[1]), message: val(v[2]), end: v[0] >= N });
  });
  var rules = new Map(D.rules.map(function (r) { return [val(r[0]), val(r[1])]; }));
  var handlers = new Map(D.handlers.map(function (h) { return [val(h[0]), val(h[1])]; }));

  // Layout: x in base pixels per record; instants in order; quiet stretches collapsed.
  var bx = new Float64Array(N), gaps = [], ticks = [], baseW = 0, collapse = true, zoom = 1;
  function layout() {
    gaps = []; ticks = [];
    var x = 0, span = N ? at(N - 1) - at(0) : 0;
    var perMs = collapse ? PX_PER_MS : Math.min(PX_PER_MS, 1e7 / Math.max(1, span));
    for (var i = 0; i < N; i++) {
      if (i === 0) { ticks.push(i); }
      else if (at(i) !== at(i - 1)) {
        var dt = at(i) - at(i - 1), gap = GAP_MIN + dt * perMs, folded = false;
        if (collapse && gap > GAP_CAP) { gap = GAP_CAP; folded = true; }
        gaps.push({ x0: x, x1: x + gap, dt: dt, folded: folded });
        x += gap; ticks.push(i);
      } else { x += STEP_PX; }
      bx[i] = x;
    }
    baseW = x + STEP_PX;
  }
  function sx(i) { return LEFT + bx[i] * zoom; }
  function laneY(l) { return AXIS_H + l * ROW_H + ROW_H / 2; }
  function zoomMax() { return Math.max(0.0001, Math.min(8, WIDTH_MAX / Math.max(1, baseW))); }
  function zoomFit() { return Math.max(0.0001, Math.min(zoomMax(), (box.clientWidth - LEFT - 30) / Math.max(1, baseW))); }

  var box = document.getElementById('timeline');
  var svg = document.getElementById('timeline-svg');
  var detail = document.getElementById('detail');
  var selected = -1;

  function el(name, attrs, text) {
    var e = document.createElementNS(SVG_NS, name);
    for (var k in attrs) { if (Object.prototype.hasOwnProperty.call(attrs, k)) { e.setAttribute(k, attrs[k]); } }
    if (text !== undefined) { e.textContent = text; }
    return e;
  }
  function lowerBound(x) {  // first record whose x >= x
    var lo = 0, hi = N;
    while (lo < hi) { var mid = (lo + hi) >> 1; if (sx(mid) < x) { lo = mid + 1; } else { hi = mid; } }
    return lo;
  }
  var GLYPHS = {
    input: 'M0,-6L6,0L0,6L-6,0Z', publish: 'M-3,-3L3,-3L3,3L-3,3Z', deliver: 'M-5,-5L5,0L-5,5Z',
    transition: 'M-5,-5L5,-5L5,5L-5,5Z', action_failed: 'M-5,-3L-3,-5L0,-2L3,-5L5,-3L2,0L5,3L3,5L0,2L-3,5L-5,3L-2,0Z',
    depth_limit: 'M0,-6L6,0L0,6L-6,0Z', fault: 'M0,-7L6,5L-6,5Z', warning: 'M0,-6L5,4L-5,4Z'
  };
  var RADII = { outcome: 5, dispatch: 4, reaction: 3, guard_skip: 4 };

  function mark(i, x, y) {
    var kind = kindOf(i);
    var cls = 'mark k-' + kind + (failing.has(i) ? ' failing' : '') + (i === selected ? ' selected' : '');
    var g = el('g', { 'class': cls, 'data-step': i, transform: 'translate(' + x.toFixed(1) + ',' + y + ')' });
    var o = rec(i);
    var title = 'step ' + i + ' @' + fmt(o.at) + ': ' + describe(o);
    if (failing.has(i)) { failing.get(i).forEach(function (f) { title += '\nviolates ' + f.invariant; }); }
    g.appendChild(el('title', {}, title));
    if (failing.has(i)) { g.appendChild(el('circle', { 'class': 'ring', r: 9 })); }
    if (i === selected) { g.appendChild(el('circle', { 'class': 'sel-ring', r: 11 })); }
    if (GLYPHS[kind]) { g.appendChild(el('path', { 'class': 'glyph', d: GLYPHS[kind] })); }
    else { g.appendChild(el('circle', { 'class': 'glyph', r: RADII[kind] || 4 })); }
    if (kind === 'transition' && STEP_PX * zoom >= 40) { g.appendChild(el('text', { 'class': 'state', x: 0, y: -8, 'text-anchor': 'middle' }, o.to)); }
    return g;
  }

  var pending = false;
  function schedule() { if (!pending) { pending = true; requestAnimationFrame(function () { pending = false; render(); }); } }

  // The drawing's size: set before scrolling, or the browser clamps the scroll to the old one.
  function size() {
    var totalW = Math.ceil(LEFT + baseW * zoom + 40), totalH = AXIS_H + lanes.length * ROW_H + 8;
    svg.setAttribute('width', totalW); svg.setAttribute('height', Math.max(totalH, box.clientHeight - 20));
  }

  function render() {
    size();
    var W = box.clientWidth, H = box.clientHeight, sl = box.scrollLeft, st = box.scrollTop;
    while (svg.firstChild) { svg.removeChild(svg.firstChild); }
    var defs = el('defs', {});
    var arrow = el('marker', { id: 'arrow', viewBox: '0 0 10 10', refX: 9, refY: 5, markerWidth: 6, markerHeight: 6, orient: 'auto-start-reverse' });
    arrow.appendChild(el('path', { d: 'M0,0L10,5L0,10Z', fill: '#8a94a6' }));
    defs.appendChild(arrow);
    svg.appendChild(defs);
    var xa = sl - 60, xb = sl + W + 60;
    var l0 = Math.max(0, Math.floor((st - AXIS_H) / ROW_H) - 1), l1 = Math.min(lanes.length - 1, Math.ceil((st + H) / ROW_H) + 1);
    var layer = { bg: el('g', {}), grid: el('g', {}), links: el('g', {}), marks: el('g', {}), chrome: el('g', {}) };
    for (var l = l0; l <= l1; l++) {
      var cls = 'lane-bg' + (l % 2 ? ' odd' : '') + (selected >= 0 && D.lane[selected] === l ? ' sel' : '');
      layer.bg.appendChild(el('rect', { 'class': cls, x: Math.max(0, xa), y: AXIS_H + l * ROW_H, width: xb - Math.max(0, xa), height: ROW_H }));
    }
    // Collapsed stretches and time ticks.
    // Collapsed stretches, at most one marker per MARKER_GAP pixels (zoomed out, thousands).
    var shownGaps = [], lastGap = -1e9;
    gaps.forEach(function (g) {
      var ga = LEFT + g.x0 * zoom, gb = LEFT + g.x1 * zoom, mid = (ga + gb) / 2;
      if (gb < xa || ga > xb || !g.folded || mid - lastGap < MARKER_GAP) { return; }
      lastGap = mid;
      shownGaps.push(g);
      layer.grid.appendChild(el('line', { 'class': 'gap', x1: mid, x2: mid, y1: st + AXIS_H, y2: st + H }));
    });
    var lo = lowerBound(xa), hi = lowerBound(xb);
    // Zoomed out over thousands of steps, arrows are a grey smear: draw only the selected
    // step's.
    var crowded = hi - lo > LINKS_MAX / 2;
    // Links into what is in view (from causes anywhere).
    var drawn = 0;
    var span0 = Math.max(0, lo - 200), span1 = Math.min(N, hi + 200);
    for (var e = span0; e < span1 && drawn < LINKS_MAX; e++) {
      var c = D.cause[e];
      if (c < 0) { continue; }
      var ex = sx(e), cx = sx(c);
      if ((ex < xa && cx < xa) || (ex > xb && cx > xb)) { continue; }
      var le = D.lane[e], lc = D.lane[c];
      if ((le < l0 && lc < l0) || (le > l1 && lc > l1)) { continue; }
      if (le === lc && c === e - 1) { continue; }  // a neighbour on its own lane
      if (crowded && e !== selected && c !== selected) { continue; }
      var y1 = laneY(lc), y2 = laneY(le), d;
      if (le === lc) { var lift = Math.min(ROW_H * 0.7, 6 + (ex - cx) / 8); d = 'M' + cx + ',' + (y1 - 4) + 'C' + cx + ',' + (y1 - lift - 4) + ' ' + ex + ',' + (y2 - lift - 4) + ' ' + ex + ',' + (y2 - 5); }
      else { var mx = (cx + ex) / 2; d = 'M' + cx + ',' + y1 + 'C' + mx + ',' + y1 + ' ' + mx + ',' + y2 + ' ' + (ex - (ex >= cx ? 5 : -5)) + ',' + y2; }
      var hot = selected >= 0 && (e === selected || c === selected);
      layer.links.appendChild(el('path', { 'class': 'link' + (hot ? ' hot' : ''), d: d, 'marker-end': 'url(#arrow)', 'data-from': c, 'data-to': e }));
      drawn++;
    }
    // Marks in view, at most one per few pixels of a lane (the failing and the selected always).
    var seen = new Set();
    for (var i = lo; i < hi; i++) {
      var li = D.lane[i];
      if (li < l0 || li > l1) { continue; }
      var x = sx(i), key = li * 1e7 + Math.floor(x / 3);
      var must = failing.has(i) || i === selected;
      if (seen.has(key) && !must) { continue; }
      seen.add(key);
      layer.marks.appendChild(mark(i, x, laneY(li)));
    }
    // The failing steps, across every lane.
    failing.forEach(function (_, step) {
      var fx = sx(step);
      if (fx >= xa && fx <= xb) { layer.grid.appendChild(el('line', { x1: fx, x2: fx, y1: st + AXIS_H, y2: st + H, stroke: '#cf222e', 'stroke-opacity': 0.35, 'stroke-width': 1.5 })); }
    });
    // The axis (pinned to the top) and lane labels (pinned to the left).
    layer.chrome.appendChild(el('rect', { 'class': 'axis-bg', x: sl, y: st, width: W, height: AXIS_H }));
    var lastTick = -1e9;
    ticks.forEach(function (t) {
      var tx = sx(t);
      if (tx < xa || tx > xb || tx - lastTick < TICK_GAP) { return; }
      lastTick = tx;
      layer.chrome.appendChild(el('line', { 'class': 'tick', x1: tx, x2: tx, y1: st + AXIS_H - 6, y2: st + AXIS_H }));
      layer.chrome.appendChild(el('text', { 'class': 'tick-label', x: tx, y: st + 12, 'text-anchor': 'middle' }, fmt(at(t))));
    });
    var lastLabel = -1e9;
    shownGaps.forEach(function (g) {
      var mid = LEFT + (g.x0 + g.x1) / 2 * zoom;
      if (mid - lastLabel < TICK_GAP) { return; }
      lastLabel = mid;
      layer.chrome.appendChild(el('text', { 'class': 'gap-label', x: mid, y: st + 24, 'text-anchor': 'middle' }, '\u22ef ' + fmt(g.dt) + ' \u22ef'));
    });
    layer.chrome.appendChild(el('rect', { 'class': 'lane-label-bg', x: sl, y: st + AXIS_H, width: LABEL_W, height: H }));
    for (var k = l0; k <= l1; k++) {
      var ln = lanes[k], y = laneY(k) + 4;
      if (y < st + AXIS_H) { continue; }
      var t = el('text', { 'class': 'lane-label', x: sl + 6, y: y });
      var full = (ln.tenant ? ln.tenant + ' \u00b7 ' : '') + ln.label;
      t.appendChild(el('title', {}, full));
      if (ln.tenant) { t.appendChild(el('tspan', { 'class': 'tenant' }, ln.tenant + ' \u00b7 ')); }
      var room = Math.max(8, 34 - (ln.tenant ? ln.tenant.length + 3 : 0));
      t.appendChild(el('tspan', {}, ln.label.length > room ? ln.label.slice(0, room - 1) + '\u2026' : ln.label));
      layer.chrome.appendChild(t);
    }
    layer.chrome.appendChild(el('rect', { 'class': 'axis-bg', x: sl, y: st, width: LABEL_W, height: AXIS_H }));
    layer.chrome.appendChild(el('text', { 'class': 'tick-label', x: sl + 6, y: st + 17 }, 'virtual time \u2192'));
    svg.appendChild(layer.bg); svg.appendChild(layer.grid); svg.appendChild(layer.links);
    svg.appendChild(layer.marks); svg.appendChild(layer.chrome);
    document.getElementById('zoom-level').textContent = 'zoom ' + (zoom >= 0.1 ? zoom.toFixed(2) : zoom.toExponential(1)) + ', ' + N + ' steps';
  }

  // The detail view of one step.
  function h(tag, text, cls) {
    var e = document.createElement(tag);
    if (text !== undefined && text !== null) { e.textContent = text; }
    if (cls) { e.className = cls; }
    return e;
  }
  function stepLink(i, extra) {
    var b = h('button', 'step ' + i + ' \u00b7 ' + describe(rec(i)) + (extra || ''), 'link');
    b.type = 'button';
    b.setAttribute('data-step', i);
    b.addEventListener('click', function () { select(i, true); });
    return b;
  }
  function snapshot(code) {
    if (code === 0) { return h('p', 'did not exist', 'note'); }
    if (code === 1) { return h('p', 'not kept (the report keeps a bounded amount of entity states)', 'note'); }
    var text = val(code), pre = h('pre');
    try { pre.textContent = JSON.stringify(JSON.parse(text), null, 1); } catch (err) { pre.textContent = String(text); }
    return pre;
  }
  function producer(i) {
    for (var hop = 0; hop < 4 && i >= 0; hop++) {
      var o = rec(i);
      if (o.kind === 'dispatch' && o.by === 'root') { return null; }
      if (typeof o.rule === 'string') {
        if (o.rule.indexOf('reflex:') === 0) { return handlers.get(o.rule.slice(7)) || null; }
        if (rules.has(o.rule)) { return rules.get(o.rule); }
      }
      if (typeof o.handler === 'string' && handlers.has(o.handler)) { return handlers.get(o.handler); }
      if (['transition', 'action_failed', 'reaction', 'outcome'].indexOf(o.kind) < 0) { return null; }
      i = D.cause[i];
    }
    return null;
  }
  function showDetail(i) {
    while (detail.firstChild) { detail.removeChild(detail.firstChild); }
    var o = rec(i), lane = lanes[D.lane[i]];
    var head = h('h3', 'step ' + i + ' \u00b7 ' + o.kind);
    head.id = 'detail-title';
    detail.appendChild(head);
    detail.appendChild(h('p', '@' + fmt(o.at) + ' \u00b7 ' + (lane.tenant ? lane.tenant + ' \u00b7 ' : '') + lane.label, 'note'));
    detail.appendChild(h('p', describe(o)));
    if (failing.has(i)) {
      failing.get(i).forEach(function (f) {
        detail.appendChild(h('p', (f.end ? 'at the end of the run: ' : 'this step violates ') + f.invariant + ': ' + f.message, 'violated'));
      });
    }
    var c = D.cause[i];
    detail.appendChild(h('h4', 'caused by'));
    if (c >= 0) {
      detail.appendChild(stepLink(c, ''));
    } else { detail.appendChild(h('p', o.kind === 'input' ? 'the scenario (a root input)' : 'nothing recorded', 'note')); }
    var table = h('table'), body = h('tbody');
    Object.keys(o).forEach(function (k) {
      var tr = h('tr');
      tr.appendChild(h('td', k));
      var v = o[k];
      tr.appendChild(h('td', k === 'at' ? fmt(v) + ' (' + v + ' ms)' : (v === null ? 'null' : String(v))));
      body.appendChild(tr);
    });
    table.appendChild(body);
    table.id = 'detail-record';
    detail.appendChild(h('h4', 'record'));
    detail.appendChild(table);
    if (states.has(i)) {
      var st = states.get(i);
      detail.appendChild(h('h4', 'the entity before this scheduler step'));
      detail.appendChild(snapshot(st[0]));
      detail.appendChild(h('h4', 'the entity after it'));
      detail.appendChild(snapshot(st[1]));
    } else if (lane.kind === 1 && !D.states_kept) {
      detail.appendChild(h('p', 'Entity states are not shown: the run did not reproduce step by step.', 'note'));
    }
    var p = producer(i);
    if (p) { detail.appendChild(h('h4', 'produced by')); detail.appendChild(h('pre', p)); }
    var fx = effects.get(i) || [];
    if (fx.length) {
      detail.appendChild(h('h4', 'led to'));
      fx.slice(0, 25).forEach(function (e) { detail.appendChild(stepLink(e, '')); detail.appendChild(h('br')); });
      if (fx.length > 25) { detail.appendChild(h('p', (fx.length - 25) + ' more', 'note')); }
    }
  }

  function select(i, scroll) {
    if (i < 0 || i >= N) { return; }
    selected = i;
    showDetail(i);
    if (scroll) {
      size();
      var W = box.clientWidth, H = box.clientHeight;
      var x = sx(i), y = laneY(D.lane[i]);
      if (x < box.scrollLeft + LEFT + 20 || x > box.scrollLeft + W - 20) { box.scrollLeft = Math.max(0, x - LEFT - (W - LEFT) / 2); }
      if (y < box.scrollTop + AXIS_H + 10 || y > box.scrollTop + H - 10) { box.scrollTop = Math.max(0, y - H / 2); }
    }
    render();
  }

  function setZoom(z, anchorPx) {
    var old = zoom;
    zoom = Math.max(Math.min(zoomFit(), 1) / 4, Math.min(zoomMax(), z));
    var px = anchorPx === undefined ? box.clientWidth / 2 : anchorPx;
    var base = (box.scrollLeft + px - LEFT) / old;
    size();
    box.scrollLeft = Math.max(0, base * zoom + LEFT - px);
    schedule();
  }

  // Wiring.
  box.addEventListener('scroll', schedule);
  window.addEventListener('resize', schedule);
  svg.addEventListener('click', function (ev) {
    var m = ev.target.closest ? ev.target.closest('.mark') : null;
    if (m) { select(Number(m.getAttribute('data-step')), false); box.focus({ preventScroll: true }); }
  });
  box.addEventListener('wheel', function (ev) {
    if (!ev.ctrlKey && !ev.metaKey) { return; }
    ev.preventDefault();
    var rect = box.getBoundingClientRect();
    setZoom(zoom * (ev.deltaY < 0 ? 1.25 : 0.8), ev.clientX - rect.left);
  }, { passive: false });
  box.addEventListener('keydown', function (ev) {
    if (ev.key === 'ArrowRight') { select(Math.min(N - 1, selected + 1), true); ev.preventDefault(); }
    else if (ev.key === 'ArrowLeft') { select(Math.max(0, selected - 1), true); ev.preventDefault(); }
    else if (ev.key === '+' || ev.key === '=') { setZoom(zoom * 1.5); }
    else if (ev.key === '-') { setZoom(zoom / 1.5); }
    else if (ev.key === 'f') { setZoom(zoomFit()); }
  });
  document.getElementById('zoom-in').addEventListener('click', function () { setZoom(zoom * 1.5); });
  document.getElementById('zoom-out').addEventListener('click', function () { setZoom(zoom / 1.5); });
  document.getElementById('zoom-fit').addEventListener('click', function () { setZoom(zoomFit()); });
  document.getElementById('prev').addEventListener('click', function () { select(Math.max(0, selected - 1), true); });
  document.getElementById('next').addEventListener('click', function () { select(Math.min(N - 1, selected + 1), true); });
  document.getElementById('collapse').addEventListener('change', function (ev) {
    collapse = ev.target.checked;
    layout();
    zoom = Math.min(zoom, zoomMax());
    if (selected >= 0) { select(selected, true); } else { render(); }
  });
  Array.prototype.forEach.call(document.querySelectorAll('button.goto'), function (b) {
    b.addEventListener('click', function () {
      select(Math.min(N - 1, Number(b.getAttribute('data-step'))), true);
      document.getElementById('timeline-section').scrollIntoView();
    });
  });
  var copy = document.getElementById('copy');
  copy.addEventListener('click', function () {
    var text = document.getElementById('reproduce').textContent;
    var done = function () { copy.textContent = 'copied'; setTimeout(function () { copy.textContent = 'copy'; }, 1500); };
    var fallback = function () {
      var range = document.createRange();
      range.selectNodeContents(document.getElementById('reproduce'));
      var sel = window.getSelection();
      sel.removeAllRanges(); sel.addRange(range);
      try { document.execCommand('copy'); } catch (err) { /* the text stays selected */ }
      done();
    };
    if (navigator.clipboard && navigator.clipboard.writeText) {
      navigator.clipboard.writeText(text).then(done, fallback);
    } else { fallback(); }
  });

  layout();
  // As tall as the lanes need, within reason; a small run starts whole in view.
  var height = Math.min(560, Math.max(300, AXIS_H + lanes.length * ROW_H + 28));
  box.style.height = height + 'px'; detail.style.height = Math.max(height, 460) + 'px';
  var fit = zoomFit();
  if (fit < 1 && fit >= 0.4) { zoom = fit; }
  if (N === 0) { render(); return; }
  var first = D.violations.length ? Math.min(N - 1, D.violations[0][0]) : -1;
  if (first >= 0) { select(first, true); } else { render(); }
  // For tests and the curious: what the page drew.
  window.rippleReport = { steps: N, lanes: lanes.length, select: function (i) { select(i, true); }, selected: function () { return selected; } };
}());
