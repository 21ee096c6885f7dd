"""What each event does to the golden record: pure functions over a Profile.

``apply_events`` is the one ``update_profile`` callback for a batch (a size
is recorded as the rules' size vocabulary says: ``catalog.not_sizes``, ``catalog.size_names``);
``identity_aliases`` says which aliases an event links the visitor to (the
store merges the anonymous profile into the known one).
"""

from __future__ import annotations

import re
from typing import Any, Callable, Iterable, Sequence

from slotwise import profile as P
from slotwise.keys import category_key, product_key
from slotwise.profile import Profile, hash_email, holds, refuse, refused, trust
from slotwise.rules.size_vocabulary import PLAIN_SIZES, SizeVocabulary

PROFILE_TYPES = frozenset(
    {"page_view", "add_to_cart", "remove_from_cart", "cart", "purchase", "signup", "identify", "consent",
     "popup_shown", "popup_closed", "popup_converted", "store_chosen"}
)
"""Event types that change the profile (the others only go to the log)."""

EMAIL_RE = re.compile(r"[^@\s<>\"'(),;:]+@[^@\s<>\"'(),;:]+\.[^@\s<>\"'(),;:.]{2,}")

_POPUP_OUTCOME = {"popup_shown": "shown", "popup_closed": "closed", "popup_converted": "converted"}


def held_line(line: Any, sizes: SizeVocabulary) -> dict[str, Any]:
    """A line as the profile keeps it (and a mini basket is compared with it as one: ``recorder.held_lines``):
    every key normalised the one way (``slotwise.keys``), its size as the rules' size vocabulary says
    (``sizes``: none for a ``catalog.not_sizes`` value, the key for a size name)."""
    out = {"product": product_key(line.product), "category": category_key(line.category),
           "size": sizes.size_of(line.size), "qty": line.qty, "price": line.price or 0.0}
    currency = getattr(line, "currency", None)  # its price's, where known (``recorder.resolve_lines``)
    return {**out, "currency": currency} if currency else out


def apply_event(profile: Profile, event: Any, ts: float, sizes: SizeVocabulary = PLAIN_SIZES) -> None:
    """One event's effect on the profile (``sizes``: the rules' size vocabulary)."""
    kind, props = event.type, event.props
    if kind == "page_view":
        P.record_view(profile, ts, category=category_key(props.category), product=product_key(props.product))
        return
    P.touch(profile, ts)
    if kind == "add_to_cart":
        P.add_to_cart(profile, {**held_line(props, sizes), "added": ts}, sizes.size_of)
    elif kind == "remove_from_cart":
        P.remove_from_cart(profile, product_key(props.product) or "", sizes.size_of(props.size), sizes.size_of)
    elif kind == "cart":
        P.set_cart(profile, [{**held_line(line, sizes), "added": ts} for line in props.lines], getattr(props, "count", None),
                   sizes.size_of)
    elif kind == "purchase":
        P.record_purchase(profile, props.order_id, [{**held_line(line, sizes), "ts": ts} for line in props.lines], ts,
                          getattr(props, "channel", None) or "online")
    elif kind == "signup":
        if props.source != "signup":  # a newsletter or the popup; an account sign-up subscribes to nothing
            profile.subscribed = True
        _set_email(profile, email_hash_of(props))
    elif kind == "identify":
        if props.customer_id and props.customer_id != profile.customer_id:
            profile.customer_id, profile.customer_trusted = props.customer_id, False  # trusted: ``apply_events``
        _set_email(profile, email_hash_of(props))
    elif kind == "store_chosen":
        profile.chosen_store = {"id": props.store, "ts": ts}
    elif kind == "consent":
        profile.consent = "granted" if props.granted else "denied"
    elif kind in _POPUP_OUTCOME:
        P.record_popup(profile, props.slot, _POPUP_OUTCOME[kind], ts)
        if kind == "popup_converted":
            profile.subscribed = True


