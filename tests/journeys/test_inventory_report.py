"""The journeys are bandit slots like any other: decisions with propensities, rewards by their goal,
and ``slotwise report`` shows each variant and the lift over the holdout (nearby-store here)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import httpx

from slotwise.cli import main

RULES = """
holdout: 0.3
attribution_window: 3s
catalog: {product_pages: "/p/{product}", category_pages: "/c/{category}", feed: /feed.json}
include:
  - %(examples)s/demo-capture.yaml
  - %(examples)s/demo-nearby-store.yaml
"""


def test_the_report_shows_the_journey_slots_variants_and_lift(edge: Any, demo: Any, tmp_path: Path,
                                                              capsys: Any) -> None:
    examples = Path(__file__).resolve().parents[2] / "slotwise" / "rules" / "examples"
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES % {"examples": examples}, encoding="utf-8")
    e = edge(rules=rules)
    (tmp_path / "stock.csv").write_text(httpx.get(demo.url + "/download/catalog.csv").text, encoding="utf-8")
    assert main(["import", "inventory", str(tmp_path / "stock.csv"), "--data", str(e.data), "--quiet"]) == 0
    capsys.readouterr()
    for n in range(40):
        with e.client() as client:
            assert client.post("/stores/choose", data={"store": "Madrid Sol"}).status_code == 303
            page = client.get("/p/104")
            assert "nearby-store=" in page.headers["server-timing"]
            if n % 2:  # half of them buy: every variant and the holdout get rewards to compare
                client.post("/cart/add", data={"product_id": "104", "size": "42", "qty": "1"})
    time.sleep(3.5)  # the attribution windows close
    assert main(["report", "--data", str(e.data), "--format", "json"]) == 0
    (report,) = [r for r in json.loads(capsys.readouterr().out) if r["slot"] == "nearby-store"]
    assert report["goal"] == "add_to_cart"
    assert sorted(a["arm"] for a in report["arms"]) == ["and-elsewhere", "control", "your-store"]
    assert report["holdout"]["decisions"] >= 2 and sum(a["decisions"] for a in report["arms"]) >= 2
    assert report["lift"] is not None and report["lift"]["n_holdout"] == report["holdout"]["decisions"]
    assert main(["report", "--data", str(e.data), "--slot", "nearby-store"]) == 0
    text = capsys.readouterr().out
    assert "holdout (baseline)" in text and "vs holdout" in text and "and-elsewhere" in text
