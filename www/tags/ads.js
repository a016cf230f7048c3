/* Stand-in for the Google Ads conversion linker, served locally: sets _gcl_au
   (when Consent Mode does not deny ad_storage), pushes a conversion_linker
   event to dataLayer, and leaves evidence for the tests (see analytics.js). */
(function () {
  'use strict';
  var NAME = 'google-ads', LABEL = 'Google Ads';
  var w = window, d = document;
  w.__tagRuns = w.__tagRuns || {};
  w.__tagRuns[NAME] = (w.__tagRuns[NAME] || 0) + 1;
  w.dataLayer = w.dataLayer || [];

  var consent = null;
  w.dataLayer.forEach(function (entry) {
    if (entry && entry[0] === 'consent' && entry[2]) {
      consent = consent || {};
      for (var k in entry[2]) consent[k] = entry[2][k];
    }
  });
  (w.__tagLog = w.__tagLog || []).push({ tag: NAME, at: performance.now(), consent: consent });
  if (!consent || consent.ad_storage !== 'denied') {
    d.cookie = '_gcl_au=1.1.' + Math.floor(Math.random() * 2147483647) + '.' + Math.floor(Date.now() / 1000) +
      '; Path=/; Max-Age=' + 90 * 86400 + '; SameSite=Lax';
  }
  w.dataLayer.push({ event: 'conversion_linker', tag: NAME });
  function marker() {
    var el = d.createElement('span');
    el.className = 'tag-marker';
    el.setAttribute('data-tag-ran', NAME);
    el.textContent = LABEL;
    (d.getElementById('tag-markers') || d.body).appendChild(el);
  }
  if (d.body) marker(); else d.addEventListener('DOMContentLoaded', marker);
})();
