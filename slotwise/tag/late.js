/* The script the proxy adds, after its tag, to a page whose decisions wait for an element the store's own
   script renders after the page loads (a slot's `wait`: docs/tag.md, "Elements the store's scripts render").
   The proxy edits the HTML the store sends, where such an element is not yet: this applies those decisions
   in the browser, when their element appears, as the tag-only tag does. Its code is tag.js's own regions
   "// @shared", "// @apply" and "// @wait", put in place of the mark below (slotwise/tag/assets.py): one
   apply and one watcher for both modes. The page's tag (the element before this one, deferred too) sends
   what it reports: `applied` with the decisions' signed tokens (only then are they logged), exposures.
   A decision marked `on` the proxy applied to the HTML already: it is only applied again to an element the
   store's script re-renders in place of the one the proxy changed, and, with `click` (select-option), once
   more when the page has loaded, so the store's script hears the choice as a shopper's (PrestaShop's variants:
   their `change` refreshes the combination). The window's `load`, then a turn: the store's handlers are set by
   then (jQuery 3 runs $(document).ready's callbacks asynchronously after DOMContentLoaded). */
(function (w, d, CFG) {
  'use strict';
  var api = w.slotwise, S = d.currentScript || {}, A = Array.prototype, xs;
  if (!api || !api.observe) return; // no tag on the page: nothing would report what is applied
  try { xs = JSON.parse(S.dataset.decisions); } catch (e) { return; }
  CFG = CFG || {};
  function track(type, props) { api.track(type, props); api.flush(); } // the tag's queue, sent at once
  function observe() { api.observe(); }
  /*SW_REGIONS*/
  ready(function () {
    each(xs, function (x) { // on: the proxy applied it to the HTML (and logged it): watched for re-renders only
      if (x.on) try {
        x.got = A.slice.call(d.querySelectorAll(x.selector));
        x.put = A.filter.call(d.querySelectorAll('[data-sw-decision="' + x.decision_id + '"]'), function (el) { return x.got.indexOf(el) < 0; });
      } catch (e) {}
    });
    run(xs.filter(function (x) { return !x.on; })); observe(); watch(xs);
  });
  function told() { setTimeout(function () { each(xs, function (x) { if (x.on && x.click && x.got) apply(x, x.got.slice()); }); }); }
  d.readyState === 'complete' ? told() : w.addEventListener('load', told);
})(window, document, /*SW_CONFIG*/{});
