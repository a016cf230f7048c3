/* Stand-in for Yandex Metrica's tag.js, served locally; loaded by the inline
   counter snippet on the landing page. Sets _ym_uid and _ym_d, drains the
   ym() queue, and leaves evidence for the tests (see analytics.js). */
(function () {
  'use strict';
  var NAME = 'yandex-metrika', LABEL = 'Яндекс Метрика';
  var w = window, d = document;
  w.__tagRuns = w.__tagRuns || {};
  w.__tagRuns[NAME] = (w.__tagRuns[NAME] || 0) + 1;
  w.dataLayer = w.dataLayer || [];
  (w.__tagLog = w.__tagLog || []).push({ tag: NAME, at: performance.now() });

  var now = Math.floor(Date.now() / 1000);
  d.cookie = '_ym_uid=' + now + String(Math.floor(Math.random() * 1e9)) + '; Path=/; Max-Age=' + 365 * 86400 + '; SameSite=Lax';
  d.cookie = '_ym_d=' + now + '; Path=/; Max-Age=' + 365 * 86400 + '; SameSite=Lax';
  var calls = (w.ym && w.ym.a) || [];
  w.ym = function () { calls.push([].slice.call(arguments)); };
  w.ym.a = calls;
  w.dataLayer.push({ event: 'ym_hit', tag: NAME, counters: calls.length });
  function marker() {
    var el = d.createElement('span');
    el.className = 'tag-marker';
    el.setAttribute('data-tag-ran', NAME);
    el.textContent = LABEL;
    (d.getElementById('tag-markers') || d.body).appendChild(el);
  }
  if (d.body) marker(); else d.addEventListener('DOMContentLoaded', marker);
})();
