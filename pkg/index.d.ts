// Types of @vivus/consent (vivus-consent.js, the package entry).
// Kept by hand to match src/api.rs (the methods) and src/config.rs (the config); the
// package's tests type-check a consumer against this file.

/** A consent category. `necessary` is always granted. */
export type Category = 'necessary' | 'analytics' | 'marketing';

/** An optional category: the ones the visitor can refuse or withdraw. */
export type OptionalCategory = Exclude<Category, 'necessary'>;

/** An interface and policy language: Russian or Kazakh. */
export type Language = 'ru' | 'kk';

/** A Google Consent Mode v2 key; others are rejected, since gtag would ignore them silently. */
export type ConsentModeKey =
  | 'ad_storage'
  | 'ad_user_data'
  | 'ad_personalization'
  | 'analytics_storage'
  | 'functionality_storage'
  | 'personalization_storage'
  | 'security_storage';

/** A third-party service, listed under its category in the settings dialog. */
export interface Service {
  /** Its name as people know it, e.g. `"Google Analytics"`. Required and non-empty. */
  name: string;
  /**
   * The cookies it sets (names, or patterns with `*` at the end such as `"_ga*"`); they are
   * also deleted when its category is refused or withdrawn.
   * @default []
   */
  cookies?: string[];
}

/** The services of one category. */
export interface CategoryServices {
  /** @default [] */
  services?: Service[];
}

/**
 * A public key of the consent service: Ed25519 as an OKP JWK (RFC 8037), selected by `kid`
 * (its RFC 7638 thumbprint). Unknown members are ignored, keys of other types are skipped,
 * so the service's `/.well-known/jwks.json` can be pasted as it is.
 */
export interface Jwk {
  /** `"OKP"` */
  kty: string;
  /** `"Ed25519"` */
  crv: string;
  /** The public key, base64url. */
  x: string;
  /** The key id. */
  kid: string;
  /** `"EdDSA"` */
  alg?: string;
  /** `"sig"` */
  use?: string;
  [member: string]: unknown;
}

/** A JWK set: `{ keys: [...] }`. */
export interface Jwks {
  keys: Jwk[];
}

/** The consent cookie (which holds the signed token; the SDK reads it, so it is not HttpOnly). */
export interface CookieConfig {
  /**
   * The cookie name: letters, digits and ``!#$%&'*+-.^_`|~``. Also the `localStorage` key of
   * the token's copy (and `<name>_pending` of a choice not yet recorded).
   * @default "vivus_consent"
   */
  name?: string;
  /**
   * The `Domain` attribute, e.g. `".vivus.kz"` to share consent across subdomains.
   * @default null (this host only)
   */
  domain?: string | null;
  /**
   * The `Path` attribute; starts with `/`.
   * @default "/"
   */
  path?: string;
}

/** The banner and dialogs. */
export interface UiConfig {
  /**
   * Show the banner by itself when there is no valid consent; with `false` the page calls
   * `consent.show()` when it wants.
   * @default true
   */
  autoShow?: boolean;
  /**
   * Show no banner to known crawlers (Googlebot, bingbot, YandexBot, ...); nothing is granted.
   * @default true
   */
  hideForBots?: boolean;
  /**
   * Offer the Русский / Қазақша switch in the banner and dialogs.
   * @default true
   */
  languageSwitch?: boolean;
}

/** Requests to the consent service. */
export interface NetConfig {
  /**
   * How long one request may take, in milliseconds (at least 1).
   * @default 8000
   */
  timeoutMs?: number;
  /**
   * How many times a choice is sent before the SDK stops retrying until the next page load
   * (which retries it with the same consent id). From 1 to 20.
   * @default 6
   */
  maxAttempts?: number;
  /**
   * The first retry delay in milliseconds; it doubles with each retry, up to 60 s.
   * @default 1000
   */
  backoffMs?: number;
}

/**
 * Google Consent Mode v2: the SDK calls `gtag('consent', 'update', …)` from the verified
 * choice on every page load and change, and pushes
 * `{ event, categories, consentId, policyVersion }` to the data layer. The defaults must be
 * set before any Google tag by `consent-mode.js`.
 */
