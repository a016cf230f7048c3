// What the WebDriver engines (tests/e2e/webdriver.mjs) run inside the page. Classic
// WebDriver can only find elements by CSS or XPath and stops at shadow roots, while the
// tests find the widget's controls as a visitor's assistive technology does: by role and
// accessible name, through the widget's open shadow root (Playwright's getByRole). So the
// locators are resolved here, in the page, by one self-contained function whose source is
// sent with each command (`kit` below; nothing may refer to variables outside it).
//
// The role and name rules are the subset of WAI-ARIA 1.2 / HTML-AAM / accname 1.2 that the
// widget and the demo site use: explicit roles, the implicit roles of their elements, names
// from aria-labelledby, aria-label, <label>, content and title. Elements hidden from
// assistive technology (aria-hidden, display: none, visibility: hidden) match no role, as
// in Playwright.

/** Installs `window.__e2eKit` (once per document) and returns it. */
export function kit() {
  if (window.__e2eKit) return window.__e2eKit;
  const norm = (s) => String(s ?? '').replace(/\s+/g, ' ').trim();
  const parentOf = (n) => n.assignedSlot ?? n.parentElement ?? (n.parentNode instanceof ShadowRoot ? n.parentNode.host : null);

  // Every element under `root` (a Document, ShadowRoot or Element, itself excluded), in tree
  // order, each element's open shadow tree right after it.
  function all(root, out = []) {
    const children = root instanceof Element && root.shadowRoot ? [...root.shadowRoot.children, ...root.children] : [...root.children];
    for (const el of children) {
      out.push(el);
      all(el, out);
    }
    return out;
  }

  function hiddenForAria(el) {
    const style = getComputedStyle(el);
    if (style.visibility !== 'visible') return true;
    for (let n = el; n; n = parentOf(n)) {
      if (n.getAttribute('aria-hidden') === 'true') return true;
      if (getComputedStyle(n).display === 'none') return true;
    }
    return false;
  }

  function visible(el) {
    const r = el.getBoundingClientRect();
    return r.width > 0 && r.height > 0 && getComputedStyle(el).visibility === 'visible';
  }

  const INPUT_ROLES = {
    button: 'button', submit: 'button', reset: 'button', image: 'button', checkbox: 'checkbox', radio: 'radio',
    range: 'slider', number: 'spinbutton', search: 'searchbox', email: 'textbox', tel: 'textbox', text: 'textbox', url: 'textbox',
  };
  const LANDMARK_SCOPE = 'article, aside, main, nav, section';

  function role(el) {
    const explicit = norm(el.getAttribute('role')).split(' ')[0];
    if (explicit && explicit !== 'none' && explicit !== 'presentation') return explicit;
    const tag = el.localName;
    switch (tag) {
      case 'a': case 'area': return el.hasAttribute('href') ? 'link' : null;
      case 'button': return 'button';
      case 'input': return INPUT_ROLES[(el.getAttribute('type') ?? 'text').toLowerCase()] ?? (el.type === 'text' ? 'textbox' : null);
      case 'textarea': return 'textbox';
      case 'select': return el.multiple || el.size > 1 ? 'listbox' : 'combobox';
      case 'option': return 'option';
      case 'h1': case 'h2': case 'h3': case 'h4': case 'h5': case 'h6': return 'heading';
      case 'dialog': return 'dialog';
      case 'section': return el.hasAttribute('aria-label') || el.hasAttribute('aria-labelledby') || el.hasAttribute('title') ? 'region' : null;
      case 'form': return el.hasAttribute('aria-label') || el.hasAttribute('aria-labelledby') || el.hasAttribute('title') ? 'form' : null;
      case 'nav': return 'navigation';
      case 'main': return 'main';
      case 'aside': return 'complementary';
      case 'header': return el.parentElement?.closest(LANDMARK_SCOPE) ? null : 'banner';
      case 'footer': return el.parentElement?.closest(LANDMARK_SCOPE) ? null : 'contentinfo';
      case 'ul': case 'ol': case 'menu': return 'list';
      case 'li': return 'listitem';
      case 'table': return 'table';
      case 'tr': return 'row';
      case 'td': return 'cell';
      case 'th': return 'columnheader';
      case 'img': return el.getAttribute('alt') === '' ? null : 'img';
      case 'p': return 'paragraph';
      case 'fieldset': return 'group';
      case 'output': return 'status';
      case 'progress': return 'progressbar';
      case 'hr': return 'separator';
      case 'iframe': return 'iframe';
      default: return null;
    }
  }

  const NAME_FROM_CONTENT = new Set(['button', 'link', 'checkbox', 'switch', 'radio', 'heading', 'tab', 'menuitem',
    'menuitemcheckbox', 'menuitemradio', 'option', 'cell', 'columnheader', 'rowheader', 'row', 'tooltip', 'treeitem']);

  // The text a subtree contributes to a name (accname 2F), through shadow trees and slots.
  function textOf(node, top = true) {
    if (node.nodeType === Node.TEXT_NODE) return node.data;
    if (node.nodeType !== Node.ELEMENT_NODE && !(node instanceof ShadowRoot)) return '';
    if (node instanceof Element) {
      if (!top && hiddenForAria(node)) return '';
      if (!top) {
        const label = norm(node.getAttribute('aria-label'));
        if (label) return ` ${label} `;
      }
      if (node.localName === 'input' && ['button', 'submit', 'reset'].includes(node.type)) return node.value;
      if (node.localName === 'img') return node.getAttribute('alt') ?? '';
      if (['script', 'style', 'template'].includes(node.localName)) return '';
    }
    let kids = node instanceof Element && node.shadowRoot ? [...node.shadowRoot.childNodes] : [...node.childNodes];
    if (node.localName === 'slot') {
      const assigned = node.assignedNodes({ flatten: true });
      if (assigned.length) kids = assigned;
    }
    let text = '';
    for (const kid of kids) {
      const inline = kid.nodeType !== Node.ELEMENT_NODE || getComputedStyle(kid).display.startsWith('inline');
      const t = textOf(kid, false);
      text += inline ? t : ` ${t} `;
    }
    return text;
  }

  function name(el) {
    const root = el.getRootNode();
    const ids = norm(el.getAttribute('aria-labelledby'));
    if (ids) {
      const text = ids.split(' ').map((id) => root.getElementById?.(id) ?? document.getElementById(id))
        .filter(Boolean).map((ref) => norm(textOf(ref)) || norm(ref.textContent)).join(' ');
      if (norm(text)) return norm(text);
    }
    const label = norm(el.getAttribute('aria-label'));
    if (label) return label;
    if (el.labels?.length) {
      const text = norm([...el.labels].map((l) => textOf(l)).join(' '));
      if (text) return text;
    }
    if (el.localName === 'fieldset') {
      const legend = el.querySelector(':scope > legend');
      if (legend) return norm(textOf(legend));
    }
    if (el.localName === 'img') return norm(el.getAttribute('alt') ?? el.getAttribute('title'));
    if (NAME_FROM_CONTENT.has(role(el))) {
      const text = norm(textOf(el));
      if (text) return text;
    }
    return norm(el.getAttribute('title') ?? (el.localName === 'input' ? el.getAttribute('placeholder') : ''));
  }

  // A string (`exact` or a case-insensitive substring) or `{ re, flags }`.
  function matches(text, want, exact) {
    if (want === undefined || want === null) return true;
    if (typeof want === 'object') return new RegExp(want.re, want.flags).test(text);
    const w = norm(want);
    return exact ? text === w : text.toLowerCase().includes(w.toLowerCase());
  }

  const SKIP_TEXT = new Set(['script', 'style', 'noscript', 'template', 'head', 'title', 'html']);

  function byText(scope, want, exact) {
    const hit = (el) => !SKIP_TEXT.has(el.localName) && matches(norm(textOf(el, true)), want, exact);
    // The innermost elements whose text matches.
    return all(scope).filter((el) => hit(el) && ![...(el.shadowRoot?.children ?? []), ...el.children].some(hit));
  }

  function cssAll(scope, selector) {
    const found = new Set();
    const roots = [scope, ...all(scope).filter((el) => el.shadowRoot).map((el) => el.shadowRoot)];
    if (scope instanceof Element && scope.shadowRoot) roots.push(scope.shadowRoot);
    for (const root of roots) for (const el of root.querySelectorAll(selector)) found.add(el);
    return all(scope).filter((el) => found.has(el));
  }

  // Resolves a chain of steps (see webdriver.mjs, Locator) to elements, in tree order.
  function resolve(steps, scopes = [document]) {
    let current = scopes;
    for (const step of steps) {
      let next = [];
      if (step.t === 'nth') {
        const i = step.n < 0 ? current.length + step.n : step.n;
        next = current[i] ? [current[i]] : [];
      } else if (step.t === 'or') {
        const union = new Set([...resolve(step.a, current), ...resolve(step.b, current)]);
        next = all(document).filter((el) => union.has(el));
      } else if (step.t === 'hasText') {
        next = current.filter((el) => matches(norm(textOf(el, true)), step.text, false));
      } else {
        for (const scope of current) {
          if (step.t === 'css') next.push(...cssAll(scope, step.s));
          else if (step.t === 'text') next.push(...byText(scope, step.text, step.exact));
          else if (step.t === 'role') {
            next.push(...all(scope).filter((el) => role(el) === step.role && !hiddenForAria(el) &&
              (step.level === undefined || Number(el.localName.slice(1)) === step.level || Number(el.getAttribute('aria-level')) === step.level) &&
              matches(name(el), step.name, step.exact)));
          }
        }
        next = [...new Set(next)];
      }
      current = next;
    }
    return current;
  }

  // The topmost element at a point, looking into open shadow roots.
  function hitAt(x, y) {
    let top = document.elementFromPoint(x, y);
    while (top?.shadowRoot) {
      const inner = top.shadowRoot.elementFromPoint(x, y);
      if (!inner || inner === top) break;
      top = inner;
    }
    return top;
  }

  function contains(el, other) {
    for (let n = other; n; n = parentOf(n)) if (n === el) return true;
    return false;
  }

  function describe(el) {
    if (!el) return 'nothing';
    const cls = typeof el.className === 'string' && el.className ? `.${el.className.split(' ')[0]}` : '';
    return `<${el.localName}${el.id ? '#' + el.id : ''}${cls}>`;
  }

  const tries = new WeakMap();
  const frame = () => new Promise((r) => { requestAnimationFrame(() => r()); setTimeout(r, 100); });

  /**
   * Gets `el` ready for a pointer action: visible, enabled, not moving, scrolled into view and
   * not covered at its centre. Returns `{ x, y }` in viewport pixels or `{ wait: reason }`.
   */
  async function pointAt(el, { force = false } = {}) {
    if (!el.isConnected) return { wait: 'element is not attached' };
    if (!visible(el)) return { wait: 'element is not visible' };
    if (el.disabled || el.getAttribute('aria-disabled') === 'true') return { wait: 'element is disabled' };
    const a = el.getBoundingClientRect();
    await frame();
    const b = el.getBoundingClientRect();
    if (a.x !== b.x || a.y !== b.y || a.width !== b.width || a.height !== b.height) return { wait: 'element is not stable' };
    const inView = (r) => r.top >= 0 && r.left >= 0 && r.bottom <= innerHeight && r.right <= innerWidth;
    if (!inView(b)) {
      el.scrollIntoView({ block: 'center', inline: 'center', behavior: 'instant' });
      await frame();
    }
    const r = el.getBoundingClientRect();
    const x = Math.round(r.left + r.width / 2), y = Math.round(r.top + r.height / 2);
    if (x < 0 || y < 0 || x >= innerWidth || y >= innerHeight) return { wait: 'element is outside the viewport' };
    const top = hitAt(x, y);
    // A <label> for the element (or inside it) receives the click for it.
    const forIt = top && (contains(el, top) || (top.closest?.('label') && [...(el.labels ?? [])].includes(top.closest('label'))));
    if (!force && !forIt) {
      // Covered (a fixed banner over the end of the page): scrolled another way next time.
      tries.set(el, (tries.get(el) ?? 0) + 1);
      el.scrollIntoView({ block: ['center', 'end', 'start', 'nearest'][tries.get(el) % 4], inline: 'nearest', behavior: 'instant' });
      return { wait: `${describe(top)} intercepts pointer events` };
    }
    return { x, y };
  }

  function checked(el) {
    if (el.localName === 'input' && ['checkbox', 'radio'].includes(el.type)) return el.checked;
    const aria = el.getAttribute('aria-checked');
    if (aria === 'true' || aria === 'false') return aria === 'true';
    throw new Error(`not a checkbox or radio: ${describe(el)}`);
  }

  function fill(el, value) {
    if (!visible(el)) return 'element is not visible';
    if (el.disabled || el.readOnly) return 'element is not editable';
    el.focus();
    if (el.localName === 'input' || el.localName === 'textarea') el.select();
    else document.getSelection().selectAllChildren(el);
    // execCommand gives the same beforeinput/input events as typing.
    const done = value === '' ? document.execCommand('delete') : document.execCommand('insertText', false, value);
    if (!done || ((el.localName === 'input' || el.localName === 'textarea') && el.value !== value && !el.maxLength)) {
      el.value = value;
      el.dispatchEvent(new Event('input', { bubbles: true, composed: true }));
    }
    el.dispatchEvent(new Event('change', { bubbles: true }));
    return null;
  }

  // Between the check of what is at the point and the input itself the page may move (a
  // banner drawn, a calculator filled in). As Playwright does, the input's events are checked
  // on their way: ones that would reach something else are stopped before any page handler or
  // default action sees them, and the click is tried again.
  const GUARDED = ['pointerdown', 'mousedown', 'pointerup', 'mouseup', 'click'];
  let guard = null;
  function guardFor(el) {
    unguard();
    const targets = [el, ...(el.labels ?? [])];
    const g = { missed: null, seen: new Set() };
    g.check = (e) => {
      const path = e.composedPath();
      if (targets.some((t) => path.includes(t))) {
        g.seen.add(e.type);
        return;
      }
      g.missed ??= describe(path[0] instanceof Element ? path[0] : null);
      e.preventDefault();
      e.stopImmediatePropagation();
    };
    for (const type of GUARDED) addEventListener(type, g.check, true);
    guard = g;
  }
  function unguard() {
    const g = guard;
    guard = null;
    if (!g) return null;
    for (const type of GUARDED) removeEventListener(type, g.check, true);
    // WebKitGTK sometimes follows a press and release on the first stage's banner with no
    // click (engines.test.mjs keeps that in view): the click is tried again.
    if (!g.missed && g.seen.has('pointerup') && !g.seen.has('click')) return 'no click after the release';
    return g.missed;
  }

  window.__e2eKit = { resolve, visible, pointAt, checked, fill, describe, name, role, hitAt, guardFor, unguard };
  return window.__e2eKit;
}

/**
 * The context's init script, first in every page: records uncaught errors, unhandled
 * rejections and console.error calls in `window.__e2eErrors` (classic WebDriver has no
 * console events) for the harness to collect as `pageerror` / `console` events.
 */
export function errorRecorder() {
  if (window.__e2eErrors) return;
  const errors = window.__e2eErrors = [];
  addEventListener('error', (e) => errors.push({ type: 'pageerror', text: e.error?.message ?? e.message }));
  addEventListener('unhandledrejection', (e) => errors.push({ type: 'pageerror', text: e.reason?.message ?? String(e.reason) }));
  const original = console.error;
  console.error = function (...args) {
    errors.push({ type: 'console', text: args.map((a) => (a instanceof Error ? a.message : String(a))).join(' ') });
    return original.apply(this, args);
  };
}

/** Date.now() and new Date() return `time` (ms); timers still run (Playwright's setFixedTime). */
export function fixedClock(time) {
  const Real = Date;
  class FixedDate extends Real {
    constructor(...args) { if (args.length) super(...args); else super(time); }
    static now() { return time; }
  }
  globalThis.Date = FixedDate;
  Object.defineProperty(Real.prototype, 'constructor', { value: FixedDate, configurable: true, writable: true });
}
