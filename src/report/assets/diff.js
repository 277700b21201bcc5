// The diff page: a click on a row shows both records (as text, never as markup).
(function () {
  'use strict';
  var table = document.getElementById('sides');
  var detail = document.getElementById('detail');
  if (!table || !detail) { return; }
  function pretty(text) {
    if (!text) { return '(no record: the run ended)'; }
    try { return JSON.stringify(JSON.parse(text), null, 1); } catch (err) { return text; }
  }
  function h(tag, text, cls) {
    var e = document.createElement(tag);
    if (text !== undefined) { e.textContent = text; }
    if (cls) { e.className = cls; }
    return e;
  }
  function select(row) {
    Array.prototype.forEach.call(table.querySelectorAll('tr.selected'), function (r) { r.classList.remove('selected'); });
    row.classList.add('selected');
    while (detail.firstChild) { detail.removeChild(detail.firstChild); }
    var step = row.querySelector('td.n').textContent;
    var a = row.getAttribute('data-a'), b = row.getAttribute('data-b');
    var title = h('h3', 'step ' + step + (a === b ? ': the same on both sides' : ': the sides differ'));
    title.id = 'detail-title';
    detail.appendChild(title);
    detail.appendChild(h('h4', 'A')); detail.appendChild(h('pre', pretty(a)));
    detail.appendChild(h('h4', 'B')); detail.appendChild(h('pre', pretty(b)));
  }
  table.addEventListener('click', function (ev) {
    var row = ev.target.closest ? ev.target.closest('tr') : null;
    if (row && row.parentNode && row.parentNode.tagName === 'TBODY') { select(row); }
  });
  var parting = document.getElementById('parting-row');
  if (parting) { select(parting); }
}());
