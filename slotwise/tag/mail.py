"""The e-mail that follows the popup: versioned messages to the store's e-mail service.

Each message goes through the durable outbox (``tag.outbox``: at least once,
signed, with an ``Idempotency-Key``) as one JSON object of the shape in
``docs/mail-payload.schema.json`` (documented in docs/mail-payload.md):

- ``signup``: the popup's sign-up, with the address, the coupon and the picks;
- ``purchase``: an order (online, an order webhook, or read through the proxy);
- ``stage_change``: a cart or an order moved a category's funnel stage.

Every message carries the person's stage per category, their interests and
their product picks, ranked by the very code the recommendation slot uses
(``rules.recommend.rank``, fed by the proxy), so the e-mail and the site
agree. Later messages name the person by ``email_hash`` (and ``customer_id``):
only a sign-up has the address in clear, the profile never keeps it.

``build_message`` is pure; ``MailFollowups`` gathers picks and queues.
"""

from __future__ import annotations

import hashlib
import logging
from typing import Any, Awaitable, Callable, Iterable, Mapping, Sequence
from urllib.parse import urljoin

from slotwise.profile import Profile
from slotwise.rules.interests import interests
from slotwise.rules.size_vocabulary import SizeVocabulary
from slotwise.rules.schema import RecommendSpec
from slotwise.rules.signals import Signals
from slotwise.rules.stage import NO_STAGE, stages
from slotwise.store.base import Store
from slotwise.tag.outbox import TOPIC

log = logging.getLogger("slotwise.tag.mail")

SCHEMA = "slotwise.mail/1"
"""The payload's name and major version; a field that changes meaning gets a new major version."""

KINDS = ("signup", "purchase", "stage_change")
FOLLOWUP_EVENTS = frozenset({"add_to_cart", "remove_from_cart", "cart", "purchase"})
"""Event types after which a known person's stages are compared (page views move stages silently)."""

PICK_KEYS = ("id", "name", "url", "image", "price", "currency", "category", "brand")

Picks = Callable[[Profile, RecommendSpec], Awaitable[list[Mapping[str, Any]]]]
"""``picks(profile, spec)``: the recommendation slot's ranking for this person (the proxy's)."""


def _digest(*parts: str) -> str:
    return hashlib.blake2b("\x1f".join(parts).encode(), digest_size=10).hexdigest()


def _pick(product: Mapping[str, Any], public_url: str) -> dict[str, Any]:
    """A product card for an e-mail: its links absolute (a mail client has no page to be relative to)."""
    out = {k: product.get(k) for k in PICK_KEYS if product.get(k) not in (None, "")}
    out["id"] = str(product.get("id"))
    for key in ("url", "image"):
        if isinstance(out.get(key), str) and public_url and not out[key].startswith(("http://", "https://")):
            out[key] = urljoin(public_url.rstrip("/") + "/", out[key])
    return out


def person_of(profile: Profile, email: str | None = None) -> dict[str, Any]:
    person: dict[str, Any] = {"visitor_id": profile.id, "email_hash": profile.email_hash,
                              "customer_id": profile.customer_id, "subscribed": bool(profile.subscribed)}
    if email:
        person["email"] = email
    return person


