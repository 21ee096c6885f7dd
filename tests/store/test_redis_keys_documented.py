"""Every key family the Redis store writes is in docs/store-redis.md's key table (``sw:switches``,
``sw:inv:*`` and ``sw:ri:*`` were not): an operator sizing, scanning or cleaning a shared Redis reads it.

Read from the source, which is where a new key appears first: the families named by ``self.key("...")``
and by the Lua scripts' ``P..'...'``; a family is a key's first part (``inv`` of ``inv:p:<product>``).
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
IN_CODE = re.compile(r"""\bkey\(\s*["']([a-z-]+)["']|(?:\bP|ARGV\[1\])\.\.'([a-z-]+)""")
IN_DOCS = re.compile(r"`sw:([a-z-]+)")


def families_in_code() -> dict[str, str]:
    """Each key family the Redis store's modules name, with the first module naming it."""
    found: dict[str, str] = {}
    for path in sorted((ROOT / "slotwise" / "store" / "redis").glob("*.py")):
        for match in IN_CODE.finditer(path.read_text()):
            found.setdefault(match.group(1) or match.group(2), path.name)
    return found


def families_documented() -> set[str]:
    text = (ROOT / "docs" / "store-redis.md").read_text()
    keys_section = text.split("\n## Keys\n", 1)[1].split("\n## ", 1)[0]
    return set(IN_DOCS.findall(keys_section))


def test_every_key_family_the_redis_store_writes_is_in_the_docs_key_table() -> None:
    code = families_in_code()
    assert {"p", "log", "admin-signout", "switches", "inv"} <= set(code), code  # the patterns still find keys
    missing = {f"sw:{name}": module for name, module in sorted(code.items()) if name not in families_documented()}
    assert not missing, f"keys the Redis store writes, missing from docs/store-redis.md's key table: {missing}"


def families_bounded() -> set[str]:
    """The families named in the "bounded by" table (above the key table)."""
    text = (ROOT / "docs" / "store-redis.md").read_text()
    table = text.split("| family | bounded by |", 1)[1].split("\n\n", 1)[0]
    return set(IN_DOCS.findall(table))


def test_every_documented_key_family_says_what_bounds_it() -> None:
    """``sw:c:*``, ``sw:cp:*`` and ``sw:ob:*`` were in the key table but not in the "bounded by" one: an
    operator could not tell whether they grow for good."""
    missing = sorted(families_documented() - families_bounded())
    assert not missing, f"key families with no row in docs/store-redis.md's 'bounded by' table: {missing}"
