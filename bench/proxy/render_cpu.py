"""The CPU of deciding what to render and rendering it, per page: the rules' part of personalization.

    python -m bench.proxy.render_cpu [--pages 20000] [--visitors 64] [--rules bench/proxy/rules-4-slots.yaml]
        [--fresh-cards] [--tree DIR]

For returning visitors with a history (categories viewed, a purchase with a
size, a cart: all four slots apply), on ``/p/p7`` (category ``shoes``), with four
recommendation cards per visitor: the context is built, then each slot's
``when`` is evaluated and its variant rendered — the ``rules`` and ``render``
steps of ``bench.proxy.breakdown``, with no store, bandit or rewriter around
them. The same pages run two ways in this one process, interleaved in rounds:

- ``jinja``: what the rules did before their fast paths, the baseline — every
  expression through ``Environment.compile_expression`` (a new Jinja Context
  per call), every template through ``Template.render`` with the
  recommendations frozen per render, in Jinja's own immutable sandbox;
- ``rules``: ``Slot.applies`` and ``Slot.render`` as the proxy calls them.

By default each of the 64 visitors keeps its four cards, so the card
template's cache serves ~all pages (the bench's own repetition, not a
store's); ``--fresh-cards`` gives every page other cards, as a store's
returning visitors get (their cards follow their history: ~0% hits), so the
cards are rendered every time. The hit rate of each template is printed.
``--tree DIR`` measures another checkout's ``slotwise`` (before/after runs).

Every page's edits are compared: the two must be byte-identical, or the
bench fails. The figure is CPU time per page (``time.process_time``), so the
machine's load moves it less than wall time; the ratio is what to compare.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parents[2]


def visitors(count: int) -> list[Any]:
    """Returning visitors: a few categories viewed, one purchase with a size, one to three items in the cart."""
    from slotwise.rules.testing import make_profile

    rng = random.Random(7)
    categories = ["shoes", "bags", "shirts", "hats", "socks", "coats"]
    profiles = []
    for i in range(count):
        views = [(rng.choice(categories), f"p{rng.randrange(40)}") for _ in range(rng.randrange(3, 9))]
        cart = [{"product": f"p{rng.randrange(40)}", "category": "shoes", "qty": rng.randrange(1, 4), "price": 59.9}]
        purchases = [{"product": "p3", "category": "shoes", "size": rng.choice(["41", "42", "43"]), "qty": 1}]
        profiles.append(make_profile(f"v{i}", views=views, cart=cart, purchases=purchases, visits=3))
    return profiles


def recommendations(count: int) -> list[list[dict[str, Any]]]:
    """Four product cards per visitor, as ``fetch_recommendations`` gives them (fresh dicts per page)."""
    rng = random.Random(11)
    return [[{"id": f"p{n}", "name": f"Product {n}", "url": f"/p/p{n}", "image": f"/img/p{n}.jpg",
              "price": round(10 + n * 1.5, 2), "currency": "EUR", "category": "shoes", "in_stock": True}
             for n in rng.sample(range(40), 4)] for _ in range(count)]


def plain_jinja(ruleset: Any) -> Callable[[Any, Any, Any, list[dict[str, Any]]], Any]:
    """The baseline: each slot evaluated and rendered with Jinja's own API, as before the fast paths."""
    from jinja2 import ChainableUndefined
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    from slotwise.rules import actions
    from slotwise.rules.expressions import money
    from slotwise.rules.schema import INSERT_ACTIONS
    from slotwise.rules.visitor import freeze

    envs = {}
    for autoescape in (True, False):
        envs[autoescape] = ImmutableSandboxedEnvironment(autoescape=autoescape, undefined=ChainableUndefined)
        envs[autoescape].filters["money"] = money
    expressions: dict[str, Any] = {}
    templates: dict[str, Any] = {}

    def expression(compiled: Any) -> Any:
        if compiled.source not in expressions:
            expressions[compiled.source] = envs[False].compile_expression(compiled.source)
        return expressions[compiled.source]

    def template(cached: Any) -> Any:
        if cached.source not in templates:
            templates[cached.source] = envs[True].from_string(cached.source)
        return templates[cached.source]

    def applies(slot: Any, ctx: Any) -> bool:
        return slot.when is None or bool(expression(slot.when)(**ctx.names))

    def render(slot: Any, v: Any, ctx: Any, recs: list[dict[str, Any]]) -> Any:
        names = {**ctx.names, "vars": v.vars, "slot": slot.id, "variant": v.id}
        if slot.action in INSERT_ACTIONS or slot.action == "popup":
            if v.recommend is not None:
                names["recommendations"] = tuple(freeze(dict(r)) for r in recs[: v.recommend.limit])
            else:
                names["recommendations"] = tuple(freeze(dict(r)) for r in recs)
            html = template(v.template).render(names)
            if slot.action == "popup":
                return actions.popup_edit(slot.id, slot.selector, slot.trigger, html, decision_id="d")
            return actions.insert_edit(slot.id, slot.selector, slot.action, html, decision_id="d", limit=slot.limit)
        if slot.action == "reorder":
            return actions.reorder_edit(slot.id, slot.selector, slot.key or "data-category",
                                        expression(v.order)(**names), decision_id="d", limit=slot.limit)
        return actions.value_edit(slot.id, slot.selector, slot.action, expression(v.value)(**names), decision_id="d",
                                  limit=slot.limit, key=slot.key if slot.action == "select-option" else None,
                                  items=slot.items, attributes={})

    def page(slots: Any, ctx: Any, recs: list[dict[str, Any]]) -> list[Any]:
        return [render(slot, slot.variants[0], ctx, recs) for slot in slots if applies(slot, ctx)]

    return page


