/*! vivus-consent Consent Mode v2 defaults. Inline it (or load it without async/defer) in <head>
   BEFORE Google Tag Manager or gtag.js: it must run before any Google tag. It defines
   window.dataLayer and window.gtag if missing and sets every consent key to its default; the
   SDK later sends gtag('consent','update',...) from the visitor's verified choice.
   No eval, no network, no storage reads (an unverified cookie must not grant anything).
   Options, as attributes of this script tag (all optional):
     data-layer="dataLayer"              name of the data layer array
     data-wait-for-update="500"          ms Google tags wait for the SDK's update
     data-functionality-storage="granted", data-security-storage="granted",
     data-personalization-storage="denied"   "granted" or "denied"
     data-region="KZ"                    comma-separated ISO 3166 regions the defaults apply to
     data-ads-data-redaction="true"      redact ad click ids while ad_storage is denied
     data-url-passthrough="true"         pass ad click info through URLs while denied */
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
