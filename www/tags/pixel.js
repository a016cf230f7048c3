/* Stand-in for the Meta (Facebook) Pixel, served locally: defines fbq, sets
   _fbp, tracks a PageView, and leaves evidence for the tests (see analytics.js). */
(function () {
  'use strict';
  var NAME = 'meta-pixel', LABEL = 'Meta Pixel';
  var w = window, d = document;
  w.__tagRuns = w.__tagRuns || {};
  w.__tagRuns[NAME] = (w.__tagRuns[NAME] || 0) + 1;
  w.dataLayer = w.dataLayer || [];
  (w.__tagLog = w.__tagLog || []).push({ tag: NAME, at: performance.now() });

  var queue = [];
  w.fbq = w.fbq || function () { queue.push([].slice.call(arguments)); };
  w.fbq.queue = queue;
  d.cookie = '_fbp=fb.1.' + Date.now() + '.' + Math.floor(Math.random() * 2147483647) +
    '; Path=/; Max-Age=' + 90 * 86400 + '; SameSite=Lax';
  w.fbq('init', '000000000000000');
  w.fbq('track', 'PageView');
  w.dataLayer.push({ event: 'fb_pixel_page_view', tag: NAME });
  function marker() {
    var el = d.createElement('span');
    el.className = 'tag-marker';
    el.setAttribute('data-tag-ran', NAME);
    el.textContent = LABEL;
    (d.getElementById('tag-markers') || d.body).appendChild(el);
  }
  if (d.body) marker(); else d.addEventListener('DOMContentLoaded', marker);
})();
