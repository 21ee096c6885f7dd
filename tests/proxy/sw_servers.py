"""The proxy as it runs in production: ``python -m slotwise.proxy.server`` (granian or uvicorn) in a subprocess."""

from __future__ import annotations

import sys
from typing import Any
from agents import DESKTOP_UA  # noqa: E402

SERVERS = ["granian", "uvicorn"]
BROWSER = {"user-agent": DESKTOP_UA}
"""What a browser sends as its user agent: a page asked for with it is personalized (not a bot's)."""


def proxy_process(process_runner: Any, port: int, upstream: str, server: str, env: dict[str, str] | None = None,
                  **settings: Any) -> Any:
    """A context manager: the real server in front of ``upstream``; ``settings`` become ``SLOTWISE_*``, ``env``
    is the rest of its environment (``PYTHONPATH``: the repository's, unless given)."""
    env = {"SLOTWISE_UPSTREAM": upstream, "SLOTWISE_PORT": str(port), "SLOTWISE_SERVER": server,
           "SLOTWISE_LOG_LEVEL": "error", "SLOTWISE_MALLOC_TUNE": "0", **(env or {})}
    env.update({f"SLOTWISE_{k.upper()}": str(v) for k, v in settings.items()})
    return process_runner([sys.executable, "-m", "slotwise.proxy.server"], port, env)
