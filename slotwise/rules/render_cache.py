"""Rendered variant templates kept per input: a page renders the same cards for many visitors.

A template's output depends only on what it reads: the names it does not
declare itself (``jinja2.meta.find_undeclared_variables``), and of those
only the members it names (``visitor.cart_count``, ``vars.title``) when every
use of a name is such a member read. ``reads`` finds that at compile time; per
render the key is those values in a hashable form that tells apart all that a
template could (``1``/``True``/``1.0``, ``0.0``/``-0.0``, a tuple/a mapping, a
``Markup``/a ``str``): ``value_key``. A value without an exact key (an
Undefined, an object of another type) is not cached: the template renders as
before. Templates that could differ between two renders of the same inputs
(``lipsum``, the ``random`` filter, a global the environment does not fix) are
never cached. The cache belongs to the compiled template, so a rules reload
starts empty; it is an LRU bounded in (estimated) bytes.

A cache pays only when inputs repeat: a miss costs its key and its store
(15–30% of rendering four cards) for nothing. Cards that follow each visitor's
history rarely repeat (a store's returning visitors: near 0% hits), the popup
keyed by a cart count nearly always does. So every ``WINDOW`` keyed renders the
template looks at its hit rate; under ``MIN_HIT_RATE`` it renders the next
``PAUSE`` without a key, then tries again. Outputs are the same either way.
"""

from __future__ import annotations

import threading
from math import copysign
from collections.abc import Callable, Collection, Hashable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from jinja2 import Template, meta, nodes

from slotwise.lru import LRUCache
from slotwise.rules.interests import Affinities
from slotwise.rules.visitor import SCALARS

WINDOW = 256
"""Keyed renders between two looks at a template's hit rate."""

MIN_HIT_RATE = 0.2
"""The share of hits under which the cache costs more than it saves: a miss spends 7–13 µs (key, store,
eviction), a hit saves 41–51 µs (rendering and freezing four cards; ``timeit``, loaded): even at 15–30%."""

PAUSE = 8 * WINDOW
"""Renders without a key after a window under ``MIN_HIT_RATE``: at 0% hits, one render in nine pays for a key."""

CACHE_BYTES = 1 << 20
"""Memory one template's cache may hold (estimated per entry by ``_size``): ~150 blocks of four cards."""

PURE_GLOBALS = frozenset({"range", "dict", "namespace", "cycler", "joiner"})
"""Jinja globals whose result depends on their arguments alone (``lipsum`` is random)."""

_DYNAMIC_FILTERS = frozenset({"map", "select", "reject", "selectattr", "rejectattr"})


class Uncacheable(Exception):
    """A value with no exact hashable key: the render is not cached."""


Member = tuple[str, str]  # ("attr" | "item", name)


@dataclass(frozen=True)
class Reads:
    """What a template reads: per name, the members it reads (None: the whole value)."""

    names: Mapping[str, frozenset[Member] | None]
    cacheable: bool


def reads(tree: nodes.Template, global_names: Collection[str]) -> Reads:
    """The names (and members) a template's output depends on, from its AST.

    ``find_undeclared_variables`` leaves out the environment's globals (``range``, ``lipsum``): they
    are read from the context too (a name given to the render would win), so they count as read."""
    undeclared = set(meta.find_undeclared_variables(tree))
    undeclared |= {n.name for n in tree.find_all(nodes.Name) if n.ctx == "load" and n.name in global_names}
    members: dict[str, set[Member]] = {name: set() for name in undeclared}
    whole: set[str] = set()
    through_member: set[int] = set()
    for node in tree.find_all((nodes.Getattr, nodes.Getitem)):
        target = node.node
        if not isinstance(target, nodes.Name) or target.name not in members:
            continue
        if isinstance(node, nodes.Getattr):
            members[target.name].add(("attr", node.attr))
        elif isinstance(node.arg, nodes.Const) and isinstance(node.arg.value, str):
            members[target.name].add(("item", node.arg.value))
        else:
            continue  # a computed key: the name counts as read whole below
        through_member.add(id(target))
    for name_node in tree.find_all(nodes.Name):
        if name_node.name in members and id(name_node) not in through_member:
            whole.add(name_node.name)
    return Reads(
        names=MappingProxyType({n: (None if n in whole else frozenset(m)) for n, m in members.items()}),
        cacheable=_deterministic(tree),
    )


def _deterministic(tree: nodes.Template) -> bool:
    """False if the template could render differently twice from the same inputs."""
    for node in tree.find_all(nodes.Filter):
        if node.name == "random":
            return False
        if node.name in _DYNAMIC_FILTERS and node.args:  # map("random") calls a filter named at runtime
            first = node.args[0]
            if not isinstance(first, nodes.Const) or first.value == "random":
                return False
    return True


def _scalar_key(value: Any, kind: type) -> Hashable:
    """The key of an exact ``str``/``None``/``int``/``bool``/``float``: 1, True and 1.0 differ."""
    if kind is str or value is None:
        return value
    if kind is float:  # 0.0 == -0.0 but they render differently: the sign too (not repr(), ~1 µs a float)
        return (kind, value, copysign(1.0, value))
    return (kind, value)


