// vivus-consent: the package entry. Loads the wasm that sits next to this file, then
// exposes the API as module exports and as `window.VivusConsent`.
//
//   <script type="module">
//     import { init } from '/pkg/vivus-consent.js';
//     const consent = await init({ jwks: { keys: [...] } });
//   </script>
//
// Pages that allow no inline script (CSP `script-src 'self'`) can instead load this file with one tag
// and let it start itself, configured by attributes of that tag
//   <script type="module" src=".../vivus-consent.js" data-endpoint="https://consent.example/v1/consents"
//           data-lang="kk"></script>
// and/or by a JSON block (attributes win over the block):
//   <script type="application/json" id="vivus-consent-config">{ ... }</script>
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
  // The service that records consent also serves the policy texts it binds consent to
  // (`<service>/v1/policy/<version>/<lang>.md`), so the default follows the endpoint. A path next
  // to this file would break once a bundler moves the module into its assets folder.
  if (config == null) config = {};
  if (typeof config === 'object' && !Array.isArray(config) && !('policyUrl' in config)) {
    const endpoint = typeof config.endpoint === 'string' ? config.endpoint : '/v1/consents';
    try {
      config = { ...config, policyUrl: new URL('policy/', new URL(endpoint, location.href)).href };
    } catch {
      // An endpoint that is not a URL is reported by init's own validation, naming the member.
    }
  }
  return start(config);
}

export { Consent };

const VivusConsent = Object.freeze({ init });
export default VivusConsent;

/** The one-tag attributes and the config members they set. */
const TAG_ATTRIBUTES = {
  'data-endpoint': 'endpoint',
  'data-jwks-url': 'jwksUrl',
  'data-issuer': 'issuer',
  'data-policy-url': 'policyUrl',
  'data-lang': 'language',
};

/** The config a page gave this module's own script tag and JSON block, or null when it gave none. */
function configFromPage() {
  // A module script has no document.currentScript: find the tag that loaded this very file.
  const tag = [...document.querySelectorAll('script[type="module"][src]')].find((s) => s.src === import.meta.url);
  const block = document.getElementById('vivus-consent-config');
  let config = null;
  if (block) {
    try {
      config = JSON.parse(block.textContent || '{}');
    } catch (error) {
      throw new Error(`vivus-consent: #vivus-consent-config is not valid JSON (${error.message}); fix the block or remove it`);
    }
  }
  for (const [attribute, member] of Object.entries(TAG_ATTRIBUTES)) {
    if (tag?.hasAttribute(attribute)) (config ??= {})[member] = tag.getAttribute(attribute);
  }
  if (tag?.hasAttribute('data-auto-show')) {
    const value = tag.getAttribute('data-auto-show');
    if (value !== 'true' && value !== 'false') {
      throw new Error(`vivus-consent: data-auto-show must be "true" or "false", not "${value}"`);
    }
    (config ??= {}).ui = { ...(config.ui ?? {}), autoShow: value === 'true' };
  }
  return config;
}

if (typeof window !== 'undefined') {
  window.VivusConsent ??= VivusConsent;
  let config = null;
  try {
    config = configFromPage();
  } catch (error) {
    console.error(error.message);
  }
  if (config) init(config).catch((error) => console.error(error));
}
