"""``bench.proxy.served_profile`` names a sample by its innermost frame a family rule knows; waits are idle."""

from __future__ import annotations

from pathlib import Path

from bench.proxy.served_profile import family, read_raw

LOOP = "thread (1): MainThread"
ROOT = "_spawn_asgi_lifespan_worker (granian/server/mp.py:249)"
ON_HTML = "SlotwisePersonalizer.on_html (slotwise/proxy/personalization/personalize.py:340)"


def test_the_innermost_known_frame_names_the_sample() -> None:
    render = [ROOT, "Forwarder.forward (slotwise/proxy/forwarding/forward_http.py:1)", ON_HTML,
              "Slot.render (slotwise/rules/ruleset.py:1)", "CachedTemplate.render (slotwise/rules/render_cache.py:1)",
              "Template.render (jinja2/environment.py:1)", "<genexpr> (json/encoder.py:1)"]
    assert family(render) == "render"  # json's frame is nobody's: the template under the slot is
    assert family([ROOT, ON_HTML, "PageViewRecorder.record (slotwise/proxy/personalization/pageviews.py:1)",
                   "Database.query (slotwise/store/sqlite/db.py:1)"]) == "profile read"
    assert family([ROOT, ON_HTML]) == "personalizer (rest of on_html)"
    assert family([ROOT, "Upstream.send (slotwise/proxy/forwarding/upstream.py:1)",
                   "ClientSession._request (aiohttp/client.py:1)"]) == "forwarding (client to origin)"
    assert family([ROOT, "timeout (asyncio/timeouts.py:1)"]) == "event loop"
    assert family([ROOT, "main (other/thing.py:1)"]) == "server and ASGI (app, send path)"  # granian's frame
    assert family(["main (other/thing.py:1)"]) == "other"


def test_waiting_frames_are_idle_and_threads_are_told_apart(tmp_path: Path) -> None:
    assert family([ROOT]) == "idle"  # the loop polling: only its root frame
    assert family(["_worker (concurrent/futures/thread.py:81)"]) == "idle"
    raw = tmp_path / "spy.txt"
    raw.write_text(
        f"{LOOP};{ROOT};{ON_HTML} 7\n"
        f"{LOOP};{ROOT} 3\n"
        "thread (2): sw-profile-writer;run (threading.py:1);Condition.wait (threading.py:327) 5\n"
        "thread (3): sw-page_0;_worker (concurrent/futures/thread.py:81) 4\n"
        "thread (4) 9\n"  # the server's own thread, no Python frames
    )
    samples = read_raw(raw)
    assert samples["event loop"] == {"personalizer (rest of on_html)": 7, "idle": 3}
    assert samples["profile writer"] == {"idle": 5} and samples["page-work pool"] == {"idle": 4}
    assert set(samples) == {"event loop", "profile writer", "page-work pool"}


def test_an_event_loop_sample_goes_to_its_innermost_step(tmp_path: Path) -> None:
    from bench.proxy.served_profile import OUTSIDE, read_steps, step_of

    serve = "CachedPages._serve (slotwise/proxy/forwarding/forward_cached.py:1)"
    decide = "SlotwisePersonalizer._decide_step (slotwise/proxy/personalization/personalize.py:1)"
    render = "Slot.render (slotwise/rules/ruleset.py:1)"
    assert step_of([ROOT, serve, ON_HTML, decide, render, "Template.render (jinja2/environment.py:1)"]) == "rules: render"
    assert step_of([ROOT, serve, ON_HTML, decide]) == "personalizer, the rest (on_html, the decide loop)"
    assert step_of([ROOT, serve, "HtmlCache.lookup (slotwise/proxy/forwarding/html_cache.py:1)"]).startswith("HTML cache")
    assert step_of([ROOT, serve]) == "fail-open wrapper, the HTML path's headers"
    assert step_of([ROOT, "main (other/thing.py:1)"]) == OUTSIDE
    raw = tmp_path / "spy.txt"
    raw.write_text(f"{LOOP};{ROOT};{serve};{ON_HTML};{decide};{render} 6\n"
                   f"{LOOP};{ROOT} 3\n"  # idle: the loop polling
                   "thread (2): sw-profile-writer;run (threading.py:1);Slot.render (slotwise/rules/ruleset.py:1) 5\n")
    assert read_steps([raw]) == {"rules: render": 6}  # the loop's busy samples only


def test_an_uncacheable_pages_forwarding_has_steps_of_its_own() -> None:
    from bench.proxy.served_profile import step_of

    forward = "CachedPages.forward (slotwise/proxy/forwarding/forward_cached.py:1)"
    fetch = "CachedPages._fetch (slotwise/proxy/forwarding/forward_cached.py:1)"
    send = "Upstream.send (slotwise/proxy/forwarding/upstream.py:1)"
    client = step_of([ROOT, forward, fetch, send, "ClientSession._request (aiohttp/client.py:1)"])
    assert client.startswith("client to the origin")
    assert step_of([ROOT, forward, fetch, send]) == client
    assert step_of([ROOT, "ResponseHandler.data_received (aiohttp/client_proto.py:1)"]) == client  # a loop callback
    assert step_of([ROOT, "_Conn.data_received (slotwise/proxy/forwarding/plain_get.py:1)"]) == client
    assert step_of([ROOT, forward, fetch]).startswith("HTML cache on a miss")
    page = "_Page.run (slotwise/proxy/forwarding/forward_html.py:1)"
    assert step_of([ROOT, forward, fetch, page]).startswith("HTML path")
    assert step_of([ROOT, forward, fetch, page, "decode (slotwise/proxy/forwarding/encoding.py:1)"]).startswith("HTML path")
    assert step_of([ROOT, forward, fetch, page, ON_HTML]).startswith("personalizer, the rest")
    assert step_of([ROOT, "decode (msgspec/json.py:1)"]) != step_of([ROOT, page])
