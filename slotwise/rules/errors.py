"""Errors of the rules language.

Exception tree::

    RulesError              a rules file (or one it includes) is invalid; carries ALL issues
    RuleEvaluationError     a valid slot failed on one request (the proxy fails open)

A broken file is rejected as a whole, so ``RulesError`` is only ever raised
by loading, never half-way through serving.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class Issue:
    """One problem in a rules file, located by 1-based line and column."""

    file: str
    line: int
    column: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}: {self.message}"


class RulesError(Exception):
    """A rules file is invalid; ``issues`` lists every problem found, sorted by place.

    ``files`` are the files the load tried to read (when known): a reload watcher
    watches them, so fixing a template or include the rejected set added is noticed.
    """

    def __init__(self, issues: list[Issue], files: list[str] | None = None) -> None:
        self.issues = sorted(set(issues))
        self.files = list(files or [])
        count = len(self.issues)
        head = "\n".join(str(i) for i in self.issues[:20])
        more = f"\n... and {count - 20} more" if count > 20 else ""
        super().__init__(f"{count} error{'s' if count != 1 else ''} in rules:\n{head}{more}")


class RuleEvaluationError(Exception):
    """Evaluating a slot's condition or rendering its variant failed for one request."""

    def __init__(self, slot_id: str, reason: str) -> None:
        super().__init__(f"slot {slot_id!r}: {reason}")
        self.slot_id = slot_id
        self.reason = reason
