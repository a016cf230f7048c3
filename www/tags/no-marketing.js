/* Runs only while marketing is NOT granted (data-category="!marketing"): the
   kind of fallback a site shows instead of personalised offers. */
(function () {
  'use strict';
  var NAME = 'no-marketing-fallback';
  var w = window, d = document;
  w.__tagRuns = w.__tagRuns || {};
  w.__tagRuns[NAME] = (w.__tagRuns[NAME] || 0) + 1;
  (w.__tagLog = w.__tagLog || []).push({ tag: NAME, at: performance.now() });
  function marker() {
    var el = d.createElement('span');
    el.className = 'tag-marker';
    el.setAttribute('data-tag-ran', NAME);
    el.textContent = d.documentElement.lang === 'kk' ? 'Жекелендірілген ұсыныстарсыз' : 'Без персональных предложений';
    (d.getElementById('tag-markers') || d.body).appendChild(el);
  }
  if (d.body) marker(); else d.addEventListener('DOMContentLoaded', marker);
})();
