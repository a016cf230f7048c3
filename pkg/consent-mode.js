/*! vivus-consent: Google Consent Mode v2 defaults. Run before GTM/gtag.js (inline it, or load it
    without async/defer). Options: data-layer, data-wait-for-update, data-functionality-storage,
    data-security-storage, data-personalization-storage, data-region, data-ads-data-redaction,
    data-url-passthrough on this script tag; see docs/gates.md. No eval, no storage reads. */
(function (w, d) {
  var s = d.currentScript, a = function (n, v) { return (s && s.getAttribute('data-' + n)) || v; };
  var name = a('layer', 'dataLayer'), wait = parseInt(a('wait-for-update', '500'), 10);
  var gd = function (v, fallback) { return v === 'granted' || v === 'denied' ? v : fallback; };
  var layer = w[name] = w[name] || [];
  // gtag must push the arguments object itself: GTM tells commands from events by that.
  if (typeof w.gtag !== 'function') w.gtag = function () { layer.push(arguments); };
  var defaults = {
    ad_storage: 'denied', ad_user_data: 'denied', ad_personalization: 'denied', analytics_storage: 'denied',
    functionality_storage: gd(a('functionality-storage'), 'granted'),
    personalization_storage: gd(a('personalization-storage'), 'denied'),
    security_storage: gd(a('security-storage'), 'granted'),
    wait_for_update: wait >= 0 ? wait : 500
  };
  var region = a('region');
  if (region) defaults.region = region.split(',').map(function (r) { return r.trim(); });
  w.gtag('consent', 'default', defaults);
  if (a('ads-data-redaction') === 'true') w.gtag('set', 'ads_data_redaction', true);
  if (a('url-passthrough') === 'true') w.gtag('set', 'url_passthrough', true);
})(window, document);
