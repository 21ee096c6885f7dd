"""Loading POS/CRM exports and coupon pools into the store (``slotwise import``).

Streaming: the CSV is read row by row, rows are grouped per person and
written in batches through the store's ``bulk_update`` (one transaction per
batch on SQLite, one script per chunk of people on Redis). A bad row is rejected with its line number and reason;
the good rows are loaded. Re-importing a file changes nothing (purchase lines
are keyed by channel, order, product and size). Columns: docs/imports.md.
"""

from __future__ import annotations

import csv
import io
import itertools
import math
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, Any, Callable, Iterator, Sequence

from slotwise.keys import category_key, product_key, store_key
from slotwise.profile import CHANNELS, Profile, hash_email, hold, import_purchase_lines
from slotwise.rules.size_vocabulary import PLAIN_SIZES, SizeVocabulary
from slotwise.rules.replenish import own_intervals
from slotwise.store.base import Store
from slotwise.tag.coupons import valid_pool_code
from slotwise.tag.events import read_currency
from slotwise.tag.golden import email_is_valid

BATCH_ROWS = 20_000
MAX_LISTED = 1000  # rejected rows listed in the report; all are counted

PURCHASE_COLUMNS = ("order_id", "ts", "product", "qty", "price")
PURCHASE_OPTIONAL = ("category", "size", "channel", "store", "currency")
CUSTOMER_OPTIONAL = ("name", "subscribed", "consent")
PERSON_COLUMNS = ("customer_id", "email")  # at least one of them

_TRUE = {"1", "true", "yes", "y", "t", "x"}
_FALSE = {"0", "false", "no", "n", "f", ""}
_CONSENT = {"granted": "granted", "yes": "granted", "true": "granted", "1": "granted",
            "denied": "denied", "no": "denied", "false": "denied", "0": "denied"}


class ImportFileError(ValueError):
    """The file cannot be imported at all (unreadable, columns missing)."""


class RowError(ValueError):
    """One row is rejected; the message is the reason."""


@dataclass
class Rejected:
    line: int
    reason: str


@dataclass
class Rejections:
    """The rows an import turned down: every one counted, the first ``MAX_LISTED`` kept with their reason."""

    rejected_count: int = field(default=0, kw_only=True)
    rejected: list[Rejected] = field(default_factory=list, kw_only=True)

    def reject(self, line: int, reason: str) -> None:
        self.rejected_count += 1
        if len(self.rejected) < MAX_LISTED:
            self.rejected.append(Rejected(line, reason))

    def rejections_dict(self) -> dict[str, Any]:
        return {"rejected_count": self.rejected_count,
                "rejected": [{"line": r.line, "reason": r.reason} for r in self.rejected]}


@dataclass
class ImportReport(Rejections):
    kind: str
    file: str
    rows: int = 0  # data rows read
    loaded: int = 0  # rows accepted
    new: int = 0  # purchase lines / customers / codes that were not there before
    profiles: int = 0  # profile writes

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind, "file": self.file, "rows": self.rows, "loaded": self.loaded, "new": self.new,
            "profiles_written": self.profiles, **self.rejections_dict(),
        }


# -- reading -----------------------------------------------------------------------


def _bad_byte(values: Sequence[str], header: Sequence[str]) -> str | None:
    """Undecodable bytes show up as lone surrogates (``surrogateescape``)."""
    if "".join(values).isascii():
        return None
    for column, value in zip(list(header) + ["?"] * len(values), values):
        if not value.isascii():
            for ch in value:
                if "\udc80" <= ch <= "\udcff":
                    return f"not valid UTF-8 (byte 0x{ord(ch) - 0xDC00:02x} in column {column!r}); save the file as UTF-8"
    return None


def read_csv(
    binary: IO[bytes], path: str, required: Sequence[str], one_of: Sequence[str] = ()
) -> Iterator[tuple[int, dict[str, str] | None, str | None]]:
    """``(line, row, None)`` for each data row, or ``(line, None, reason)`` when it is unreadable.

    Raises ``ImportFileError`` when the header lacks required columns.
    """
    text = io.TextIOWrapper(binary, encoding="utf-8-sig", errors="surrogateescape", newline="")
    try:
        first = text.readline()
        reader = csv.reader(itertools.chain([first], text), delimiter=sniff_delimiter(first))
        yield from _rows(reader, path, required, one_of)
    finally:
        text.detach()  # the caller owns (and closes) the binary file


DELIMITERS = (",", ";", "\t")


def sniff_delimiter(header: str) -> str:
    """The header line's separator: a comma, or the ``;`` (or tab) Excel writes where the comma is the
    decimal mark. Read from the header alone, whose names hold none of them."""
    counts = {d: header.count(d) for d in DELIMITERS}
    best = max(DELIMITERS, key=lambda d: counts[d])  # a tie (none at all) stays a comma
    return best if counts[best] else ","


