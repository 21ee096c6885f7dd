"""A price from the text a store writes (``jsonld._price``: JSON-LD offers, selectors, captured carts and feeds).

The old reading dropped every character but digits, "." and "," and joined what was left, so a range
("12 - 15") read 1215, a sale price beside the old one ("€20.00 €15.00") read nothing, and a discount
line ("-5,00 €") read a price of 5. A price is now the text's one number, in the marks stores use.
"""

from __future__ import annotations

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from slotwise.rules.jsonld import _price


def _grouped(integer: int, mark: str) -> str:
    return f"{integer:,}".replace(",", mark)


# How stores write 1234.5: English, German, French (a narrow no-break space, or a space), Swiss, plain.
STYLES = {
    "en": lambda i, c: f"{_grouped(i, ',')}.{c:02d}",
    "de": lambda i, c: f"{_grouped(i, '.')},{c:02d}",
    "fr": lambda i, c: f"{_grouped(i, chr(0x202f))},{c:02d}",
    "fr-space": lambda i, c: f"{_grouped(i, ' ')},{c:02d}",
    "ch": lambda i, c: f"{_grouped(i, chr(39))}.{c:02d}",
    "plain": lambda i, c: f"{i}.{c:02d}",
}
AROUND = [("", ""), ("€", ""), ("", " €"), ("$", ""), ("USD ", ""), ("", " EUR"), ("CHF ", ""), ("Price: ", " incl. VAT")]


@given(st.integers(0, 10**9), st.integers(0, 99), st.sampled_from(sorted(STYLES)), st.sampled_from(AROUND))
@example(1234, 50, "fr", ("", " €"))
@example(0, 5, "de", ("€", ""))
def test_a_price_written_in_any_of_the_stores_styles_reads_its_amount(integer: int, cents: int, style: str,
                                                                       around: tuple[str, str]) -> None:
    text = around[0] + STYLES[style](integer, cents) + around[1]
    assert _price(text) == pytest.approx(integer + cents / 100, rel=1e-12, abs=1e-9)


@given(st.integers(0, 10**6), st.integers(0, 99), st.sampled_from(sorted(STYLES)),
       st.sampled_from(["-{}", "-€{}", "€-{}", "€ -{}", "\u2212{}", "-{} €", "USD -{}"]))
def test_a_negative_amount_is_no_price(integer: int, cents: int, style: str, shape: str) -> None:
    assert _price(shape.format(STYLES[style](integer, cents))) is None


@given(st.integers(1, 10**5), st.integers(1, 10**5), st.sampled_from([" - ", "-", " \u2013 ", " to ", " ", " / "]),
       st.sampled_from(AROUND[:4]))
def test_two_amounts_are_no_price(low: int, high: int, between: str, around: tuple[str, str]) -> None:
    """A range, or the old price beside the sale price: which one is meant is the rules' to say (a selector)."""
    assert _price(f"{around[0]}{low}.00{between}{around[0]}{high}.00{around[1]}") is None


@pytest.mark.parametrize("text, price", [
    ("12,50", 12.5), ("1,234", 1234.0), ("1.234.567,89", 1234567.89), (".5", 0.5), ("12.", 12.0),
    ("Sale - 12.50", 12.5),  # a dash between words is not a minus sign
    ("", None), ("abc", None), ("1,2,3", None), ("€20.00 €15.00", None), ("12 - 15", None),
])
def test_examples(text: str, price: float | None) -> None:
    assert _price(text) == price
