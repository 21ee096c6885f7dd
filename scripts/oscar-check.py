"""The end-to-end check of issue 10 on a real django-oscar shop: run it with `scripts/try-oscar --check`.

try-oscar sets up a fresh shop (its own database, search index and media under
a temporary directory) and calls this with the shop's Python. This starts the
shop and the real Slotwise proxy in front of it (`.venv/bin/slotwise serve
--server uvicorn --workers 1`, a temporary --data directory, the rules in
slotwise/rules/examples/oscar.yaml), then drives Debian's headless Chromium
through Playwright like a shopper would, and prints PASS or FAIL for each
point of the issue's "done when":

1. the home categories re-order (the sidebar tree on /catalogue/);
2. the size is preset from an online purchase;
3. the size is preset from an in-store import (`slotwise import purchases`, keyed by e-mail);
4. recommendations link to in-stock products with their real URLs;
5. the exit popup appears only with a non-empty cart;
6. the report (`slotwise report --format json`) shows rewards for add_to_cart, purchase and margin goals;

plus what the capture rules must get right on the way (a refused add to
basket is not counted; sign-up and logout).

What a visitor *sees* is checked through a signed preview link (`slotwise
preview --force SLOT=VARIANT`), the documented way to look at one variant:
otherwise the bandits and the 10% holdout decide what each visitor gets. A
preview records nothing, so the shopping itself (browsing, baskets, orders,
logins) happens without it, and the preview cookie is only set for the pages
that are looked at. Requests to other hosts (Oscar's jQuery CDN) are blocked:
the check needs no network, and Oscar falls back to its own copy of jQuery.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import traceback
import urllib.request
from pathlib import Path
from typing import Any, Callable, Iterator
from urllib.parse import parse_qs, unquote, urlsplit

ROOT = Path(__file__).resolve().parent.parent
SLOTWISE = ROOT / ".venv" / "bin" / "slotwise"
RULES = ROOT / "slotwise" / "rules" / "examples" / "oscar.yaml"
CHROMIUM = "/usr/bin/chromium"
# as slotwise/tag/testing.py CHROMIUM_ARGS
CHROMIUM_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
# Headless Chromium says "HeadlessChrome", which Slotwise rightly treats as a bot (left alone):
# the browser presents itself as the desktop Chrome it is.
DESKTOP_UA = ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
              "Chrome/140.0.0.0 Safari/537.36")
SHOPPER = ("shopper@example.com", "oscar-demo-1")  # seeded by try-oscar
FORCED = {  # what the preview shows: one personalized variant of each slot
    "home-categories": "recent",
    "size-prefill": "prefill",
    "product-recommendations": "mixed",
    "exit-coupon": "pct10",
}

results: list[tuple[str, bool, str]] = []
timings: list[tuple[float, str]] = []  # Slotwise's own time per page (its Server-Timing), for the summary
BUDGET_MS = 1000  # see main()


def report(point: str, ok: bool, detail: str) -> None:
    results.append((point, ok, detail))
    print(f"{'PASS' if ok else 'FAIL'}  {point}: {detail}", flush=True)


def check(point: str) -> Callable[[Callable[[], str]], Callable[[], None]]:
    """A point: the function returns what it saw (PASS) or raises AssertionError (FAIL)."""
    def wrap(fn: Callable[[], str]) -> Callable[[], None]:
        def run() -> None:
            try:
                report(point, True, fn())
            except AssertionError as exc:
                report(point, False, str(exc))
            except Exception as exc:  # a broken step is a failure of its point, not of the whole check
                report(point, False, f"{type(exc).__name__}: {exc}")
                traceback.print_exc(limit=4)
        return run
    return wrap


# -- processes -----------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, what: str, proc: subprocess.Popen, log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"oscar-check: {what} exited with {proc.returncode}; its log:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"oscar-check: {what} did not answer {url} within {timeout}s; its log:\n{log.read_text()[-3000:]}")


@contextlib.contextmanager
def started(argv: list[str], env: dict[str, str], log: Path, cwd: Path | None = None) -> Iterator[subprocess.Popen]:
    with open(log, "wb") as out:
        proc = subprocess.Popen(argv, env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        yield proc
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)  # its own process group: only what we started
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def slotwise(*args: str, data: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(SLOTWISE), *args, "--data", str(data)], capture_output=True, text=True, timeout=120)


# -- the browser ---------------------------------------------------------------------------

class Shop:
    """The proxy's base URL, the preview token, and a few steps every shopper takes."""

    def __init__(self, browser: Any, base: str, token: str, data: Path) -> None:
        self.browser = browser
        self.base = base
        self.token = token
        self.data = data

    def context(self) -> Any:
        ctx = self.browser.new_context(user_agent=DESKTOP_UA, viewport={"width": 1280, "height": 900})
        host = urlsplit(self.base).netloc
        ctx.route("**/*", lambda route: route.continue_() if urlsplit(route.request.url).netloc == host
                  else route.abort())
        ctx.set_default_timeout(15000)
        return ctx

    def go(self, page: Any, path: str) -> Any:
        response = page.goto(self.base + path)
        assert response is not None and response.status == 200, f"GET {path}: {response and response.status}"
        found = re.search(r"\bsw;dur=([0-9.]+)", response.headers.get("server-timing") or "")
        if found:
            timings.append((float(found.group(1)), path))
        try:  # the tag is in the page (the proxy leaves it out when it failed open)
            page.wait_for_function("window.slotwise && window.slotwise.v === 1", timeout=5000)
        except Exception:
            raise AssertionError(f"Slotwise served {path} without its tag: it failed open (see its log)") from None
        return response

    @contextlib.contextmanager
    def preview(self, ctx: Any) -> Iterator[None]:
        """The preview cookie for the pages looked at inside; none for the shopping outside."""
        ctx.add_cookies([{"name": "sw_preview", "value": self.token, "url": self.base}])
        try:
            yield
        finally:
            ctx.clear_cookies(name="sw_preview")

    def look(self, ctx: Any, page: Any, path: str) -> Any:
        with self.preview(ctx):
            response = self.go(page, path)
            assert response.headers.get("x-slotwise-preview") == "on", f"{path} was not served as a preview"
            return response

    def add_to_basket(self, page: Any, product_path: str) -> str:
        """The product's "Add to basket" button; returns the flash message of the page it lands on."""
        self.go(page, product_path)
        with page.expect_navigation():
            page.click("#add_to_basket_form button[type=submit]")
        page.wait_for_load_state()
        alerts = page.locator("#messages .alert")
        return " / ".join(" ".join(t.split()).lstrip("×").strip() for t in alerts.all_inner_texts())

    def checkout_as_guest(self, page: Any, email: str) -> str:
        """Oscar's guest checkout, step by step; returns the order number."""
        self.go(page, "/checkout/")
        page.fill("#id_username", email)
        page.check("input[name=options][value=anonymous]")
        with page.expect_navigation():
            page.click("form button[type=submit]")
        assert urlsplit(page.url).path == "/checkout/shipping-address/", f"gateway went to {page.url}"
        page.fill("#id_first_name", "Gail")
        page.fill("#id_last_name", "Guest")
        page.fill("#id_line1", "1 Test Street")
        page.fill("#id_line4", "Berlin")
        page.fill("#id_postcode", "10115")
        page.select_option("#id_country", "DE")
        with page.expect_navigation():
            page.click("#new_shipping_address button[type=submit]")
        assert urlsplit(page.url).path == "/checkout/payment-details/", f"shipping address went to {page.url}"
        with page.expect_navigation():
            page.click("#view_preview")
        with page.expect_navigation():
            page.click("#place-order")
        assert urlsplit(page.url).path == "/checkout/thank-you/", f"placing the order went to {page.url}"
        return page.locator("p.lead strong").inner_text().strip()

    def login(self, page: Any, email: str, password: str) -> None:
        self.go(page, "/accounts/login/")
        page.fill("#id_login-username", email)
        page.fill("#id_login-password", password)
        with page.expect_navigation():
            page.click("button[name=login_submit]")
        page.wait_for_load_state()
        assert page.locator("#logout_link").count() == 1, f"not logged in as {email} (at {page.url})"

    def register(self, page: Any, email: str) -> None:
        """Oscar's registration form (it logs the new customer in)."""
        self.go(page, "/accounts/register/")
        page.fill("#id_email", email)
        page.fill("#id_password1", "slotwise-trial-9")
        page.fill("#id_password2", "slotwise-trial-9")
        with page.expect_navigation():
            page.click("#register_form button[type=submit]")
        assert page.locator("#logout_link").count() == 1, f"registering {email} did not log in (at {page.url})"

    def export(self, who: str) -> dict[str, Any]:
        # "--": a visitor id may start with "-" (base64url)
        done = subprocess.run([str(SLOTWISE), "visitor", "export", "--data", str(self.data), "--", who],
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, f"slotwise visitor export {who}: {done.stderr.strip()}"
        return json.loads(done.stdout)


def visitor_id(ctx: Any) -> str:
    value = next((c["value"] for c in ctx.cookies() if c["name"] == "sw_vid"), None)
    assert value, "no sw_vid cookie: Slotwise did not recognise this browser as a visitor"
    return value.split(".")[0]


def sidebar(page: Any) -> list[str]:
    return [" ".join(t.split()) for t in page.locator(".side_categories ul.nav-list > li > a").all_inner_texts()]


def marked_sizes(page: Any) -> list[str]:
    """The variant links Slotwise marked as the visitor's size."""
    return [" ".join(t.split()) for t in page.locator(".product_main a[aria-current=true]").all_inner_texts()]


def leave_through_top(page: Any) -> None:
    """A desktop exit intent: the pointer goes up and out of the window."""
    page.mouse.move(600, 300)
    page.mouse.move(600, 5)
    page.mouse.move(600, -20)


def popup_shown(page: Any) -> bool:
    if page.locator("template[data-sw-popup]").count() == 0:
        leave_through_top(page)
        page.wait_for_timeout(500)
        return page.locator("[role=dialog]").count() > 0
    leave_through_top(page)
    page.locator("[role=dialog]").wait_for(state="visible", timeout=3000)
    return True


def events(export: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [r["data"] for r in export.get("log", []) if r.get("kind") == "event" and r["data"].get("type") == kind]


# -- the points ----------------------------------------------------------------------------

def run(shop: Shop, args: argparse.Namespace) -> None:
    ctx_a, ctx_b, ctx_c, ctx_d, ctx_e, ctx_f, ctx_g = (shop.context() for _ in range(7))
    a, b, c, d, e, f, g = (ctx.new_page() for ctx in (ctx_a, ctx_b, ctx_c, ctx_d, ctx_e, ctx_f, ctx_g))
    state: dict[str, Any] = {}

    @check("1. home categories re-order")
    def home_categories() -> str:
        shop.go(a, "/catalogue/")
        store_order = sidebar(a)
        assert store_order[:4] == ["Clothing", "Shoes", "Books", "Accessories"], f"the store's own order is {store_order}"
        shop.go(a, "/catalogue/category/books_4/")
        shop.go(a, "/catalogue/category/accessories_5/")
        shop.look(ctx_a, a, "/catalogue/")
        order = sidebar(a)
        assert order == ["Accessories", "Books", "Clothing", "Shoes"], (
            f"after browsing Books then Accessories the sidebar reads {order}")
        nested = a.locator(".side_categories ul.nav-list > li:has(> a[href*='clothing_1']) ul a").all_inner_texts()
        assert [t.strip() for t in nested] == ["T-Shirts"], f"T-Shirts is no longer under Clothing: {nested}"
        return f"sidebar {', '.join(store_order)} -> {', '.join(order)} after browsing Books, then Accessories"

    @check("2. size preset from an online purchase")
    def online_size() -> str:
        shop.go(b, "/catalogue/everyday-runner_7/")
        with b.expect_navigation():
            b.click("text=Everyday Runner, size 42")
        assert urlsplit(b.url).path == "/catalogue/everyday-runner-size-42_10/", f"the size link went to {b.url}"
        with shop.preview(ctx_b):  # before the add: no popup (point 5)
            shop.go(b, "/catalogue/")
            state["popup_empty"] = popup_shown(b)
        flash = shop.add_to_basket(b, "/catalogue/everyday-runner-size-42_10/")
        assert "has been added to your basket" in flash, f"add to basket said: {flash!r}"
        shop.look(ctx_b, b, "/catalogue/")
        state["popup_full"] = popup_shown(b)
        state["popup_text"] = " ".join(b.locator("[role=dialog]").inner_text().split()) if state["popup_full"] else ""
        b.keyboard.press("Escape")
        order = shop.checkout_as_guest(b, "gail.guest@example.com")
        state["order"] = order
        shop.go(b, "/catalogue/")  # the mini basket now reads €0.00: the cart is empty again
        basket = " ".join(b.locator(".basket-mini").inner_text().split())
        state["basket_after_order"] = basket
        with shop.preview(ctx_b):
            shop.go(b, "/catalogue/")
            state["popup_after_order"] = popup_shown(b)
        shop.look(ctx_b, b, "/catalogue/everyday-runner_7/")
        marked = marked_sizes(b)
        assert marked == ["Everyday Runner, size 42"], f"after order {order} (size 42) the marked size links are {marked}"
        link = b.locator(".product_main a[aria-current=true]")
        assert "sw-your-size" in (link.get_attribute("class") or ""), "the marked link has not got its class"
        weight = link.evaluate("e => getComputedStyle(e).fontWeight")
        assert int(weight) >= 600, f"the marked link is not bold (font-weight {weight})"
        purchases = events(shop.export(visitor_id(ctx_b)), "purchase")
        assert len(purchases) == 1, f"{len(purchases)} purchases recorded for order {order}"
        return f"guest order {order} of size 42 -> 'Everyday Runner, size 42' marked (aria-current, bold) on the parent page"

    @check("3. size preset from an in-store import")
    def in_store_size() -> str:
        pos = Path(args.dir) / "pos-export.csv"
        with open(pos, "w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh)
            w.writerow(["order_id", "email", "ts", "product", "category", "size", "qty", "price", "channel"])
            w.writerow(["POS-1001", SHOPPER[0], "2026-11-20T15:30:00+01:00", "7", "Shoes", "43", "1", "89.00", "store"])
        done = slotwise("import", "purchases", str(pos), data=shop.data)
        assert done.returncode == 0, f"slotwise import purchases: exit {done.returncode}: {done.stderr.strip()[-300:]}"
        summary = json.loads(done.stdout)
        assert summary.get("loaded") == 1, f"import summary {summary}"
        shop.go(c, "/catalogue/")
        shop.login(c, *SHOPPER)
        shop.look(ctx_c, c, "/catalogue/everyday-runner_7/")
        marked = marked_sizes(c)
        assert marked == ["Everyday Runner, size 43"], f"after the in-store size 43 the marked size links are {marked}"
        # the shopper follows the hint (an add to basket after a size-prefill decision: point 6)
        shop.go(c, "/catalogue/everyday-runner_7/")
        with c.expect_navigation():
            c.click("text=Everyday Runner, size 43")
        flash = shop.add_to_basket(c, urlsplit(c.url).path)
        assert "has been added to your basket" in flash, f"add to basket said: {flash!r}"
        return (f"imported {pos.name} ({summary['loaded']} line, size 43 in store) -> after logging in as "
                f"{SHOPPER[0]}, 'Everyday Runner, size 43' marked")

    @check("4. recommendations link to in-stock products with their real URLs")
    def recommendations() -> str:
        shop.go(d, "/catalogue/")
        listed = {h for h in d.locator("article.product_pod h3 a").evaluate_all("els => els.map(e => e.getAttribute('href'))")}
        assert len(listed) >= 10, f"the catalogue lists {len(listed)} products"
        for path in sorted(listed):  # a shopper browsing the whole catalogue: the sold-out ones too
            shop.go(d, path)
        found = []
        pages = ["/catalogue/everyday-runner_7/", "/catalogue/leather-chelsea-boot_13/"]
        for path in pages:  # a product with sizes, and one without
            shop.look(ctx_d, d, path)
            cards = d.locator(".sw-recommendations + ul article.product_pod")
            here = cards.evaluate_all("""els => els.map(e => ({
                href: e.querySelector('h3 a').getAttribute('href'), name: e.querySelector('h3 a').textContent.trim(),
                price: e.querySelector('.price_color').textContent.trim(), image: (e.querySelector('img') || {}).src}))""")
            assert len(here) >= 2, f"{len(here)} recommendation cards on {path}: {here}"
            found += [dict(card, page=path) for card in here]
        seen = []
        problems = []
        for card in found:
            href = card["href"]
            if href not in listed:
                problems.append(f"{card['name']!r} on {card['page']} links to {href}, not a product the catalogue "
                                "lists (a size's own page)")
                continue
            shop.go(d, href)
            name = " ".join(d.locator(".product_main h1").inner_text().split())
            price = d.locator(".product_main .price_color").inner_text().strip()
            availability = d.locator(".product_main .availability").get_attribute("class") or ""
            if name != card["name"] or price != card["price"]:
                problems.append(f"card {card['name']!r} {card['price']} but {href} is {name!r} {price}")
            if not re.search(r"\b(instock|available)\b", availability):
                problems.append(f"{href} is not in stock ({availability!r})")
            if card["image"]:
                status = d.request.get(card["image"]).status
                if status != 200:
                    problems.append(f"image of {card['name']!r} answers {status}")
            seen.append(f"{card['name']} {href}")
        assert not problems, "; ".join(problems)
        return (f"{len(found)} cards on the Everyday Runner and Chelsea Boot pages, each a listed product in stock, "
                f"its own URL, price and image: " + ", ".join(dict.fromkeys(seen)))

    @check("5. exit popup appears only with a non-empty cart")
    def popup() -> str:
        assert state, "needs point 2's shopper"
        assert state.get("popup_empty") is False, "the popup showed before anything was in the basket"
        assert state.get("popup_full") is True, "no popup on exit intent with an item in the basket"
        assert "1 item in your basket" in state.get("popup_text", ""), f"popup text: {state.get('popup_text')!r}"
        assert "€0.00" in state.get("basket_after_order", ""), f"mini basket after the order: {state.get('basket_after_order')}"
        assert state.get("popup_after_order") is False, "the popup still showed after the order emptied the basket"
        # a customer who has just opened an account, with something in the basket, gets it too
        shop.register(g, "popup.customer@example.com")
        flash = shop.add_to_basket(g, "/catalogue/zip-hoodie_6/")
        assert "has been added to your basket" in flash, f"add to basket said: {flash!r}"
        shop.look(ctx_g, g, "/catalogue/")
        if not popup_shown(g):
            subscribed = shop.export(visitor_id(ctx_g))["profile"].get("subscribed")
            raise AssertionError("a newly registered customer with 1 item in the basket got no popup"
                                 + (" (Slotwise holds them as subscribed to the newsletter)" if subscribed else ""))
        return (f"guest: empty basket none, 1 item '{state['popup_text'][:45]}...', after order {state.get('order')} "
                f"(basket €0.00) none; newly registered customer with 1 item: shown")

    @check("capture: a refused add to basket is not counted")
    def refused_add() -> str:
        size44 = "/catalogue/everyday-runner-size-44_8/"  # 2 in stock
        flashes = [shop.add_to_basket(e, size44) for _ in range(3)]
        assert "has been added" in flashes[0] and "has been added" in flashes[1], f"flash messages: {flashes}"
        assert "maximum of 2" in flashes[2], f"the third add was not refused: {flashes[2]!r}"
        shop.go(e, "/catalogue/")
        adds = events(shop.export(visitor_id(ctx_e)), "add_to_cart")
        assert len(adds) == 2, f"{len(adds)} add_to_cart events recorded for 2 accepted adds and 1 refused"
        return f"3 adds of size 44 (2 in stock): Oscar said '{flashes[2][:45]}' to the third; 2 add_to_cart recorded"

    @check("capture: sign-up and logout")
    def signup_logout() -> str:
        email = "new.customer@example.com"
        shop.go(f, "/catalogue/")
        before = visitor_id(ctx_f)
        shop.register(f, email)
        person = shop.export(email)
        assert before in person["profile"]["anonymous_ids"], f"{email} is not linked to the browser {before}"
        assert events(person, "signup"), "no signup event"
        with f.expect_navigation():
            f.click("#logout_link")
        after = visitor_id(ctx_f)
        assert after != before, "the browser kept its visitor id after logging out"
        return f"registration of {email} linked to this browser; logout gave it a fresh visitor id"

    @check("6. report shows rewards for add_to_cart, purchase and margin goals")
    def report_rewards() -> str:
        done = slotwise("report", "--format", "json", data=shop.data)
        assert done.returncode == 0, f"slotwise report: {done.stderr.strip()[-300:]}"
        slots = json.loads(done.stdout)
        text = slotwise("report", data=shop.data).stdout
        print(re.sub(r"(?m)^", "      | ", text.rstrip()), flush=True)
        seen = []
        for goal in ("add_to_cart", "purchase", "margin"):
            mine = [s for s in slots if s["goal"] == goal]
            assert mine, f"no slot with goal {goal} in the report"
            rewarded = []
            for s in mine:
                for arm in [*s["arms"], *([s["holdout"]] if s.get("holdout") else [])]:
                    if arm["rewarded"] and arm["mean"] > 0:
                        rewarded.append(f"{s['slot']}/{arm['arm']} {arm['rewarded']} rewarded, mean {arm['mean']:g}")
            assert rewarded, f"no reward for goal {goal} ({', '.join(s['slot'] for s in mine)})"
            seen.append(f"{goal}: {'; '.join(rewarded)}")
        return " | ".join(seen)

    for point in (home_categories, online_size, in_store_size, recommendations, popup, refused_add, signup_logout,
                  report_rewards):  # in this order: 5 and 6 use what 2 and 3 did
        point()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--oscar-python", required=True, help="the Python of the shop's virtualenv")
    parser.add_argument("--shop", required=True, help="the shop's project directory (manage.py)")
    parser.add_argument("--dir", required=True, help="the temporary directory (OSCAR_VAR_DIR is its shop/)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = parser.parse_args()
    if not Path(CHROMIUM).exists():
        print(f"oscar-check: Debian's chromium is needed at {CHROMIUM} (scripts/setup --test installs it)", file=sys.stderr)
        return 2
    from playwright.sync_api import sync_playwright

    work = Path(args.dir)
    data = work / "slotwise"
    oscar_port, proxy_port = free_port(), free_port()
    base = f"http://127.0.0.1:{proxy_port}"
    env = {**os.environ, "OSCAR_VAR_DIR": str(work / "shop"), "OSCAR_PORT": str(oscar_port),
           "OSCAR_PUBLIC_URLS": base, "OSCAR_DEBUG": "0"}
    print(f"oscar-check: shop on 127.0.0.1:{oscar_port}, Slotwise on {base}, data in {work}", flush=True)
    try:
        # A generous personalization budget (default 50 ms): this machine also runs the shop and
        # Chromium, and a page over budget is served as the store made it (fail-open), which would
        # fail a point for the machine's load, not the rules. The times are summarised below.
        serve = [str(SLOTWISE), "serve", "--upstream", f"http://127.0.0.1:{oscar_port}", "--public-url", base,
                 "--rules", str(RULES), "--port", str(proxy_port), "--data", str(data),
                 "--server", "uvicorn", "--workers", "1", "--personalize-budget-ms", str(BUDGET_MS)]
        # both start at once (Slotwise asks the shop nothing until a page is asked for): the two
        # start-ups overlap instead of adding up
        with started([args.oscar_python, "manage.py", "runserver", f"127.0.0.1:{oscar_port}", "--noreload"],
                     env, work / "oscar.log", cwd=Path(args.shop)) as oscar, \
                started(serve, dict(os.environ), work / "slotwise.log") as proxy:
            wait_http(f"http://127.0.0.1:{oscar_port}/catalogue/", "the Oscar shop", oscar, work / "oscar.log")
            wait_http(f"{base}/_sw/live", "Slotwise", proxy, work / "slotwise.log")
            forced = [x for slot, variant in FORCED.items() for x in ("--force", f"{slot}={variant}")]
            made = slotwise("preview", f"{base}/", *forced, "--rules", str(RULES), data=data)
            if made.returncode != 0:
                raise SystemExit(f"oscar-check: slotwise preview: exit {made.returncode}: {made.stderr.strip()}")
            token = unquote(parse_qs(urlsplit(made.stdout.strip()).query)["sw_preview"][0])
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                try:
                    run(Shop(browser, base, token, data), args)
                finally:
                    browser.close()
            time.sleep(0.5)
            if timings:
                times = sorted(t for t, _ in timings)
                slow = sorted(timings, reverse=True)[:3]
                over = sum(1 for t in times if t > 50)
                print(f"oscar-check: Slotwise's time per page over {len(times)} pages: median "
                      f"{times[len(times) // 2]:.1f} ms, max {times[-1]:.1f} ms; {over} over the default 50 ms budget"
                      + (f" (slowest: {', '.join(f'{p} {t:.0f} ms' for t, p in slow)})" if over else ""), flush=True)
            warnings = [line for line in (work / "slotwise.log").read_text().splitlines()
                        if "WARNING" in line or "ERROR" in line or "Traceback" in line]
            if warnings:
                print("oscar-check: Slotwise logged:\n  " + "\n  ".join(warnings[:20]), flush=True)
    finally:
        if args.keep:
            print(f"oscar-check: kept {work} (oscar.log, slotwise.log, slotwise/ data, shop/)")
        else:
            shutil.rmtree(work, ignore_errors=True)
    failed = [p for p, ok, _ in results if not ok]
    print(f"oscar-check: {len(results) - len(failed)} of {len(results)} points pass"
          + (f"; FAILED: {', '.join(failed)}" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