def _span(line: int, end: int) -> str:
    """A row that ran over several lines and came out wrong: most often a quote left open."""
    if end <= line:
        return ""
    return f" (the row runs from line {line} to line {end}: a quote left open? none of these lines is imported)"


def _rows(
    reader: Any, path: str, required: Sequence[str], one_of: Sequence[str]
) -> Iterator[tuple[int, dict[str, str] | None, str | None]]:
    try:
        header = [h.strip().lower() for h in next(reader)]
    except StopIteration:
        raise ImportFileError(f"{path}: the file is empty") from None
    except csv.Error as exc:
        raise ImportFileError(f"{path}: line 1: not a CSV header ({exc})") from exc
    missing = [c for c in required if c not in header]
    if one_of and not any(c in header for c in one_of):
        missing.append(" or ".join(one_of))
    if missing:
        hint = " (is the file UTF-8 CSV with a header row?)" if _bad_byte(header, header) or "\x00" in "".join(header) else ""
        raise ImportFileError(
            f"{path}: missing column(s): {', '.join(missing)}; found: {', '.join(header) or 'none'}{hint}"
        )
    last = reader.line_num
    while True:
        try:
            values = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield last + 1, None, f"unreadable CSV ({exc}){_span(last + 1, reader.line_num)}"
            last = reader.line_num
            continue
        line, last = last + 1, reader.line_num
        if not values or not any(v.strip() for v in values):
            continue
        bad = _bad_byte(values, header)
        if bad:
            yield line, None, bad
        elif len(values) != len(header):
            yield line, None, f"expected {len(header)} fields, found {len(values)}{_span(line, last)}"
        else:
            yield line, dict(zip(header, values)), None


# -- parsing rows ---------------------------------------------------------------------


def parse_ts(raw: str) -> float:
    """ISO 8601 date or date-time; without a zone it is UTC."""
    raw = raw.strip()
    try:
        value = datetime.fromisoformat(raw)
    except ValueError:
        raise RowError(f"ts: {raw!r} is not an ISO 8601 date or date-time") from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.timestamp()


_DECIMAL_COMMA = re.compile(r"-?\d+,(\d{1,2}|\d{4,})")  # never a thousands separator: 10,5 10,50 (not 1,000)


def _number(row: dict[str, str], name: str, kind: Callable[[str], Any], low: float) -> Any:
    raw = row.get(name, "").strip()
    text = raw.replace(",", ".") if kind is float and _DECIMAL_COMMA.fullmatch(raw) else raw
    try:
        value = kind(text)
    except ValueError:
        hint = "; write 1000 or 1000.00, without a thousands separator" if kind is float and "," in raw else ""
        raise RowError(f"{name}: {raw!r} is not {'a whole number' if kind is int else 'a number'}{hint}") from None
    if not math.isfinite(value):
        raise RowError(f"{name}: {raw!r} is not a finite number")
    if value < low:
        raise RowError(f"{name}: {raw!r} must be at least {low:g}")
    return value


def person_aliases(row: dict[str, str]) -> list[str]:
    customer = row.get("customer_id", "").strip()
    email = row.get("email", "").strip()
    if not customer and not email:
        raise RowError("needs a customer_id or an email")
    if email and not email_is_valid(email):
        raise RowError(f"email: {email[:80]!r} is not an e-mail address")
    aliases = [f"customer:{customer}"] if customer else []
    if email:
        aliases.append(f"email:{hash_email(email)}")
    return aliases


def parse_purchase(row: dict[str, str], sizes: SizeVocabulary = PLAIN_SIZES) -> tuple[list[str], str, str, dict[str, Any]]:
    """One order line; ``sizes``: the rules' size vocabulary (a ``catalog.not_sizes`` value: the line has none;
    a ``catalog.size_names`` name: its size's key)."""
    aliases = person_aliases(row)
    order_id = row["order_id"].strip()
    product = row["product"].strip()
    if not order_id:
        raise RowError("order_id is empty")
    if not product:
        raise RowError("product is empty")
    channel = (row.get("channel") or "").strip().lower() or "store"
    if channel not in CHANNELS:
        raise RowError(f"channel: {channel!r} is not one of {', '.join(CHANNELS)}")
    try:  # read as an order's from the tag or the webhook; the profile keeps no currency for a purchase line
        read_currency((row.get("currency") or "").strip())
    except ValueError as exc:
        raise RowError(f"currency: {exc}") from None
    line = {
        "product": product_key(product),
        "category": category_key(row.get("category")),
        "size": sizes.size_of(row.get("size")),
        "qty": _number(row, "qty", int, 1),
        "price": _number(row, "price", float, 0),
        "ts": parse_ts(row["ts"]),
    }
    store = store_key(row.get("store"))
    if store:  # the physical store of an in-store order: where "in stock at your store" looks
        line["store"] = store
    return aliases, order_id, channel, line


