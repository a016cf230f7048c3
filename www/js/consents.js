/* "My consents": the visitor's current consent (from the SDK) and their
   history from the consent service's ledger (GET /v1/subjects/{sub}/consents,
   authorised by the stored token), with buttons to withdraw optional categories. */
import { consentReady } from './consent-init.js';

const i18n = window.demoI18n;
const t = i18n.t;
const CATEGORIES = ['necessary', 'analytics', 'marketing'];
const COOKIE = 'vivus_consent';

const $ = (id) => document.getElementById(id);

function readCookie(name) {
  const prefix = name + '=';
  for (const part of document.cookie.split(';')) {
    const c = part.trim();
    if (c.startsWith(prefix)) return decodeURIComponent(c.slice(prefix.length));
  }
  return null;
}

function readLocal(key) {
  try { return localStorage.getItem(key); } catch { return null; }
}

// The token of the recorded consent. With the SDK, only what it verified; without it
// (it failed to load), as stored (docs/architecture.md, "Browser storage"): the
// service still checks it before it shows any history.
function storedToken(consent) {
  if (consent) return consent.token();
  return readCookie(COOKIE) || readLocal(COOKIE);
}

// Display only: the service checks the token when it answers the history request.
function peekClaims(token) {
  try {
    const payload = token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
    const json = new TextDecoder().decode(Uint8Array.from(atob(payload), (c) => c.charCodeAt(0)));
    return JSON.parse(json);
  } catch {
    return null;
  }
}

// Categories as an array of names, whether given as ["necessary", …] or {necessary: true, …}.
function granted(categories) {
  if (Array.isArray(categories)) return categories;
  if (categories && typeof categories === 'object') return CATEGORIES.filter((c) => categories[c]);
  return [];
}

function chips(list) {
  const ul = $('consent-categories');
  ul.replaceChildren(...CATEGORIES.map((c) => {
    const li = document.createElement('li');
    li.className = 'chip';
    li.dataset.category = c;
    li.dataset.granted = String(list.includes(c));
    li.textContent = t('cat.' + c);
    return li;
  }));
}

function setButtons(enabled, list) {
  document.querySelectorAll('[data-withdraw]').forEach((b) => {
    const cats = b.dataset.withdraw.split(',');
    b.disabled = !enabled || !cats.some((c) => list.includes(c));
  });
}

function renderCurrent(consent) {
  const token = storedToken(consent);
  const claims = token ? peekClaims(token) : null;
  const state = consent && typeof consent.state === 'function' ? consent.state() : null;
  const box = $('consent-status');
  const list = granted(state?.categories ?? claims?.cat);
  const pending = state?.status === 'pending';

  if (!claims && !pending) {
    box.dataset.state = 'none';
    $('consent-summary').textContent = t('consents.none');
    $('consent-categories').replaceChildren();
    $('consent-details').textContent = '';
    setButtons(false, []);
    return { token: null, claims: null };
  }
  box.dataset.state = pending ? 'pending' : 'recorded';
  $('consent-summary').textContent = pending ? t('consents.pending') : t('consents.granted') + ':';
  chips(list);
  const details = [];
  if (claims) {
    details.push(t(claims.pa ? 'consents.policy-accepted' : 'consents.policy-not-accepted'));
    if (claims.exp) details.push(t('consents.expires') + ' ' + i18n.date(new Date(claims.exp * 1000)));
  }
  $('consent-details').textContent = details.join('. ');
  setButtons(Boolean(consent), list);
  return { token, claims };
}

// Record kinds of the ledger (crates/server/src/http/consent.rs, HistoryRecord.kind).
const ACTIONS = {
  consent: 'action.consent',
  withdrawal: 'action.withdrawal',
  policy_withdrawal_request: 'action.policy-withdrawal',
};

function cell(text, className) {
  const td = document.createElement('td');
  td.textContent = text;
  if (className) td.className = className;
  return td;
}

function pick(record, ...names) {
  for (const n of names) {
    const v = n.split('.').reduce((o, k) => (o == null ? undefined : o[k]), record);
    if (v !== undefined && v !== null) return v;
  }
  return undefined;
}

async function renderHistory(token, claims) {
  const status = $('history-status');
  const wrap = $('history-wrap');
  if (!token || !claims?.sub) {
    wrap.hidden = true;
    status.textContent = t('consents.history-none');
    return;
  }
  status.textContent = t('consents.loading');
  let body;
  try {
    const res = await fetch(`/v1/subjects/${encodeURIComponent(claims.sub)}/consents`, {
      headers: { Authorization: `Bearer ${token}`, Accept: 'application/json' },
    });
    body = await res.json().catch(() => ({}));
    if (!res.ok) throw new Error(body.message || `HTTP ${res.status}`);
  } catch (error) {
    wrap.hidden = true;
    status.textContent = t('consents.history-error', { msg: error.message });
    return;
  }
  const records = [...(body.records || [])].sort(
    (a, b) => Number(pick(b, 'sequence') ?? 0) - Number(pick(a, 'sequence') ?? 0));
  if (records.length === 0) {
    wrap.hidden = true;
    status.textContent = t('consents.history-none');
    return;
  }
  const rows = records.map((r) => {
    const tr = document.createElement('tr');
    const kind = String(pick(r, 'kind', 'action', 'type') ?? 'consent');
    const when = pick(r, 'recordedAt', 'recorded_at');
    const source = pick(r, 'source');
    const lang = pick(r, 'language', 'lang');
    tr.dataset.sequence = String(pick(r, 'sequence') ?? '');
    tr.dataset.kind = kind;
    tr.append(
      cell(String(pick(r, 'sequence') ?? '—')),
      cell(when ? i18n.dateTime(new Date(when)) : '—'),
      cell(t(ACTIONS[kind] ?? 'action.consent') + (source ? ` (${t('source.' + source)})` : '')),
      cell(granted(pick(r, 'categories', 'cat')).map((c) => t('cat.' + c)).join(', ') || '—'),
      cell(String(pick(r, 'policy.version', 'policyVersion', 'pv') ?? '—') +
        (pick(r, 'policyAccepted', 'pa') ? ` — ${t('consents.accepted')}` : '')),
      cell(lang ? t('lang.' + lang) : '—'),
    );
    return tr;
  });
  $('history').tBodies[0].replaceChildren(...rows);
  status.textContent = '';
  wrap.hidden = false;
}

async function refresh(consent) {
  const { token, claims } = renderCurrent(consent);
  await renderHistory(token, claims);
}

const consent = await consentReady;
if (!consent) {
  $('consent-message').dataset.kind = 'error';
  $('consent-message').textContent = t('consents.sdk-missing');
}

document.querySelectorAll('[data-withdraw]').forEach((button) => {
  button.addEventListener('click', async () => {
    const message = $('consent-message');
    const categories = button.dataset.withdraw.split(',');
    button.disabled = true;
    try {
      // withdraw() takes effect at once (tags stop, cookies go); the service records it
      // as a new decision, and whenRecorded() resolves with the new token.
      await consent.withdraw(categories);
      await consent.whenRecorded();
      message.dataset.kind = 'ok';
      message.textContent = t('consents.withdrawn');
    } catch (error) {
      message.dataset.kind = 'error';
      message.textContent = t('consents.withdraw-error', { msg: error.message || String(error) });
    }
    await refresh(consent);
  });
});

for (const type of ['vivus-consent:change', 'vivus-consent:recorded']) {
  document.addEventListener(type, () => refresh(consent));
}
await refresh(consent);
document.documentElement.dataset.consentsPage = 'ready';
