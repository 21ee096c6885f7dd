"""A full data directory makes writes fail; it never kills the process.

The change board and the deltas (files beside the database, mapped into every worker) were sparse:
the first write to one of their pages asked the file system for a block, and with the disk full that
write was a SIGBUS. Every worker died as soon as it recorded a page view (and, before workers were
respawned, ``slotwise serve`` with them). Real parts: SQLite, the board's files, a tmpfs filled up.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from slotwise.store import open_store
from slotwise.store.base import StoreError
from slotwise.store.outage import is_outage

from test_profile_cache import view

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.anyio
async def test_the_mapped_files_have_their_blocks_from_the_start(tmp_path: Path) -> None:
    store = open_store("", tmp_path)
    await store.update_profile_soon("v", view("socks"), 1000.0)
    await store.flush()
    for suffix in ("-board", "-deltas"):
        st = os.stat(tmp_path / f"slotwise.db{suffix}")
        assert st.st_blocks * 512 >= st.st_size, (suffix, st.st_blocks, st.st_size)
    await store.close()


WRITER = textwrap.dedent("""
    import asyncio, sys
    from pathlib import Path
    from slotwise.store import open_store
    sys.path.insert(0, sys.argv[2])
    from test_profile_cache import view

    async def main() -> None:
        data = Path(sys.argv[1])
        store = open_store("", data / "d")
        await store.update_profile_soon("first", view("socks"), 1000.0)
        await store.flush()
        try:  # the rest of the disk taken
            with open(data / "filler", "wb") as f:
                while True:
                    f.write(b"x" * 65536)
        except OSError:
            pass
        failed = 0
        for i in range(3000):  # visitors all over the board and the deltas
            try:
                await store.update_profile_soon(f"visitor-{i}", view("bags"), 1001.0 + i)
                if i % 100 == 99:
                    await store.flush()
            except Exception:
                failed += 1
        try:
            await store.close()
        except Exception:
            pass
        print("alive", failed)

    asyncio.run(main())
""")


@pytest.fixture
def small_disk(tmp_path: Path) -> Any:
    small = tmp_path / "small"
    small.mkdir()
    if os.geteuid() != 0 or subprocess.run(["mount", "-t", "tmpfs", "-o", "size=24m", "tmpfs", str(small)],
                                           capture_output=True).returncode != 0:
        pytest.skip("needs to mount a small tmpfs (root)")
    try:
        yield small
    finally:
        subprocess.run(["umount", "-l", str(small)], capture_output=True)  # lazily: this process maps files there


def test_a_full_data_directory_kills_no_process(small_disk: Path) -> None:
    done = subprocess.run([sys.executable, "-c", WRITER, str(small_disk), str(Path(__file__).parent)], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, (done.returncode, done.stderr[-3000:])  # -7: SIGBUS
    assert done.stdout.startswith("alive"), done.stdout


@pytest.mark.anyio
async def test_a_full_data_directory_is_unwritable_for_health_logged_once_and_over_once_freed(
        small_disk: Path, caplog: pytest.LogCaptureFixture) -> None:
    store = open_store("", small_disk / "d")
    await store.probe_write()
    filler = small_disk / "filler"
    with caplog.at_level(logging.INFO, logger="slotwise.store"):
        try:
            with open(filler, "wb") as f:
                while True:
                    f.write(b"x" * 65536)
        except OSError:
            pass
        with pytest.raises(StoreError, match="disk is full"):
            await store.probe_write()  # /_sw/health: store_unwritable
        for i in range(3):
            with pytest.raises(Exception) as caught:
                await store.save_snapshot("bandits", {"big": "x" * 200_000, "i": i}, i)
            assert is_outage(caught.value)  # callers (the learner's loop) log nothing more
        filler.unlink()
        await store.probe_write()
        await store.save_snapshot("bandits", {"i": 9}, 9)
    said = [r.getMessage() for r in caplog.records]
    assert sum("store refusing writes: database or disk is full" in m for m in said) == 1, said
    assert sum("store available again" in m for m in said) == 1, said
    await store.close()
