"""One BLAS kernel for the bandit benches, whatever the host's CPU.

numpy's OpenBLAS picks its kernels by the CPU it finds (``DYNAMIC_ARCH``), and
their sums round differently in the last bits: a LinUCB run that meets a
near-tie then takes the other branch, and a seed's figures move by thousands of
decisions. Issue 11's swap at 250 / h, seed 9, in the twin: back at 5,451
decisions under OpenBLAS's Sandybridge kernels (a 2.0 GHz Xeon's figure),
1,278 under Haswell's (an AMD EPYC's default). Sessions run on different
hosts; with the kernel pinned, a seed's figures are the same on any x86-64
host with AVX2, so that two codes can be compared seed by seed across them.

OpenBLAS reads ``OPENBLAS_CORETYPE`` when numpy loads it: ``pin`` must run
before anything imports numpy, and keeps a kernel already chosen. The product
does not pin (a store's decisions are its host's).
"""

from __future__ import annotations

import ctypes
import os
import platform
import sys
from pathlib import Path

KERNEL = "Haswell"


def pin() -> str | None:
    """Sets ``OPENBLAS_CORETYPE`` (x86-64 only) unless set; the kernel in force, or None if numpy came first."""
    if "numpy" in sys.modules:
        print("bench.blas: numpy was loaded before the BLAS kernel could be pinned; figures are this host's",
              file=sys.stderr)
        return None
    if platform.machine().lower() in ("x86_64", "amd64"):
        os.environ.setdefault("OPENBLAS_CORETYPE", KERNEL)
    return os.environ.get("OPENBLAS_CORETYPE")


def core() -> str | None:
    """The kernel numpy's OpenBLAS runs (``openblas_get_corename``), or None where it cannot be asked."""
    import numpy

    libs = Path(numpy.__file__).resolve().parent.parent / "numpy.libs"
    for lib in sorted(libs.glob("libscipy_openblas*")):
        try:
            handle = ctypes.CDLL(str(lib))
        except OSError:
            continue
        for name in ("scipy_openblas_get_corename64_", "scipy_openblas_get_corename", "openblas_get_corename"):
            ask = getattr(handle, name, None)
            if ask is not None:
                ask.restype = ctypes.c_char_p
                return (ask() or b"").decode() or None
    return None


def kernel() -> str:
    """What a run's figures say of their arithmetic: the OpenBLAS kernel it ran, and whether it was pinned."""
    how = "pinned" if os.environ.get("OPENBLAS_CORETYPE") else "the host's choice"
    return f"OpenBLAS kernel {core() or 'unknown'} ({how})"
