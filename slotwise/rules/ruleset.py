"""The compiled rules the proxy serves from: slots with precompiled matchers, conditions and templates.

Everything here is immutable and built once per rules load by ``loader``;
per request the proxy only calls ``slots_for``, ``applies`` and ``render``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Callable, Hashable, Mapping, NamedTuple, Sequence

from slotwise.bandits.assignment import HOLDOUT_SALT, bucket
from slotwise.profile import SESSION_TIMEOUT_S
from slotwise.rules import actions
from slotwise.rules.cache import CacheSettings
from slotwise.rules.capture import CaptureSettings
from slotwise.rules.catalog import CatalogSettings
from slotwise.rules.context import Context
from slotwise.rules.errors import Issue, RuleEvaluationError
from slotwise.rules.expressions import CompiledExpression
from slotwise.rules.facts import PageFacts
from slotwise.rules.html_api import Edit, ItemKey
from slotwise.rules.journey_settings import JourneySettings
from slotwise.rules.pages import Headers, PageMatcher, Query, normalize_query
from slotwise.rules.recommend import KeyedPicks
from slotwise.rules.render_cache import CachedTemplate, frozen_key
from slotwise.rules.revenue import Revenue
from slotwise.rules.schedule import DEFAULT_TIMEZONE, Window, clock_unit, next_turn, open_now
from slotwise.rules.signals import Signals
from slotwise.rules.size_vocabulary import PLAIN_SIZES, SizeVocabulary
from slotwise.rules.schema import INSERT_ACTIONS, CouponCost, RecommendSpec
from slotwise.rules.visitor import freeze
from slotwise.rules.vocabulary import SIZE_FACTS, TIME_NAMES, VISITOR_NAMES

Expression = CompiledExpression
Template = CachedTemplate


NOT_LEARNING = frozenset({"uniform"})  # policies with nothing learned to keep


class AttributionWindow(NamedTuple):
    """How long a decision can earn rewards: ``fixed`` seconds after it, or until
    ``inactivity`` of that many seconds ends the visit (``attribution_window: session``)."""

    seconds: float
    mode: str  # "fixed" | "inactivity"


@dataclass(frozen=True)
class Policy:
    """Which bandit policy picks the slot's variant, its params, and how sticky a pick is."""

    name: str = "thompson"
    params: Mapping[str, Any] = field(default_factory=dict)
    sticky: str = "session"  # session | visitor | none

    def spec(self) -> dict[str, Any]:
        """The plain dict ``slotwise.bandits`` builds a policy from: ``{"name", "params"}``."""
        return {"name": self.name, "params": dict(self.params)}


@dataclass(frozen=True, eq=False)
class Variant:
    """One arm of a slot. A ``control`` variant changes nothing but is still a decision."""

    id: str
    control: bool = False
    template: Template | None = None
    order: Expression | None = None
    value: Expression | None = None
    attributes: Mapping[str, Template | None] = field(default_factory=dict)
    vars: Mapping[str, Any] = field(default_factory=dict)
    recommend: RecommendSpec | None = None
    coupon_cost: CouponCost | None = None
    description: str = ""
    window: Window | None = None  # ``active``: offered only within it (None: always)

    def content(self) -> tuple[Any, ...]:
        """What this variant shows, comparable between two loads of the rules (its description aside):
        what the policy learned belongs to the id, so an edit of this keeps it (``reload_notes``)."""
        def text(part: Template | Expression | None) -> str | None:
            return None if part is None else part.source
        return (self.control, text(self.template), text(self.order), text(self.value),
                tuple(sorted((name, text(t)) for name, t in self.attributes.items())),
                repr(dict(self.vars)), repr(self.recommend), repr(self.coupon_cost))


