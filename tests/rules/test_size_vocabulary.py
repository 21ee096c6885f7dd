"""The rules' size vocabulary (``catalog.not_sizes``, ``catalog.size_names``): one size however the store's
channels spell it, no size for a value that names none, and a marketer's slip refused where it is written."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from slotwise.keys import size_key
from slotwise.rules import check_rules
from slotwise.rules.size_vocabulary import SizeVocabulary, label_key
from slotwise.rules.testing import rules_from_text

_label = st.text(alphabet="SMLXmlx -:eEdiuß2", min_size=1, max_size=8)
_keys = st.lists(_label, max_size=4).map(lambda labels: frozenset(k for k in map(label_key, labels) if k))
_names = st.lists(st.tuples(_label.map(size_key), st.lists(_label.map(size_key), max_size=3)), max_size=4).map(
    lambda entries: tuple((key, tuple(n for n in names if n)) for key, names in entries if key))
_any = st.builds(SizeVocabulary, keys=_keys, names=_names)


@st.composite
def _valid(draw: st.DrawFn) -> SizeVocabulary:
    """As the parser lets one through: a label names one size, and none of them names no size too."""
    labels = draw(st.lists(_label.map(size_key).filter(bool), unique_by=label_key, min_size=1, max_size=10))
    cuts = sorted(draw(st.lists(st.integers(1, len(labels)), max_size=3, unique=True)))
    groups = [labels[a:b] for a, b in zip([0, *cuts], [*cuts, len(labels)]) if labels[a:b]]
    not_sizes = draw(_keys) - {label_key(label) for label in labels}
    return SizeVocabulary(not_sizes, tuple((group[0], tuple(group[1:])) for group in groups))


# 200, was 300 (and 100, was 150, below): drawing the vocabularies is most of the time; 200 vocabularies of
# up to 4 sizes with up to 3 names each, and 100 valid ones of up to 10 labels, still try every spelling
@settings(max_examples=200, deadline=None)
@given(_any, _label)
def test_size_of_is_idempotent_and_not_sizes_win(vocabulary: SizeVocabulary, value: str) -> None:
    size = vocabulary.size_of(value)
    assert vocabulary.size_of(size) == size  # a recorded size read again (a profile's purchases) stays itself
    if label_key(value) in vocabulary.keys:
        assert size is None  # not_sizes win, whatever size_names say
    assert size is None or label_key(size) not in vocabulary.keys
    recorded = size_key(value)  # a catalog row's variants: size keys, some from before the rules said
    assert dict(vocabulary.keyed({recorded: 1} if recorded else {})) == ({size: 1} if size else {})


@settings(max_examples=100, deadline=None)
@given(_valid(), st.data())
def test_a_name_and_its_key_fold_to_the_same_key(vocabulary: SizeVocabulary, data: st.DataObject) -> None:
    for key, names in vocabulary.names:
        for name in (key, *names):
            spelled = data.draw(st.sampled_from([name, name.lower(), name.upper(), f"Size: {name}", f" {name} "]))
            assert vocabulary.size_of(spelled) == vocabulary.size_of(key) == key
            assert set(vocabulary.names_of(spelled)) == {key, *names}


RULES = """
catalog:
  product_pages: /p/{product}
  not_sizes: ["Default Title"]
  size_names:
    M: [Medium, Med]
    XL: [Extra Large, "X-Large"]
slots: []
"""


def test_every_source_reads_a_name_as_its_size(tmp_path: Path) -> None:
    catalog = rules_from_text(tmp_path, RULES).catalog
    assert [catalog.size_of(v) for v in ("Medium", "MEDIUM", "Size: med", "m", "x-large", "Extra large", "L")] == [
        "M", "M", "M", "M", "XL", "XL", "L"]
    assert catalog.size_of("default title") is None


@pytest.mark.parametrize(("names", "message"), [
    ("{M: [Medium], L: [medium]}", "4:33: 'catalog.size_names': 'medium' names 'L' and is already a name of 'M' "
                                   "(line 4): a label names one size"),
    ("{M: [Medium], L: [m]}", "4:33: 'catalog.size_names': 'm' names 'L' and is already a name of 'M' (line 4)"),
    ("{M: [Medium, MEDIUM]}", "4:28: 'catalog.size_names': 'MEDIUM' is listed twice under 'M' (line 4)"),
    ("{M: [Medium], S: [default title]}", "4:33: 'catalog.size_names': 'default title' is also one of "
                                          "catalog.not_sizes: a value names a size or none, not both"),
    ("{M: []}", "4:19: 'catalog.size_names': 'M' lists no labels: give the other labels it goes by ({M: [...]}) "
                "or leave it out"),
    ("[M, Medium]", "4:15: 'catalog.size_names' must map a size to the other labels it goes by ({M: [Medium, Med]}), "
                    "got a list"),
    ("{M: [Medium, 3]}", "4:28: 'catalog.size_names' label of 'M' must be a string, got"),
], ids=["two-sizes", "a-size-key", "twice", "not-size", "empty", "list", "number"])
def test_a_slip_in_size_names_is_refused_where_it_is(tmp_path: Path, names: str, message: str) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(f"catalog:\n  product_pages: /p/{{product}}\n  not_sizes: [Default Title]\n  size_names: {names}\n"
                    "slots: []\n", encoding="utf-8")
    ruleset, issues = check_rules(path)
    assert ruleset is None and len(issues) == 1 and str(issues[0]).startswith(f"{path}:{message}"), [
        str(i) for i in issues]