def product_path(slots: Any, ctx: Any, recs: list[dict[str, Any]]) -> list[Any]:
    return [slot.render(slot.variants[0], ctx, "d", recommendations=recs) for slot in slots if slot.applies(ctx)]


FRESH_CARDS = 4096
"""Blocks of cards with ``--fresh-cards``: more than a template's cache holds (~150), so none repeats in time."""


def hit_rates(slots: Any) -> str:
    """Each template's share of renders served from its cache (and of renders it did not key)."""
    parts = []
    for slot in slots:
        template = slot.variants[0].template
        if template is not None:
            total = template.hits + template.misses + getattr(template, "unkeyed", 0)
            parts.append(f"{slot.id} {template.hits / max(total, 1):.1%} hits"
                         + (f", {template.unkeyed / max(total, 1):.0%} unkeyed" if hasattr(template, "unkeyed") else ""))
    return "; ".join(parts)


def run(args: argparse.Namespace) -> tuple[dict[str, float], str]:
    from slotwise.rules import load_rules
    from slotwise.rules.context import build_context
    from slotwise.rules.facts import PageFacts, request_facts

    ruleset = load_rules(Path(args.rules))
    slots = ruleset.slots_for(args.path)
    profiles, cards = visitors(args.visitors), recommendations(FRESH_CARDS if args.fresh_cards else args.visitors)
    page = PageFacts(path=args.path, url=args.path, type="product", category="shoes")
    request = request_facts({"user-agent": "Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0"}, "")
    ways = {"jinja": plain_jinja(ruleset), "rules": product_path}

    def one(way: str, i: int) -> list[Any]:
        ctx = build_context(profiles[i % len(profiles)], page, request, f"v{i}", ruleset.signals)
        recs = [dict(card) for card in cards[i % len(cards)]]  # fresh dicts, like a store read
        return ways[way](slots, ctx, recs)

    for i in range(args.visitors * 2):  # the same edits both ways, every visitor (and warm)
        want, got = one("jinja", i), one("rules", i)
        assert got == want, f"page {i}: the rules' edits differ from plain Jinja's:\n{got}\n{want}"
        assert len(got) == len(slots), f"page {i}: {len(got)} of {len(slots)} slots applied"
    spent = {way: 0.0 for way in ways}
    rounds = 4
    for _ in range(rounds):
        for way in ways:
            start = time.process_time()
            for i in range(args.pages // rounds):
                one(way, i)
            spent[way] += time.process_time() - start
    return {way: spent[way] * 1e6 / (args.pages // rounds * rounds) for way in ways}, hit_rates(slots)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pages", type=int, default=20000)
    parser.add_argument("--visitors", type=int, default=64)
    parser.add_argument("--rules", default=str(ROOT / "bench" / "proxy" / "rules-4-slots.yaml"))
    parser.add_argument("--path", default="/p/p7")
    parser.add_argument("--fresh-cards", action="store_true",
                        help="other cards on every page, as a store's returning visitors get (no cache hits)")
    parser.add_argument("--tree", default=str(ROOT), help="the checkout whose slotwise is measured (default: this one)")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(Path(args.tree).resolve()))
    before = os.getloadavg()[0]
    result, rates = run(args)
    print(f"`python -m bench.proxy.render_cpu --pages {args.pages} --visitors {args.visitors}"
          f"{' --fresh-cards' if args.fresh_cards else ''} --tree {args.tree}`: CPU per page "
          f"(context + 4 slots' when + render): plain Jinja {result['jinja']:.1f} µs, rules {result['rules']:.1f} µs "
          f"({result['jinja'] / result['rules']:.2f}× less; {rates}); "
          f"load average {before:.2f} → {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
