"""HTTP details the proxy's tests rely on: validators, 304, 206, feed, streamed CSV."""

from __future__ import annotations

import csv
import io

import pytest
from starlette.testclient import TestClient

from slotwise.demo.catalog import load_catalog

STATIC_PATHS = ["/static/style.css", "/static/img/101.svg"]


@pytest.mark.parametrize("path", STATIC_PATHS)
def test_static_validators_and_304(shop: TestClient, path: str) -> None:
    first = shop.get(path)
    assert first.status_code == 200 and first.content
    etag, last_modified = first.headers["etag"], first.headers["last-modified"]
    assert first.headers["accept-ranges"] == "bytes"
    assert "set-cookie" not in first.headers

    by_etag = shop.get(path, headers={"if-none-match": etag})
    assert by_etag.status_code == 304 and by_etag.content == b"" and by_etag.headers["etag"] == etag
    by_date = shop.get(path, headers={"if-modified-since": last_modified})
    assert by_date.status_code == 304
    changed = shop.get(path, headers={"if-none-match": '"something-else"'})
    assert changed.status_code == 200 and changed.content == first.content


@pytest.mark.parametrize("path", STATIC_PATHS)
def test_static_range_206(shop: TestClient, path: str) -> None:
    full = shop.get(path).content
    part = shop.get(path, headers={"range": "bytes=10-49"})
    assert part.status_code == 206
    assert part.content == full[10:50]
    assert part.headers["content-range"] == f"bytes 10-49/{len(full)}"
    suffix = shop.get(path, headers={"range": "bytes=-20"})
    assert suffix.status_code == 206 and suffix.content == full[-20:]
    beyond = shop.get(path, headers={"range": f"bytes={len(full) + 10}-"})
    assert beyond.status_code == 416


def test_image_is_an_svg_of_the_product(shop: TestClient) -> None:
    response = shop.get("/static/img/301.svg")
    assert response.headers["content-type"] == "image/svg+xml"
    assert "Essential Crew Tee" in response.text and response.text.startswith("<svg")
    assert shop.get("/static/img/nope.svg").status_code == 404


def test_feed_json(shop: TestClient) -> None:
    response = shop.get("/feed.json")
    assert response.headers["content-type"] == "application/json"
    products = response.json()["products"]
    catalog = load_catalog()
    assert [p["id"] for p in products] == [p.id for p in catalog.products]
    keys = {"id", "name", "category", "category_slug", "price", "currency", "image", "url", "in_stock", "sizes"}
    assert all(keys <= set(p) for p in products)
    first = products[0]
    assert first["url"] == "http://shop.test/p/101" and first["image"] == "http://shop.test/static/img/101.svg"
    assert first["price"] == 129.95 and first["currency"] == "EUR" and first["category_slug"] == "running-shoes"
    assert first["sizes"] == [str(n) for n in range(38, 47)]
    assert "38" not in first["sizes_available"]
    assert sum(not p["in_stock"] for p in products) == sum(not p.in_stock for p in catalog.products) >= 2


def test_catalog_csv_is_streamed_and_about_a_megabyte(shop: TestClient) -> None:
    with shop.stream("GET", "/download/catalog.csv") as response:
        assert response.status_code == 200
        assert response.headers["content-type"] == "text/csv; charset=utf-8"
        assert "content-length" not in response.headers  # streamed, not buffered
        assert "attachment" in response.headers["content-disposition"]
        chunks = list(response.iter_raw())
    body = b"".join(chunks)
    assert 900_000 < len(body) < 2_000_000
    rows = list(csv.reader(io.StringIO(body.decode("utf-8"))))
    assert rows[0][:3] == ["sku", "product_id", "name"]
    catalog = load_catalog()
    assert {r[1] for r in rows[1:]} == {p.id for p in catalog.products}
    sold_out = [r for r in rows[1:] if r[1] == "101" and r[6] == "38"]
    assert sold_out and all(r[8] == "0" for r in sold_out)


def test_head_requests(shop: TestClient) -> None:
    head = shop.head("/p/101")
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-type"] == "text/html; charset=utf-8"
