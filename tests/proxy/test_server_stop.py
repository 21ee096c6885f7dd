"""A stop (SIGTERM: ``docker stop``, a deploy) drains both servers the same way (README: Stopping).

The real ``python -m slotwise.proxy.server`` under granian and uvicorn, a real origin: an open WebSocket is
closed with 1012 (service restart: reconnect) on both sides, a request in flight is answered whole, one that
never ends (an event stream) is cut at the worker's budget, so its lifespan shutdown runs (it writes out what
it holds) before the kill at ``--stop-timeout``, and the worker's stop listeners
(``worker_signals.when_told_to_stop``: the learning's handover) are told at the signal, not at the lifespan
shutdown after the drain. The worker is seen through a ``sitecustomize`` first on the server's ``PYTHONPATH``
(as tests/edge/test_serve_stop_timeout.py does): it marks when each worker was told and began its shutdown.
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

        stopped = app.ProxyApp.shutdown

        async def shutdown(self):
            (marks / f"shutdown-{os.getpid()}").write_text(repr(time.time()))
            await stopped(self)

        app.ProxyApp.startup, app.ProxyApp.shutdown = startup, shutdown
''')


STOP_TIMEOUT = 8  # a worker's budget: 4 s (Settings.worker_stop_budget)


@pytest.mark.parametrize("server", SERVERS)
def test_a_stop_closes_websockets_with_1012_answers_requests_and_cuts_the_endless_at_the_budget(
        server: str, origin: Any, port_factory: Any, process_runner: Any, tmp_path: Path) -> None:
    hook, marks = tmp_path / "hook", tmp_path / "marks"
    hook.mkdir()
    marks.mkdir()
    (hook / "sitecustomize.py").write_text(MARK_WHEN_TOLD)
    port = port_factory()
    env = {"PYTHONPATH": f"{hook}:{ROOT}", "TOLD_MARKS": str(marks)}
    answered: dict[str, Any] = {}
    first_events: list[threading.Event] = []

    def get(name: str, path: str) -> threading.Thread:
        """The request in a thread; ``first_events`` says when its first event came (it is in flight)."""
        first = threading.Event()
        first_events.append(first)

        def read() -> None:
            body = b""
            try:
                with httpx.stream("GET", f"http://127.0.0.1:{port}{path}", timeout=30) as response:
                    for chunk in response.iter_bytes():
                        body += chunk
                        first.set()
                answered[name] = body
            except httpx.HTTPError as exc:
                answered[name] = exc
            answered[f"{name} at"] = time.time()

        thread = threading.Thread(target=read)
        thread.start()
        return thread

    with proxy_process(process_runner, port, origin.url, server, env=env, stop_timeout=STOP_TIMEOUT,
                       data=tmp_path / "data", log_level="info") as proxy:
        before = len(WS_LOG)
        with connect(f"ws://127.0.0.1:{port}/ws/stop", open_timeout=5) as ws:
            ws.send("here")
            assert ws.recv(timeout=5) == "here"
            requests = [get("brief", "/sse?pause=2"),  # its second event 2 s after its first
                        get("endless", f"/sse?token=never-{server}")]  # its second event never comes
            assert all(first.wait(10) for first in first_events), answered
            assert proxy.proc is not None
            signalled = time.time()
            proxy.proc.send_signal(signal.SIGTERM)
            with pytest.raises(ConnectionClosed) as closed:
                ws.recv(timeout=10)
            for request in requests:
                request.join(20)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1012, closed.value  # a close frame
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and not (len(WS_LOG) > before and WS_LOG[-1]["close"]):
            time.sleep(0.02)
        assert WS_LOG[-1]["close"] == [1012, ""]
        assert answered.get("brief") == b"data: first\n\ndata: second\n\n", answered
        assert isinstance(answered.get("endless"), httpx.HTTPError), answered  # cut, not ended as if whole
        assert 3.5 < answered["endless at"] - signalled < STOP_TIMEOUT - 1, answered
        told = [float(p.read_text()) for p in marks.glob("told-*")]
        assert len(told) == 1 and told[0] < answered["brief at"], (told, answered)  # told while requests ran
        assert proxy.proc.wait(10) == 0, proxy.log()
        assert len(list(marks.glob("shutdown-*"))) == 1, proxy.log()  # its lifespan shutdown ran
        log = proxy.log()
        assert "killing worker" not in log.lower() and "stopping: cancelling 1 request(s) still running" in log, log
