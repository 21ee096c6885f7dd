"""The cacheable-page case of the proxy bench: the same four slots when the store lets a shared cache
keep the page, next to the page it does not (``rules4``), in one run.

The bench's origin (nginx serving the generated page) answers ``?cache=1``
with ``Cache-Control: public, max-age=60`` and everything else with
``no-store``, so every other case measures a page the HTML cache may not
keep (nginx adds an ``ETag`` to static files, which alone would make it
revalidatable). ``rules4-cached`` asks for ``/p/p7?cache=1``: after the first
request every visitor is personalized from the cached copy (profile read,
decisions, render, splice — no upstream fetch, no decode).

Used by ``bench.proxy.run`` (``--cases ...,rules4,rules4-cached``); its
table gets a line with the cached/uncached req/s ratio of the run.
"""

from __future__ import annotations

from typing import Any, Sequence

CACHED_CASE = "rules4-cached"
CACHED_PATH = "/p/p7?cache=1"
CACHED_NAME = "Slotwise, all 4 slots, cacheable page (real rules, 64 visitors)"
UNCACHED_NAME = "Slotwise, all 4 slots (real rules, 64 visitors)"

# nginx: in the http block, and in the origin's server block (``bench.proxy.run`` fills NGINX_CONF with them)
NGINX_HTTP = 'map $arg_cache $origin_cache_control { default "no-store"; "1" "public, max-age=60"; }'
NGINX_ORIGIN = "add_header Cache-Control $origin_cache_control always;"


def plan_entry() -> tuple[str, str, str]:
    """(case key, table name, rules) as ``bench.proxy.run``'s plan lists them."""
    return (CACHED_CASE, CACHED_NAME, "rules4")


def path_for(case: str) -> str | None:
    """The page a case's visitors ask for, when it is not the rules' usual one."""
    return CACHED_PATH if case == CACHED_CASE else None


def ratio_line(results: Sequence[Any]) -> str:
    """The cached/uncached throughput ratio of one run, or "" when the run lacks one of them."""
    by_name = {r.name: r for r in results}
    cached, uncached = by_name.get(CACHED_NAME), by_name.get(UNCACHED_NAME)
    if cached is None or uncached is None or not uncached.rps:
        return ""
    return (f"Cacheable page vs not cacheable, same run: {cached.rps:,.0f} / {uncached.rps:,.0f} req/s = "
            f"{cached.rps / uncached.rps:.2f}×; p99 {cached.p99_ms:.1f} vs {uncached.p99_ms:.1f} ms\n")
