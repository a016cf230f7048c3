/* The embedded player counts its loads in the parent page (same origin in the
   demo) so the tests can check the iframe was activated exactly once. */
(function () {
  'use strict';
  var NAME = 'video-embed';
  try {
    var p = window.parent;
    if (p && p !== window) {
      p.__tagRuns = p.__tagRuns || {};
      p.__tagRuns[NAME] = (p.__tagRuns[NAME] || 0) + 1;
    }
  } catch (e) { /* cross-origin parent: nothing to report */ }
  document.querySelector('.play').addEventListener('click', function () {
    document.querySelector('.caption').textContent = '▶ 0:01 / 1:02';
  });
})();
