"""A stop (SIGTERM: ``docker stop``, a deploy) drains both servers the same way (README: Stopping).

The real ``python -m slotwise.proxy.server`` under granian and uvicorn, a real origin: an open WebSocket is
closed with 1012 (service restart: reconnect) on both sides, a request in flight is answered whole, and the
worker's stop listeners (``worker_signals.when_told_to_stop``: the learning's handover) are told at the signal,
not at the lifespan shutdown after the drain. The listener is seen through a ``sitecustomize`` first on the
server's ``PYTHONPATH`` (as tests/edge/test_serve_stop_timeout.py does): it marks the time each worker was told.
"""

from __future__ import annotations

import signal
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from sw_servers import SERVERS, proxy_process
from sw_upstreams import WS_LOG
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

ROOT = Path(__file__).resolve().parents[2]

MARK_WHEN_TOLD = textwrap.dedent('''
    import os

    if os.environ.get("TOLD_MARKS"):
        import pathlib
        import time

        from slotwise.proxy import app
        from slotwise.proxy.operations.worker_signals import when_told_to_stop

        marks = pathlib.Path(os.environ["TOLD_MARKS"])
        started = app.ProxyApp.startup

        async def startup(self):
            await started(self)
            when_told_to_stop(lambda: (marks / f"told-{os.getpid()}").write_text(repr(time.time())))

        app.ProxyApp.startup = startup
''')


@pytest.mark.parametrize("server", SERVERS)
def test_a_stop_closes_websockets_with_1012_both_ways_and_answers_requests_in_flight(
        server: str, origin: Any, port_factory: Any, process_runner: Any, tmp_path: Path) -> None:
    hook, marks = tmp_path / "hook", tmp_path / "marks"
    hook.mkdir()
    marks.mkdir()
    (hook / "sitecustomize.py").write_text(MARK_WHEN_TOLD)
    port = port_factory()
    env = {"PYTHONPATH": f"{hook}:{ROOT}", "TOLD_MARKS": str(marks)}
    with proxy_process(process_runner, port, origin.url, server, env=env, stop_timeout=10,
                       data=tmp_path / "data") as proxy:
        before = len(WS_LOG)
        with connect(f"ws://127.0.0.1:{port}/ws/stop", open_timeout=5) as ws:
            ws.send("here")
            assert ws.recv(timeout=5) == "here"
            answered: dict[str, Any] = {}

            def in_flight() -> None:  # the origin's second event comes 2 s after its first
                with httpx.stream("GET", f"http://127.0.0.1:{port}/sse?pause=2", timeout=20) as response:
                    answered["body"] = response.read()
                answered["at"] = time.time()

            request = threading.Thread(target=in_flight)
            request.start()
            time.sleep(0.5)
            assert proxy.proc is not None
            proxy.proc.send_signal(signal.SIGTERM)
            with pytest.raises(ConnectionClosed) as closed:
                ws.recv(timeout=10)
            request.join(20)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1012, closed.value  # a close frame
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and not (len(WS_LOG) > before and WS_LOG[-1]["close"]):
            time.sleep(0.02)
        assert WS_LOG[-1]["close"] == [1012, ""]
        assert answered.get("body") == b"data: first\n\ndata: second\n\n", answered
        told = [float(p.read_text()) for p in marks.glob("told-*")]
        assert len(told) == 1 and told[0] < answered["at"], (told, answered)  # told while the request still ran
        assert proxy.proc.wait(10) == 0, proxy.log()