def parse_customer(row: dict[str, str]) -> tuple[list[str], dict[str, Any]]:
    aliases = person_aliases(row)
    facts: dict[str, Any] = {}
    if row.get("customer_id", "").strip():
        facts["customer_id"] = row["customer_id"].strip()
    if row.get("email", "").strip():
        facts["email_hash"] = hash_email(row["email"])
    sub = (row.get("subscribed") or "").strip().lower()
    if sub not in _TRUE | _FALSE:
        raise RowError(f"subscribed: {sub!r} is not yes/no")
    if sub:
        facts["subscribed"] = sub in _TRUE
    consent = (row.get("consent") or "").strip().lower()
    if consent:
        if consent not in _CONSENT:
            raise RowError(f"consent: {consent!r} is not granted/denied")
        facts["consent"] = _CONSENT[consent]
    return aliases, facts  # names are not kept: Slotwise does not need them


# -- writing ------------------------------------------------------------------------------


class _Progress:
    """The bytes read of the file, on stderr when it is a terminal: in a log (cron, CI) nothing erases
    the bar's frames, and the JSON summary on stdout says what was imported."""

    def __init__(self, binary: IO[bytes], path: Path, enabled: bool) -> None:
        from tqdm import tqdm
        import sys

        self.binary = binary
        self.bar = tqdm(total=path.stat().st_size, unit="B", unit_scale=True, file=sys.stderr,
                        disable=not (enabled and sys.stderr.isatty()), desc=path.name, leave=False)
        self.pos = 0

    def update(self) -> None:
        try:
            pos = self.binary.tell()
        except (OSError, ValueError):
            return
        self.bar.update(max(0, pos - self.pos))
        self.pos = max(pos, self.pos)

    def close(self) -> None:
        self.bar.close()


async def import_people_file(
    store: Store, path: str | Path, kind: str, now: float, *, batch_rows: int = BATCH_ROWS, progress: bool = False,
    sizes: SizeVocabulary = PLAIN_SIZES,
) -> ImportReport:
    """Imports a ``purchases`` or ``customers`` CSV; see the module docstring. ``sizes``: the rules'
    size vocabulary (``slotwise import purchases --rules``)."""
    path = Path(path)
    report = ImportReport(kind=kind, file=str(path))
    required = PURCHASE_COLUMNS if kind == "purchases" else ()
    try:
        binary = path.open("rb")
    except OSError as exc:
        raise ImportFileError(f"{path}: {exc.strerror or exc}") from exc
    with binary:
        bar = _Progress(binary, path, progress)
        groups: dict[tuple[str, ...], list[Any]] = {}
        pending = 0
        reorders = _Reorders(store)
        try:
            for line, row, reason in read_csv(binary, str(path), required, PERSON_COLUMNS):
                report.rows += 1
                if row is None:
                    report.reject(line, reason or "unreadable")
                    continue
                try:
                    parsed = parse_purchase(row, sizes) if kind == "purchases" else parse_customer(row)
                except RowError as exc:
                    report.reject(line, str(exc))
                    continue
                report.loaded += 1
                groups.setdefault(tuple(parsed[0]), []).append(parsed[1:])
                pending += 1
                if pending >= batch_rows:
                    await _flush(store, kind, groups, now, report, reorders, sizes)
                    groups, pending = {}, 0
                    bar.update()
            await _flush(store, kind, groups, now, report, reorders, sizes)
            await reorders.write()
        finally:
            bar.update()
            bar.close()
    return report


class _Reorders:
    """The buyers whose history an import changed. Their own reorder intervals (what every category's
    typical interval is read from) are worked out from their whole history once, when the import ends
    or when ``bound`` wait, not again at every batch that adds to them: a customer's lines are spread
    over a file, and working it out each time cost ~30% of a large import's CPU, more as histories grew."""

    def __init__(self, store: Store, bound: int = 100_000, chunk: int = 1_000) -> None:
        self.store, self.bound, self.chunk = store, bound, chunk
        self.ids: dict[str, None] = {}  # in the order first changed

    def changed(self, profile_id: str) -> None:
        self.ids[profile_id] = None

    async def write_if_many(self) -> None:
        if len(self.ids) >= self.bound:
            await self.write()

    async def write(self) -> None:
        ids, self.ids = list(self.ids), {}
        for start in range(0, len(ids), self.chunk):
            by_person: dict[str, dict[str, float]] = {}
            for profile in await self.store.get_profiles(ids[start:start + self.chunk]):  # merged since: that one
                if profile is None:
                    continue
                own = own_intervals(profile.purchases)
                if own:
                    by_person[profile.id] = own
            if by_person:
                await self.store.set_reorder_intervals(by_person)


