/* Slotwise tag (docs/tag.md). One global: window.slotwise. No dependencies. */
(function (w, d) {
  'use strict';
  var pre = w.slotwise;
  if (pre && pre.v) return; // loaded twice
  var S = d.currentScript || {}, C = S.dataset || {}, N = navigator, now = Date.now,
    EP = (C.endpoint || '/_sw').replace(/\/+$/, ''),
    AF = C.antiflickerMs != null ? +C.antiflickerMs : 300,
    NONCE = S.nonce || '', REQ = C.consent === 'required',
    touch = 'ontouchstart' in w || N.maxTouchPoints > 0,
    Q = 'sw_q', MAXQ = 200, BATCH = 20, JSONT = 'text/plain;charset=UTF-8';

  // -- storage: localStorage, else sessionStorage, else memory -------------------
  function st(n) { try { var s = w[n], k = '_sw'; s.setItem(k, k); s.removeItem(k); return s; } catch (e) {} }
  var mem = {}, MS = {
    getItem: function (k) { return k in mem ? mem[k] : null; },
    setItem: function (k, v) { mem[k] = '' + v; }, removeItem: function (k) { delete mem[k]; }
  };
  var LS = st('localStorage') || st('sessionStorage') || MS, SS = st('sessionStorage') || MS;
  function get(s, k) { try { return s.getItem(k); } catch (e) { return null; } }
  function set(s, k, v) { try { v == null ? s.removeItem(k) : s.setItem(k, v); } catch (e) {} }
  function jget(s, k, dflt) { try { return JSON.parse(get(s, k)) || dflt; } catch (e) { return dflt; } }
  function each(list, f) { Array.prototype.forEach.call(list || [], f); }
  function ready(f) { d.readyState === 'loading' ? d.addEventListener('DOMContentLoaded', f) : f(); }
  function uid() {
    var a = new Uint8Array(16), c = w.crypto;
    if (c && c.getRandomValues) c.getRandomValues(a); else for (var i = 0; i < 16; i++) a[i] = Math.random() * 256;
    return Array.prototype.map.call(a, function (b) { return (b + 256).toString(16).slice(1); }).join('');
  }
  function loc() { return location.origin + location.pathname; } // no query or hash: they may hold personal data
  function okMail(e) { return !!e && /^[^@\s]+@[^@\s]+\.[^@\s.]{2,}$/.test(e); }

  // -- consent: data-consent="required" waits for slotwise.consent(true); GPC stops sending
  function allowed() {
    var c = get(LS, 'sw_consent');
    return c !== '0' && (!REQ || c === '1') && !N.globalPrivacyControl;
  }

  // -- the queue: persisted, sent in batches, retried with back-off ----------------
  var timer = 0, busy = 0;
  function track(type, props, opt) {
    if (type !== 'consent' && !allowed()) return;
    opt = opt || {};
    var e = { type: type, event_id: opt.id || uid(), ts: now() / 1000, url: loc(), props: props || {} };
    var q = jget(LS, Q, []);
    q.push(e);
    set(LS, Q, JSON.stringify(q.slice(-MAXQ)));
    if (opt.now && !busy) flush(); else sched(1000); // now: the page may be about to go (submit, click)
    return e.event_id;
  }
  function sched(ms) {
    var wait = Math.max(ms, (+get(LS, 'sw_next') || 0) - now());
    if (timer) { if (ms) return; clearTimeout(timer); }
    timer = setTimeout(flush, wait);
  }
  function flush(beacon) {
    clearTimeout(timer); timer = 0;
    var q = jget(LS, Q, []);
    if (!q.length || (busy && !beacon)) return;
    var batch = [], size = 12, i, n;
    for (i = 0; i < q.length && batch.length < BATCH; i++) {
      n = JSON.stringify(q[i]).length + 1;
      if (size + n > 60000 && batch.length) break;
      batch.push(q[i]); size += n;
    }
    var body = JSON.stringify({ events: batch }), url = EP + '/events';
    if (beacon === true) { // page going away: the events stay queued, the next page resends (ids dedupe)
      if (N.sendBeacon) try { N.sendBeacon(url, new Blob([body], { type: JSONT })); } catch (e) {}
      return;
    }
    if (now() < (+get(LS, 'sw_next') || 0)) return sched(0);
    busy = 1;
    fetch(url, { method: 'POST', body: body, keepalive: size < 60000, credentials: 'same-origin', headers: { 'content-type': JSONT } })
      .then(function (r) {
        if (r.status < 500 && r.status !== 429) done(batch); // 2xx, 207, other 4xx: settled (4xx will not get better)
        else fail(r.headers.get('retry-after'));
      }, function () { fail(); });
  }
  function done(batch) {
    busy = 0;
    var ids = {};
    each(batch, function (e) { ids[e.event_id] = 1; });
    var q = jget(LS, Q, []).filter(function (e) { return !ids[e.event_id]; });
    set(LS, Q, q.length ? JSON.stringify(q) : null);
    set(LS, 'sw_try', null); set(LS, 'sw_next', null);
    if (q.length) sched(0);
  }
  function fail(retryAfter) {
    busy = 0;
    var n = (+get(LS, 'sw_try') || 0) + 1,
      ms = Math.max(Math.min(6e4, 1e3 * Math.pow(2, n - 1)) * (0.75 + Math.random() / 2), (+retryAfter || 0) * 1e3);
    set(LS, 'sw_try', n); set(LS, 'sw_next', now() + ms);
    sched(ms);
  }
  w.addEventListener('pagehide', function () { flush(true); });

  // -- identity -----------------------------------------------------------------------
  function identify(o) {
    o = o || {};
    var p = {};
    if (o.customerId) p.customer_id = '' + o.customerId;
    if (okMail(o.email)) p.email = '' + o.email;
    if (p.customer_id || p.email) track('identify', p, { now: 1 });
  }
  function consent(granted) {
    set(LS, 'sw_consent', granted ? '1' : '0');
    if (!granted) set(LS, Q, null);
    track('consent', { granted: !!granted }, { now: 1 });
  }

  // -- exposures (>= 50% in view, once per decision per page) and clicks ---------------
  var seen = {}, io = w.IntersectionObserver && new IntersectionObserver(function (es) {
    each(es, function (e) {
      if (e.isIntersecting && (e.intersectionRatio >= 0.5 || e.intersectionRect.height >= w.innerHeight / 2)) {
        io.unobserve(e.target);
        var x = e.target.dataset, id = x.swDecision;
        if (id && !seen[id]) { seen[id] = 1; track('exposure', { decision_id: id, slot: x.swSlot }); }
      }
    });
  }, { threshold: [0, 0.25, 0.5, 0.75, 1] });
  function observe() {
    if (io) each(d.querySelectorAll('[data-sw-decision]'), function (el) { if (el.tagName !== 'TEMPLATE') io.observe(el); });
  }
  d.addEventListener('click', function (e) {
    var t = e.target, el = t.closest && t.closest('[data-sw-decision]'), a = t.closest && t.closest('a');
    if (el) track('click', { decision_id: el.dataset.swDecision, slot: el.dataset.swSlot, href: a ? a.href : undefined }, { now: 1 });
  }, true);

  // -- the demo store's forms (docs/conventions-demo-markup.md) ------------------------
  d.addEventListener('submit', function (e) {
    var f = e.target, x = f.dataset || {}, v = function (n) { var i = f.elements && f.elements[n]; return i && i.value ? i.value.trim() : undefined; };
    if (!f.matches) return;
    if (f.matches('form.add-to-cart')) {
      track('add_to_cart', { product: x.productId || v('product_id'), category: x.category, size: v('size'),
        qty: +v('qty') || 1, price: +x.price || undefined, name: x.name }, { now: 1 });
    } else if (f.matches('form.login,form.signup')) { // confirmed on the next page (a failed login must not identify)
      if (okMail(v('email'))) set(SS, 'sw_pend', JSON.stringify({ email: v('email'), signup: f.matches('form.signup'), t: now() }));
    } else if (f.matches('form.newsletter') && okMail(v('email'))) {
      track('signup', { email: v('email'), source: 'newsletter' }, { now: 1 });
      set(LS, 'sw_sub', '1');
    }
  }, true);

  function capture() {
    var b = d.body || {}, bd = b.dataset || {}, m = d.querySelector('main[data-category],main[data-product-id]'),
      md = m ? m.dataset : {}, cust = bd.customerId, pend = jget(SS, 'sw_pend', 0), id = {};
    if (C.pageview !== 'off') {
      track('page_view', { url: loc(), referrer: d.referrer ? d.referrer.split(/[?#]/)[0] : undefined,
        title: d.title.slice(0, 200), page: bd.page, category: md.category, product: md.productId });
    }
    if (pend) {
      set(SS, 'sw_pend', null);
      if (cust || (bd.page !== 'login' && bd.page !== 'signup' && now() - pend.t < 6e5)) {
        if (pend.signup) { track('signup', { email: pend.email, source: 'signup' }); set(LS, 'sw_sub', '1'); }
        id.email = pend.email;
      }
    }
    if (cust && get(SS, 'sw_cid') !== cust) { set(SS, 'sw_cid', cust); id.customerId = cust; }
    identify(id);
    var oc = d.querySelector('section.order-confirmation'), od = oc && oc.dataset, lines = [];
    if (od && od.orderId) {
      each(oc.querySelectorAll('.order-line'), function (li) {
        var x = li.dataset;
        lines.push({ product: x.productId, category: x.category, size: x.size || undefined, quantity: +x.qty || 1, price: +x.price || 0 });
      });
      if (lines.length) track('purchase', { order_id: od.orderId, total: +od.orderTotal || undefined, currency: od.currency, lines: lines },
        { id: ('purchase-' + od.orderId).replace(/[^\w-]/g, '_').slice(0, 64), now: 1 });
    }
  }

  // -- exit intent and the popup ----------------------------------------------------------
  var open = 0, exited = 0;
  function tpl() { return d.querySelector('template[data-sw-popup]'); }
  function can() { return tpl() && !open && !get(SS, 'sw_pop') && !get(LS, 'sw_sub'); }
  function exit(how) {
    if (!exited) { exited = 1; track('exit_intent', { trigger: how }); }
    show(how);
  }
  function css() {
    if (d.getElementById('sw-css')) return;
    var s = d.createElement('style');
    s.id = 'sw-css'; if (NONCE) s.nonce = NONCE;
    s.textContent = '.sw-ov{position:fixed;inset:0;z-index:2147483000;display:flex;align-items:center;justify-content:center;' +
      'padding:16px;background:rgba(20,20,30,.5)}.sw-dlg{position:relative;box-sizing:border-box;width:100%;max-width:420px;' +
      'max-height:90vh;overflow:auto;padding:32px 24px 24px;border-radius:12px;background:#fff;color:#222;' +
      'font:16px/1.45 system-ui,sans-serif;box-shadow:0 12px 48px rgba(0,0,0,.3)}.sw-dlg:focus{outline:none}' +
      '.sw-x{position:absolute;top:6px;right:8px;padding:2px 10px;border:0;background:none;color:#555;font-size:28px;cursor:pointer}' +
      '.sw-dlg input[type=email]{box-sizing:border-box;width:100%;margin:8px 0;padding:10px;border:1px solid #aaa;border-radius:6px;font:inherit}' +
      '.sw-dlg form button,.sw-dlg [type=submit]{width:100%;padding:10px;border:0;border-radius:6px;background:#222;color:#fff;font:inherit;cursor:pointer}' +
      '.sw-code{display:inline-block;margin-top:6px;padding:4px 10px;border-radius:6px;background:#f2f2f2;font:700 20px/1.4 monospace;letter-spacing:1px}' +
      '.sw-err{color:#b00020}';
    (d.head || d.documentElement).appendChild(s);
  }
  function focusables(root) {
    return Array.prototype.filter.call(root.querySelectorAll('a[href],button,input,select,textarea,[tabindex]'), function (el) {
      return !el.disabled && el.type !== 'hidden' && el.tabIndex >= 0 && el.getClientRects().length;
    });
  }
  function show(how) {
    var t = tpl();
    if (!can()) return;
    set(SS, 'sw_pop', '1');
    css(); open = 1;
    var x = t.dataset, slot = x.swPopup, did = x.swDecision, prev = d.activeElement, ov = d.createElement('div');
    ov.className = 'sw-ov';
    ov.innerHTML = '<div class="sw-dlg" role="dialog" aria-modal="true" tabindex="-1"><button type="button" class="sw-x" aria-label="Close">\u00d7</button><div></div></div>';
    var dlg = ov.firstChild, body = dlg.lastChild, h;
    body.appendChild(t.content.cloneNode(true));
    // the fragment is content, the dialog is ours: no dialog nested in the dialog
    each(body.querySelectorAll('[role=dialog],[role=alertdialog],[aria-modal]'), function (el) { el.removeAttribute('role'); el.removeAttribute('aria-modal'); });
    var closers = body.querySelectorAll('[data-sw-close]'); // close buttons of the fragment replace our ×
    if (closers.length) dlg.removeChild(dlg.firstChild); else closers = [dlg.firstChild];
    h = body.querySelector('h1,h2,h3,h4');
    if (h) { h.id = h.id || 'sw-title'; dlg.setAttribute('aria-labelledby', h.id); } else dlg.setAttribute('aria-label', 'Offer');
    function p(extra) { var o = { slot: slot, decision_id: did }; for (var k in extra) o[k] = extra[k]; return o; }
    function close(how) {
      if (!open) return;
      open = 0; ov.remove(); d.removeEventListener('keydown', key, true);
      if (prev && prev.focus) prev.focus();
      track('popup_closed', p({ how: how }), { now: 1 });
    }
    function key(e) {
      if (e.key === 'Escape') { e.preventDefault(); close('escape'); }
      else if (e.key === 'Tab') { // keep focus inside the dialog
        var f = focusables(dlg), a = f[0], z = f[f.length - 1], cur = d.activeElement;
        if (!a) e.preventDefault();
        else if (e.shiftKey ? cur === a || !dlg.contains(cur) : cur === z || !dlg.contains(cur)) { e.preventDefault(); (e.shiftKey ? z : a).focus(); }
      }
    }
    d.addEventListener('keydown', key, true);
    each(closers, function (b) { b.addEventListener('click', function () { close('button'); }); });
    ov.addEventListener('click', function (e) { if (e.target === ov) close('overlay'); });
    each(body.querySelectorAll('form[data-sw-signup]'), function (f) {
      f.addEventListener('submit', function (e) { e.preventDefault(); signup(f, p); });
    });
    d.body.appendChild(ov);
    (body.querySelector('input[type=email],input:not([type=hidden])') || dlg).focus();
    track('popup_shown', p({ how: how }), { now: 1 });
  }
  function signup(f, p) {
    var inp = f.querySelector('input[type=email],input[name=email]'), em = inp ? inp.value.trim() : '',
      btn = f.querySelector('[type=submit],button'), err = f.querySelector('.sw-err');
    if (!err) { err = d.createElement('p'); err.className = 'sw-err'; err.setAttribute('role', 'alert'); f.appendChild(err); }
    if (btn) btn.disabled = true;
    fetch(EP + '/signup', { method: 'POST', credentials: 'same-origin', headers: { 'content-type': JSONT },
      body: JSON.stringify({ email: em, decision_id: p().decision_id }) })
      .then(function (r) { return r.json().then(function (j) { if (!r.ok || !j.coupon) throw j.error; return j; }); })
      .then(function (j) {
        set(LS, 'sw_sub', '1');
        var out = f.parentNode.querySelector('[data-sw-coupon]'), code = d.createElement('strong');
        code.className = 'sw-code'; code.textContent = j.coupon; code.tabIndex = -1;
        if (!out) { out = d.createElement('p'); out.textContent = 'Your coupon code: '; f.parentNode.insertBefore(out, f); }
        out.setAttribute('role', 'status'); out.hidden = false; out.appendChild(code);
        f.hidden = true; code.focus();
        track('popup_converted', p(), { now: 1 });
      })
      .catch(function (m) { if (btn) btn.disabled = false; err.textContent = typeof m === 'string' ? m : 'Something went wrong, please try again.'; });
  }
  function arm() {
    d.addEventListener('mouseout', function (e) { if (!e.relatedTarget && e.clientY <= 0) exit('mouse-top'); });
    if (!touch) return;
    var ly = w.scrollY, lt = now(), hid = 0;
    w.addEventListener('scroll', function () {
      var y = w.scrollY, t = now();
      if (ly - y > 80 && (ly - y) / Math.max(1, t - lt) > 1.5) exit('scroll-up');
      ly = y; lt = t;
    }, { passive: true });
    d.addEventListener('visibilitychange', function () {
      if (d.visibilityState === 'hidden') hid = 1; else if (hid) { hid = 0; exit('tab-switch'); }
    });
    if (can() && history.pushState) { // a back press shows the offer once; the next one leaves
      history.pushState({ sw: 1 }, '');
      w.addEventListener('popstate', function () { if (can()) exit('back'); else history.back(); }, { once: true });
    }
  }

  // -- tag-only mode: decisions from /decide, applied here, page hidden at most AF ms ----
  var OPS = { replace: 'replaceWith', append: 'append', prepend: 'prepend', before: 'before', after: 'after' };
  function apply(x) {
    if (!x || !x.selector) return;
    var a = x.action, els, attrs = x.attributes || {};
    function mark(el) { if (el.nodeType === 1) { el.setAttribute('data-sw-decision', x.decision_id); if (x.slot) el.setAttribute('data-sw-slot', x.slot); } }
    function frag() { var t = d.createElement('template'); t.innerHTML = x.html || ''; each(t.content.children, mark); return t; }
    if (a === 'popup') {
      var t = frag();
      t.setAttribute('data-sw-popup', x.slot || 'popup'); t.setAttribute('data-sw-trigger', attrs.trigger || 'exit-intent');
      t.setAttribute('data-sw-decision', x.decision_id);
      return d.body.appendChild(t);
    }
    try { els = d.querySelectorAll(x.selector); } catch (e) { return; }
    each(els, function (el) {
      if (OPS[a]) return el[OPS[a]](frag().content);
      if (a === 'remove') return el.remove();
      if (a === 'set-attribute') {
        for (var k in attrs) if (!/^on/i.test(k)) attrs[k] == null ? el.removeAttribute(k) : el.setAttribute(k, attrs[k]);
      } else if (a === 'reorder') {
        var key = x.key || 'data-key', ord = (x.order || []).map(String), kids = Array.prototype.slice.call(el.children);
        if (!el.querySelector(':scope>[' + key + ']')) key = 'data-' + key;
        kids.map(function (c, i) { var r = ord.indexOf(c.getAttribute(key)); return [r < 0 ? 1e9 : r, i, c]; })
          .sort(function (p, q) { return p[0] - q[0] || p[1] - q[1]; })
          .forEach(function (p) { el.appendChild(p[2]); });
      } else if (a === 'select-option' || a === 'set-value') {
        var f = el.matches('select,input,textarea') ? el : el.querySelector('select,input,textarea');
        if (!f || (a === 'select-option' && !Array.prototype.some.call(f.options || [], function (o) { return o.value == x.value && !o.disabled; }))) return;
        f.value = x.value;
        f.dispatchEvent(new Event('change', { bubbles: true }));
      }
      mark(el);
    });
  }
  function decide(after) {
    var hider = d.getElementById('sw-af'), left = AF - (w.performance ? performance.now() : 0), late = 0;
    if (!hider && left > 0) {
      hider = d.createElement('style'); hider.id = 'sw-af'; if (NONCE) hider.nonce = NONCE;
      hider.textContent = 'body{opacity:0!important}';
      (d.head || d.documentElement).appendChild(hider);
    }
    function reveal() { var s = d.getElementById('sw-af'); if (s) s.remove(); }
    var tm = setTimeout(function () { late = 1; reveal(); after(); }, Math.max(0, left));
    function fin(list) {
      ready(function () {
        if (late) return;
        clearTimeout(tm);
        each(list, function (x) { try { apply(x); } catch (e) {} });
        reveal(); after();
      });
    }
    fetch(EP + '/decide?url=' + encodeURIComponent(location.href), { credentials: 'same-origin' })
      .then(function (r) { return r.ok ? r.json() : []; }).then(fin, function () { fin([]); });
  }

  // -- public API --------------------------------------------------------------------------
  var api = w.slotwise = {
    v: 1,
    track: function (type, props) { return track(type, props); },
    identify: identify,
    consent: consent,
    flush: function () { flush(); },
    showPopup: function () { show('api'); }
  };
  if (pre && pre.length) each(pre, function (c) { try { api[c[0]].apply(api, c.slice(1)); } catch (e) {} });
  function start() { ready(function () { capture(); observe(); arm(); sched(300); }); }
  if (C.mode === 'decide') decide(function () { ready(observe); });
  start();
})(window, document);
