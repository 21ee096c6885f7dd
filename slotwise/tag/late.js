/* The script the proxy adds, after its tag, to a page whose decisions wait for an element the store's own
   script renders after the page loads (a slot's `wait`: docs/tag.md, "Elements the store's scripts render").
   The proxy edits the HTML the store sends, where such an element is not yet: this applies those decisions
   in the browser, when their element appears, as the tag-only tag does. Its code is tag.js's own regions
   "// @shared", "// @apply" and "// @wait", put in place of the mark below (slotwise/tag/assets.py): one
   apply and one watcher for both modes. The page's tag (the element before this one, deferred too) sends
   what it reports: `applied` with the decisions' signed tokens (only then are they logged), exposures.
   A decision marked `on` the proxy applied to the HTML already: it is only applied again to an element the
   store's script re-renders in place of the one the proxy changed. */
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
})(window, document, /*SW_CONFIG*/{});
