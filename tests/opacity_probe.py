"""When a page's body was hidden, sampled in the browser, and how long it stayed hidden past a window.

``OPACITY_PROBE`` is an init script: from the very start of every document it
samples the body's computed opacity every few milliseconds, in
``performance.now()`` time (the snippet's clock), into ``window.__vis`` =
``{firstHidden, lastHidden, firstShown, samples}`` (``null``: never seen so;
``samples``: every sample's time until the body was first shown).

A page's own timers cannot run while its renderer is stalled (a loaded
2-core machine starves Chromium for hundreds of milliseconds), so
``hidden_past`` counts only the time past the window in which the browser was
running the probe: a stall is the browser's, the time around it the tag's.
"""

from __future__ import annotations

from itertools import pairwise
from typing import Any

OPACITY_PROBE = """
(() => {
  const vis = window.__vis = {firstHidden: null, lastHidden: null, firstShown: null, samples: []};
  const probe = () => {
    const b = document.body, t = performance.now();
    if (vis.firstShown === null) vis.samples.push(t);
    if (b) {
      const o = getComputedStyle(b).opacity;
      if (o === '0') { vis.lastHidden = t; if (vis.firstHidden === null) vis.firstHidden = t; }
      else if (vis.firstShown === null) vis.firstShown = t;
    }
    if (performance.now() < 8000) setTimeout(probe, 4);
  };
  probe();
})();
"""

STALL_MS = 25.0
"""A gap between two samples (due every 4 ms) longer than this: the renderer ran nothing, no timer either."""


def hidden_past(vis: dict[str, Any], deadline: float) -> float:
    """How long (ms) the body stayed hidden after ``deadline`` while the browser was running timers."""
    last = vis["lastHidden"]
    if last is None or last <= deadline:
        return 0.0
    stalled = sum(max(0.0, min(b, last) - max(a, deadline))
                  for a, b in pairwise(vis["samples"]) if b - a > STALL_MS)
    return last - deadline - stalled


def brief(vis: dict[str, Any]) -> dict[str, Any]:
    """What an assertion message shows of ``window.__vis``: the samples as their count and longest gap."""
    times = vis.get("samples") or [0.0]
    gap = max((b - a for a, b in pairwise(times)), default=0.0)
    return {**{k: v for k, v in vis.items() if k != "samples"}, "samples": len(times), "longest_gap": round(gap)}
