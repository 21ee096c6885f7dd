"""The one way tests get a real redis-server (tests/redis_fixtures.py), as a suite of tests sees it: a shared
server per xdist worker, emptied for each test; a test's own servers stopped after it even when it fails;
no redis-server on the machine skips (fails on CI) with the install hint."""

from __future__ import annotations

import json
import os
from pathlib import Path

from test_real_parts import run

CONFTEST = "from redis_fixtures import own_redis_fixture, redis_server_fixture, redis_url_fixture  # noqa: F401\n"

SUITE = '''
import json, os
from pathlib import Path

import redis


def record(**facts):
    with open(Path(__file__).with_name(os.environ.get("PYTEST_XDIST_WORKER", "main") + ".jsonl"), "a") as out:
        out.write(json.dumps(facts) + "\\n")


def test_writes(redis_url):
    client = redis.Redis.from_url(redis_url)
    record(test="writes", url=redis_url, keys=client.dbsize())
    client.set("left", "behind")


def test_reads(redis_url, redis_server):
    record(test="reads", url=redis_url, keys=redis.Redis.from_url(redis_url).dbsize(), pid=redis_server.proc.pid)


def test_own_one_fails(own_redis):
    started, late = own_redis(appendonly=True), own_redis(start=False)
    record(test="own", pid=started.proc.pid, dirs=[str(started.dir), str(late.dir)], late=late.proc is None)
    assert False, "a test that fails"
'''


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_each_worker_has_its_server_emptied_per_test_and_every_server_stops_even_after_a_failure(
        tmp_path: Path) -> None:
    (tmp_path / "conftest.py").write_text(CONFTEST)
    (tmp_path / "test_suite.py").write_text(SUITE)
    done = run(tmp_path, None, "-p", "xdist.plugin", "-n", "2", "--dist", "each")  # every test on both workers
    assert done.returncode == 1 and "2 failed, 4 passed" in done.stdout, done.stdout + done.stderr
    seen = {path.stem: [json.loads(line) for line in path.read_text().splitlines()]
            for path in tmp_path.glob("gw*.jsonl")}
    assert sorted(seen) == ["gw0", "gw1"], seen
    urls = set()
    for worker, (writes, reads, own) in seen.items():
        assert (writes["test"], reads["test"], own["test"]) == ("writes", "reads", "own"), seen
        assert writes["url"] == reads["url"] and writes["keys"] == reads["keys"] == 0, seen  # emptied per test
        assert own["late"] is True  # own_redis(start=False): not started, its port already known
        assert not alive(own["pid"]) and not alive(reads["pid"]), worker  # own and shared: stopped
        assert not any(Path(d).exists() for d in own["dirs"]), own  # their directories removed
        urls.add(writes["url"])
    assert len(urls) == 2, urls  # one server per worker


def test_without_redis_server_its_tests_skip_with_the_install_hint_and_fail_on_ci(tmp_path: Path) -> None:
    (tmp_path / "conftest.py").write_text(CONFTEST + "import real_parts\nreal_parts.redis_server_binary = lambda: None\n")
    (tmp_path / "test_needs.py").write_text(
        "def test_shared(redis_url):\n    pass\n\n\ndef test_own(own_redis):\n    own_redis()\n")
    local = run(tmp_path, None, "-rs")
    assert local.returncode == 0 and "2 skipped" in local.stdout, local.stdout
    assert "redis-server binary not found (apt-get install redis-server; scripts/setup --test" in local.stdout
    on_ci = run(tmp_path, "1")  # the shared server's test fails in its set-up, the other in its call
    assert on_ci.returncode == 1 and "1 failed, 1 error" in on_ci.stdout, on_ci.stdout
    assert on_ci.stdout.count("CI is set and redis-server binary not found (apt-get install redis-server") >= 2


def test_no_test_starts_a_redis_server_of_its_own_making() -> None:
    """One way (``real_parts.start_redis``, through ``redis_url`` and ``own_redis``): a test that built its
    ``RedisServer`` skipped on CI without the binary, and left the server running when set-up failed."""
    tests = Path(__file__).resolve().parent
    allowed = {tests / "redis_server.py", tests / "real_parts.py", Path(__file__).resolve()}
    making = sorted(str(path.relative_to(tests)) for path in tests.rglob("*.py")
                    if path not in allowed and ("RedisServer(" in path.read_text() or "redis_server_binary(" in
                                                path.read_text()))
    assert making == [], f"start a redis-server through redis_url or own_redis (tests/redis_fixtures.py): {making}"
