// vivus-consent: the package entry. Loads the wasm that sits next to this file, then
// exposes the API as module exports and as `window.VivusConsent`.
//
//   <script type="module">
//     import { init } from '/pkg/vivus-consent.js';
//     const consent = await init({ jwks: { keys: [...] } });
//   </script>
//
// Pages that allow no inline script (CSP `script-src 'self'`) can instead put the config in
//   <script type="application/json" id="vivus-consent-config">{ ... }</script>
// and load this file with <script type="module" src=".../vivus-consent.js">: it starts itself.
import load, { init as start, Consent } from './vivus_consent.js';

let loading;

/** Loads and instantiates the wasm once (streaming compile when the server sends application/wasm). */
function ready() {
  loading ??= load({ module_or_path: new URL('./vivus_consent_bg.wasm', import.meta.url) });
  return loading;
}

/**
 * Starts the SDK and resolves with the page's consent object (the same one on every call).
 * @param {import('./index').Config} [config]
 * @returns {Promise<import('./index').Consent>}
 */
export async function init(config) {
  await ready();
  // The policy texts ship in ./policy/ beside this file unless the page says otherwise.
  if (config == null) config = {};
  if (typeof config === 'object' && !Array.isArray(config) && !('policyUrl' in config)) {
    config = { ...config, policyUrl: new URL('./policy/', import.meta.url).href };
  }
  return start(config);
}

export { Consent };

const VivusConsent = Object.freeze({ init });
export default VivusConsent;

if (typeof window !== 'undefined') {
  window.VivusConsent ??= VivusConsent;
  const auto = document.getElementById('vivus-consent-config');
  if (auto) {
    let config;
    try {
      config = JSON.parse(auto.textContent || '{}');
    } catch (error) {
      console.error('vivus-consent: #vivus-consent-config is not valid JSON:', error);
    }
    if (config) init(config).catch((error) => console.error(error));
  }
}
