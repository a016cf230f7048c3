// Injected with `context.addInitScript(probe, spec)` before any page script runs.
// Records, in the page's own clock (performance.now(), 0 = navigation start):
//   bannerInDomAt  first moment the banner element exists (shown or not)
//   bannerAt    first moment the banner element is in the DOM, has a box inside
//               the viewport, and is not display:none / visibility:hidden /
//               opacity:0 (itself or an ancestor in the flat tree)
//   readyAt     when ours dispatched `vivus-consent:ready` on document
//   recordedAt  when ours dispatched `vivus-consent:recorded` (token back from the service)
//   clickAt     timeStamp of the first trusted click (the accept button), or when the
//               probe's own first-frame click was dispatched
//   longtasks   PerformanceObserver 'longtask' entries
//   frames      'long-animation-frame' entries (≥ 50 ms) with the scripts that ran in them
//               (source URL, invoker, start, duration): what a long task is attributed by
//   shifts      'layout-shift' entries without recent input
// The page's gated script sets window.__gatedRanAt itself.
//
// Shadow roots are captured by wrapping attachShadow, so closed roots work too.
//
// With `spec.firstFrameClick` ({host, selector} of the accept button), the accept button is
// clicked in the task right after the frame that first shows the banner (a setTimeout queued
// from that frame's requestAnimationFrame callback): a visitor who clicks the moment it
// appears. The click is the whole sequence a mouse makes (pointerdown, mousedown, pointerup,
// mouseup, click at the button's centre), dispatched from here: a trusted click through the
// harness (CDP input) would come a round trip later, 6–40 ms on a busy machine, by which time
// the library may have loaded what a click in the first frame has to wait for. The events are
// untrusted; none of the four libraries looks at `isTrusted`.
export function probe(spec) {
  const B = (window.__bench = {
    bannerInDomAt: null,
    bannerAt: null,
    bannerVia: null,
    clickAt: null,
    readyAt: null,
    recordedAt: null,
    longtasks: [],
    frames: [],
    shifts: [],
    roots: [],
    error: null,
  });

  let mo = null;
  const observe = (root) => {
    if (mo) mo.observe(root, { childList: true, subtree: true });
  };

  const attach = Element.prototype.attachShadow;
  Element.prototype.attachShadow = function (init) {
    const root = attach.call(this, init);
    B.roots.push(root);
    observe(root);
    return root;
  };

  const query = (host, selector) => {
    if (host) {
      for (const r of B.roots) {
        // A host taken out of the page no longer counts (ours replaces its first-stage host).
        if (r.host.isConnected && r.host.matches(host)) {
          const el = r.querySelector(selector);
          if (el) return el;
        }
      }
      return null;
    }
    return document.querySelector(selector);
  };
  const find = () => query(spec.host, spec.selector);

  // The click right after the banner's first frame (see above).
  const clickNow = () => {
    const c = spec.firstFrameClick;
    const el = c && query(c.host, c.selector);
    const r = el?.getBoundingClientRect();
    if (!r || r.width < 1 || r.height < 1) {
      B.error = `first-frame click: ${c?.selector} has no box after the banner's first frame`;
      return;
    }
    const at = { bubbles: true, cancelable: true, composed: true, view: window, button: 0, clientX: r.left + r.width / 2, clientY: r.top + r.height / 2 };
    const pointer = { ...at, pointerId: 1, pointerType: 'mouse', isPrimary: true };
    B.clickAt = performance.now();
    el.dispatchEvent(new PointerEvent('pointerdown', { ...pointer, buttons: 1 }));
    el.dispatchEvent(new MouseEvent('mousedown', { ...at, buttons: 1, detail: 1 }));
    el.dispatchEvent(new PointerEvent('pointerup', pointer));
    el.dispatchEvent(new MouseEvent('mouseup', { ...at, detail: 1 }));
    el.dispatchEvent(new MouseEvent('click', { ...at, detail: 1 }));
  };

  const visible = (el) => {
    if (!el.isConnected) return false;
    const r = el.getBoundingClientRect();
    if (r.width < 1 || r.height < 1) return false;
    if (r.bottom <= 0 || r.right <= 0 || r.top >= innerHeight || r.left >= innerWidth) return false;
    return el.checkVisibility({ opacityProperty: true, visibilityProperty: true });
  };

  // In the DOM: checked on every mutation (a cheap query, no style or layout work).
  // Visible: checked once per frame in requestAnimationFrame, where the browser is about to
  // compute style and layout anyway, so the probe forces no extra layout in the page's own
  // tasks (cookieconsent, for one, mutates its hidden banner many times before showing it),
  // and the time is that of the first frame that paints the banner.
  const seen = () => {
    if (B.bannerInDomAt !== null) return;
    try {
      if (find()) {
        B.bannerInDomAt = performance.now();
        mo.disconnect();
      }
    } catch (e) {
      B.error = String(e);
    }
  };
  const frame = () => {
    seen();
    try {
      const el = find();
      if (el && visible(el)) {
        B.bannerAt = performance.now();
        B.bannerVia = 'frame';
        if (spec.firstFrameClick) setTimeout(clickNow);
        return;
      }
    } catch (e) {
      B.error = String(e);
    }
    requestAnimationFrame(frame);
  };

  if (spec.selector) {
    mo = new MutationObserver(seen);
    observe(document);
    requestAnimationFrame(frame);
  }

  // Ours announces it has started (stored consent read and verified, banner built if needed).
  document.addEventListener('vivus-consent:ready', () => {
    if (B.readyAt === null) B.readyAt = performance.now();
  });
  // ...and when the service has recorded a choice (the signed token is back).
  document.addEventListener('vivus-consent:recorded', () => {
    if (B.recordedAt === null) B.recordedAt = performance.now();
  });

  addEventListener(
    'click',
    (e) => {
      if (e.isTrusted && B.clickAt === null) B.clickAt = e.timeStamp;
    },
    true,
  );

  try {
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) B.longtasks.push({ start: e.startTime, duration: e.duration });
    }).observe({ type: 'longtask', buffered: true });
  } catch (e) {
    B.error = String(e);
  }
  try {
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) {
        B.frames.push({
          start: e.startTime,
          duration: e.duration,
          blocking: e.blockingDuration,
          scripts: e.scripts.map((x) => ({
            url: x.sourceURL,
            fn: x.sourceFunctionName,
            invoker: x.invoker,
            type: x.invokerType,
            start: x.startTime,
            duration: x.duration,
          })),
        });
      }
    }).observe({ type: 'long-animation-frame', buffered: true });
  } catch (e) {
    B.error = String(e);
  }
  try {
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) if (!e.hadRecentInput) B.shifts.push({ start: e.startTime, value: e.value });
    }).observe({ type: 'layout-shift', buffered: true });
  } catch (e) {
    B.error = String(e);
  }
}