async def _flush(store: Store, kind: str, groups: dict[tuple[str, ...], list[Any]], now: float, report: ImportReport,
                 reorders: _Reorders, sizes: SizeVocabulary) -> None:
    if not groups:
        return
    updates = [_Counted(_purchases_update(rows, sizes) if kind == "purchases" else _customer_update(rows), aliases)
               for aliases, rows in groups.items()]
    report.profiles += await store.bulk_update(list(zip(groups, updates)), now)
    for update in updates:
        report.new += update.added
        if kind == "purchases" and update.added and update.profile_id is not None:
            reorders.changed(update.profile_id)  # a history left as it was keeps the intervals written before
    await reorders.write_if_many()


class _Counted:
    """A row group's profile update and what its last run added. A store whose compare-and-set retries
    (Redis) runs an update again on the re-read profile: counting in the update counted those twice.

    The group's aliases are the store's own word (docs/security.md): the customer id and address among them
    are the profile's (a purchases row names the buyer as a customers row does), held by trust, so the store's
    pages naming them write no confirming link (``profile.hold``)."""

    def __init__(self, apply: Callable[[Profile], int], aliases: Sequence[str] = ()) -> None:
        self.apply = apply
        self.aliases = aliases
        self.added = 0
        self.profile_id: str | None = None

    def __call__(self, profile: Profile) -> None:
        self.added = self.apply(profile)
        hold(profile, self.aliases)
        self.profile_id = profile.id


def _purchases_update(rows: list[Any], sizes: SizeVocabulary = PLAIN_SIZES) -> Callable[[Profile], int]:
    def update(profile: Profile) -> int:
        """The purchase lines new to this profile, added; how many."""
        orders: dict[tuple[str, str], list[dict[str, Any]]] = {}
        for order_id, channel, line in rows:
            orders.setdefault((order_id, channel), []).append(line)
        return sum(import_purchase_lines(profile, order_id, lines, lines[0]["ts"], channel, sizes.size_of)
                   for (order_id, channel), lines in orders.items())

    return update


IDENTITY = {"customer_id": "customer", "email_hash": "email"}
"""A customers row's facts that name the person: held as a purchases row's are (``profile.hold``), not set."""


def _customer_update(rows: list[Any]) -> Callable[[Profile], int]:
    def update(profile: Profile) -> int:
        """The customer facts, set; 1 when they changed the profile. The customer id and address go through
        ``hold``, as a purchases row's buyer does: they become the profile's where it holds none or only a
        browser's claim, and one it holds by trust (the store's page, a signed id) stays."""
        before = (profile.customer_id, profile.email_hash, profile.subscribed, profile.consent)
        for (facts,) in rows:
            hold(profile, [f"{IDENTITY[name]}:{value}" for name, value in facts.items() if name in IDENTITY])
            for name, value in facts.items():
                if name not in IDENTITY:
                    setattr(profile, name, value)
        return int((profile.customer_id, profile.email_hash, profile.subscribed, profile.consent) != before)

    return update


async def import_coupons_file(store: Store, path: str | Path, now: float, *, batch: int = 10_000) -> ImportReport:
    """One code per line, or a CSV whose header has a ``code`` column."""
    path = Path(path)
    report = ImportReport(kind="coupons", file=str(path))
    try:
        text = path.open("r", encoding="utf-8-sig", errors="surrogateescape", newline="")
    except OSError as exc:
        raise ImportFileError(f"{path}: {exc.strerror or exc}") from exc
    with text:
        reader = csv.reader(text)
        codes: list[str] = []
        column = 0
        last = 0
        for values in reader:
            line, last = last + 1, reader.line_num
            if not values or not "".join(values).strip():
                continue
            lowered = [v.strip().lower() for v in values]
            if line == 1 and "code" in lowered:
                column = lowered.index("code")
                continue
            if line == 1 and sum(1 for v in lowered if v) > 1:  # a CSV's header: its first column is no code
                raise ImportFileError(
                    f"{path}: line 1 is a CSV header without a 'code' column (found: {', '.join(v for v in lowered if v)}); "
                    "give one code per line, or a CSV whose header names the 'code' column")
            report.rows += 1
            code = values[column].strip() if column < len(values) else ""
            bad = _bad_byte([code], ["code"])
            if bad or not valid_pool_code(code):
                report.reject(line, bad or f"code: {code[:80]!r} is not 3–64 letters, digits, '_', '.' or '-'")
                continue
            report.loaded += 1
            codes.append(code)
            if len(codes) >= batch:
                report.new += await store.add_coupons(codes, now)
                codes = []
        if codes:
            report.new += await store.add_coupons(codes, now)
    return report
