/* Slotwise tag (docs/tag.md). One global: window.slotwise. No dependencies.
   Regions between "// @tag-only" (or "// @apply") and "// @end" are left out of the tag the proxy
   injects (it reads pages and decides itself); /_sw/tag.js, for tag-only stores, has everything.
   "// @shared", "// @apply" and "// @wait" are also the whole code of the script the proxy adds to a
   page whose decisions wait for an element the store's script renders (late.js, slotwise/tag/assets.py).
   "// @requests", "// @wait", "// @cookies", "// @scripts" and "// @nav" are in a tag only when its config asks
   for them.
   A tag with "// @nav" loads, at the first soft navigation of a single-page storefront, what reads, decides and
   applies that page and the next ones ("// @soft"): a proxied page's tag this whole tag (the `spa` variant,
   data-nav), the tag-only tag only the "soft" script (slotwise/tag/soft.js), which plugs into it ("// @plug").
   Nothing here knows a store: what to read from its pages, which clicks and forms are
   events, and whether to read GA4's dataLayer all come from the rules (CFG, baked in
   by the server that serves this file). */
(function (w, d, CFG) {
  'use strict';
  var pre = w.slotwise, S = d.currentScript || {}, C = S.dataset || {};
  // loaded twice; data-nav: the spa tag, loaded by a proxied page's tag for its soft navigations (a tag without
  // soft, as the server serves for a digest it does not know, stands down: never a second tag on the page)
  if (pre && pre.v && !(C.nav && typeof soft == 'function')) return;
  CFG = CFG || {};
  var N = navigator, now = Date.now, A = Array.prototype,
    EP = (C.endpoint || '/_sw').replace(/\/+$/, ''), CRED = /^https?:/.test(EP) ? 'include' : 'same-origin', // an endpoint on a subdomain of the store gets the cookie too
    AF = C.antiflickerMs != null ? +C.antiflickerMs : 300,
    NONCE = S.nonce || '', REQ = C.consent === 'required' || CFG.consent === 'required',
    PROXIED = C.pageview === 'off', // behind the proxy: it records page views and reads pages itself
    touch = 'ontouchstart' in w || N.maxTouchPoints > 0,
    Q = 'sw_q', MAXQ = 200, BATCH = 20, JSONT = 'text/plain;charset=UTF-8';

  // -- storage: localStorage, else sessionStorage, else memory -------------------
  function st(n) { try { var s = w[n], k = '_sw'; s.setItem(k, k); s.removeItem(k); return s; } catch (e) {} }
  var mem = {}, MS = {
    getItem: function (k) { return k in mem ? mem[k] : null; },
    setItem: function (k, v) { mem[k] = '' + v; }, removeItem: function (k) { delete mem[k]; }
  };
  var LS = st('localStorage') || st('sessionStorage') || MS, SS = st('sessionStorage') || MS;
  function jget(s, k, dflt) { try { return JSON.parse(get(s, k)) || dflt; } catch (e) { return dflt; } }
  function uid() {
    var a = new Uint8Array(16), c = w.crypto;
    if (c && c.getRandomValues) c.getRandomValues(a); else for (var i = 0; i < 16; i++) a[i] = Math.random() * 256;
    return A.map.call(a, function (b) { return (b + 256).toString(16).slice(1); }).join('');
  }
  function loc(q) { return location.origin + location.pathname + (q ? location.search : ''); } // never the hash
  function bytes(x) { return new Blob([JSON.stringify(x)]).size; } // as sent (UTF-8), not characters
  function okMail(e) { return !!e && /^[^@\s]+@[^@\s]+\.[^@\s.]{2,}$/.test(e); }

  // -- consent: data-consent="required" (or the rules) waits for slotwise.consent(true); GPC stops sending
  function allowed() {
    var c = get(LS, 'sw_consent');
    return c !== '0' && (!REQ || c === '1') && !N.globalPrivacyControl;
  }

  // -- one visitor id per browser: until the server's cookie is known, requests carry a nonce the
  //    server derives the id from, so racing first requests never mint two visitors
  function nonce() { return get(LS, 'sw_known') ? null : get(LS, 'sw_n'); }
  function known(how) { // what the server read: our cookie, the nonce, or neither (a stale nonce: make a new one)
    if (how === 'cookie') { set(LS, 'sw_known', '1'); set(LS, 'sw_n', null); }
    else if (how === 'new' && C.mode === 'decide' && allowed()) { set(LS, 'sw_known', null); set(LS, 'sw_n', now().toString(36) + '.' + uid()); }
  }
  function heard(r) { known(r.headers.get('x-slotwise-visitor')); return r; }

  // -- the queue: persisted, sent in batches, retried with back-off ----------------
  var timer = 0, busy = 0;
  function track(type, props, opt) {
    if (type === 'consent' ? N.globalPrivacyControl : !allowed()) return; // the answer itself goes, unless GPC
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
      n = bytes(q[i]) + 1;
      if (size + n > 60000 && batch.length) break;
      batch.push(q[i]); size += n;
    }
    var body = { events: batch }, url = EP + '/events';
    if (nonce()) body.n = nonce();
    body = JSON.stringify(body);
    if (beacon === true) { // page going away: the events stay queued, the next page resends (ids dedupe)
      if (N.sendBeacon) try { N.sendBeacon(url, new Blob([body], { type: JSONT })); } catch (e) {}
      return;
    }
    if (now() < (+get(LS, 'sw_next') || 0)) return sched(0);
    busy = 1;
    fetch(url, { method: 'POST', body: body, keepalive: size < 60000, credentials: CRED, headers: { 'content-type': JSONT } })
      .then(heard).then(function (r) {
        r.text().catch(Object); // unread, Chromium counts its request against the page's 64 KB of keepalive
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

  // -- identity and consent --------------------------------------------------------------
  function identify(o) {
    o = o || {};
    var p = {};
    if (o.customerId) p.customer_id = '' + o.customerId;
    if (o.customerId && o.signature) p.signature = '' + o.signature;  // the store's HMAC of the id: trusted when it checks
    if (okMail(o.email)) p.email = '' + o.email;
    if (p.customer_id || p.email) track('identify', p, { now: 1 });
  }
  function consent(granted) {
    set(LS, 'sw_consent', granted ? '1' : '0');
    if (!granted) { set(LS, Q, null); set(LS, 'sw_n', null); }
    track('consent', { granted: !!granted }, { now: 1 });
  // @tag-only
    if (granted && !PROXIED && !viewed) view();
  // @end
  }

  // @shared: in every tag, and in the proxy's script for waiting slots (late.js)
  function each(list, f) { A.forEach.call(list || [], f); }
  function ready(f) { d.readyState === 'loading' ? d.addEventListener('DOMContentLoaded', f) : f(); }
  function get(s, k) { try { return s.getItem(k); } catch (e) { return null; } }
  function set(s, k, v) { try { v == null ? s.removeItem(k) : s.setItem(k, v); } catch (e) {} }
  // -- reading the page with the rules' fields (the proxy reads the same with selectolax) ------
  var BOOL = { disabled: 1, checked: 1, selected: 1, hidden: 1, required: 1, readonly: 1, multiple: 1, open: 1, inert: 1 };
  function find(scope, c) {
    if (!c) return scope;
    try { return scope.matches && scope.matches(c) ? scope : scope.querySelector(c); } catch (e) { return null; }
  }
  function field(scope, f) {
    if (!f) return null;
    if (f.f != null) { var el = scope.elements && scope.elements.namedItem(f.f); return el ? el.value : null; }
    if (f.k != null) return typeof cookie == 'function' ? cookie(f.k) : null; // in the tag only when a field reads one
    if (f.s) return typeof walk == 'function' ? walk(w, f.s) : null; // the same
    var n = find(scope, f.c);
    if (!n) return null;
    if (f.j) return typeof walk == 'function' ? walk(n, f.j) : null;
    if (f.a == null) return n.textContent;
    if (!n.hasAttribute(f.a)) return null;
    var v = n.getAttribute(f.a);
    return v === '' && BOOL[f.a.toLowerCase()] ? f.a : v;
  }
  // @end
  // @cookies: only in a tag whose rules read a cookie: document.cookie (no HttpOnly one), never our sw_*
  function cookie(k) {
    var all = d.cookie.split(';'), pre = k.slice(-1) == '*', name = pre ? k.slice(0, -1) : k;
    for (var i = 0; i < all.length; i++) {
      var e = all[i].indexOf('='), n = all[i].slice(0, e).trim(), v = all[i].slice(e + 1).trim().replace(/^"+|"+$/g, '');
      if (e > 0 && n.indexOf('sw_') && (pre ? !n.indexOf(name) : n == name)) {
        try { return decodeURIComponent(v); } catch (x) { return v; }
      }
    }
    return null;
  }
  // @end
  // @scripts: only in a tag whose rules read a script's data (slotwise/rules/script_data.py): the key path p in the
  // live global (x: window) or in an element's JSON text (at most 512 KB), each step a key or a list's index (as
  // extract.at_path steps); a text, number or boolean found (fields: its String()), else null
  function walk(x, p) {
    try { if (x.nodeType) x = x.textContent.length > 524288 ? null : JSON.parse(x.textContent); } catch (e) { return null; }
    each(p, function (k) { x = has(x, k) ? x[k] : null; });
    return /^(string|number|boolean)$/.test(typeof x) ? x : null;
  }
  // a key path's step k is in x: a key of an object, or a list's index (also the answer script's: keep)
  function has(x, k) { return x && typeof x == 'object' && (Array.isArray(x) ? /^\d+$/.test(k) : {}.hasOwnProperty.call(x, k)); }
  // @end
  function fields(scope, fs) {
    var o = {};
    for (var k in fs || {}) { var v = field(scope, fs[k]); if (v != null) o[k] = ('' + v).slice(0, 2000); }
    return o;
  }
  function group(g) {
    var scope;
    try { scope = g.within ? d.querySelector(g.within) : d.documentElement; } catch (e) { return null; }
    if (!scope) return null;
    var out = { present: true, fields: fields(scope, g.fields) };
    if (g.lines && g.lines.json) { var j = field(scope, g.lines.json); if (j != null) out.lines_json = '' + j; }
    else if (g.lines) try { out.lines = A.slice.call(scope.querySelectorAll(g.lines.items), 0, 200).map(function (it) { return fields(it, g.lines.fields); }); } catch (e) {}
    return out;
  }
  // @tag-only: pages behind the proxy are read by the proxy
  // what the page carries about its product, verbatim: JSON-LD, meta tags, canonical, microdata (the
  // breadcrumb before the product: it is small, and names the category when nothing else does). The
  // selectors are slotwise/rules/microdata.py's BREADCRUMB_CSS and PRODUCT_CSS (the page's Product is
  // one that is no other item's property), the same strings: a test holds them equal. An item's
  // properties may stand elsewhere, named by its itemref: those elements go with it (not one that holds
  // it), and a Product in one is another item's (microdata.py's page_product)
  function itemrefs(el) { return (el.getAttribute('itemref') || '').split(/\s+/).filter(Boolean); }
  function markup() {
    var parts = [], R = {}, n = 0, out = [];
    each(d.querySelectorAll('script[type="application/ld+json"],meta[property],meta[name],meta[itemprop],link[rel=canonical]'),
      function (el) {
        var r = /^(og|product):/i.test(el.getAttribute('property') || el.getAttribute('name')) || el.tagName === 'LINK';
        if (el.tagName === 'SCRIPT') r = rank(el);
        parts.push([el.outerHTML, r]);
      });
    each(d.querySelectorAll('[itemscope][itemref]'), function (el) { each(itemrefs(el), function (n) { R[n] = 1; }); });
    each(['[itemscope][itemtype*="schema.org/BreadcrumbList" i]',
      '[itemscope][itemtype*="schema.org/Product" i]:not([itemscope] [itemprop]:not([itemprop~="mainEntity"]))'], function (sel, k) {
      var m, i, sent; try { m = A.filter.call(d.querySelectorAll(sel), function (el) {
        var p = (el.getAttribute('itemprop') || '').trim().split(/\s+/);
        if (!k || !p[0] || p.indexOf('mainEntity') >= 0) return 1;
        for (; el; el = el.parentElement) if (el.id && R[el.id]) return 0;
        return 1;
      })[0]; } catch (e) {}
      for (sent = m ? [m] : [], i = 0; i < sent.length && i < 20; i++) {
        parts.push([sent[i].outerHTML, k + 1, sent[i]]);
        each([sent[i]].concat(A.slice.call(sent[i].querySelectorAll('[itemref]'))), function (it) {
          each(itemrefs(it), function (n) {
            var el = d.getElementById(n);
            if (el && !sent.some(function (s) { return s.contains(el) || el.contains(s); })) sent.push(el);
          });
        });
      }
    });
    // whole parts (a cut JSON-LD block is no JSON) in the page's order (the server picks "first"s): the
    // product's, then its page's kind, breadcrumb, canonical and og:/product: tags, then the rest, while the
    // doc stays within 40,000 bytes as sent (an event < 64 KB). The product's may take 48 KB, alone: what
    // the server reads (MAX_DOC_BYTES), under its 64 KB body limit; without it the page teaches nothing.
    // An item too big goes lean
    each([2, 1, 0], function (r) {
      each(parts, function (p, i) {
        var h = p[0], b = p[1] == r && bytes(h), L = r > 1 ? 49152 : 4e4; // true == 1
        if (b && n + b > L && p[2]) b = bytes(h = lean(p[2]));
        if (b && n + b <= L) { out[i] = h; n += b; }
      });
    });
    return out.filter(String).join('\n');
  }
  function lean(el) { // an item without what holds no microdata: its properties read the same
    var c = el.cloneNode(true), M = '[itemprop],[itemscope],[itemref]';
    each(c.querySelectorAll('*'), function (x) { if (!x.matches(M) && !x.querySelector(M) && (x.parentNode.closest('[itemprop]') || c) == c) x.remove(); });
    return c.outerHTML;
  }
  // a JSON-LD block's rank: 2 a node is a product, 1 a breadcrumb or a page (a listing's: no product of its own);
  // the nodes slotwise/rules/jsonld.py's _items walks (lists, @graph)
  function rank(el) { try { return ld(JSON.parse(el.textContent.replace(/<!--|-->|<!\[CDATA\[|]]>/g, '')), 0); } catch (e) { return 0; } }
  function ld(x, k) {
    var r = 0, a = Array.isArray(x);
    if (k > 5 || !x) return 0; // a string, a number: no @type, no @graph
    each(a ? x : [].concat(x['@type']), function (t) {
      r = Math.max(r, a ? ld(t, k + 1) : /(^|\/)(product(group|model)?|individualproduct)$/i.test(t) ? 2
        : /(^|\/)(breadcrumblist|(web|item|collection|searchresults)page)$/i.test(t));
    });
    return Math.max(r, ld(x['@graph'], k + 1)); // a list has none
  }
  // read once, before any decision changes the page: the proxy reads the page as the store sent it. The
  // extract goes in one page view and one /decide, each refused whole past 64 KB: it keeps within 56,000
  // bytes as sent (with its url and referrer, <= 4 KB each, the body stays under). The doc goes first, then
  // each group whole; a group whose lines do not fit goes without them and says so (lines_omitted: the
  // server then knows them unknown, not empty: a cut JSON is no JSON, a cut list a wrong cart); a group
  // still too big is left out (not read)
  var X;
  function extract() {
    if (X) return X;
    var v = {}, gs = CFG.groups || {}, k, r, L;
    X = { doc: markup(), values: v };
    L = 56e3 - bytes(X);
    for (k in gs) if ((r = group(gs[k]))) {
      if (bytes(r) > L && (r.lines || r.lines_json)) { delete r.lines; delete r.lines_json; r.lines_omitted = true; }
      if (bytes([k, r]) <= L) { v[k] = r; L -= bytes([k, r]); }
    }
    return X;
  }
  function reread() { X = 0; } // the page changed (a soft navigation): the next extract reads it again
  // @end

  // @apply: applying decisions in the browser (tag-only mode; behind the proxy, late.js for waiting slots)
  // -- keys of items (reorder, select-option), as slotwise/keys.py and html/edits.py compute them ---
  function decoded(s) { try { return decodeURIComponent(s); } catch (e) { return s; } }
  function slug(s) { s = decoded(s); return s.trim().normalize('NFC').toLowerCase().replace(/[^\p{L}\p{N}]+/gu, '-').replace(/^-+|-+$/g, '') || null; }
  function size(s) {
    s = s.replace(/\s+/g, ' ').trim();
    for (var r; s.indexOf(':') >= 0 && (r = s.replace(/^\p{L}[^:]{0,20}:\s*/u, '')) !== s;) s = r; // every leading label (keys.py)
    return (/^[0-9]?[a-zA-Z]{1,4}$/.test(s) ? s.toUpperCase() : s) || null;
  }
  function kind(path, types) { // the rules' kind of page at a path (the first pattern matching) and its groups; types:
    // with catalog.page_types a path both a product and a category pattern match is, as a link, a category first
    // (CatalogSettings.link_key, asked for a category before a product)
    var P = CFG.patterns || {}, kinds = types ? ['home', 'category', 'product'] : ['home', 'product', 'category'], i, j, m;
    for (i = 0; i < 3; i++) for (j = 0; j < (P[kinds[i]] || []).length; j++) {
      try { m = new RegExp('^(?:' + P[kinds[i]][j] + ')$').exec(path); } catch (e) { m = null; }
      if (m) return [kinds[i], m.groups || {}];
    }
    return [];
  }
  function linkKey(u) {
    var k, g;
    try { k = kind(new URL(u, location.href).pathname, CFG.types); g = k[1]; } catch (e) { return null; }
    if (k[0] === 'category' && g.category) return slug(g.category);
    if (k[0] === 'product' && g.product) return decoded(g.product).trim() || null;
    return null;
  }
  function keyOf(item, k) {
    var v;
    if (k == null) return item.tagName === 'OPTION' || item.hasAttribute('value') ? item.getAttribute('value') || item.value : (item.textContent || '').replace(/\s+/g, ' ').trim();
    if (typeof k === 'string') { // an attribute: the item's own, else its first descendant's
      v = item.getAttribute(k);
      if (v == null) { try { var x = item.querySelector('[' + k.replace(/[^\w-]/g, '\\$&') + ']'); v = x && x.getAttribute(k); } catch (e) {} }
      return v;
    }
    v = field(item, { c: k.c, a: k.a });
    if (v == null) return null;
    v = v.replace(/\s+/g, ' ').trim();
    if (k.match) { var m; try { m = new RegExp(k.match, k.flags).exec(v); } catch (e) { m = null; } if (!m) return null; v = m[1] != null ? m[1] : m[0]; }
    if (k.mode === 'slug') return slug(v);
    if (k.mode === 'size') return size(v);
    if (k.mode === 'link') return linkKey(v);
    return v.trim() || null;
  }
  function same(a, b) { var k; return a != null && b != null && (a === b || (k = fold(size(a))) != null && k === fold(size(b))); }
  function fold(s) { // Python's casefold, as label_key compares: ß, ẞ and SS alike, σ and ς; ı stays ı
    return s == null ? null : s.split('ı').map(function (p) { return p.toLowerCase().toUpperCase().toLowerCase(); }).join('ı');
  }
  // @end

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

  // -- the rules' click and submit captures ---------------------------------------------------
  function triggered(kind, e) {
    each(CFG.triggers, function (t) {
      var el;
      if (t.on !== kind) return;
      try { el = e.target && e.target.closest && e.target.closest(t.selector); } catch (x) { return; }
      if (!el) return;
      capture({ source: t.id, values: fields(el, t.fields) }, t.confirm);
    });
  }
  function capture(p, c) { // c: the rules' confirm: counted only if the next page says it worked
    // @tag-only: the currency the page's extract read (catalog.page_currency), for a price naming none
    var pc = extract().values.page_currency; if (pc && pc.fields) p.currency = pc.fields.currency;
    // @end
    if (c) set(SS, 'sw_conf', JSON.stringify(jget(SS, 'sw_conf', []).concat([{ p: p, c: c, t: now() }]).slice(-10)));
    else track('capture', p, { now: 1 });
  }
  function confirmations() {
    var held = jget(SS, 'sw_conf', []);
    set(SS, 'sw_conf', null);
    each(held, function (h) {
      var found = null;
      try { found = d.querySelector(h.c.css); } catch (e) {}
      if (now() - h.t < 3e5 && !!found === (h.c.present !== false)) track('capture', h.p || { source: h.s, values: h.v }); // h.s: held by an older tag
    });
  }
  function listen() { // the page's clicks and submits, and its going away (pagehide: the queue in a beacon); never the spa tag's
    d.addEventListener('click', function (e) {
      var t = e.target, el = e.isTrusted && t.closest && t.closest('[data-sw-decision]'), a = t.closest && t.closest('a');
      if (el) track('click', { decision_id: el.dataset.swDecision, slot: el.dataset.swSlot, href: a ? a.href : undefined }, { now: 1 });
      triggered('click', e);
    }, true);
    d.addEventListener('submit', function (e) { triggered('submit', e); }, true);
    w.addEventListener('pagehide', function () { flush(true); });
  }

  // -- GA4 (and Universal Analytics) ecommerce events on window.dataLayer -----------------------
  function pushed(o) {
    if (o && typeof o === 'object' && o.length >= 2 && o[0] === 'event' && typeof o[1] === 'string') o = { event: o[1], ecommerce: o[2] || {} }; // gtag('event', ...)
    if (!o || typeof o !== 'object' || o.length != null) return;
    var ec = o.ecommerce;
    if (!ec || typeof ec !== 'object') return;
    if (!/^(add_to_cart|remove_from_cart|purchase)$/.test(o.event) && !ec.add && !ec.remove && !ec.purchase) return;
    var copy;
    try { copy = JSON.parse(JSON.stringify({ event: o.event, ecommerce: ec })); } catch (e) { return; }
    if (JSON.stringify(copy).length < 30000) capture({ source: 'datalayer', push: copy });
  }
  function dataLayer() {
    if (!CFG.datalayer) return;
    var dl = w.dataLayer = w.dataLayer || [], push = dl.push;
    each(dl.slice(), pushed); // what the page pushed before the tag loaded
    dl.push = function () { var r = push.apply(dl, arguments); each(arguments, pushed); return r; };
  }

  // @requests: only in a tag whose rules read requests, in tag-only mode (no proxy sees them)
  // -- the page's own same-origin fetch and XMLHttpRequest to a rules' `request` source: the body keys the
  //    rules read, and how the store answered, go to the server, which reads them as the proxy reads a request.
  //    The page's calls are made first and as they were (same arguments, this, result, errors, timing);
  //    nothing here reads a response's body (the "body" region, in the "answer" script only, reads the JSON
  //    answer capture.cart names), and whatever fails here is dropped
  function first(x) { var o = {}; if (x && x.forEach) x.forEach(function (v, k) { if (!(k in o) && typeof v == 'string') o[k] = v; }); return o; }
  function pick(o, ks) { var r = {}; each(ks, function (k) { if (o && o[k] !== undefined) r[k] = o[k]; }); return r; }
  function sent(m, u, body, hd) { // the rules' sources this request goes to, each with what is kept of it
    var url = new URL(u, location.href), b = body, j, out = [];
    if (url.origin !== location.origin || !url.href.indexOf(new URL(EP + '/', location.href).href)) return out; // never the tag's own
    if (typeof b == 'string') try { j = JSON.parse(b); } catch (e) { b = new URLSearchParams(b); }
    if (j && typeof j != 'object') j = null;
    each(CFG.requests, function (r) {
      var K = r.keys || {};
      try { if (r.methods.indexOf(m) < 0 || !new RegExp(r.path, r.flags).test(url.pathname)) return; } catch (e) { return; }
      out.push([r, { method: m, path: url.pathname, query: pick(first(url.searchParams), K.query), form: pick(b instanceof FormData || b instanceof URLSearchParams ? first(b) : {}, K.form),
        json: j && j.length == null ? pick(j, K.json) : null, headers: pick(first(hd), K.headers) }, url.pathname + url.search]);
    });
    return out;
  }
  function answered(hits, status, final, rh, got) { // rh(name): a header of the answer; got: the Response or the XHR
    each(hits, function (h) {
      if (h[0].answer) return status < 400 && answer(h[0], got); // capture.cart's JSON answer: only in the "answer" script (its body region)
      var o = h[1], to = new URL(final || h[2], location.href), where = to.pathname + to.search;
      o.status = status; o.redirected = where !== h[2]; o.location = o.redirected ? where : undefined;
      o.response_headers = {};
      each((h[0].keys || {}).response, function (n) { var v = rh(n); if (v != null) o.response_headers[n] = v; });
      capture({ source: h[0].id, request: o }, h[0].confirm);
    });
  }
  function requests() {
    var F = w.fetch, X = w.XMLHttpRequest && XMLHttpRequest.prototype, xs = w.WeakMap && new WeakMap();
    if (F) w.fetch = function (input, init) {
      var p = F.apply(this, arguments), hits;
      try {
        var R = w.Request && input instanceof Request ? input : null, o = init || {};
        hits = sent(('' + (o.method || (R ? R.method : 'GET'))).toUpperCase(), R ? R.url : '' + input, o.body, new Headers(o.headers || (R ? R.headers : {})));
        if (hits.length) p.then(function (r) { try { answered(hits, r.status, r.url, function (n) { return r.headers.get(n); }, r); } catch (e) {} }, function () {});
      } catch (e) {}
      return p;
    };
    if (!X || !xs) return;
    var open = X.open, send = X.send, header = X.setRequestHeader;
    X.open = function (m, u) { try { xs.set(this, { m: ('' + m).toUpperCase(), u: '' + u, h: new Headers() }); } catch (e) {} return open.apply(this, arguments); };
    X.setRequestHeader = function (k, v) { try { xs.get(this).h.append(k, v); } catch (e) {} return header.apply(this, arguments); };
    X.send = function (body) {
      try {
        var x = this, o = xs.get(x), hits = o ? sent(o.m, o.u, body, o.h) : [];
        if (hits.length) x.addEventListener('loadend', function () { try { if (x.status) answered(hits, x.status, x.responseURL, function (n) { return x.getResponseHeader(n); }, x); } catch (e) {} });
      } catch (e) {}
      return send.apply(this, arguments);
    };
  }
  if (CFG.requests) requests();
  // @end
  // @body: only in the "answer" script (slotwise/tag/answer.js), which the tag loads for a store whose rules read
  // capture.cart from a JSON answer (tag-only mode): that answer, read as the proxy reads it (at most CAP bytes,
  // a copy: response.clone(), the XHR's text; the page reads its own as ever), goes to the server with only what
  // the rule's key paths reach (CFG.requests[0].answer: the list, each line's, the answer's own), which reads it
  // with the rule (AnswerCart.read: one definition for both modes); sent when it differs from the last one sent
  var CAP = 65536;
  function answer(r, got) {
    var y = got.responseType, t = got.clone ? upto(got.clone().body)
      : Promise.resolve(y == 'json' ? JSON.stringify(got.response) : !y || y == 'text' ? got.responseText : null);
    t.then(function (s) {
      var a = r.answer, j, o;
      if (s == null || new Blob([s]).size > CAP) return;
      j = JSON.parse(s);
      if (!j || typeof j != 'object') return;
      o = keep(j, a.root);
      keep(j, [a.items], o, function (xs) { return Array.isArray(xs) ? xs.slice(0, 200).map(function (x) { return keep(x, a.item); }) : xs; });
      s = JSON.stringify(o);
      if (s === get(SS, 'sw_a') || s.length > 3e4) return; // unchanged, or more than an event holds
      if (capture({ source: r.id, answer: o })) set(SS, 'sw_a', s); // queued (consent given): sent
    }).catch(Object);
  }
  function upto(b) { // a body's text; null past CAP bytes (the rest never read)
    var rd = b.getReader(), n = 0, ps = [];
    return rd.read().then(function go(c) {
      if (c.done) return new Blob(ps).text();
      if ((n += c.value.length) > CAP) return rd.cancel(), null;
      ps.push(c.value); return rd.read().then(go);
    });
  }
  // x with only what the key paths ps reach (Field.pick_raw's steps: a key, or a list's index), in o; f: what to
  // put for the last step's value (else it whole); an empty path: x whole
  function keep(x, ps, o, f) {
    if (!x || typeof x != 'object' || ps.some(function (p) { return !p.length; })) return x;
    o = o || (Array.isArray(x) ? [] : {});
    each(ps, function (p) {
      for (var s = x, t = o, i = 0, k; i < p.length; i++) {
        k = p[i];
        if (!has(s, k)) return;
        if (i == p.length - 1) t[k] = f ? f(s[k]) : s[k];
        else { s = s[k]; t = t[k] = t[k] || (Array.isArray(s) ? [] : {}); }
      }
    });
    return o;
  }
  // @end

  // @tag-only
  // -- page views (tag-only mode): what the page says goes along, so the server reads it as the proxy would
  var viewed = 0;
  function view(from, url, gone) { // a soft navigation's: the page it left (its referrer), and its own; gone: left
    var r = from || d.referrer; // before it could be read (queued while the soft script loaded): nothing it says
    if (!allowed()) return;
    viewed = 1;
    track('page_view', { url: url || loc(), referrer: r ? r.split(/[?#]/)[0] : undefined,
      title: gone ? undefined : d.title.slice(0, 200), extract: gone ? undefined : extract() });
  }
  // @end

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
    return A.filter.call(root.querySelectorAll('a[href],button,input,select,textarea,[tabindex]'), function (el) {
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
    fetch(EP + '/signup', { method: 'POST', credentials: CRED, headers: { 'content-type': JSONT },
      body: JSON.stringify({ email: em, decision_id: p().decision_id, n: nonce() || undefined }) })
      .then(heard).then(function (r) { return r.json().then(function (j) { if (!r.ok || !j.coupon) throw j.error; return j; }); })
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
    trap();
  }
  // a back press shows the offer once; the next one leaves. Set when an offer is on the page (tag-only: when
  // /decide brings one, for the first page or a soft navigation's), once a page load, whichever tag sets it
  // (the spa tag's too: slotwise_b). An entry of the same URL, with a copy of the router's state (a single-page
  // storefront's router renders it as the page it is); only a back press to the entry below it is one, not a
  // soft navigation's popstate
  function trap() {
    if (!touch || w.slotwise_b || !can()) return;
    var h = history.state, below = JSON.stringify([h, location.href]);
    w.slotwise_b = 1;
    history.pushState(Object.assign({}, h, { sw: 1 }), '');
    w.addEventListener('popstate', function back(e) {
      if (JSON.stringify([e.state, location.href]) != below) return;
      w.removeEventListener('popstate', back);
      can() ? exit('back') : history.back();
    });
  }

  // @apply
  // -- decisions applied here (tag-only mode: from /decide, the page hidden at most until the window ends) ----
  var OPS = { replace: 'replaceWith', append: 'append', prepend: 'prepend', before: 'before', after: 'after' };
  // the fields set-value fills: a radio's, a checkbox's value is the choice it stands for (select-option chooses
  // among them), a file's cannot be set, a button's is its caption (slotwise/html/targets.py TYPED_FIELD_CSS)
  var TYPED = 'textarea, input:not([type=radio i]):not([type=checkbox i]):not([type=file i]):not([type=image i]):not([type=submit i]):not([type=reset i]):not([type=button i])';
  function apply(x, only) { // true when the decision is on the page (only those are reported, and learned from); only: these elements
    if (!x) return false;
    var a = x.action, els, attrs = x.attributes || {}, done = 0, there = 0;
    function mark(el) { el.setAttribute('data-sw-decision', x.decision_id); if (x.slot) el.setAttribute('data-sw-slot', x.slot); } // elements only (children, matches)
    try { els = only || d.querySelectorAll(x.selector); } catch (e) { return false; }
    each(x.limit ? A.slice.call(els, 0, x.limit) : els, function (el) {
      (x.got = x.got || []).push(el); // the elements it was applied to (watch: a new one in their place is a re-render)
      if (OPS[a]) { var t = d.createElement('template'), f = t.content; t.innerHTML = x.html || ''; each(f.children, mark); x.put = (x.put || []).concat(A.slice.call(f.children)); el[OPS[a]](f); done++; return; }
      if (a === 'remove') { el.remove(); done++; return; }
      if (a === 'set-attribute') {
        for (var k in attrs) if (!/^on/i.test(k)) attrs[k] == null ? el.removeAttribute(k) : el.setAttribute(k, attrs[k]);
      } else if (a === 'reorder') {
        var ord = (x.order || []).map(String), kids = A.slice.call(el.children);
        kids.map(function (c, i) { var r = ord.indexOf(keyOf(c, x.key)); return [r < 0 ? 1e9 : r, i, c]; })
          .sort(function (p, q) { return p[0] - q[0] || p[1] - q[1]; })
          .forEach(function (p) { el.appendChild(p[2]); });
      } else if (a === 'select-option' || a === 'set-value') {
        var sel = el.matches('select') ? el : null, choices = x.items ? el.querySelectorAll(x.items) : sel ? sel.options : null;
        if (choices && (a === 'select-option' || sel)) {
          var pick = null;
          each(choices, function (c) { if (!pick && keyOf(c, x.key) === x.value) pick = c; });
          each(choices, function (c) { var k = keyOf(c, x.key); if (!pick && [x.value].concat(x.names || []).some(function (v) { return same(k, v); })) pick = c; }); // or another name of its size (catalog.size_names)
          if (!pick || pick.disabled) { mark(el); there++; return; } // the slot is there, its value not offered: marked and counted as the proxy does, so every variant is measured (shown, seen, clicked) on the same pages
          if (pick.tagName === 'OPTION') { (sel || pick.parentNode.closest('select')).value = pick.value; pick.selected = true; }
          else if (pick.tagName === 'INPUT') pick.checked = true;
          else { var marks = x.attributes && Object.keys(x.attributes).length ? x.attributes : { 'aria-current': 'true' }; for (var m in marks) pick.setAttribute(m, marks[m]); }
          (sel || pick).dispatchEvent(new Event('change', { bubbles: true }));
          if (x.click && pick.tagName !== 'OPTION' && !pick.href) pick.click(); // the store's script picks it (click: true); a link would leave the page
        } else if (a === 'set-value' && el.matches(TYPED)) { // the element is a field a visitor types in, as in the proxy
          el.value = x.value;
          el.dispatchEvent(new Event('change', { bubbles: true }));
        } else { mark(el); there++; return; } // no field, no choices (a wrapper div): there and marked, nothing set
      }
      mark(el); done++;
    });
    return done > 0 || there > 0;
  }
  function applied(ok, type) { while (ok.length) track(type || 'applied', { tokens: ok.splice(0, 20) }, { now: 1 }); }
  function run(xs) { // applies each decision, and reports those now on the page (their tokens), once; absent: no element (a slot that waits: its watcher says)
    var ok = [], no = [];
    each(xs, function (x) { try { if (apply(x) && (x.on = 1) && x.token) ok.push(x.token); else if (!x.wait && x.token) no.push(x.token); } catch (e) {} });
    applied(ok); applied(no, 'absent');
  }
  // @end

  // @tag-only
  function post(path, body) {
    if (nonce()) body.n = nonce();
    return fetch(EP + path, { method: 'POST', body: JSON.stringify(body), credentials: CRED, headers: { 'content-type': JSONT } })
      .then(heard).then(function (r) { return r.ok ? r.json() : null; });
  }
  // the page's signed customer (capture.customer's id and signature) when /decide has not had it from this
  // browser yet: a digest of both, kept until a page names none (a logout), never the signature itself
  function login() {
    var f = (extract().values.customer || {}).fields || {}, s = f.id && f.signature ? f.id + ' ' + f.signature : '', h = 2166136261, i;
    if (!s) return set(LS, 'sw_c', null);
    for (i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
    return (h >>>= 0).toString(36) !== get(LS, 'sw_c') && h.toString(36);
  }
  function decide(after) {
    // the window's end, in performance.now() time: set by the snippet (from itself or from navigation start)
    var P = w.performance, deadline = w.slotwise_w != null ? +w.slotwise_w : AF, late = P.now() >= deadline,
      early = w.slotwise_d, tm; // the snippet asked /decide already (in parallel with loading this file)
    // nothing may be asked, or nothing could be shown in time: no request, the page as the store made it
    if (!allowed() || late) { reveal(); return after(); }
    if (!d.getElementById('sw-af')) {
      var hider = d.createElement('style'); hider.id = 'sw-af'; if (NONCE) hider.nonce = NONCE;
      hider.textContent = 'body{opacity:0!important}';
      (d.head || d.documentElement).appendChild(hider);
    }
    tm = setTimeout(function () { late = 1; reveal(); after(); }, deadline - P.now());
    function over() { return late || P.now() >= deadline || gen; } // the clock, not only the timer: it may not have run yet; gen: a soft navigation left the page
    function finish(res) {
      if (over()) return; // too late to show without flicker: not applied, so never reported or learned
      clearTimeout(tm);
      extract(); // the page as the store made it, before any change
      run(res && res.decisions); trap();
      reveal(); after();
      if (typeof watch == 'function') watch(res && res.decisions); // in the tag only when a slot waits (the wait region)
    }
    function fin(res) {
      if (res && res.visitor) known(res.visitor);
      ready(function () {
        if (over()) return;
        // the server needs what the page says (a product it has not seen yet), or the page names a signed-in
        // customer this browser has not sent /decide yet (the page right after a login: decided as theirs), unless
        // the answer says that would change nothing (login: false: no slot here, no customer read here)
        var c = login(), alt;
        if (res && res.login === false) c = 0;
        alt = c && res && res.complete !== false ? res : null;
        if (res && res.complete === false || c)
          post('/decide', { url: loc(true), r: d.referrer, extract: extract() })
            .then(function (r) { if (r && c) set(LS, 'sw_c', c); finish(r || alt); }, function () { finish(alt); });
        else finish(res);
      });
    }
    (early || ask(d.referrer)).then(fin, function () { fin(null); });
  }
  function ask(r) { // GET /decide for this page; the nonce in a header: a URL lands in access logs, and it stands for the visitor
    var n = nonce(), u = encodeURIComponent;
    return fetch(EP + '/decide?url=' + u(loc(true)) + '&r=' + u(r), { credentials: CRED, headers: n ? { 'X-Slotwise-Nonce': n } : {} })
      .then(heard).then(function (r) { return r.ok ? r.json() : null; });
  }
  var gen = 0; // soft navigations so far
  function reveal() { var s = d.getElementById('sw-af'); if (s) s.remove(); } // the anti-flicker window's end
  // @end

  // @soft: in what follows soft navigations: the spa tag (behind the proxy), the soft script (tag-only: soft.js)
  // -- a single-page storefront's soft navigation (the "nav" region notices it; behind the proxy, the spa tag the
  //    page's tag loads follows it): /decide asked at once, in parallel with the router's render, its decisions
  //    applied as their elements render (the watcher: never to an element the previous page had, before the route
  //    has rendered), the page read and its view sent once the route has rendered: the DOM quiet QUIET ms after
  //    its first change, at most SETTLE ms after the navigation, or when the next navigation leaves it (a page
  //    seen briefly is a page). Decisions of an older navigation are dropped (gen)
  var QUIET = 250, SETTLE = 3000, WATCH = 5000, prev = Object;
  function soft(from, late, url) { // url: the page, as noticed (a navigation queued while the soft script loaded)
    prev(); reveal(); // the page a navigation left in its anti-flicker window: its decisions dropped (gen), shown now
    var g = ++gen, rendered = 0, again = 0, xs0 = [];
    url = url || loc();
    function tidy(xs) { // what an earlier page's decision of a slot decided again inserted in an element the route kept (a header's)
      each(xs, function (x) {
        if (OPS[x.action]) try { each(d.querySelectorAll('[data-sw-slot="' + x.slot + '"]'), function (n) { if ((x.put || []).indexOf(n) < 0) n.remove(); }); } catch (e) {}
      });
    }
    watch([]); hold(1); reread();
    each(d.querySelectorAll('template[data-sw-popup]'), function (t) { if (!d.querySelector('.sw-ov')) t.remove(); }); // the previous page's offer, unless it is open
    function put(xs) {
      each(xs, function (x) { x.wait = Math.max(x.wait || 0, WATCH); }); // an offer's too: its template appended to body
      if (rendered) tidy(xs);
      watch(xs0 = xs); scan(); trap();
    }
    function post2() { post('/decide', { url: loc(true), r: from, extract: extract() }).then(function (res) { if (g === gen && res) put(res.decisions); }, Object); }
    if (allowed()) ask(from).then(function (res) {
      if (g !== gen || !res) return;
      known(res.visitor);
      if (res.complete !== false) put(res.decisions); // complete: false: the server needs what the page says
      else if (rendered) post2(); else again = 1;
    }, Object);
    prev = settle(function (left) {
      prev = Object; rendered = 1; hold(0); reread();
      view(from, url);
      if (left) return;
      confirmations(); tidy(xs0); scan(); trap();
      if (again) post2();
    }, late);
  }
  // the navigations the page's tag queued while this loaded (the nav region's queue, on its handle I), in order: the
  // last one followed (late: its route may be rendered already), each one before it a page view alone (the page
  // shows another's now: what it said is not read); then each next one (api.nav)
  function follow(I) {
    var q = I.navs.splice(0);
    Object.defineProperty(api, 'nav', { value: soft });
    each(q, function (n, i) { if (i < q.length - 1) view(n[0], n[1], 1); else soft(n[0], 1, n[1]); });
  }
  // whether the route shows what the extract reads of its kind of page: a product page (the rules' product patterns)
  // its product, in the markup (JSON-LD, microdata) or a value at one of the rules' product selectors, in an element
  // the route rendered (late: any; a loading skeleton's quiet is no render); any other page, at once
  function shows(late) {
    var fs = (CFG.groups.product || {}).fields, k, els = A.filter.call(d.querySelectorAll('script[type="application/ld+json"],[itemscope][itemtype*="schema.org/Product" i]'),
      function (el) { return el.tagName != 'SCRIPT' || rank(el) > 1; });
    for (k in fs) if (fs[k].c && field(d, fs[k])) els.push(find(d, fs[k].c));
    return kind(location.pathname)[0] != 'product' || els.some(function (el) { return late || !held(el); });
  }
  function settle(f, late) { // late: the route may be rendering already (the spa tag, loaded after the navigation)
    var tq, tb, mo = w.MutationObserver && new MutationObserver(quiet);
    function quiet() { clearTimeout(tq); tq = setTimeout(function () { if (shows(late)) fin(); }, QUIET); }
    function fin(left) { clearTimeout(tq); clearTimeout(tb); if (mo) mo.disconnect(); f(left); }
    if (mo) mo.observe(d.documentElement, { childList: true, subtree: true, characterData: true });
    tb = setTimeout(fin, mo ? SETTLE : 0);
    if (late) quiet();
    return function () { fin(1); };
  }
  // @end

  // @wait
  // -- slots whose element the store's own script renders after the page loads (a slot's `wait`): one
  //    MutationObserver applies each decision when its element appears, in its callback (before the browser
  //    paints the element: no flicker), counted applied then; an element the store's script puts in place of
  //    a changed one, or one whose inserted content it took out (hydration, a re-render) gets it again, at most
  //    REDO times, then the store's script wins.
  //    Nothing is watched past its wait; a decision whose element never came is never applied: reported absent.
  //    One page's decisions are watched at a time, and only on their page: a soft navigation to another path
  //    ends them. OLD: the elements the page had when a soft navigation began, left alone until its route has
  //    rendered (the previous page's, until the router takes them out: hold); scan: looks again now
  var REDO = 3, OLD, stop = Object, look = Object;
  function scan() { look(); }
  function hold(on) { OLD = on && new WeakSet(d.querySelectorAll('*')); }
  function held(el) { return OLD && OLD.has(el); }
  function watch(xs) {
    var P = w.performance, left = [], mo, tm, most = 0, at = location.pathname;
    stop();
    each(xs, function (x) { if (x.wait && x.selector) { x.end = P.now() + x.wait; x.redo = 0; most = Math.max(most, x.wait); left.push(x); } });
    if (!left.length || !w.MutationObserver) return;
    function mine(el, x) { for (; el; el = el.parentElement) if (el.getAttribute('data-sw-decision') === x.decision_id) return 1; }
    look = function () {
      var t = P.now(), ok = [], no = [], again = 0;
      if (location.pathname !== at) left = [];
      left = left.filter(function (x) {
        var fresh;
        if (t >= x.end) return x.on || !x.token || no.push(x.token), false; // its wait is over: absent, unless applied
        if (x.put && x.put.length && !x.put.some(function (n) { return n.isConnected; })) x.got = x.put = 0; // what it inserted is gone: re-rendered in place
        try { fresh = A.filter.call(d.querySelectorAll(x.selector), function (el) { return (x.got || []).indexOf(el) < 0 && !mine(el, x) && !held(el); }); } catch (e) { return false; }
        if (!fresh.length) return true;
        if (x.on && x.redo++ >= REDO) { console.debug('slotwise: slot ' + x.slot + ' re-rendered more than ' + REDO + ' times: left to the page'); return false; }
        try { if (apply(x, fresh)) { again = 1; if (!x.on && (x.on = 1) && x.token) ok.push(x.token); } } catch (e) {}
        return true;
      });
      applied(ok); applied(no, 'absent');
      if (again) observe(); // its exposure, as for every decision
      if (!left.length) end();
    };
    function end() { left = []; mo.disconnect(); clearTimeout(tm); }
    stop = end;
    mo = new MutationObserver(scan);
    mo.observe(d.documentElement, { childList: true, subtree: true });
    tm = setTimeout(function () { scan(); end(); }, most + 1);
  }
  // @end

  // @nav: a single-page storefront's soft navigations (docs/tag.md, "Single-page storefronts"): the router's
  //    history.pushState and replaceState (called as it calls them: its this, arguments and result) and the back
  //    and forward buttons (popstate). A new page is a new path, or a new value of a query parameter the rules'
  //    pages read (CFG.nav.query); a hash, another parameter (Shopify's ?variant=) is the same page. This tag has
  //    no following of them: the first soft navigation loads what has (CFG.nav.spa: behind the proxy the spa tag,
  //    tag-only the soft script). Until it is here, each navigation is queued (navs: the page it left, and its
  //    own; one queue for both, on the private handle api._) and it follows them once here (follow: the soft
  //    region), then each next one itself (api.nav). One that never loads leaves the pages as the store made them
  function here() {
    var q = new URLSearchParams(location.search);
    return JSON.stringify([location.pathname].concat(CFG.nav.query.map(function (k) { return q.getAll(k); })));
  }
  var page = here(), from = loc(true), navs = [];
  function moved() {
    var k = here(), r = from;
    if (k === page) return;
    page = k; from = loc(true);
    if (api.nav) api.nav(r); else queue(r);
  }
  function queue(r) { navs.push([r, loc()]); spa(); }
  each(['pushState', 'replaceState'], function (m) {
    var f = history[m];
    if (typeof f == 'function') history[m] = function () { var r = f.apply(this, arguments); try { moved(); } catch (e) {} return r; };
  });
  w.addEventListener('popstate', function () { try { moved(); } catch (e) {} });
  // @end

  // @load: in a tag that loads one of its scripts: the injected one its spa tag (nav), the tag-only one its soft script
  //    (nav) and its answer script (answer)
  function load(h, o) { // h: the script's digest, as the server names it; o: its data-*; the page's CSP nonce
    var s = d.createElement('script'), k;
    s.src = EP + '/tag.' + h + '.js'; s.dataset.endpoint = EP; if (NONCE) s.nonce = NONCE;
    for (k in o) s.dataset[k] = o[k];
    return d.head.appendChild(s);
  }
  var helper;
  function spa() { helper = helper || load(CFG.nav.spa, { nav: 1 }); } // the first soft navigation loads what follows them (the spa tag, the soft script), once
  // @end

  // -- public API --------------------------------------------------------------------------
  var api = w.slotwise = {
    v: 1,
    track: function (type, props) { return track(type, props); },
    identify: identify,
    consent: consent,
    flush: function () { flush(); },
    showPopup: function () { show('api'); }
  };
  // @spa: soft navigations followed here (the spa tag: loaded by a proxied page's tag, it reports through it and
  //    follows the navigations it queued)
  if (C.nav) { w.slotwise = api = pre; track = function (t, p) { return api.track(t, p); }; observe = api.observe; return follow(api._); }
  // @end
  // @nav: the queue on the tag's private handle, for what follows navigations; tag-only, with what the soft script
  //    uses of this tag (the plug region)
  Object.defineProperty(api, '_', { value: { navs, /*SW_PLUG*/ } });
  // @end
  // @plug: a tag-only tag following soft navigations: the soft script (slotwise/tag/soft.js: tag.js's "soft", and
  //    "wait" when this tag has none) is loaded at the first one (CFG.nav.spa) and plugs into this tag: what it
  //    uses of it is on the private handle (api._: this tag's own functions, never a second copy). Until it is
  //    here, a navigation also drops the first page's decisions (gen) and shows the page
  Object.defineProperty(api, 'nav', { configurable: true, value: function (r) { gen++; reveal(); queue(r); } });
  // @end
  // the pre-load queue's push keeps working once the tag is here (a page's inline script may run after
  // the async tag); not enumerable: it is the queue's protocol, not one more method of the API
  Object.defineProperty(api, 'push', { value: function (c) { try { api[c[0]].apply(api, c.slice(1)); } catch (e) {} } });
  Object.defineProperty(api, 'observe', { value: observe }); // late.js: the exposures of what it applies
  if (pre && pre.length) each(pre, api.push);
  // @answer: only in a tag whose rules read capture.cart from a JSON answer (tag-only mode): the script that reads it
  //    (CFG.answer: its digest; slotwise/tag/answer.js), loaded at once, before the page's own scripts ask for the cart
  load(CFG.answer);
  // @end
  function start() {
    listen();
    ready(function () {
  // @tag-only
      if (!PROXIED && !viewed) view();
  // @end
      confirmations(); dataLayer(); observe(); arm(); sched(300);
    });
  }
  // @tag-only
  if (C.mode === 'decide') decide(function () { ready(observe); });
  // @end
  start();
})(window, document, /*SW_CONFIG*/{});
