// Types of vivus-consent.js, the package entry.

/** A consent category. `necessary` is always granted. */
export type Category = 'necessary' | 'analytics' | 'marketing';

/** An interface and policy language. */
export type Language = 'ru' | 'kk';

/** Names accepted by `on`/`off`; as DOM events they are `vivus-consent:<name>` on `document`. */
export type ConsentEventName = 'ready' | 'change' | 'recorded' | 'error';

/** A third-party service, listed in the settings dialog. */
export interface Service {
  /** Its name as people know it, e.g. `"Google Analytics"`. */
  name: string;
  /** The cookies it sets (names or patterns such as `"_ga*"`). @default [] */
  cookies?: string[];
}

/** An Ed25519 public key (RFC 8037); the SDK selects keys by `kid`. */
export interface Jwk {
  kty: 'OKP';
  crv: 'Ed25519';
  x: string;
  kid: string;
  alg?: 'EdDSA';
  use?: 'sig';
}

/**
 * Everything `init` accepts. Every member is optional; unknown members are errors
 * (the error names the member), and so are values of the wrong type.
 */
export interface Config {
  /** Where consents are posted. @default "/v1/consents" */
  endpoint?: string;
  /** The service's public keys, inline: a returning visitor is verified with no request. @default null */
  jwks?: { keys: Jwk[] } | null;
  /** Fetched (once per page) when a token's `kid` is not in `jwks`; `null` disables it. @default "/.well-known/jwks.json" */
  jwksUrl?: string | null;
  /** The `iss` a token must carry. @default "vivus-consent" */
  issuer?: string;
  /** Base URL of the policy texts (`<policyUrl><version>/<lang>.md`), fetched when the viewer opens. @default "./policy/" beside vivus-consent.js */
  policyUrl?: string;
  /** The policy version visitors accept; one compiled into the SDK. @default the newest */
  policyVersion?: string;
  /** The interface language; `null` picks from `?lang=`, `<html lang>`, the browser, then `ru`. @default null */
  language?: Language | null;
  /** Services per category, shown in the settings dialog. @default {} */
  categories?: Partial<Record<Category, { services?: Service[] }>>;
  cookie?: {
    /** @default "vivus_consent" */
    name?: string;
    /** e.g. `".vivus.kz"` to share consent across subdomains. @default null (this host) */
    domain?: string | null;
    /** @default "/" */
    path?: string;
  };
  ui?: {
    /** Show the banner by itself when there is no valid consent. @default true */
    autoShow?: boolean;
    /** No banner for known crawlers (Googlebot, bingbot, YandexBot, ...); nothing is granted. @default true */
    hideForBots?: boolean;
    /** Offer the Русский / Қазақша switch. @default true */
    languageSwitch?: boolean;
  };
  net?: {
    /** One request's timeout in milliseconds. @default 8000 */
    timeoutMs?: number;
    /** Sends per choice before waiting for the next page load (1–20). @default 6 */
    maxAttempts?: number;
    /** First retry delay in milliseconds, doubled per retry up to 60 s. @default 1000 */
    backoffMs?: number;
  };
  /** Google Consent Mode v2 updates (`gtag('consent','update', …)` and a data layer event). */
  consentMode?: {
    /** @default true */
    enabled?: boolean;
    /** Consent Mode keys per category. @default { analytics: ['analytics_storage'], marketing: ['ad_storage','ad_user_data','ad_personalization'] } */
    mapping?: Partial<Record<Category, string[]>>;
    /** @default "dataLayer" */
    dataLayer?: string;
    /** @default "vivus_consent_update" */
    event?: string;
  };
  /** Cookies deleted when a category is refused or withdrawn (name patterns, `*` at the end). */
  cleanup?: {
    /** @default ["_ga", "_ga_*", "_gid", "_gat*", "_ym_*"] */
    analytics?: string[];
    /** @default ["_gcl_*", "_fbp", "_fbc"] */
    marketing?: string[];
    /** Reload the page when a category granted on it is revoked. @default false */
    reload?: boolean;
  };
  /** Guarded forms (`<form data-vivus-consent="policy">` or `guardForm`). */
  forms?: {
    /** Guard `<form data-vivus-consent="policy">` found at start and later. @default true */
    declarative?: boolean;
    /** Hidden field carrying the token. @default "consent_token" */
    tokenField?: string;
  };
}

/** The consent state. */
export interface ConsentState {
  /** `none`: no choice; `pending`: applied, not yet recorded; `recorded`: signed token held. */
  status: 'none' | 'pending' | 'recorded';
  consentId: string | null;
  subjectId: string;
  policyVersion: string;
  policyDigest: string;
  categories: Category[];
  policyAccepted: boolean;
  language: Language;
  /** Seconds since the epoch; `null` unless recorded. */
  issuedAt: number | null;
  expiresAt: number | null;
}

export interface ConsentEventDetail {
  ready: { categories: Category[]; status: ConsentState['status'] };
  change: { categories: Category[]; changed: Category[] };
  recorded: { token: string; consentId: string };
  error: { code: string; message: string };
}

/** An error from the SDK: `name` is `TypeError` for bad input, else `VivusConsentError`. */
export interface ConsentError extends Error {
  /** e.g. `invalid_config`, `invalid_argument`, `declined`, `network`, `timeout`. */
  code: string;
}

/** The visitor's consent on this page. */
export interface Consent {
  show(): void;
  hide(): void;
  showPreferences(): void;
  showPolicy(): void;
  acceptAll(): void;
  rejectAll(): void;
  /** Grants exactly these categories (plus necessary); the others are refused. */
  accept(categories: Category | Category[]): void;
  /** Whether the category is granted (pending or recorded). */
  has(category: Category): boolean;
  state(): ConsentState;
  /** The signed token (JWS) of the recorded choice, or `null`. */
  token(): string | null;
  /** Resolves with the token once the service has recorded the choice in effect. */
  whenRecorded(): Promise<string>;
  /** Shows the policy-acceptance dialog; resolves with the recorded token, rejects with code `declined`. */
  requestPolicyAcceptance(): Promise<string>;
  /** Withdraws optional categories (all when omitted), at once, recorded as a new decision. */
  withdraw(categories?: Category | Category[]): void;
  setLanguage(lang: Language): void;
  /** Calls `callback` once, when `category` is granted (at once if it already is). */
  onGranted(category: Category, callback: (category: Category) => void): void;
  /** Guards a form: it submits only with recorded consent including policy acceptance, carrying the token. */
  guardForm(form: HTMLFormElement, options?: { tokenField?: string }): boolean;
  /** Sends a pending choice again now. */
  retry(): void;
  on<E extends ConsentEventName>(event: E, handler: (detail: ConsentEventDetail[E]) => void): void;
  off<E extends ConsentEventName>(event: E, handler: (detail: ConsentEventDetail[E]) => void): void;
}

/** Starts the SDK (once per page; later calls return the same object). Rejects with a `ConsentError` `invalid_config` naming the member. */
export function init(config?: Config): Promise<Consent>;

declare const VivusConsent: { init: typeof init };
export default VivusConsent;

declare global {
  interface Window {
    VivusConsent?: typeof VivusConsent;
  }
  interface DocumentEventMap {
    'vivus-consent:ready': CustomEvent<ConsentEventDetail['ready']>;
    'vivus-consent:change': CustomEvent<ConsentEventDetail['change']>;
    'vivus-consent:recorded': CustomEvent<ConsentEventDetail['recorded']>;
    'vivus-consent:error': CustomEvent<ConsentEventDetail['error']>;
  }
}
