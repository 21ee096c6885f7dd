/* The script a tag-only store's tag loads when its rules read capture.cart from a JSON answer the page fetches
   (Magento's customer-data `cart` section: docs/tag.md, "A cart from a JSON answer"), and only then: the tag's
   "// @answer" region loads it at once, hashed and immutable, with the page's CSP nonce. Its code is tag.js's
   own regions "// @shared", "// @requests" and "// @body" in place of the mark below (slotwise/tag/assets.py):
   one observer of the page's fetch and XMLHttpRequest for both its uses. Its config names the one request
   (CFG.requests: the rule's request, and the key paths its reading reaches): no other answer is ever read.
   What it reads goes out through the page's tag (its queue, its consent). */
(function (w, d, CFG) {
  'use strict';
  var api = w.slotwise, S = d.currentScript || {}, A = Array.prototype, SS,
    EP = ((S.dataset || {}).endpoint || '/_sw').replace(/\/+$/, '');
  if (!api || !api.track) return; // no tag on the page: nothing would send what is read
  try { SS = w.sessionStorage; } catch (e) {}
  CFG = CFG || {};
  function capture(p) { return api.track('capture', p); } // its id; none when nothing may be sent
  /*SW_REGIONS*/
})(window, document, /*SW_CONFIG*/{});
