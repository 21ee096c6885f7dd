"""What the rules file tunes about derived visitor facts: funnel stages, interests, the follow-up mail,
and the values that name no size (``visitor.preferred_size`` skips them).

One frozen object per rules load (``RuleSet.signals``), handed to the
visitor view so ``visitor.stage`` and ``visitor.interest`` use the
thresholds the marketer wrote, and to the mail payload so the e-mail shows
the same stage, interests and picks as the site.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from slotwise.rules.interests import InterestRules
from slotwise.rules.revenue import Revenue
from slotwise.rules.size_vocabulary import PLAIN_SIZES, SizeVocabulary
from slotwise.rules.schema import RecommendSpec
from slotwise.rules.stage import StageRules

DEFAULT_PICKS = RecommendSpec("mixed", 4)


@dataclass(frozen=True)
class Signals:
    """``stages:``, ``interests:`` and ``mail:`` of the rules file (defaults when absent), and the size vocabulary
    (``catalog.not_sizes``, ``catalog.size_names``)."""

    stages: StageRules = field(default_factory=StageRules)
    interests: InterestRules = field(default_factory=InterestRules)
    mail_picks: RecommendSpec = DEFAULT_PICKS
    size_vocabulary: SizeVocabulary = PLAIN_SIZES  # the loader's copy of ``CatalogSettings.size_vocabulary``
    revenue: Revenue | None = None  # the loader's copy of ``RuleSet.revenue``: ``visitor.cart_value``'s currency