def value_key(value: Any) -> Hashable:
    """A hashable key equal for two values exactly when a template cannot tell them apart.

    Exact types only (``str`` but not ``Markup``); the frozen shapes rules values take: tuples
    and read-only mappings (in their order). Raises ``Uncacheable`` for anything else."""
    kind = type(value)
    if kind is str or value is None or kind is int or kind is bool or kind is float:
        return _scalar_key(value, kind)
    if kind is tuple:
        return (kind, *[value_key(v) for v in value])
    if kind is MappingProxyType or kind is dict:
        return (kind, *[(value_key(k), value_key(v)) for k, v in value.items()])
    raise Uncacheable(kind.__name__)


def frozen_key(value: Any) -> Hashable:
    """``value_key(freeze(value))`` without building the frozen copy (recommendations, per page)."""
    kind = type(value)
    if kind is str or value is None or kind is int or kind is bool or kind is float:
        return _scalar_key(value, kind)
    if kind is dict:  # a product from the store: its fields inline, no call per scalar (~4x less a card)
        return (MappingProxyType, *[
            (k if type(k) is str else value_key(k),
             v if (vk := type(v)) is str or v is None else
             ((vk, v) if vk is int or vk is bool else (vk, v, copysign(1.0, v)) if vk is float else frozen_key(v)))
            for k, v in value.items()])
    if isinstance(value, SCALARS) or isinstance(value, Affinities):
        raise Uncacheable(kind.__name__)  # kept as they are by freeze, and not exact types
    if isinstance(value, (dict, Mapping)):  # str values inline: most of a recommendation's fields
        return (MappingProxyType, *[(k if type(k) is str else value_key(k), v if type(v) is str else frozen_key(v))
                                    for k, v in value.items()])
    if isinstance(value, (list, tuple, set, frozenset)):
        items = sorted(value) if isinstance(value, (set, frozenset)) else value
        return (tuple, *[v if type(v) is str else frozen_key(v) for v in items])
    raise Uncacheable(kind.__name__)


Deferred = Mapping[str, tuple[Callable[[], Hashable], Callable[[], Any]]]
"""Names given as (their key, their value), each computed only when needed: the value only to render."""


class CachedTemplate:
    """A compiled template and its rendered outputs keyed by what it reads."""

    def __init__(self, template: Template, tree: nodes.Template, source: str = "", max_bytes: int = CACHE_BYTES) -> None:
        self.template = template
        self.source = source  # as written (bench.proxy.render_cpu renders it with plain Jinja beside)
        self.reads = reads(tree, template.environment.globals)
        self._plan = tuple((name, None if members is None else tuple(sorted(members)))
                           for name, members in sorted(self.reads.names.items()))
        self._cache: LRUCache[Hashable, str] = LRUCache(maxsize=max_bytes, getsizeof=_size)
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0
        self.unkeyed = 0  # renders while paused (a low hit rate)
        self._window = [0, 0]  # keyed renders and hits since the last look
        self._paused = 0  # renders left without a key (a count, not a guarantee, across threads)

    @property
    def environment(self) -> Any:
        return self.template.environment

    def render(self, names: Mapping[str, Any], deferred: Deferred | None = None) -> str:
        """The template's output for these names (and ``deferred`` ones), from the cache when it has it."""
        deferred = deferred or {}
        if self._paused > 0:  # `> 0`: two threads' decrements racing past zero end the pause, not extend it
            self._paused -= 1
            self.unkeyed += 1
            key = None
        else:
            key = self._key(names, deferred)
        if key is not None:
            with self._lock:
                found = self._cache.get(key)
                self._look(found is not None)
                if found is not None:
                    self.hits += 1
                    return found
        values = {**names, **{name: build() for name, (_, build) in deferred.items()}} if deferred else names
        html = self.template.render(values)
        if key is not None:
            with self._lock:
                self.misses += 1
                self._cache[key] = html
        return html

    def _look(self, hit: bool) -> None:
        """Count a keyed render; at the end of a window under ``MIN_HIT_RATE``, pause the keys."""
        window = self._window
        window[0] += 1
        window[1] += hit
        if window[0] >= WINDOW:
            if window[1] < MIN_HIT_RATE * window[0]:
                self._paused = PAUSE
            window[0] = window[1] = 0

    def _key(self, names: Mapping[str, Any], deferred: Deferred) -> Hashable | None:
        """Every value the output depends on, or None when one has no exact key."""
        if not self.reads.cacheable:
            return None
        env = self.template.environment
        parts: list[Hashable] = []
        try:
            for name, members in self._plan:
                if name in deferred:
                    parts.append(("=", deferred[name][0]()))
                elif name not in names:
                    if name not in PURE_GLOBALS or name not in env.globals:
                        return None  # a name no render fixes (lipsum, self ...): never cached
                    parts.append(("g",))  # the same for every render
                elif members is None:
                    parts.append(("=", value_key(names[name])))
                else:
                    value = names[name]
                    parts.append((".", *[value_key(env.getattr(value, m) if kind == "attr" else env.getitem(value, m))
                                         for kind, m in members]))
        except Exception:  # Uncacheable, or a fact that fails to compute: the plain render decides
            return None
        return tuple(parts)


def _size(html: str) -> int:
    """An entry's memory, estimated from its output: the key holds the values the output was made of.

    Measured with tracemalloc on ``examples/recommendations.html`` (four cards, 1.2 KB of output):
    ~7 KB an entry, key, output and the cache's own bookkeeping."""
    return 6 * len(html) + 256
