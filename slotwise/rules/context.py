"""One request's view for rules: the visitor, the page and the request, built once."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from slotwise.profile import Profile
from slotwise.rules.facts import PageFacts, RequestFacts
from slotwise.rules.visitor import VisitorView


@dataclass(frozen=True)
class Context:
    """What every slot of one page view is evaluated against."""

    visitor: VisitorView
    page: PageFacts
    request: RequestFacts
    visitor_id: str | None = None
    names: Mapping[str, Any] = field(default_factory=dict, repr=False)

    def features(self) -> dict[str, Any]:
        """A small, loggable summary (for the exposure log and contextual policies)."""
        v = self.visitor
        return {
            "page_type": self.page.type,
            "page_category": self.page.category,
            "device": self.request.device,
            "country": self.request.country,
            "utm_source": self.request.utm.get("source"),
            "is_returning": v["is_returning"],
            "visits": v["visits"],
            "has_cart": v["has_cart"],
            "cart_count": v["cart_count"],
            "known": v["known"],
            "subscribed": v["subscribed"],
        }


def build_context(
    profile: Profile | None,
    page: PageFacts,
    request: RequestFacts,
    visitor_id: str | None = None,
) -> Context:
    """The context of one page view; ``profile`` None means a first-time (or unconsented) visitor."""
    visitor = VisitorView(profile, visitor_id)
    names = {"visitor": visitor, "page": page, "request": request}
    return Context(visitor=visitor, page=page, request=request, visitor_id=visitor_id, names=names)
