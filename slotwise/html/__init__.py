"""HTML rewriting engine: edits are CSS selectors plus an action, spliced into the original bytes.

Pure functions, bytes in and bytes out. Bytes outside the edited elements are
kept exactly as the store sent them; a page no edit applies to comes back as
the same object. See ``rewriter`` for the pipeline.
"""

from .digest import PageDigests, page_digest
from .edits import ACTIONS, DECISION_ATTRIBUTE, Edit, RewriteResult
from .rewriter import clear_cache, count_matches, has_targets, rewrite, validate_selector

__all__ = [
    "ACTIONS",
    "DECISION_ATTRIBUTE",
    "PageDigests",
    "Edit",
    "RewriteResult",
    "clear_cache",
    "count_matches",
    "has_targets",
    "page_digest",
    "rewrite",
    "validate_selector",
]
