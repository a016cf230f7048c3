/* The one place where the demo pages start the consent SDK. Every page loads
   this module; other modules import `consentReady` from it.

   The SDK is imported dynamically so that a page whose SDK failed to load
   still works (the calculator, the form's own validation) while every
   optional tag stays inert: <script type="text/plain"> never runs by itself. */

// The consent service answers on the same origin in the demo (`make run`), so the
// defaults of `endpoint` ("/v1/consents") and `jwksUrl` ("/.well-known/jwks.json") fit.
// The services listed here appear in the settings dialog, with the cookies they set
// (the stand-in tags in /tags/ set exactly these).
const config = {
  categories: {
    analytics: {
      services: [
        { name: 'Google Analytics', cookies: ['_ga', '_ga_*', '_gid'] },
        { name: 'Яндекс Метрика', cookies: ['_ym_*'] },
      ],
    },
    marketing: {
      services: [
        { name: 'Google Ads', cookies: ['_gcl_*'] },
        { name: 'Meta Pixel', cookies: ['_fbp'] },
        { name: 'Видеосервис' },
      ],
    },
  },
};

const openers = {
  preferences: (consent) => consent.showPreferences(),
  policy: (consent) => consent.showPolicy(),
  banner: (consent) => consent.show(),
};

// Footer links such as "Cookie settings" carry data-vivus-consent-open. The listener is
// there from the start, so a click made while the SDK is still loading opens the dialog
// once it is ready. If the SDK handled the click itself (defaultPrevented), nothing more.
function bindOpeners(ready) {
  document.addEventListener('click', (event) => {
    const opener = event.target instanceof Element && event.target.closest('[data-vivus-consent-open]');
    if (!opener || event.defaultPrevented) return;
    const open = openers[opener.getAttribute('data-vivus-consent-open')];
    if (!open) return;
    event.preventDefault();
    ready.then((consent) => consent && open(consent));
  });
}

async function start() {
  let sdk;
  try {
    sdk = await import('/pkg/vivus-consent.js');
  } catch (error) {
    document.documentElement.dataset.consent = 'unavailable';
    console.warn('vivus-consent: the SDK did not load, optional tags stay blocked:', error);
    return null;
  }
  const init = sdk.init ?? sdk.default?.init ?? window.VivusConsent?.init;
  const consent = await init(config);
  window.demoConsent = consent;
  document.documentElement.dataset.consent = 'ready';
  return consent;
}

/** Resolves to the SDK's consent object, or null when the SDK is unavailable. */
export const consentReady = start().catch((error) => {
  document.documentElement.dataset.consent = 'error';
  console.error('vivus-consent: init failed:', error);
  return null;
});
bindOpeners(consentReady);
