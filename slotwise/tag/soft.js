/* The script a tag-only store's tag loads at a single-page storefront's first soft navigation (docs/tag.md,
   "Single-page storefronts"), and only then: the tag's "// @nav" region loads it (with "// @load": hashed,
   immutable, the page's CSP nonce), so a store whose pages are all whole pages never pays for it. Its code is
   tag.js's own region "// @soft" (reading, deciding and applying each page the router shows) and, when the tag
   has none, "// @wait" (decisions applied as their elements render), in place of the mark below
   (slotwise/tag/assets.py), compiled against the running tag: the visitor state, reading, /decide, applying and
   queue it uses are the tag's own, taken from its private handle (api._: the names in place of the first mark,
   assets.PLUG), never a second copy; the config is the tag's too (one script for every store). It follows the
   navigations the tag queued while it loaded, in order, then each next one (follow: as the spa tag does). */
(function (w, d, CFG) {
  'use strict';
  var api = w.slotwise, I = api && api._, A = Array.prototype, gen = 0; // gen: the navigations it followed
  if (!I || !I.navs) return; // no tag to plug into (nothing would send what is read)
  var { /*SW_PLUG*/ } = I;
  /*SW_REGIONS*/
  follow(I); // the navigations the tag queued while it loaded, then each next one
})(window, document, /*SW_CONFIG*/{});
