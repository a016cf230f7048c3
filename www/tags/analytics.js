/* Stand-in for Google Analytics 4 (gtag.js), served locally. Like the real tag
   it sets _ga and _gid on the widest domain it can, reads the Consent Mode
   state from dataLayer and sends a page_view. It also leaves evidence for
   the tests: window.__tagRuns, window.__tagLog and a visible marker. */
(function () {
  'use strict';
  var NAME = 'google-analytics', LABEL = 'Google Analytics';
  var w = window, d = document;
  w.__tagRuns = w.__tagRuns || {};
  w.__tagRuns[NAME] = (w.__tagRuns[NAME] || 0) + 1;
  w.dataLayer = w.dataLayer || [];

  function consentState() {
    var state = null;
    w.dataLayer.forEach(function (entry) {
      if (entry && entry[0] === 'consent' && entry[2]) {
        state = state || {};
        for (var k in entry[2]) state[k] = entry[2][k];
      }
    });
    return state;
  }
  function setCookie(name, value, seconds) {
    var host = location.hostname;
    var base = name + '=' + value + '; Path=/; Max-Age=' + seconds + '; SameSite=Lax';
    if (!/^[\d.]+$/.test(host) && host.indexOf('.') > 0) {
      d.cookie = base + '; Domain=.' + host.split('.').slice(-2).join('.');
      if (d.cookie.indexOf(name + '=') !== -1) return;
    }
    d.cookie = base;
  }
  function marker() {
    var box = d.getElementById('tag-markers') || d.body;
    var el = d.createElement('span');
    el.className = 'tag-marker';
    el.setAttribute('data-tag-ran', NAME);
    el.textContent = LABEL;
    box.appendChild(el);
  }

  var now = Math.floor(Date.now() / 1000);
  var consent = consentState();
  (w.__tagLog = w.__tagLog || []).push({ tag: NAME, at: performance.now(), consent: consent });
  if (!consent || consent.analytics_storage !== 'denied') {
    setCookie('_ga', 'GA1.1.' + Math.floor(Math.random() * 2147483647) + '.' + now, 400 * 86400);
    setCookie('_gid', 'GA1.1.' + Math.floor(Math.random() * 2147483647) + '.' + now, 86400);
  }
  w.dataLayer.push({ event: 'page_view', tag: NAME, page_location: location.href });
  if (d.body) marker(); else d.addEventListener('DOMContentLoaded', marker);
})();
