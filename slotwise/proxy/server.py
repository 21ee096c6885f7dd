"""Running the proxy: granian (default) or uvicorn, N workers, one app per worker.

Protocols (README: Protocols): granian speaks HTTP/1.1, HTTP/2 (h2c with
prior knowledge behind a balancer, h2 over TLS with ``--tls-cert``) and
WebSockets over HTTP/1.1; uvicorn HTTP/1.1 (TLS too) and WebSockets.

Measured on 2 cores (docs/benchmarks.md): granian's per-request CPU is lower
than uvicorn's (uvloop + httptools) for pass-through; both are within noise
once a rewrite dominates. One worker per core. Workers build their app with
``create_app_from_env``, so the settings travel through ``SLOTWISE_*``.

glibc gives ~120 KB buffers back to the OS after each request unless its trim
and mmap thresholds are raised; workers are forked (the environment variables
would come too late), so ``tune_malloc`` calls ``mallopt`` in each worker and
the variables are exported for any process started later.
"""

from __future__ import annotations

import atexit
import ctypes
import ctypes.util
import logging
import math
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from slotwise.logsetup import dict_config

from slotwise.proxy.config import Settings
from slotwise.proxy.operations.orphans import mark_master
from slotwise.proxy.operations.worker_signals import once_per_worker, reset_in_forked_workers

FACTORY = "slotwise.proxy.app:create_app_from_env"
MALLOC_THRESHOLD = 256 * 1024 * 1024
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3

log = logging.getLogger("slotwise.proxy")


def tune_malloc() -> bool:
    """Keep freed buffers in the process (glibc only; a no-op elsewhere or when disabled).

    ``SLOTWISE_MALLOC_TUNE=0`` turns it off (for measuring).
    """
    if os.environ.get("SLOTWISE_MALLOC_TUNE", "1") == "0":
        return False
    name = ctypes.util.find_library("c")
    if not name:
        return False
    try:
        libc = ctypes.CDLL(name)
        ok = libc.mallopt(_M_TRIM_THRESHOLD, MALLOC_THRESHOLD) == 1
        return libc.mallopt(_M_MMAP_THRESHOLD, MALLOC_THRESHOLD) == 1 and ok
    except (OSError, AttributeError):
        return False


def _environment(settings: Settings) -> None:
    os.environ.update(settings.to_env())
    mark_master()  # workers die with this process (orphans.die_with_master)
    if os.environ.get("SLOTWISE_MALLOC_TUNE", "1") != "0":
        os.environ.setdefault("MALLOC_TRIM_THRESHOLD_", str(MALLOC_THRESHOLD))
        os.environ.setdefault("MALLOC_MMAP_THRESHOLD_", str(MALLOC_THRESHOLD))
    if settings.workers > 1 and "PROMETHEUS_MULTIPROC_DIR" not in os.environ:
        # must exist before any worker imports prometheus_client
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = path = tempfile.mkdtemp(prefix="slotwise-metrics-")
        # ours alone, and every start makes a new one: gone when this master exits (workers skip atexit)
        atexit.register(shutil.rmtree, path, ignore_errors=True)


def run(settings: Settings, factory: str = FACTORY) -> None:
    """Serve until interrupted; ``factory`` is "module:function" returning the ASGI app (benchmarks swap it)."""
    _environment(settings)
    if settings.server == "uvicorn":
        import uvicorn

        options: dict[str, Any] = dict(
            factory=True,
            host=settings.host,
            port=settings.port,
            loop="uvloop",
            http="httptools",  # HTTP/1.1 only: uvicorn has no HTTP/2 (settings.validate refuses --http 2)
            ws="websockets-sansio",
            ssl_certfile=settings.tls_cert or None,
            ssl_keyfile=settings.tls_key or None,
            lifespan="on",
            access_log=settings.access_log,
            log_config=dict_config(settings.log_level, access=settings.access_log),  # the one format
            proxy_headers=False,  # X-Forwarded-For trust is ours (settings.trusted_proxies)
            server_header=False,  # the origin's Server header is the one that counts
            date_header=False,  # the origin's Date wins; the proxy adds one only if missing
            log_level=settings.log_level,
            # requests still running at the stop: cancelled past the worker's budget, as its other waits are (the
            # app does so under either server: in_flight.py; this is uvicorn's own, a moment later)
            timeout_graceful_shutdown=settings.worker_stop_budget,
        )
        from slotwise.proxy.operations.worker_stop import BoundedMultiprocess

        # uvicorn.run's own supervisor waits on a worker that does not stop for ever, and runs one worker in this
        # process, where nothing can kill it: one worker or several, under the supervisor that does (worker_stop)
        config = uvicorn.Config(factory, workers=settings.workers, **options)
        BoundedMultiprocess(config, [config.bind_socket()], settings.stop_timeout).run()
        return
    from granian import Granian
    from granian.constants import HTTPModes, Interfaces, Loops, SSLProtocols

    from slotwise.proxy.operations.worker_stop import reap_in_one_thread

    reset_in_forked_workers()  # a SIGTERM while a worker starts must not be swallowed (worker_signals)
    once_per_worker()  # Ctrl+C and the master's SIGTERM at once must not leave a worker running (worker_signals)
    reap_in_one_thread()  # a worker that stopped must not be killed as one that refused to (worker_stop)

    tls: dict[str, object] = {}
    if settings.tls_cert:
        tls = {"ssl_cert": Path(settings.tls_cert), "ssl_key": Path(settings.tls_key),
               "ssl_protocol_min": SSLProtocols.tls12}
    Granian(
        factory,
        address=settings.host,
        port=settings.port,
        interface=Interfaces.ASGI,
        workers=settings.workers,
        factory=True,
        loop=Loops.uvloop,
        http=HTTPModes(settings.http),  # auto: HTTP/1.1, h2c with prior knowledge, h2 by ALPN over TLS
        websockets=True,
        # a worker that dies (kill -9, the OOM killer) is replaced; granian's default stops the whole server
        # and every other worker's requests with it (it still exits on a crash loop: a worker dying again
        # within seconds of its respawn)
        respawn_failed_workers=True,
        # a worker still alive this long after the stop signal is killed, with a warning: one stuck in its
        # shutdown kept serve from ever stopping (worker_stop); granian takes whole seconds, so rounded up
        workers_kill_timeout=math.ceil(settings.stop_timeout),
        log_access=settings.access_log,
        log_access_format='%(addr)s "%(method)s %(path)s %(protocol)s" %(status)d %(dt_ms).1f ms',
        log_level=settings.log_level,  # type: ignore[arg-type]
        log_dictconfig=dict_config(settings.log_level, access=settings.access_log),  # the one format
        **tls,  # type: ignore[arg-type]
    ).serve()


def main() -> None:
    """``python -m slotwise.proxy.server``: run from ``SLOTWISE_*`` (the CLI is the usual entry)."""
    run(Settings.from_env())


if __name__ == "__main__":
    main()