def _set_email(profile: Profile, email_hash: str | None) -> None:
    """An event's address becomes the profile's; a new one as a claim until ``apply_events`` says it was
    linked by trust."""
    if email_hash and email_hash != profile.email_hash:
        profile.email_hash, profile.email_trusted = email_hash, False


def apply_events(events: Iterable[tuple[Any, float]], sizes: SizeVocabulary = PLAIN_SIZES, *,
                 trusted: bool = False, refused_aliases: Sequence[str] = ()) -> Callable[[Profile], None]:
    """The update for a batch: each profile-changing event applied once, ever (``sizes``: the rules' size
    vocabulary; the event log keeps the size as sent).

    The event id is remembered in the same write as its effect
    (``Profile.applied_events``), so a batch retried after a crash neither
    loses nor doubles an update. ``trusted``: the batch's customer ids and
    addresses were linked by trust (``Profile.customer_trusted``,
    ``Profile.email_trusted``), also when their event was applied before as a
    claim (a page's signed id keeps one event id per visitor, whatever its
    signature said). ``refused_aliases``: the batch's claims that another
    profile held (``profile.refuse``: the same claim again writes nothing).
    """
    events = [(e, ts) for e, ts in events if e.type in PROFILE_TYPES]

    def update(profile: Profile) -> None:
        for event, ts in events:
            if P.mark_applied(profile, event.event_id):
                apply_event(profile, event, ts, sizes)
            if trusted:
                trust(profile, identity_aliases(event))
        if refused_aliases:
            refuse(profile, refused_aliases)

    return update


def identity_aliases(event: Any) -> list[str]:
    """Aliases this event links the visitor to: ``customer:ID``, ``email:HASH``."""
    aliases: list[str] = []
    if event.type == "identify" and event.props.customer_id:
        aliases.append(f"customer:{event.props.customer_id}")
    if event.type in ("identify", "signup") and email_hash_of(event.props):
        aliases.append(f"email:{email_hash_of(event.props)}")
    return aliases


def names_nothing_new(profile: Profile | None, event: Any, *, trusted: bool) -> bool:
    """An identify naming only what ``settled`` says the browser's profile knows already. Linking it again
    would change nothing, so it is not stored at all: the tag sends a signed-in customer with every page
    view, and a store's script may call ``identify`` on every page."""
    if event.type != "identify":
        return False
    aliases = identity_aliases(event)
    return bool(aliases) and all(settled(profile, alias, trusted=trusted) for alias in aliases)


def settled(profile: Profile | None, alias: str, *, trusted: bool) -> bool:
    """Naming ``alias`` (``customer:ID``, ``email:HASH``) again changes nothing for the browser's profile: it
    holds it by trust, for a trusted source (a signed id, the store's page), which links what it does not;
    for a claim, it holds it either way (a claim adds nothing to the same claim), or a claim of it was refused
    before (``profile.refused``: another profile holds it, and a claim never takes it from them). A trusted
    source is never stopped by a refused claim: it merges as it always did."""
    return holds(profile, alias, by_trust=trusted) or (not trusted and refused(profile, alias))


def email_hash_of(props: Any) -> str | None:
    """The hash of the address an identify or sign-up names (sent in clear, or held already hashed)."""
    email = getattr(props, "email", None)
    return hash_email(email) if email else getattr(props, "email_hash", None)


def email_is_valid(email: str) -> bool:
    """A plausible address: one @, a dot in the domain, no spaces, at most 254 characters."""
    return len(email) <= 254 and EMAIL_RE.fullmatch(email) is not None


def names_another_person(profile: Profile | None, customer: str | None, email_hash: str | None) -> bool:
    """The store names a customer, and the browser's profile is already someone else's (the same kind of
    name, different): a shared computer where one session ended and another person logged in. Merging would
    give each the other's history, on every device; the browser must become the new person instead."""
    if profile is None:
        return False
    if customer and profile.customer_id:  # the id decides: one customer may have another address on file
        return profile.customer_id != customer
    return bool(email_hash and profile.email_hash and profile.email_hash != email_hash)