def build_message(
    kind: str,
    profile: Profile,
    signals: Signals,
    picks: Sequence[Mapping[str, Any]],
    now: float,
    *,
    message_id: str,
    email: str | None = None,
    coupon: str | None = None,
    decision_id: str | None = None,
    order: Mapping[str, Any] | None = None,
    changes: Sequence[Mapping[str, str]] = (),
    public_url: str = "",
) -> dict[str, Any]:
    """One message of ``SCHEMA`` (pure: everything it says comes in as arguments)."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, not {kind!r}")
    stage = {c: s for c, s in stages(profile, signals.stages, now).items() if s != NO_STAGE}
    message: dict[str, Any] = {
        "schema": SCHEMA,
        "id": message_id,
        "type": kind,
        "ts": now,
        "person": person_of(profile, email),
        "coupon": coupon if coupon is not None else profile.coupon,
        "stage": stage,
        "interests": interests(profile, signals.interests, now),
        "picks": [_pick(p, public_url) for p in picks],
        "stage_rules": {"purchase_days": signals.stages.purchase_days,
                        "evaluation_days": signals.stages.evaluation_days},
    }
    if kind == "signup":
        # the first version's flat fields, kept: receivers written for it go on working
        message.update(email=email, decision_id=decision_id)
    if order is not None:
        message["order"] = dict(order)
    if changes:
        message["changes"] = [dict(c) for c in changes]
    return message


def stage_changes(before: Mapping[str, str], after: Mapping[str, str]) -> list[dict[str, str]]:
    """Categories whose stage differs, as ``{category, from, to}`` (sorted by category)."""
    return [{"category": c, "from": before.get(c, NO_STAGE), "to": after.get(c, NO_STAGE)}
            for c in sorted(set(before) | set(after)) if before.get(c, NO_STAGE) != after.get(c, NO_STAGE)]


def _order(event: Any, sizes: SizeVocabulary) -> dict[str, Any]:
    """The order as sent, but a line's size as the profile records it (``sizes``: the rules' size vocabulary):
    the size key the rules say (``M`` for ``Medium`` by ``catalog.size_names``, ``M`` for ``m``), null for a
    value that names none (``catalog.not_sizes``, Shopify's ``Default Title``: a template would print it)."""
    props = event.props
    lines = [{"product": str(line.product), "category": line.category,
              "size": sizes.size_of(line.size), "qty": line.qty, "price": line.price}
             for line in props.lines]
    return {"order_id": props.order_id, "total": props.total, "currency": props.currency,
            "channel": getattr(props, "channel", None) or "online", "lines": lines}


class MailFollowups:
    """Builds the messages of one person and queues them in the outbox (only with a webhook URL)."""

    def __init__(self, store: Store, *, signals: Callable[[], Signals | None], picks: Picks | None = None,
                 public_url: str = "", notify: Callable[[], None] | None = None) -> None:
        self.store = store
        self.signals = signals
        self.picks = picks
        self.public_url = public_url
        self.notify = notify or (lambda: None)

    def _signals(self) -> Signals:
        try:
            return self.signals() or Signals()
        except Exception:  # no rules loaded: the documented defaults
            return Signals()

    async def _picks(self, profile: Profile, signals: Signals) -> list[Mapping[str, Any]]:
        if self.picks is None or signals.mail_picks.limit <= 0:
            return []
        try:
            return list(await self.picks(profile, signals.mail_picks))[: signals.mail_picks.limit]
        except Exception:  # the picks are a nicety: the message goes out without them
            log.warning("mail picks failed for %s", profile.id, exc_info=True)
            return []

    async def _queue(self, profile: Profile, messages: Iterable[dict[str, Any]], now: float) -> int:
        subjects = [profile.id, *profile.anonymous_ids]
        if profile.email_hash:
            subjects.append(f"email:{profile.email_hash}")
        queued = 0
        for message in messages:
            await self.store.outbox_put(TOPIC, list(dict.fromkeys(subjects)), message, now)
            queued += 1
        if queued:
            self.notify()
        return queued

    async def signup(self, visitor: str, email: str, coupon: str, decision_id: str | None, alias: str,
                     now: float, *, offer: Mapping[str, str] | None = None) -> None:
        """The sign-up message: the address, the coupon, stage, interests and picks (and the popup's
        ``slot``/``offer`` when the sign-up answered one, from the visitor's logged decision)."""
        profile = await self.store.get_profile(visitor) or Profile.new(visitor, now)
        signals = self._signals()
        message = build_message("signup", profile, signals, await self._picks(profile, signals), now,
                                message_id=f"signup-{alias[6:38]}", email=email, coupon=coupon,
                                decision_id=decision_id, public_url=self.public_url)
        message.update(offer or {})
        await self.store.outbox_put(TOPIC, [visitor, alias], message, now)
        self.notify()

    def watches(self, events: Sequence[Any]) -> bool:
        """Whether this batch can change what a mail service acts on (then the recorder notes the
        stages before it, for ``after``)."""
        return any(getattr(e, "type", None) in FOLLOWUP_EVENTS for e in events)

    def stages_now(self, profile: Profile) -> dict[str, str]:
        return stages(profile, self._signals().stages)

    async def after(self, profile: Profile, before: Mapping[str, str], fresh: Sequence[Any], now: float) -> int:
        """Purchase and stage-change messages for a person the mail service knows (signed up or
        identified by e-mail); returns how many were queued."""
        if not (profile.subscribed or profile.email_hash):
            return 0
        signals = self._signals()
        after = {c: s for c, s in stages(profile, signals.stages).items() if s != NO_STAGE}
        changes = stage_changes({c: s for c, s in before.items() if s != NO_STAGE}, after)
        orders = [e for e in fresh if getattr(e, "type", None) == "purchase"]
        if not orders and not changes:
            return 0
        picks = await self._picks(profile, signals)
        messages = [
            build_message("purchase", profile, signals, picks, now, order=_order(e, signals.size_vocabulary), changes=changes,
                          message_id=f"purchase-{_digest(profile.id, str(e.props.order_id))}",
                          public_url=self.public_url)
            for e in orders
        ]
        if changes:
            key = ";".join(f"{c['category']}:{c['from']}>{c['to']}" for c in changes)
            messages.append(build_message("stage_change", profile, signals, picks, now, changes=changes,
                                          message_id=f"stage-{_digest(profile.id, key, str(int(now)))}",
                                          public_url=self.public_url))
        return await self._queue(profile, messages, now)
