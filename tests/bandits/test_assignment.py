from collections import Counter

from slotwise.bandits import bucket, even_split, in_holdout


def test_bucket_is_stable_and_in_range():
    values = [bucket(f"visitor-{i}", "s") for i in range(5000)]
    assert values == [bucket(f"visitor-{i}", "s") for i in range(5000)]
    assert all(0.0 <= v < 1.0 for v in values)
    assert abs(sum(values) / len(values) - 0.5) < 0.02
    assert bucket("x", "a") != bucket("x", "b")  # salts are independent draws


def test_holdout_share():
    share = sum(in_holdout(f"v{i}", 0.1) for i in range(20000)) / 20000
    assert abs(share - 0.1) < 0.01
    assert not any(in_holdout(f"v{i}", 0.0) for i in range(100))


def test_even_split_is_even_sticky_and_minimal_on_arm_change():
    arms = ["a", "b", "c"]
    first = {f"v{i}": even_split(f"v{i}", "home", arms) for i in range(9000)}
    counts = Counter(first.values())
    assert all(abs(c - 3000) < 200 for c in counts.values())
    assert first == {v: even_split(v, "home", arms) for v in first}
    after = {v: even_split(v, "home", ["a", "b"]) for v in first}
    moved = [v for v in first if first[v] != after[v]]
    assert all(first[v] == "c" for v in moved)  # only the removed arm's visitors move