export interface ConsentModeConfig {
  /**
   * Whether to call `gtag` and push to the data layer at all.
   * @default true
   */
  enabled?: boolean;
  /**
   * The Consent Mode keys each category grants. A key mapped from several categories is
   * granted only when all of them are.
   * @default { necessary: [], analytics: ["analytics_storage"], marketing: ["ad_storage", "ad_user_data", "ad_personalization"] }
   */
  mapping?: Partial<Record<Category, ConsentModeKey[]>>;
  /**
   * The name of the global data layer array.
   * @default "dataLayer"
   */
  dataLayer?: string;
  /**
   * The `event` of the object pushed to the data layer on every update.
   * @default "vivus_consent_update"
   */
  event?: string;
}

/**
 * Cookies deleted (on this host and its parent domains) when a category is refused or
 * withdrawn: names, or patterns with `*` at the end. The cookies listed per service in
 * `categories` are added.
 */
export interface CleanupConfig {
  /** @default ["_ga", "_ga_*", "_gid", "_gat*", "_ym_*"] */
  analytics?: string[];
  /** @default ["_gcl_*", "_fbp", "_fbc"] */
  marketing?: string[];
  /**
   * Reload the page when a category granted on it is revoked, so tags already running stop.
   * @default false
   */
  reload?: boolean;
}

/** Guarded forms: `<form data-vivus-consent="policy">` or `consent.guardForm(form)`. */
export interface FormsConfig {
  /**
   * Guard every `<form data-vivus-consent="policy">` found at start and added later.
   * @default true
   */
  declarative?: boolean;
  /**
   * The hidden field that carries the token (`data-vivus-token-field` overrides it per form).
   * @default "consent_token"
   */
  tokenField?: string;
}

/**
 * Everything `init` accepts. Every member is optional. Unknown members and values of the
 * wrong type are errors (`invalid_config`, the message names the member), never ignored;
 * functions are refused (subscribe with `consent.on`).
 */
export interface Config {
  /**
   * Where consents are posted (`POST`); withdrawals go to `<endpoint>/<id>/withdraw`.
   * Another origin than the page's must be allowed by the service (`--allowed-origin`).
   * @default "/v1/consents" (the service on the page's own origin)
   */
  endpoint?: string;
  /**
   * The service's public keys, inline. Recommended in production: every token, a visitor's
   * first included, is then verified with no request at all.
   * @default null
   */
  jwks?: Jwks | null;
  /**
   * Where the key set is fetched when a token's `kid` is not in `jwks` nor in the set kept
   * from an earlier fetch (at most once per page); `null` disables fetching. The set fetched
   * is kept in `localStorage`, so a returning visitor is verified with no request.
   * @default "/.well-known/jwks.json"
   */
  jwksUrl?: string | null;
  /**
   * The `iss` a token must carry: the service's `--issuer`.
   * @default "vivus-consent"
   */
  issuer?: string;
  /**
   * The base URL of the policy texts, fetched as `<policyUrl><version>/<lang>.md` when the
   * policy viewer first opens. The service serves them beside the endpoint; set this to
   * serve them from elsewhere (e.g. where you copied the package's `policy/`).
   * @default "policy/" resolved against `endpoint` (`/v1/policy/`)
   */
  policyUrl?: string;
  /**
   * The policy version visitors are asked to accept: one compiled into the SDK (`"v1"`).
   * @default the newest
   */
  policyVersion?: string;
  /**
   * The interface language (a language tag: `"kk-KZ"` and `"kz"` mean Kazakh). `null` chooses
   * from `?lang=`, `<html lang>`, the browser's languages, then Russian.
   * @default null
   */
  language?: Language | null;
  /**
   * The services of each category, as the settings dialog lists them.
   * @default {} (none listed)
   */
  categories?: Partial<Record<Category, CategoryServices>>;
  /** The consent cookie. */
  cookie?: CookieConfig;
  /** The banner and dialogs. */
  ui?: UiConfig;
  /** Requests to the consent service: timeout and retries. */
  net?: NetConfig;
  /** Google Consent Mode v2 updates. */
  consentMode?: ConsentModeConfig;
  /** Cookies deleted when a category is refused or withdrawn. */
  cleanup?: CleanupConfig;
  /** Guarded forms. */
  forms?: FormsConfig;
}

/** `none`: no choice yet; `pending`: applied, not yet recorded by the service; `recorded`: a signed token is held. */
export type ConsentStatus = 'none' | 'pending' | 'recorded';

