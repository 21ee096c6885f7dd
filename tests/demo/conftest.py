"""Fixtures for the demo store tests: a fresh data dir and a TestClient per test."""

from __future__ import annotations

import sqlite3
import warnings
from pathlib import Path
from typing import Iterator

import pytest
from starlette.applications import Starlette

with warnings.catch_warnings():  # "use httpx2": not a dependency of this project
    warnings.filterwarnings("ignore", message=".*httpx2")
    from starlette.testclient import TestClient

from slotwise.demo.app import create_app


@pytest.fixture(scope="session")
def images_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Product images written once for the whole run (writing 54 files per store is slow)."""
    return tmp_path_factory.mktemp("demo-img")


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def app(data_dir: Path, images_dir: Path) -> Starlette:
    return create_app(data_dir, images_dir=images_dir)


@pytest.fixture
def client(app: Starlette) -> Iterator[TestClient]:
    with TestClient(app, base_url="http://shop.test") as c:
        yield c


@pytest.fixture
def db(data_dir: Path, app: Starlette) -> Iterator[sqlite3.Connection]:
    conn = sqlite3.connect(data_dir / "demo.db")
    conn.row_factory = sqlite3.Row
    yield conn
    conn.close()


@pytest.fixture(scope="session")
def shop(tmp_path_factory: pytest.TempPathFactory, images_dir: Path) -> Iterator[TestClient]:
    """One shared store for tests that only read pages (much faster than one per test)."""
    app = create_app(tmp_path_factory.mktemp("shared-demo"), images_dir=images_dir)
    with TestClient(app, base_url="http://shop.test") as c:
        yield c
