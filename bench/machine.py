"""What ran a figure: the interpreter's build and the CPU, printed beside every speed figure.

The same tree's pages cost ~17% less CPU under Debian's ``/usr/bin/python3.11`` (libpython linked
into the executable) than under a default pyenv build (``--enable-shared``, libpython loaded as a
shared library), and figures from different machines differed by ~2x: a ratio is only comparable
with one taken on the same interpreter and CPU.
"""
from __future__ import annotations

import os
import platform
import sys
from pathlib import Path


def _libpython() -> str:
    """'shared' when libpython is a separate shared library (slower calls), else 'linked in'."""
    try:
        maps = Path("/proc/self/maps").read_text()
    except OSError:
        return "unknown"
    return "shared" if "libpython" in maps else "linked in"


def _cpu() -> str:
    try:
        info = Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:
        return platform.processor() or "unknown CPU"
    name = next((line.split(":", 1)[1].strip() for line in info if line.startswith("model name")), "unknown CPU")
    mhz = next((line.split(":", 1)[1].strip() for line in info if line.startswith("cpu MHz")), "")
    return f"{name}{f' @ {float(mhz):.0f} MHz' if mhz else ''}"


def describe() -> str:
    """One line: 'Python 3.11.7 (/root/.pyenv/versions/3.11.7, libpython shared); Intel ... @ 2000 MHz, 2 cores'."""
    return (f"Python {platform.python_version()} ({sys.base_prefix}, libpython {_libpython()}); "
            f"{_cpu()}, {os.cpu_count()} cores")