/** What `consent.state()` returns. */
export interface ConsentState {
  status: ConsentStatus;
  /** The id of the choice in effect (the token's `jti` once recorded); `null` without a choice. */
  consentId: string | null;
  /** This browser's random subject id (the token's `sub`). */
  subjectId: string;
  /** The policy version asked for, e.g. `"v1"`. */
  policyVersion: string;
  /** Hex SHA-256 of the policy text (the token's `pd`). */
  policyDigest: string;
  /** The granted categories, `necessary` first. */
  categories: Category[];
  /** Whether the personal data policy was accepted (the token's `pa`). */
  policyAccepted: boolean;
  /** The interface language now. */
  language: Language;
  /** The token's `iat`, seconds since the epoch; `null` unless recorded. */
  issuedAt: number | null;
  /** The token's `exp`, seconds since the epoch; `null` unless recorded. */
  expiresAt: number | null;
}

/** Error codes the service and the network can cause, as `error` events and rejections carry them. */
export type NetErrorCode =
  /** The service could not be reached (offline, DNS, refused, CORS). Retried. */
  | 'network'
  /** No answer within `net.timeoutMs`, or a 408. Retried. */
  | 'timeout'
  /** The service answered 5xx, or 429 (busy). Retried. */
  | 'server_error'
  /** The service refused the request (4xx other than 408/429). Not retried. */
  | 'rejected'
  /** The answer was not the JSON the API defines (wrong `endpoint`?). Not retried. */
  | 'bad_response';

/** Why a token did not verify. */
export type TokenErrorCode =
  | 'malformed'
  | 'unsupported_algorithm'
  | 'unknown_key'
  | 'bad_signature'
  | 'expired'
  | 'not_yet_valid'
  | 'wrong_issuer'
  | 'other_policy';

/** Every `code` an SDK error can carry. */
export type ErrorCode =
  /** `init`'s config is invalid; the message names the member. `name` is `TypeError`. */
  | 'invalid_config'
  /** A method's argument is invalid (an unknown category, language or event). `name` is `TypeError`. */
  | 'invalid_argument'
  /** `init` has not finished (or failed). */
  | 'not_initialized'
  /** No `window`, `document` or `crypto`: not a browser window. */
  | 'unsupported'
  /** Cookies or localStorage threw. */
  | 'storage'
  /** The visitor closed the policy-acceptance dialog without accepting. */
  | 'declined'
  /**
   * The visitor accepted the policy and closed the dialog before the service recorded it (it
   * was failing): the choice is kept and retried with the same consent id; call again to wait.
   */
  | 'acceptance_pending'
  /** The service answered with a token that does not verify here (check `issuer`, `jwks`, `jwksUrl`). Not retried. */
  | 'invalid_token'
  | NetErrorCode
  | TokenErrorCode;

/**
 * An error thrown or rejected by the SDK: a JS `Error` whose `name` is `TypeError` for bad
 * input (`invalid_config`, `invalid_argument`) and `VivusConsentError` otherwise.
 */
export interface ConsentError extends Error {
  name: 'TypeError' | 'VivusConsentError';
  code: ErrorCode;
}

/**
 * The events, by name: `consent.on(name, (detail) => …)`, and on `document` as
 * `CustomEvent`s named `vivus-consent:<name>` with the same `detail`.
 */
export interface VivusConsentEventMap {
  /** `init` finished: the verified stored choice (or none) is in effect. Late `on('ready')` handlers are called at once. */
  ready: { categories: Category[]; status: ConsentStatus };
  /** The granted categories changed (a choice, a withdrawal, another tab, a rejected token). */
  change: { categories: Category[]; changed: Category[] };
  /** The service recorded the choice in effect: its signed token and consent id. */
  recorded: { token: string; consentId: string };
  /**
   * Sending a choice failed (it is retried when the code says so), or (`storage`) no place in
   * the browser could keep the recorded choice, which then holds for this page only (the widget
   * also tells the visitor). `message` is in the interface language.
   */
  error: { code: NetErrorCode | 'invalid_token' | 'storage'; message: string };
}

/** An event name for `on`/`off`. */
export type ConsentEventName = keyof VivusConsentEventMap;

