"""``Edit``'s own ``__init__`` (one ``__dict__`` assignment) makes what the dataclass's made.

The reference is the previous definition, a frozen dataclass with its
generated ``__init__`` and the same ``__post_init__``: for any arguments,
positional or by name, both give equal fields, the same ``repr``, the same
equality, or the same error; the new one stays frozen, and
``dataclasses.replace`` and ``copy`` still work.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Mapping, Sequence
from types import MappingProxyType

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from slotwise.html.edits import ACTIONS, Edit, ItemKey

_EMPTY: Mapping[str, str | None] = MappingProxyType({})


@dataclasses.dataclass(frozen=True)
class _Reference:
    slot: str
    selector: str
    action: str
    html: str = ""
    attributes: Mapping[str, str | None] = dataclasses.field(default_factory=lambda: _EMPTY)
    order: Sequence[str] = ()
    key: str | ItemKey | None = "data-category"
    value: str = ""
    decision_id: str | None = None
    limit: int | None = None
    items: str | None = None
    names: Sequence[str] = ()

    __post_init__ = Edit.__post_init__


FIELDS = [f.name for f in dataclasses.fields(_Reference)]

_text = st.text(alphabet="ab #.-<\"=\t", max_size=6)
_arguments = st.fixed_dictionaries(
    {"slot": _text, "selector": st.one_of(_text, st.none(), st.integers()), "action": st.sampled_from([*ACTIONS, "nope"])},
    optional={
        "html": _text,
        "attributes": st.dictionaries(_text, st.one_of(_text, st.none(), st.integers()), max_size=2),
        "order": st.one_of(st.tuples(_text, _text), _text, st.lists(_text, max_size=2)),
        "key": st.one_of(_text, st.none(), st.just(ItemKey(mode="size")), st.just(ItemKey(mode="odd"))),
        "value": _text,
        "decision_id": st.one_of(_text, st.none()),
        "limit": st.one_of(st.none(), st.integers(-2, 3), st.just("2")),
        "items": st.one_of(_text, st.none()),
        "names": st.lists(_text, max_size=2).map(tuple),
    },
)


def _made(cls: type, args: tuple[object, ...], kwargs: dict[str, object]) -> object:
    try:
        return cls(*args, **kwargs)
    except (ValueError, TypeError) as exc:
        return (type(exc), str(exc))


# 300, was 500: drawing the arguments is most of the time (each example is a constructor call); 300 still cover
# every field present or not, and each of the 12 positional counts ~25 times
@settings(max_examples=300, deadline=None)
@given(arguments=_arguments, positional=st.integers(0, 11))
def test_any_arguments_give_the_reference_s_edit_or_its_error(arguments: dict[str, object], positional: int) -> None:
    names = [n for n in FIELDS if n in arguments]
    leading = [n for n in FIELDS[:positional] if n in arguments]
    leading = leading[: next((i for i, n in enumerate(FIELDS) if n not in arguments), len(FIELDS))]
    args = tuple(arguments[n] for n in leading)
    kwargs = {n: arguments[n] for n in names if n not in leading}
    ours, reference = _made(Edit, args, kwargs), _made(_Reference, args, kwargs)
    if isinstance(reference, tuple):
        assert ours == reference
        return
    assert isinstance(ours, Edit)
    assert {n: getattr(ours, n) for n in FIELDS} == {n: getattr(reference, n) for n in FIELDS}
    assert repr(ours) == repr(reference).replace("_Reference(", "Edit(", 1)
    assert ours == Edit(*args, **kwargs)


def test_an_edit_stays_frozen_and_replace_and_pickle_keep_it() -> None:
    edit = Edit("s", "nav ul", "reorder", order=("a", "b"), decision_id="d")
    with pytest.raises(dataclasses.FrozenInstanceError):
        edit.order = ()  # type: ignore[misc]
    assert dataclasses.replace(edit, decision_id="e") == Edit("s", "nav ul", "reorder", order=("a", "b"), decision_id="e")
    assert copy.copy(edit) == edit and copy.copy(edit) is not edit
    assert Edit("s", "p", "remove").attributes == {} and Edit("s", "p", "remove").key == "data-category"
