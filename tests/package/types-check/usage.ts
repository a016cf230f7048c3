// Uses the whole public API as an integrator would; `tsc --noEmit -p .` must pass. The
// `@ts-expect-error` lines are mistakes the types must catch: if the types grow too loose,
// tsc fails with "Unused '@ts-expect-error' directive".
import VivusConsent, {
  init,
  Consent,
  type Category,
  type Config,
  type ConsentError,
  type ConsentState,
  type ErrorCode,
  type VivusConsentEventMap,
} from '@vivus/consent';

// Every config member, as the README's reference lists them.
const full: Required<Config> = {
  endpoint: 'https://consent.vivus.kz/v1/consents',
  jwks: { keys: [{ kty: 'OKP', crv: 'Ed25519', x: '11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo', kid: 'k', alg: 'EdDSA', use: 'sig' }] },
  jwksUrl: null,
  issuer: 'vivus-consent',
  policyUrl: 'https://consent.vivus.kz/v1/policy/',
  policyVersion: 'v1',
  language: 'kk',
  categories: {
    analytics: { services: [{ name: 'Google Analytics', cookies: ['_ga', '_ga_*'] }] },
    marketing: { services: [{ name: 'Meta Pixel' }] },
  },
  cookie: { name: 'vivus_consent', domain: '.vivus.kz', path: '/' },
  ui: { autoShow: false, hideForBots: true, languageSwitch: true },
  net: { timeoutMs: 8000, maxAttempts: 6, backoffMs: 1000 },
  consentMode: {
    enabled: true,
    mapping: { necessary: [], analytics: ['analytics_storage'], marketing: ['ad_storage', 'ad_user_data', 'ad_personalization'] },
    dataLayer: 'dataLayer',
    event: 'vivus_consent_update',
  },
  cleanup: { analytics: ['_ga', '_ga_*'], marketing: ['_fbp'], reload: false },
  forms: { declarative: true, tokenField: 'consent_token' },
};

// A key set fetched as JSON (members typed as plain strings) is accepted as it is.
const fetched: { keys: { kty: string; crv: string; x: string; kid: string }[] } = { keys: [] };
void init({ jwks: fetched });

// @ts-expect-error a misspelt member
void init({ ui: { autoshow: false } });
// @ts-expect-error a wrong type
void init({ net: { timeoutMs: '8000' } });
// @ts-expect-error only ru and kk
void init({ language: 'en' });
// @ts-expect-error not a Consent Mode key
void init({ consentMode: { mapping: { marketing: ['ads_storage'] } } });
// @ts-expect-error callbacks are not config: use consent.on
void init({ onChange: () => {} });

async function main(): Promise<void> {
  const consent: Consent = await init(full);
  const same: Consent = await VivusConsent.init();
  const fromWindow = await window.VivusConsent?.init();
  console.log(consent === same, fromWindow instanceof Consent);

  const granted: boolean = consent.has('marketing');
  // @ts-expect-error not a category
  consent.has('ads');
  consent.accept(['analytics']);
  consent.accept('marketing');
  consent.acceptAll();
  consent.rejectAll();
  consent.withdraw();
  consent.withdraw(['marketing']);
  consent.show();
  consent.hide();
  consent.showPreferences();
  consent.showPolicy();
  consent.setLanguage('ru');
  // @ts-expect-error only ru and kk
  consent.setLanguage('en');
  consent.retry();

  const state: ConsentState = consent.state();
  const status: 'none' | 'pending' | 'recorded' = state.status;
  const expires: number | null = state.expiresAt;
  const token: string | null = consent.token();
  const recorded: string = await consent.whenRecorded();
  const accepted: string = await consent.requestPolicyAcceptance();
  console.log(granted, status, expires, token, recorded, accepted);

  const body: FormData = await consent.attachToken(new FormData());
  const headers: Headers = await consent.attachToken(new Headers(), 'X-Consent-Token');
  // @ts-expect-error needs something with set(name, value)
  await consent.attachToken({});
  console.log(body, headers);

  const form = document.querySelector('form');
  if (form) {
    const guarded: boolean = consent.guardForm(form, { tokenField: 'consent_token' });
    console.log(guarded);
  }
  consent.onGranted('marketing', (category: Category) => console.log(category));

  // Events: the detail type follows the name, for on/off and for document listeners.
  const onChange = ({ categories, changed }: VivusConsentEventMap['change']) => console.log(categories, changed);
  consent.on('change', onChange);
  consent.off('change', onChange);
  consent.on('recorded', ({ token: t, consentId }) => console.log(t.length, consentId.length));
  consent.on('ready', ({ status: s }) => console.log(s));
  consent.on('error', ({ code, message }) => console.log(code, message));
  // @ts-expect-error no such event
  consent.on('accepted', () => {});
  // @ts-expect-error the recorded event has no categories
  consent.on('recorded', ({ categories }) => console.log(categories));
  document.addEventListener('vivus-consent:change', (event) => {
    const categories: Category[] = event.detail.categories;
    console.log(categories);
  });
  document.addEventListener('vivus-consent:error', (event) => console.log(event.detail.code));

  try {
    await consent.requestPolicyAcceptance();
  } catch (error) {
    const code: ErrorCode = (error as ConsentError).code;
    if (code === 'declined') console.log('declined');
    // @ts-expect-error not an error code
    if (code === 'nope') console.log('never');
  }
}

void main();
