"""What a reload of the rules tells the marketer beyond "loaded": variants rewritten under the same id.

What a slot's policy learned belongs to each variant's id (docs/rules.md, "Changing the variants of a
slot that learns"): a variant whose content changed keeps the statistics of what it showed before, and
the new content is judged with them. That is right for a typo fixed and wrong for a new offer, and only
the marketer knows which, so the reload says so (the log and the admin page) and how to start over.
"""

from __future__ import annotations

from slotwise.rules.ruleset import RuleSet


def reload_notes(old: RuleSet, new: RuleSet) -> list[str]:
    """One line per variant whose content changed between ``old`` and ``new`` in a slot that learns."""
    notes = []
    for slot in new.slots:
        try:
            before = old.slot(slot.id)
        except KeyError:
            continue  # a new slot starts from nothing
        if not slot.learns:
            continue
        was = {v.id: v.content() for v in before.variants}
        for variant in slot.variants:
            if variant.id in was and was[variant.id] != variant.content():
                notes.append(f"slot {slot.id!r}: variant {variant.id!r} changed and keeps what was learned about "
                             "it; give it a new id, or restart its learning on the admin page, to start it over")
    return notes
