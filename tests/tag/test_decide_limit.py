"""``/_sw/decide`` is rate limited like the events endpoint: per visitor, or per address without a cookie."""

from __future__ import annotations

from typing import Any, Callable


async def decide(request: Any, visitor: str, url: str, extract: Any = None) -> dict[str, Any]:
    return {"decisions": [], "complete": True}


def test_decide_answers_429_with_retry_after_past_the_burst(make_client: Callable[..., Any]) -> None:
    client = make_client(decide=decide, rate=5.0, burst=20.0)
    statuses = [client.get("/_sw/decide", params={"url": "https://shop.test/"}).status_code for _ in range(60)]
    assert statuses[:20] == [200] * 20 and statuses.count(429) >= 35
    limited = client.get("/_sw/decide", params={"url": "https://shop.test/"})
    assert limited.status_code == 429 and int(limited.headers["retry-after"]) >= 1


def test_the_default_limit_stops_a_loop(make_client: Callable[..., Any]) -> None:
    client = make_client(decide=decide)
    statuses = [client.post("/_sw/decide", json={"url": "https://shop.test/"}).status_code for _ in range(400)]
    assert 429 in statuses and statuses.count(200) < 300
