"""A busy port is refused before anything starts: ``slotwise serve`` and ``slotwise demo``.

The sockets are real: a listener bound with ``SO_REUSEPORT``, as granian binds
its own, is exactly what a second server would have shared the port with.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Iterator

import ports  # tests/ports.py: ports outside the ephemeral range
import pytest

from slotwise.commands.ports import PortBusy, check_port_free

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def busy_port() -> Iterator[int]:
    """A port a granian-like server listens on (``SO_REUSEPORT``, ``SO_REUSEADDR``)."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind(("127.0.0.1", ports.free_port()))
    sock.listen(8)
    try:
        yield int(sock.getsockname()[1])
    finally:
        sock.close()


def _listening(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
        return True
    except OSError:
        return False


def _slotwise(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("SLOTWISE_PORT", None)
    code = "import sys; from slotwise.cli import main; sys.exit(main())"
    return subprocess.run([sys.executable, "-c", code, *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=60)


def test_a_free_port_passes_and_port_zero_is_never_busy() -> None:
    check_port_free("127.0.0.1", ports.free_port())
    check_port_free("127.0.0.1", 0)


def test_a_port_shared_with_reuseport_is_busy(busy_port: int) -> None:
    with pytest.raises(PortBusy, match=rf"port {busy_port} is already in use on 127\.0\.0\.1.*--store-port"):
        check_port_free("127.0.0.1", busy_port, "--store-port")


def test_a_listener_on_every_interface_makes_loopback_busy_too() -> None:
    sock = socket.socket()
    sock.bind(("0.0.0.0", ports.free_port()))
    sock.listen(1)
    try:
        with pytest.raises(PortBusy):
            check_port_free("127.0.0.1", int(sock.getsockname()[1]))
    finally:
        sock.close()


def test_a_port_in_time_wait_is_not_busy() -> None:
    """A server just stopped leaves its port in TIME_WAIT: restarting on it must work."""
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", ports.free_port()))
    server.listen(1)
    port = int(server.getsockname()[1])
    client = socket.create_connection(("127.0.0.1", port))
    accepted, _ = server.accept()
    accepted.close()  # the server side closes first: its end goes to TIME_WAIT
    client.close()
    server.close()
    check_port_free("127.0.0.1", port)


def test_serve_refuses_a_busy_port(busy_port: int, tmp_path: Path) -> None:
    done = _slotwise("serve", "--upstream", "http://127.0.0.1:9", "--port", str(busy_port),
                     "--data", str(tmp_path / "data"), cwd=tmp_path)
    assert done.returncode == 2
    assert f"slotwise serve: port {busy_port} is already in use" in done.stderr
    assert "--port" in done.stderr
    assert not (tmp_path / "data").exists()  # refused before anything was made


def test_demo_refuses_a_busy_proxy_port_before_starting_its_store(busy_port: int, tmp_path: Path) -> None:
    store_port = ports.free_port()
    done = _slotwise("demo", "--port", str(busy_port), "--store-port", str(store_port),
                     "--data", str(tmp_path / "data"), cwd=tmp_path)
    assert done.returncode == 2
    assert f"slotwise demo: port {busy_port} is already in use" in done.stderr and "--port" in done.stderr
    assert not _listening(store_port) and not (tmp_path / "data").exists()


def test_demo_refuses_a_busy_store_port(busy_port: int, tmp_path: Path) -> None:
    proxy_port = ports.free_port()
    done = _slotwise("demo", "--port", str(proxy_port), "--store-port", str(busy_port),
                     "--data", str(tmp_path / "data"), cwd=tmp_path)
    assert done.returncode == 2
    assert f"port {busy_port} is already in use" in done.stderr and "--store-port" in done.stderr
    assert not _listening(proxy_port) and not (tmp_path / "data").exists()


def test_demo_refuses_one_port_for_both(tmp_path: Path) -> None:
    port = ports.free_port()
    done = _slotwise("demo", "--port", str(port), "--store-port", str(port), "--data", str(tmp_path / "d"),
                     cwd=tmp_path)
    assert done.returncode == 2 and "--port and --store-port are both" in done.stderr


def test_python_dash_m_slotwise_is_the_cli(busy_port: int) -> None:
    """``python -m slotwise demo ...`` (a venv whose scripts are not on PATH) runs the same CLI as
    ``slotwise demo ...``: here it refuses the busy port as the script does."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-m", "slotwise", "demo", "--port", str(busy_port), "--store-port",
                           str(ports.free_port())], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode != 0 and "--port" in done.stderr and "No module named" not in done.stderr, done.stderr


@pytest.mark.parametrize("flag, value", [("--port", "99999"), ("--port", "0"), ("--store-port", "70000"),
                                         ("--store-port", "eighty")])
def test_demo_refuses_a_port_that_is_no_port(flag: str, value: str, tmp_path: Path) -> None:
    """``--port 99999`` passed the busy check (the resolver keeps its low 16 bits) and ended in a
    ConfigError traceback; ``--port 0`` too."""
    other = "--store-port" if flag == "--port" else "--port"  # never the default: a fixed port
    done = _slotwise("demo", flag, value, other, str(ports.free_port()), "--data", str(tmp_path / "d"), cwd=tmp_path)
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    assert f"argument {flag}: {value!r} is not a TCP port (1-65535)" in done.stderr
    assert not (tmp_path / "d").exists()


def test_demo_refuses_a_data_directory_it_cannot_keep_its_data_in(tmp_path: Path) -> None:
    """``--data`` naming a file ended in a FileExistsError traceback."""
    (tmp_path / "notes.txt").write_text("not a directory")
    proxy_port, store_port = ports.free_port(), ports.free_port()
    done = _slotwise("demo", "--port", str(proxy_port), "--store-port", str(store_port), "--data", "notes.txt",
                     cwd=tmp_path)
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    assert "slotwise demo: --data notes.txt: cannot keep the demo's data there (a file, not a directory)" in done.stderr
    assert not _listening(store_port) and not _listening(proxy_port)


def test_demo_names_an_invalid_setting_instead_of_a_traceback(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "SLOTWISE_WORKERS": "two"}
    done = subprocess.run([sys.executable, "-m", "slotwise", "demo", "--port", str(ports.free_port()),
                           "--store-port", str(ports.free_port()), "--data", str(tmp_path / "d")],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    assert "slotwise demo: SLOTWISE_WORKERS / --workers: expected int, got 'two'" in done.stderr
