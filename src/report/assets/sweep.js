// The sweep page: a click on a failure group lists its seeds, each with the command that
// reproduces it (as text, never as markup).
(function () {
  'use strict';
  var D = JSON.parse(document.getElementById('ripple-data').textContent);
  var detail = document.getElementById('group-detail');
  var table = document.getElementById('groups');
  if (!table || !detail) { return; }
  function h(tag, text, cls) {
    var e = document.createElement(tag);
    if (text !== undefined) { e.textContent = text; }
    if (cls) { e.className = cls; }
    return e;
  }
  function select(row) {
    Array.prototype.forEach.call(table.querySelectorAll('tr.selected'), function (r) { r.classList.remove('selected'); });
    row.classList.add('selected');
    var g = D.groups[Number(row.getAttribute('data-group'))];
    while (detail.firstChild) { detail.removeChild(detail.firstChild); }
    var title = h('h3', g.signature + ': ' + g.count + ' seed' + (g.count === 1 ? '' : 's'));
    title.id = 'group-title';
    detail.appendChild(title);
    var a = h('a', 'the run report of seed ' + g.seeds[0]);
    a.href = g.report;
    detail.appendChild(a);
    detail.appendChild(h('p', 'reproduce: ' + g.reproduce, 'mono'));
    var list = h('pre');
    list.id = 'group-seeds';
    list.textContent = g.seeds.join(' ') + (g.count > g.seeds.length ? ' \u2026 (' + (g.count - g.seeds.length) + ' more: see --format json)' : '');
    detail.appendChild(list);
  }
  table.addEventListener('click', function (ev) {
    if (ev.target.tagName === 'A') { return; }
    var row = ev.target.closest ? ev.target.closest('tr.group') : null;
    if (row) { select(row); }
  });
  var first = table.querySelector('tr.group');
  if (first) { select(first); }
}());
