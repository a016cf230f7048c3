// vivus-consent: the package entry. Loads the wasm that sits next to this file, then
// exposes the API as module exports and as `window.VivusConsent`.
//
// This is its readable source: `make pkg` ships it minified as pkg/vivus-consent.js
// (scripts/minify.mjs), since every page view loads it first.
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
//
// Four stages, each loaded only when the page view needs it:
//   vivus_consent_boot*.js/wasm       the banner of a first visit, before anything else;
//   vivus_consent_returning*.js/wasm  with a consent stored, its granted tags running before
//                                     anything else (the same checks as the runtime's);
//   vivus_consent*.js/wasm            the runtime: every page view (the state, the JS API,
//                                     events; it takes over the gates from the stage above);
//   vivus_consent_ui*.js/wasm    the widget and the recorder: on a first visit after the
//                                banner's frame, else when the visitor opens settings or the
//                                policy, submits the loan form without a recorded acceptance,
//                                or makes a choice to record.

/** The first stage's glue once loaded (its exports: `b` paint, `p` pad the body, `c` clicked, `u` unpaint). */
let boot;

/** The SDK's class, set once the runtime has loaded (a live binding: read it after `init`). */
export let Consent;

let runtime;
let returning;
let ui;
let first;

/**
 * Loads and instantiates one stage: its glue (a dynamic import) and its wasm requested together,
 * not the wasm only once the glue has arrived and run, which saves a round trip. The specifiers
 * stay literal at the call sites so bundlers can follow them.
 */
async function loadStage(importGlue, wasmUrl) {
  const wasm = fetch(wasmUrl);
  wasm.catch(() => {}); // a failed fetch is reported by the glue's await below, not as unhandled
  const glue = await importGlue();
  await glue.default({ module_or_path: wasm }); // streaming compile with application/wasm
  return glue;
}

/** Loads the runtime once. */
function loadRuntime() {
  runtime ??= loadStage(() => import('./vivus_consent.js'), new URL('./vivus_consent_bg.wasm', import.meta.url))
    .then((glue) => {
      Consent = glue.Consent;
      return glue;
    });
  return runtime;
}

/** Loads the returning visitor's stage once (its export: `q` run the granted tags). */
function loadReturning() {
  returning ??= loadStage(() => import('./vivus_consent_returning.js'), new URL('./vivus_consent_returning_bg.wasm', import.meta.url));
  return returning;
}

/** Loads the interactive stage once (the runtime calls it when it first needs the stage). */
function loadUi() {
  if (!ui) {
    ui = loadStage(() => import('./vivus_consent_ui.js'), new URL('./vivus_consent_ui_bg.wasm', import.meta.url));
    // A failed load is tried again by the next need (the runtime asks again).
    ui.catch(() => { ui = undefined; });
  }
  return ui;
}

/**
 * Whether consent may be stored: the token cookie, or the token or a pending choice in
 * localStorage, each place read on its own as the SDK's `storage::BrowserStore` reads them (a
 * place that throws holds nothing; a cookie that throws does not hide localStorage). With
 * something stored the SDK decides whether a banner shows, so the first stage is not even
 * loaded; it draws only when this says nothing is stored (it does not read the storage itself:
 * that cost 1 kB brotli before the banner). The SDK and the returning visitor's stage read and
 * check the storage themselves.
 */
function mayBeStored(config) {
  const name = config?.cookie?.name ?? 'vivus_consent';
  const holds = (read) => {
    try {
      return read();
    } catch {
      return false;
    }
  };
  return holds(() => document.cookie.split(';').some((c) => c.trim().startsWith(`${name}=`)))
    // The same keys as the SDK's (storage::local_key): named after the cookie.
    || holds(() => localStorage.getItem(name) !== null || localStorage.getItem(`${name}_pending`) !== null);
}

/**
 * The first stage: draws the banner if the SDK would, then waits until it is painted.
 * Resolves with whether it drew one (the interactive stage will then be needed at once).
 */