@dataclass(frozen=True, eq=False)
class Slot:
    """A named place in a page, the variants competing there, and how success is counted."""

    id: str
    action: str
    selector: str
    pages: PageMatcher
    variants: tuple[Variant, ...]
    when: Expression | None = None
    when_source: str | None = None
    goal: str = "click"
    policy: Policy = field(default_factory=Policy)
    enabled: bool = True
    key: str | ItemKey | None = "data-category"  # reorder / select-option: how items name themselves
    items: str | None = None  # select-option: the choices inside the element
    trigger: str = "exit-intent"
    limit: int | None = None
    wait_ms: int | None = None  # tag-only: the element comes from the store's script; the tag watches this long
    click: bool = False  # select-option: where the tag applies it, it clicks the chosen item (Magento's swatches)
    description: str = ""
    file: str = ""
    line: int = 0
    reads: frozenset[str] = frozenset()  # the journey facts it reads (the proxy loads only those)
    key_warning: Issue | None = None  # its key's match has no RegExp the tag can run (rules check says it)
    sizes: SizeVocabulary = PLAIN_SIZES  # select-option: a size's other names match as it (``catalog.size_names``)
    window: Window | None = None  # ``active``: applied only within it (None: always)

    @property
    def policy_spec(self) -> dict[str, Any]:
        """The bandit policy spec (``{"name", "params"}``) for ``slotwise.bandits``."""
        return self.policy.spec()

    @property
    def sticky(self) -> str:
        """How long a decision sticks: ``session``, ``visitor`` or ``none``."""
        return self.policy.sticky

    @property
    def learns(self) -> bool:
        """Whether its policy learns which variant wins (not ``uniform``, two variants or more): what
        it learned is kept across reloads, and can be started over (the admin page's restart)."""
        return self.policy.name not in NOT_LEARNING and len(self.variants) >= 2

    @property
    def arms(self) -> tuple[str, ...]:
        """Variant ids, in file order (the bandit's arms)."""
        return tuple(v.id for v in self.variants)

    def variant(self, variant_id: str) -> Variant:
        for variant in self.variants:
            if variant.id == variant_id:
                return variant
        raise RuleEvaluationError(self.id, f"no variant {variant_id!r} (has {', '.join(self.arms)})")

    def __post_init__(self) -> None:
        object.__setattr__(self, "scheduled", self.window is not None or any(v.window is not None for v in self.variants))
        object.__setattr__(self, "clock", clock_unit(self.when.facts) if self.when is not None else None)
        object.__setattr__(self, "timed", self.scheduled or self.clock is not None)

    scheduled: bool = field(default=False, init=False)
    """Whether it or a variant has an ``active`` window (without one, ``runs`` and ``offered`` cost nothing)."""
    clock: str | None = field(default=None, init=False)
    """The finest unit of the clock its ``when`` reads (``minute``, ``hour``, ``day``: ``schedule.clock_unit``),
    None when it reads no ``time`` fact: whether it holds may change at the next such turn, by itself."""
    timed: bool = field(default=False, init=False)
    """Whether a page it could apply on may change with the clock alone (``scheduled``, or a ``clock``)."""

    def runs(self, now: float) -> bool:
        """Whether its ``active`` window is open at ``now`` and one of its variants' too: outside, the slot
        is not applied at all (the store's page as is, no decision), as when its ``when`` is false."""
        if not self.scheduled:
            return True
        return open_now(self.window, now) and any(open_now(v.window, now) for v in self.variants)

    def offered(self, now: float) -> tuple[Variant, ...]:
        """The variants whose ``active`` window is open at ``now``: the only arms the policy chooses
        among, so a logged propensity is the chance the decision really had."""
        if not self.scheduled:
            return self.variants
        return tuple(v for v in self.variants if open_now(v.window, now))

    def next_change(self, now: float, timezone: str = DEFAULT_TIMEZONE) -> float | None:
        """The first instant after ``now`` when its window or a variant's opens or closes, or, while it runs,
        when the clock unit its ``when`` reads turns in ``timezone`` (the rules'): None when neither will.
        A page made at ``now`` may show the wrong thing from then on, so no cache keeps it longer."""
        if not self.timed:
            return None
        edges = [e for w in (self.window, *(v.window for v in self.variants)) if w is not None
                 and (e := w.next_edge(now)) is not None] if self.scheduled else []
        if self.clock is not None and self.runs(now):  # outside its window its `when` is not asked
            edges.append(next_turn(now, timezone, self.clock))
        return min(edges) if edges else None

    def matches_page(self, path: str, query: Query = None, headers: Headers = None) -> bool:
        return self.enabled and self.pages.matches(path, query, headers)

    def applies(self, ctx: Context) -> bool:
        """Whether the slot is on and its ``when`` holds for this visitor, page and request."""
        if not self.enabled:
            return False
        if self.when is None:
            return True
        return self._holds(ctx.names)

    def _holds(self, names: Mapping[str, Any]) -> bool:
        assert self.when is not None
        try:
            return bool(self.when.evaluate(names))
        except Exception as exc:
            raise RuleEvaluationError(self.id, f"'when' {self.when_source!r} failed: {type(exc).__name__}: {exc}") from exc

    def when_on_page(self, page: PageFacts, time: Mapping[str, Any] | None = None) -> bool | None:
        """Whether its ``when`` holds on this page for every visitor (True without one), or None when it
        reads the visitor or the request (``VISITOR_NAMES``): only a visit tells. ``rules check --url``
        asks, so that a slot shown to returning visitors only is not counted as shown (nor as not shown).
        One that reads the ``time`` facts holds at the moment ``time`` says (None: unknown, so None)."""
        if self.when is None:
            return True
        if self.when.facts & VISITOR_NAMES or (self.when.facts & TIME_NAMES and time is None):
            return None
        return self._holds({"page": page, "time": time})

    @property
    def reads_sizes(self) -> bool:
        """Whether its ``when`` or a variant's ``order`` or ``value`` reads a size (``SIZE_FACTS``): on a
        product without sizes it has nothing to do, and its selector rightly finds nothing."""
        expressions = (self.when, *(e for v in self.variants for e in (v.order, v.value)))
        return any(fact == size or fact.startswith(size + ".")
                   for e in expressions if e is not None for fact in e.facts for size in SIZE_FACTS)

    def render(
        self,
        variant: Variant | str,
        ctx: Context,
        decision_id: str | None,
        recommendations: Sequence[Mapping[str, Any]] | None = None,
    ) -> Edit | None:
        """The rewriter edit for one variant, or None for a control variant or nothing to do."""
        chosen = self.variant(variant) if isinstance(variant, str) else variant
        if chosen.control:
            return None
        try:
            return self._render(chosen, ctx, decision_id, recommendations)
        except RuleEvaluationError:
            raise
        except Exception as exc:
            raise RuleEvaluationError(self.id, f"variant {chosen.id!r}: {type(exc).__name__}: {exc}") from exc

    def _render(
        self, v: Variant, ctx: Context, decision_id: str | None, recommendations: Sequence[Mapping[str, Any]] | None
    ) -> Edit | None:
        names = {**ctx.names, "vars": v.vars, "slot": self.id, "variant": v.id}
        if self.action in INSERT_ACTIONS or self.action == "popup":
            assert v.template is not None
            recs = (recommendations or ())[: v.recommend.limit] if v.recommend is not None else (recommendations or ())
            if v.recommend is not None and not recs:
                return None  # no candidates: leave the page as it is
            known = None
            if type(recommendations) is KeyedPicks:  # their keys known to the fetcher (once per kept row)
                known = recommendations.render_keys[: len(recs)]
            html = v.template.render(names, {"recommendations": _frozen_recommendations(recs, known)})
            if self.action == "popup":
                return actions.popup_edit(self.id, self.selector, self.trigger, html, decision_id=decision_id)
            return actions.insert_edit(self.id, self.selector, self.action, html, decision_id=decision_id, limit=self.limit)
        if self.action == "reorder":
            assert v.order is not None
            return actions.reorder_edit(self.id, self.selector, self.key or "data-category", v.order.evaluate(names),
                                        decision_id=decision_id, limit=self.limit)
        if self.action in ("select-option", "set-value"):
            assert v.value is not None
            attributes = {n: (t.render(names) if t is not None else None) for n, t in v.attributes.items()}
            return actions.value_edit(self.id, self.selector, self.action, v.value.evaluate(names), decision_id=decision_id,
                                      limit=self.limit, key=self.key if self.action == "select-option" else None,
                                      items=self.items, attributes=attributes,
                                      sizes=self.sizes if self.action == "select-option" else None)
        if self.action == "set-attribute":
            values = {name: (t.render(names) if t is not None else None) for name, t in v.attributes.items()}
            return actions.attribute_edit(self.id, self.selector, values, decision_id=decision_id, limit=self.limit)
        if self.action == "remove":
            return actions.remove_edit(self.id, self.selector, decision_id=decision_id, limit=self.limit)
        raise RuleEvaluationError(self.id, f"unknown action {self.action!r}")  # pragma: no cover

    def summary(self) -> str:
        """One line for ``rules check``."""
        arms = ", ".join(("control" if v.control and v.id == "control" else v.id) for v in self.variants)
        state = "" if self.enabled else " [disabled]"
        when = f" when {self.when_source}" if self.when_source else ""
        return (
            f"{self.id}{state}: {self.action} {self.selector!r}{when}; "
            f"{len(self.variants)} variant{'s' if len(self.variants) != 1 else ''} ({arms}); "
            f"goal {self.goal}; policy {self.policy.name} (sticky {self.policy.sticky})"
        )