/** The detail of each event (kept as an alias of {@link VivusConsentEventMap}). */
export type ConsentEventDetail = VivusConsentEventMap;

/** The DOM events on `document`, by their full names. */
export type VivusConsentDocumentEventMap = {
  [E in ConsentEventName as `vivus-consent:${E}`]: CustomEvent<VivusConsentEventMap[E]>;
};

/** Something a token can be set on with `set(name, value)`. */
export type TokenTarget = FormData | URLSearchParams | Headers;

/**
 * The visitor's consent on this page: one object per page, from `init`. Methods that take a
 * category throw a `ConsentError` `invalid_argument` for an unknown one.
 */
export declare class Consent {
  private constructor();
  /** Shows the banner. */
  show(): void;
  /** Hides the banner and any open dialog (the choice, if any, stays as it is). */
  hide(): void;
  /** Opens the settings dialog. */
  showPreferences(): void;
  /** Opens the policy viewer (the text is fetched from `policyUrl` on first open). */
  showPolicy(): void;
  /** Grants every category, as the banner's "accept all" does (recorded with source `api`). */
  acceptAll(): void;
  /** Grants only `necessary`; the optional categories are refused at once. */
  rejectAll(): void;
  /** Grants exactly these categories (plus `necessary`); the others are refused. */
  accept(categories: Category | Category[]): void;
  /** Whether the category is granted now (pending or recorded). */
  has(category: Category): boolean;
  /** The consent state. */
  state(): ConsentState;
  /** The signed token (JWS) of the recorded choice; `null` with no choice or while pending. */
  token(): string | null;
  /** Resolves with the token once the service has recorded the choice in effect. */
  whenRecorded(): Promise<string>;
  /**
   * Asks the visitor to accept the personal data policy (the acceptance dialog, unless a
   * recorded token already says so) and resolves with the recorded token. Rejects with a
   * `ConsentError` `declined` if the dialog is closed without accepting, `acceptance_pending`
   * if it is closed after accepting but before the service recorded it (ask again later).
   */
  requestPolicyAcceptance(): Promise<string>;
  /**
   * For forms posted with `fetch`: gets the recorded token that includes policy acceptance
   * (asking as {@link requestPolicyAcceptance} does) and calls `target.set(name, token)`.
   * Resolves with `target`.
   * @param name the field or header name; default `forms.tokenField` (`"consent_token"`)
   */
  attachToken<T extends TokenTarget>(target: T, name?: string): Promise<T>;
  /** Withdraws optional categories (all of them when omitted), at once; the service records it as a withdrawal of the recorded consent (a new decision while none is recorded). */
  withdraw(categories?: Category | Category[]): void;
  /** Switches the interface language. */
  setLanguage(lang: Language): void;
  /** Calls `callback(category)` once, when `category` is granted (at once if it already is). */
  onGranted(category: Category, callback: (category: Category) => void): void;
  /**
   * Guards a form: it submits only with recorded consent that includes policy acceptance,
   * carrying the token in a hidden field. Returns `false` if another copy of the SDK guards
   * it already. `<form data-vivus-consent="policy">` is guarded without calling this.
   */
  guardForm(form: HTMLFormElement, options?: { tokenField?: string }): boolean;
  /** Sends a pending choice again now instead of waiting for the next retry. */
  retry(): void;
  /** Adds a listener; a throwing handler does not stop the others. */
  on<E extends ConsentEventName>(event: E, handler: (detail: VivusConsentEventMap[E]) => void): void;
  /** Removes a listener added with `on` (the same function). */
  off<E extends ConsentEventName>(event: E, handler: (detail: VivusConsentEventMap[E]) => void): void;
}

/**
 * Loads the wasm (once) and starts the SDK: reads and verifies the stored consent, shows the
 * banner if there is none, and resolves with the page's consent object. Later calls resolve
 * with the same object (their config is ignored). Rejects with a `ConsentError`
 * `invalid_config` naming the member; init may then be called again with a fixed config.
 */
export function init(config?: Config): Promise<Consent>;

/** The same API as `window.VivusConsent` (set when the entry loads, unless already set). */
declare const VivusConsent: { readonly init: typeof init };
export default VivusConsent;

declare global {
  interface Window {
    VivusConsent?: typeof VivusConsent;
  }
  interface DocumentEventMap extends VivusConsentDocumentEventMap {}
}
