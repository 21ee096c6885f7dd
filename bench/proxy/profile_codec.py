"""A profile's JSON both ways: the codec (``slotwise.store.profile_json``) against the standard library.

    python -m bench.proxy.profile_codec [--repeat 9] [--number 50]
    python -m bench.proxy.profile_codec --in-breakdown TREE   # the same calls inside a breakdown run

Two kinds of profile: the returning visitors ``bench.proxy.breakdown`` and
``bench.proxy.run`` prepare (two categories, three products, a purchase with a
size, a cart, four sticky choices: ~1.8 KB of JSON), and one with a long
history (the bounds of ``slotwise.profile``: 200 products, 100 categories,
200 purchase lines, 200 applied events: ~60 KB). For each, µs per profile of
each step: ``to_dict``/``from_dict`` (the dataclass), ``json``'s encode and
decode (what every store did before), the codec's encode and decode, and the
codec's screen alone (``_finite``: the msgpack bytes searched for a
non-finite float) and its exact walk (``_plain``, for the profiles the screen
flags). Best of ``--repeat`` and their
median, the steps interleaved within each repeat, with the load average.

``--in-breakdown TREE`` runs ``bench.proxy.breakdown --concurrency 16
--requests 2000 --rounds 3 --cache-control "public, max-age=600" --tree TREE``
with TREE's profile encoding and decoding in ``slotwise.store.sqlite.profiles``
timed on the clock of the thread that runs them (the writer's, the event
loop's): the calls as a served page makes them, cold caches and the writer's
groups included — where a microbenchmark's hot loop flatters both encoders.
Works for this tree and for one from before the codec (``json`` + ``from_dict``).
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import statistics
import sys
import threading
import time
import timeit
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

if TYPE_CHECKING:
    from slotwise.profile import Profile
# slotwise is imported in the functions: ``--in-breakdown`` must import another tree's first

NOW = 1_796_216_997.378397


def returning(visitor: int) -> Profile:
    """A returning visitor as the benches prepare one (``page.history`` and ``visitor_events``)."""
    from slotwise.profile import Profile, add_to_cart, mark_applied, record_purchase, record_view

    profile = Profile.new(f"visitor-{visitor:04d}-xxxxxxxxxx", NOW)
    t = NOW
    for path in ("c:socks", "c:bags", f"p:p{visitor % 6}:running-shoes", f"p:p{(visitor * 5 + 3) % 6}:bags", "p:p7:socks"):
        t += 0.0371
        kind, _, rest = path.partition(":")
        if kind == "c":
            record_view(profile, t, category=rest)
        else:
            product, _, category = rest.partition(":")
            record_view(profile, t, category=category, product=product, offer={"price": 10.0 + visitor % 9, "in_stock": True})
    record_purchase(profile, f"o{visitor}", [{"product": "p3", "category": "socks", "size": "M", "price": 12.0, "ts": t}], t)
    add_to_cart(profile, {"product": "p5", "category": "bags", "size": "M", "qty": 1, "price": 30.0, "added": t})
    for slot in ("home-categories", "recommendations", "size-prefill", "exit-coupon"):
        profile.assignments[slot] = {"arm": "default", "decision_id": os.urandom(16).hex(), "ts": t, "session_start": NOW}
    for _ in range(2):
        mark_applied(profile, os.urandom(16).hex())
    for i in range(8):  # the views of the timed pages
        record_view(profile, t + i, category="socks", product="p7", offer={"price": 17.0, "in_stock": True})
    return profile


def long_history() -> Profile:
    """A profile at the bounds ``slotwise.profile`` keeps."""
    from slotwise.profile import Profile, mark_applied, record_purchase, record_view

    profile = Profile.new("long-history", NOW)
    for i in range(400):
        record_view(profile, NOW + i * 37.1, category=f"category-{i % 120}", product=f"p{i}",
                    offer={"price": 10.5 + i, "in_stock": i % 3 != 0})
    for i in range(100):
        lines = [{"product": f"p{i}", "category": f"category-{i % 9}", "size": "M", "price": 9.99, "ts": NOW + i},
                 {"product": f"q{i}", "category": "extras", "price": 3.5}]
        record_purchase(profile, f"order-{i}", lines, NOW + i)
    for _ in range(250):
        mark_applied(profile, os.urandom(16).hex())
    for slot in range(6):
        profile.assignments[f"slot-{slot}"] = {"arm": "a", "decision_id": os.urandom(16).hex(), "ts": NOW, "session_start": NOW}
    return profile


def measure(profiles: list[Profile], repeat: int, number: int) -> dict[str, list[float]]:
    from slotwise.profile import Profile
    from slotwise.store import profile_json

    std_encode = json.JSONEncoder(separators=(",", ":"), check_circular=False).encode
    texts = [std_encode(p.to_dict()) for p in profiles]
    dicts = [json.loads(t) for t in texts]
    steps: dict[str, Callable[[], Any]] = {
        "to_dict": lambda: [p.to_dict() for p in profiles],
        "from_dict": lambda: [Profile.from_dict(d) for d in dicts],
        "json: encode (to_dict + json.dumps)": lambda: [std_encode(p.to_dict()) for p in profiles],
        "json: decode (json.loads + from_dict)": lambda: [Profile.from_dict(json.loads(t)) for t in texts],
        "codec: encode_profile": lambda: [profile_json.encode_profile(p) for p in profiles],
        "codec: decode_profile": lambda: [profile_json.decode_profile(t) for t in texts],
        "codec: its screen alone (_finite: msgpack, searched)": lambda: [profile_json._finite(p) for p in profiles],
        "codec: the exact walk (_plain: flagged profiles only)": lambda: [profile_json._plain(d) for d in dicts],
    }
    out: dict[str, list[float]] = {name: [] for name in steps}
    for _ in range(repeat):
        for name, step in steps.items():
            out[name].append(timeit.timeit(step, number=number) / number / len(profiles) * 1e6)
    return out


def in_breakdown(tree: str) -> int:
    """The breakdown run of the module's doc, with the tree's profile codec timed per call."""
    sys.path.insert(0, str(Path(tree).resolve()))
    import slotwise.store.sqlite.profiles as stored  # the tree's own (breakdown keeps it first on the path)
    from slotwise.profile import Profile as TreeProfile

    spent: dict[str, list[float]] = collections.defaultdict(lambda: [0, 0.0])
    lock = threading.Lock()

    def timed(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def call(*args: Any, **kwargs: Any) -> Any:
            started = time.thread_time()
            try:
                return fn(*args, **kwargs)
            finally:
                with lock:
                    spent[name][0] += 1
                    spent[name][1] += time.thread_time() - started
        return call

    stored.encode_profile = timed("encode", stored.encode_profile)  # type: ignore[attr-defined]
    if hasattr(stored, "decode_profile"):
        stored.decode_profile = timed("decode", stored.decode_profile)  # type: ignore[attr-defined]
    else:  # before the codec: json.loads, then Profile.from_dict, inline in the module
        class Json:
            loads = staticmethod(timed("decode: json.loads", json.loads))
            dumps = staticmethod(json.dumps)
        stored.json = Json  # type: ignore[attr-defined]
        TreeProfile.from_dict = classmethod(timed("decode: from_dict", TreeProfile.from_dict.__func__))  # type: ignore[method-assign]
    from bench.proxy import breakdown

    breakdown.main(["--concurrency", "16", "--requests", "2000", "--rounds", "3",
                    "--cache-control", "public, max-age=600", "--tree", tree])
    pages = 3 * 2000
    for name, (calls, seconds) in sorted(spent.items()):
        print(f"{name}: {calls:.0f} calls, {seconds / max(calls, 1) * 1e6:.1f} µs each, "
              f"{seconds / pages * 1e6:.1f} µs per timed page (the preparation's calls included)")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=9)
    parser.add_argument("--number", type=int, default=50, help="calls per timing (each over every profile of a kind)")
    parser.add_argument("--in-breakdown", metavar="TREE", help="time TREE's codec inside a breakdown run instead")
    args = parser.parse_args(argv)
    if args.in_breakdown:
        return in_breakdown(args.in_breakdown)
    from slotwise.store import profile_json

    load = os.getloadavg()[0]
    kinds = {"returning visitors (64)": [returning(i) for i in range(64)], "long history (1)": [long_history()]}
    sizes = {k: statistics.mean(len(profile_json.encode_profile(p).encode()) for p in ps) for k, ps in kinds.items()}
    results = {k: measure(ps, args.repeat, args.number) for k, ps in kinds.items()}
    print(f"`python -m bench.proxy.profile_codec --repeat {args.repeat} --number {args.number}`: µs per profile, "
          f"best / median of {args.repeat}; load average {load:.2f} → {os.getloadavg()[0]:.2f}\n")
    names = list(next(iter(results.values())))
    print("| step | " + " | ".join(f"{k}, {sizes[k] / 1024:.1f} KB" for k in kinds) + " |")
    print("| --- |" + " ---: |" * len(kinds))
    for name in names:
        cells = [f"{min(results[k][name]):.1f} / {statistics.median(results[k][name]):.1f}" for k in kinds]
        print(f"| {name} | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