def _frozen_recommendations(recs: Sequence[Mapping[str, Any]],
                            known: Sequence[Hashable | None] | None = None) -> tuple[Callable[[], Any], Callable[[], Any]]:
    """The template's ``recommendations``: keyed from the dicts as they come (or by the keys their
    fetcher already knew, ``KeyedPicks``), frozen only to render."""
    plain = [r if type(r) is dict else dict(r) for r in recs]
    if known is not None:
        return ((lambda: (tuple, *[frozen_key(r) if k is None else k for r, k in zip(plain, known)])),
                (lambda: tuple(freeze(r) for r in plain)))
    return (lambda: (tuple, *[frozen_key(r) for r in plain])), (lambda: tuple(freeze(r) for r in plain))


def holdout_bucket(visitor_id: str) -> float:
    """A stable number in [0, 1) per visitor: the same on every instance and every restart.

    The very draw the proxy uses (``slotwise.bandits.assignment``): one hash, so
    the rules' answer and the page a visitor gets never disagree.
    """
    return bucket(visitor_id, HOLDOUT_SALT)


@dataclass(frozen=True, eq=False)
class RuleSet:
    """A whole, valid rules file. Never half-valid: ``load_rules`` raises instead."""

    slots: tuple[Slot, ...] = ()
    holdout: float = 0.0
    consent: str = "implied"
    attribution_window: AttributionWindow = AttributionWindow(SESSION_TIMEOUT_S, "inactivity")
    attribution_window_text: str = "session"  # as written in the file
    catalog: CatalogSettings = field(default_factory=CatalogSettings)
    capture: CaptureSettings = field(default_factory=CaptureSettings)
    journeys: JourneySettings = field(default_factory=JourneySettings)  # replenish, reminders, stores
    signals: Signals = field(default_factory=Signals)  # stage thresholds, interest weights, mail picks
    cache: CacheSettings = field(default_factory=CacheSettings)  # who is logged in, for the proxy's HTML cache
    revenue: Revenue | None = None  # the currency orders are counted in, and the rates to it (None: as they come)
    timezone: str = DEFAULT_TIMEZONE  # IANA name: the zone of ``active`` windows and the ``time`` facts
    files: tuple[Path, ...] = ()  # the rules file, its includes and templates (for reload watching)
    cookie_warnings: tuple[Issue, ...] = ()  # each cookie field's: in tag-only mode it cannot see an HttpOnly cookie
    _by_id: Mapping[str, Slot] = field(default_factory=dict, init=False, repr=False)
    timed: bool = field(default=False, init=False)
    """Whether any slot or variant has an ``active`` window or a ``when`` reads the ``time`` facts (without,
    no page changes with the clock alone, and none's freshness is capped: found once per load)."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_id", MappingProxyType({s.id: s for s in self.slots}))
        object.__setattr__(self, "timed", any(s.timed for s in self.slots))

    def slot(self, slot_id: str) -> Slot:
        return self._by_id[slot_id]

    def slots_for(self, path: str, query: Query = None, headers: Headers = None) -> list[Slot]:
        """Enabled slots whose ``pages`` match this request (cheap: precompiled regexes)."""
        q = normalize_query(query)
        return [s for s in self.slots if s.matches_page(path, q, headers)]

    def in_holdout(self, visitor_id: str) -> bool:
        """Whether this visitor belongs to the global holdout (never personalized)."""
        return self.holdout > 0 and holdout_bucket(visitor_id) < self.holdout
