"""YAML slot rules: load and validate once, then match, evaluate and render per request.

Pure: no network, no store, no proxy. The proxy's path through it::

    ruleset = load_rules("rules.yaml")                 # RulesError lists every issue
    slots = ruleset.slots_for(path, query, headers)    # precompiled page matchers
    page = page_facts(path, query, html, ruleset)      # URL patterns + JSON-LD
    request = request_facts(headers, query)
    ctx = build_context(profile, page, request, visitor_id, time=time_facts(now, ruleset.timezone))
    for slot in slots:
        if slot.runs(now) and slot.applies(ctx):       # its `active` window, its `when` (now: the caller's clock)
            edit = slot.render(variant_id, ctx, decision_id, recommendations)

See docs/rules.md for the file format.
"""

from slotwise.rules.catalog import CatalogSettings
from slotwise.rules.context import Context, build_context
from slotwise.rules.errors import Issue, RuleEvaluationError, RulesError
from slotwise.rules.facts import PageFacts, RequestFacts, page_facts, request_facts
from slotwise.rules.loader import check_rules, load_rules
from slotwise.rules.recommend import rank
from slotwise.rules.ruleset import Policy, RuleSet, Slot, Variant, holdout_bucket
from slotwise.rules.schema import ACTIONS, GOALS, POLICIES, STRATEGIES, CouponCost, RecommendSpec

__all__ = [
    "ACTIONS", "GOALS", "POLICIES", "STRATEGIES",
    "CatalogSettings", "Context", "CouponCost", "Issue", "PageFacts", "Policy", "RecommendSpec",
    "RequestFacts", "RuleEvaluationError", "RuleSet", "RulesError", "Slot", "Variant",
    "build_context", "check_rules", "holdout_bucket", "load_rules", "page_facts", "rank", "request_facts",
]
