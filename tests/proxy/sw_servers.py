"""The proxy as it runs in production: ``python -m slotwise.proxy.server`` (granian or uvicorn) in a subprocess."""

from __future__ import annotations

import sys
from typing import Any

SERVERS = ["granian", "uvicorn"]
BROWSER = {"user-agent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/140.0 Safari/537.36"}
"""What a browser sends as its user agent: a page asked for with it is personalized (not a bot's)."""


def proxy_process(process_runner: Any, port: int, upstream: str, server: str, **settings: Any) -> Any:
    """A context manager: the real server in front of ``upstream``; ``settings`` become ``SLOTWISE_*``."""
    env = {"SLOTWISE_UPSTREAM": upstream, "SLOTWISE_PORT": str(port), "SLOTWISE_SERVER": server,
           "SLOTWISE_LOG_LEVEL": "error", "SLOTWISE_MALLOC_TUNE": "0"}
    env.update({f"SLOTWISE_{k.upper()}": str(v) for k, v in settings.items()})
    return process_runner([sys.executable, "-m", "slotwise.proxy.server"], port, env)
