"""A profile's stored JSON, both ways, for every store (SQLite rows, Redis values, exports).

Why not ``json``: a profile is written by the writer thread after every group of
page views and read back by a worker whenever another one wrote it; the
standard library's encoder and decoder were ~40% of the writer's thread and
most of a read-back. msgspec's are several times faster on a returning
visitor's profile (``bench.proxy.profile_codec``).

What is stored, and what may differ from rows written before:

- The *values* are what ``json`` wrote and read. msgspec writes NaN and
  ±infinity as ``null``: a profile that holds one (or a number it cannot
  tell from one, |x| ≥ 2^1009) is written by the standard library, as before
  (``NaN``, ``Infinity``), and so is one msgspec refuses (a lone surrogate,
  a key json turns into a string) or one the check below cannot read. That
  check is a msgpack encoding of the profile searched for a non-finite float's
  bytes (in C: a walk of the profile in Python cost twice the encoding).
  Read by msgspec, which either gives ``json.loads``'s value or refuses the
  text (``NaN``/``Infinity`` tokens, ``1e400``, a lone surrogate's escape):
  then ``json.loads`` reads it. Old rows read as they did.
- Types: a profile holds what JSON gives and the pure updates make. msgspec
  also writes a few Python types ``json`` refuses (datetime, UUID, Decimal,
  set, an Enum) as strings or lists; ``object()`` and the like stay a
  ``TypeError``.
- The *text*'s form changes: non-ASCII characters are written as UTF-8, not
  ``\\uXXXX`` escapes (the same string once parsed; SQLite and Redis hold
  UTF-8 text), and a float like 1e16 as ``1e16``, not ``1e+16`` (the same
  number). Nothing reads a profile's text other than as JSON (the Redis
  scripts parse it with cjson).
"""

from __future__ import annotations

import json
import re
from typing import Any

import msgspec

from slotwise.profile import Profile

_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.Decoder().decode
_pack = msgspec.msgpack.Encoder().encode
_std_encode = json.JSONEncoder(separators=(",", ":"), check_circular=False).encode
"""The text profiles had before (``json.dumps(..., separators=(",", ":"))``); no cycle check:
a profile is plain data, a tree."""

_NON_FINITE = re.compile(b"\xcb[\x7f\xff]")
"""msgpack's float64 marker and a first byte of ±NaN or ±infinity (also of finite |x| ≥ 2^1009).
Text in msgpack is UTF-8, where neither pair can occur; an integer's or a length's bytes may
hold one: then the profile takes the exact way (``_plain``), a little slower, no less right."""

_SCALARS = frozenset({str, int, bool, type(None)})


def _plain(value: dict[Any, Any] | list[Any]) -> bool:
    """Whether msgspec writes ``value`` as ``json`` would read it back: plain JSON types only (exact
    types: ``type() is``), every float finite. The exact check, for what the msgpack screen flags."""
    for item in value.values() if type(value) is dict else value:
        kind = type(item)
        if kind is str:
            continue
        if kind is float:
            if item - item:  # NaN (truthy) for NaN and ±infinity, 0.0 for any finite float
                return False
        elif kind is dict or kind is list:
            if not _plain(item):
                return False
        elif kind not in _SCALARS:
            return False
    return True


def _finite(profile: Profile) -> bool:
    """No non-finite float in ``profile`` (msgpack's bytes searched, see ``_NON_FINITE``); False
    also when msgpack cannot encode it (an integer beyond 64 bits, a lone surrogate)."""
    try:
        packed = _pack(profile)
    except (TypeError, ValueError, OverflowError):
        return False
    return _NON_FINITE.search(packed) is None


def encode_profile(profile: Profile) -> str:
    """A profile's JSON text: msgspec's for plain data, the standard library's for anything else."""
    if type(profile) is Profile and _finite(profile):  # msgspec reads a dataclass's fields itself
        try:
            return _encode(profile).decode()
        except (TypeError, ValueError):  # a key json turns into a string
            pass
    data = profile.to_dict()
    if _plain(data):
        try:
            return _encode(data).decode()
        except (TypeError, ValueError):  # a key json turns into a string, a lone surrogate
            pass
    return _std_encode(data)


def loads(text: str | bytes) -> Any:
    """JSON text as ``json.loads`` reads it (msgspec's when it reads it at all: see the module)."""
    try:
        return _decode(text)
    except (msgspec.DecodeError, UnicodeDecodeError):  # ValidationError (1e400) is a DecodeError
        return json.loads(text)


def decode_profile(text: str | bytes) -> Profile:
    """A stored profile, from any text a store ever wrote."""
    return Profile.from_dict(loads(text))
