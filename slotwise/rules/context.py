"""One request's view for rules: the visitor, the page and the request, built once.

``Context.visitor_context`` is the one place a live page view becomes what a
contextual policy sees (``slotwise.bandits.features.VisitorContext``): the
proxy, the tag's ``/decide`` (which runs the same personalization steps), the
bench and replay all read features built from it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Mapping

from slotwise.bandits.features import VisitorContext
from slotwise.bandits.features import features as one_hot
from slotwise.profile import Profile
from slotwise.rules.facts import PageFacts, RequestFacts
from slotwise.rules.journey_facts import JourneyData
from slotwise.rules.signals import Signals
from slotwise.rules.visitor import VisitorView, freeze

_SEARCH = ("google.", "bing.", "duckduckgo.", "yahoo.", "ecosia.", "qwant.", "baidu.", "yandex.", "startpage.")
_SOCIAL = ("facebook.", "instagram.", "t.co", "twitter.", "x.com", "linkedin.", "pinterest.", "tiktok.",
           "reddit.", "youtube.", "whatsapp.", "threads.")
_PAID_MEDIUMS = ("cpc", "ppc", "paid", "paidsearch", "paid_social", "display", "cpm", "affiliate")


def traffic_source(utm: Mapping[str, str | None], referrer_host: str | None, own_host: str | None) -> str:
    """One of direct, search, social, email, paid, referral (UTM medium first, then the referrer)."""
    medium = (utm.get("medium") or "").lower()
    if medium in _PAID_MEDIUMS:
        return "paid"
    if medium in ("email", "newsletter", "e-mail"):
        return "email"
    if medium in ("social", "social-network", "sm"):
        return "social"
    host = (referrer_host or "").lower()
    if not host or (own_host and host == own_host.split(":")[0].lower()):
        return "direct"
    if any(marker in host for marker in _SEARCH):
        return "search"
    if any(host == m or host.endswith("." + m) or m in host for m in _SOCIAL):
        return "social"
    return "referral"


@dataclass(frozen=True)
class Context:
    """What every slot of one page view is evaluated against."""

    visitor: VisitorView
    page: PageFacts
    request: RequestFacts
    visitor_id: str | None = None
    names: Mapping[str, Any] = field(default_factory=dict, repr=False)

    def visitor_context(self, own_host: str | None = None) -> VisitorContext:
        """The visitor as a contextual policy sees them (``own_host``: a referrer from the store
        itself is direct traffic). The profile already counts this page view."""
        v = self.visitor
        return VisitorContext(
            is_new=bool(v["is_new"]),
            visit_count=int(v["visits"]),
            device=self.request.device,
            top_category=next(iter(v["top_categories"]), None),
            has_cart=bool(v["has_cart"]),
            source=traffic_source(self.request.utm, self.request.referrer_host, own_host),
        )

    def features(self, own_host: str | None = None) -> dict[str, float]:
        """The one-hot features a contextual policy decides on, and the decision log keeps.

        The same as ``visitor_context(own_host).features()``, read from the context's own fields
        (its values are plain: no ``dataclasses.asdict`` deep copy, once per page)."""
        return one_hot(vars(self.visitor_context(own_host)))


_NO_TIME: Mapping[str, Any] = MappingProxyType({})  # no clock given: every ``time`` fact is undefined


def build_context(
    profile: Profile | None,
    page: PageFacts,
    request: RequestFacts,
    visitor_id: str | None = None,
    signals: Signals | None = None,
    journeys: JourneyData | None = None,
    time: Mapping[str, Any] | None = None,
) -> Context:
    """The context of one page view; ``profile`` None means a first-time (or unconsented) visitor;
    ``signals``: the rules' stage and interest settings (``RuleSet.signals``); ``journeys``: what
    journey facts read besides the profile (``rules.journey_facts``); ``time``: the ``time`` facts
    of the page view's moment (``rules.schedule.time_facts``: the caller's clock, never read here)."""
    visitor = VisitorView(profile, visitor_id, signals, journeys)
    form = journeys.settings.cart_form if journeys is not None else None
    names = {"visitor": visitor, "page": page, "request": request, "cart_form": freeze(form.as_dict()) if form else None,
             "time": time if time is not None else _NO_TIME}
    return Context(visitor=visitor, page=page, request=request, visitor_id=visitor_id, names=names)
