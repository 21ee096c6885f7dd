"""``bench.proxy.tail``'s measuring hook sees a worker's collections and its loop's stalls, in another process."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from bench.proxy.tail import HOOK, gc_summary, lag_summary

ROOT = Path(__file__).resolve().parents[2]

WORKER = textwrap.dedent(
    """
    import asyncio, gc, time

    async def serve():
        await asyncio.sleep(3.5)  # the hook's watcher finds this loop after 3 s
        time.sleep(0.05)  # the loop stalls 50 ms
        gc.collect()  # a full pass
        await asyncio.sleep(0.1)

    loop = asyncio.new_event_loop()  # a local of the main thread's frame, as granian's loop is
    loop.run_until_complete(serve())
    """
)


def test_the_hook_records_a_full_collection_and_a_stall(tmp_path: Path) -> None:
    hook = tmp_path / "hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(HOOK)
    out = tmp_path / "out"
    out.mkdir()
    started = time.time()
    env = {**os.environ, "PYTHONPATH": f"{hook}:{ROOT}", "SW_TAIL_DIR": str(out)}
    done = subprocess.run([sys.executable, "-c", WORKER], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    ended = time.time()
    (gc_file,) = out.glob("gc-*.txt")
    (lag_file,) = out.glob("lag-*.txt")
    collections = gc_summary(gc_file, started, ended)
    assert collections[2][0] >= 1  # the full pass, with its CPU time
    stalls, late_ms, longest, _, on_core = lag_summary(lag_file, started, ended)
    assert stalls >= 1 and 45 <= longest < 1000 and late_ms >= longest
    assert on_core < 0.5  # the stall was a sleep: the loop's thread was off its core
    assert gc_summary(gc_file, ended + 1, ended + 2) == {}  # outside the window: nothing
