"""Interests: weighted, decaying affinities per category, from views, the cart and purchases.

A category's score is the sum of its signals, each weighted by kind and
halved every ``half_life_days`` since it happened:

- page views of the category (its list and product pages): ``view`` each;
- items of it in the cart now: ``cart`` each;
- purchase lines, online and in store (POS imports): ``purchase`` × quantity.

``visitor.interest[category]`` is the category's share of the visitor's total
score (0..1, the shares add up to 1), so ``visitor.interest['dog'] > 0.3``
reads "dog is at least 30% of what this person is into". Categories whose
share is under ``min_share`` are left out; an unknown category reads 0.

The profile keeps per-category counts with the time of the latest view, not
every view: a category's views decay from that latest view. Purchases keep
their own time, so each decays exactly. Everything read is bounded
(``slotwise.profile.MAX_*``), so this stays a few hundred additions.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterator, Mapping

from slotwise.profile import Profile

DAY_S = 86_400.0


@dataclass(frozen=True)
class InterestRules:
    """Weights and decay (``interests:`` in the rules file overrides any of them)."""

    view: float = 1.0
    cart: float = 3.0
    purchase: float = 5.0
    half_life_days: float = 30.0
    min_share: float = 0.05

    def as_dict(self) -> dict[str, float]:
        return {"view": self.view, "cart": self.cart, "purchase": self.purchase,
                "half_life_days": self.half_life_days, "min_share": self.min_share}


INTEREST_KEYS = tuple(InterestRules().as_dict())


def decay(age_s: float, half_life_days: float) -> float:
    """The weight left after ``age_s`` seconds: 1 now, ½ after one half-life (never above 1)."""
    if half_life_days <= 0:
        return 1.0
    return float(0.5 ** (max(0.0, age_s) / (half_life_days * DAY_S)))


def scores(profile: Profile, rules: InterestRules = InterestRules(), now: float | None = None) -> dict[str, float]:
    """Per category, the decayed weighted score (absolute; ``interests`` turns them into shares)."""
    when = profile.last_seen if now is None else now
    out: dict[str, float] = {}
    for slug, entry in profile.categories.items():
        count = int(entry.get("count") or 0)
        if count:
            out[slug] = out.get(slug, 0.0) + rules.view * count * decay(when - float(entry.get("last") or 0.0),
                                                                        rules.half_life_days)
    for line in profile.cart:
        slug = line.get("category")
        if slug:
            out[slug] = out.get(slug, 0.0) + rules.cart * int(line.get("qty") or 1)
    for line in profile.purchases:
        slug = line.get("category")
        if slug:
            weight = rules.purchase * int(line.get("qty") or 1)
            out[slug] = out.get(slug, 0.0) + weight * decay(when - float(line.get("ts") or 0.0), rules.half_life_days)
    return {slug: score for slug, score in out.items() if score > 0}


def interests(profile: Profile, rules: InterestRules = InterestRules(), now: float | None = None) -> dict[str, float]:
    """Category → share of the visitor's interest (0..1, rounded to 4 places), strongest first;
    shares under ``min_share`` (or that round to 0) are left out."""
    raw = scores(profile, rules, now)
    total = sum(raw.values())
    if total <= 0:
        return {}
    shares = {slug: score / total for slug, score in raw.items()}
    ranked = sorted(shares.items(), key=lambda kv: (-kv[1], kv[0]))
    rounded = ((slug, round(share, 4)) for slug, share in ranked if share >= rules.min_share)
    return {slug: share for slug, share in rounded if share > 0}


class Affinities(Mapping[str, Any]):
    """A read-only mapping that answers a default for keys it lacks (``interest['x']`` → 0,
    ``stage['x']`` → ``'none'``), so ``visitor.interest['dog'] > 0.3`` is simply false on a first visit."""

    __slots__ = ("_data", "_default")

    def __init__(self, data: Mapping[str, Any], default: Any) -> None:
        self._data = dict(data)
        self._default = default

    def __getitem__(self, key: str) -> Any:
        return self._data.get(key, self._default)

    def __contains__(self, key: object) -> bool:
        return key in self._data

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __repr__(self) -> str:
        return f"Affinities({self._data!r})"