async function firstPaint(config) {
  if (mayBeStored(config)) return false;
  let painted = false;
  try {
    const glue = await loadStage(() => import('./vivus_consent_boot.js'), new URL('./vivus_consent_boot_bg.wasm', import.meta.url));
    boot = glue;
    // The banner's shadow root when it drew one; its clicks are noted for the SDK to repeat.
    // Storage is read again first: another tab may have stored a choice while the stage loaded.
    const root = !mayBeStored(config) && glue.b(config);
    if (root) {
      root.addEventListener('click', glue.c);
      // A press still held when the SDK takes over is finished there (dom::resume).
      root.addEventListener('pointerdown', (e) => root.host.setAttribute('data-vc-pressed', e.target.closest('[data-vc]')?.dataset.vc ?? ''));
      addEventListener('pointerup', () => root.host.removeAttribute('data-vc-pressed'), true);
      addEventListener('pointercancel', () => root.host.removeAttribute('data-vc-pressed'), true);
    }
    painted = !!root;
  } catch (error) {
    // The SDK alone still works (it draws the banner itself): say why, once, and go on.
    console.warn('vivus-consent: the first-paint stage did not run', error);
  }
  // After the frame that shows the banner, so the SDK's download and compile cannot delay it
  // (or after 100 ms: a background tab paints no frames). In that frame, before its layout,
  // the first stage pads the body by the banner's height (`p`): measured here, the height
  // would lay the page out inside this task.
  if (painted) {
    await new Promise((resolve) => {
      requestAnimationFrame(() => {
        boot.p();
        setTimeout(resolve);
      });
      setTimeout(resolve, 100);
    });
  }
  return painted;
}

// A guarded form submitted while the runtime loads would go without a token: hold it, and
// submit it again (its button, if still there) once the runtime guards forms or failed to start.
function holdSubmits() {
  let held;
  const hold = (event) => {
    if (!event.target.matches('form[data-vivus-consent="policy"]')) return;
    event.preventDefault();
    event.stopImmediatePropagation();
    held ??= event;
  };
  document.addEventListener('submit', hold, true);
  return () => {
    document.removeEventListener('submit', hold, true);
    const form = held?.target;
    if (form?.isConnected) requestSubmit(form, held.submitter?.form === form ? held.submitter : null);
    held = null;
  };
}

// form.requestSubmit(submitter), or what it does where it is missing (Safari before 16).
function requestSubmit(form, submitter) {
  if (form.requestSubmit) form.requestSubmit(submitter);
  else if (submitter) submitter.click();
  else if (form.dispatchEvent(new Event('submit', { bubbles: true, cancelable: true }))) HTMLFormElement.prototype.submit.call(form);
}
let release;

/**
 * Starts the SDK and resolves with the page's consent object (the same one on every call).
 * @param {import('./index').Config} [config]
 * @returns {Promise<import('./index').Consent>}
 */
export async function init(config) {
  release ??= holdSubmits();
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
  first ??= firstPaint(config);
  const painted = await first;
  // A consent may be stored: its granted tags run before the runtime is even requested. What
  // this stage cannot settle (nothing valid stored, a choice still to send) the runtime does.
  let early;
  if (!painted && mayBeStored(config)) {
    try {
      early = await (await loadReturning()).q(config);
    } catch (error) {
      console.warn('vivus-consent: the returning visitor\'s stage did not run; the runtime checks the consent', error);
    }
  }
  const loading = loadRuntime();
  // The banner is up: the widget that takes it over is needed as soon as the runtime is, so
  // both load side by side (the runtime asked first: it decides what the page may run).
  if (painted) loadUi().catch(() => {});
  try {
    const { start } = await loading;
    return await start(config, loadUi, early);
  } catch (error) {
    // No SDK behind the first stage's banner (an invalid config, the SDK unreachable): take it away.
    try {
      boot?.u();
    } catch {
      // The first stage did not start: there is nothing to take away.
    }
    throw error;
  } finally {
    release();
  }
}

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
