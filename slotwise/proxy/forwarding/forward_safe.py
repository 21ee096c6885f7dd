"""The one place personalization is allowed to fail.

Every call into the ``Personalizer`` goes through ``SafePersonalizer``: an
exception, or running past ``settings.personalize_budget_ms`` (summed over the
page's calls), turns into "serve the upstream response unchanged". Each
failure increments ``slotwise_fail_open{stage}`` and is logged once per
(stage, slot, reason) so a broken rule does not flood the log. After a
failure the flow is marked and no further personalizer call is made for it.

A page's decisions are logged by the personalizer's ``commit``, called here
only once the rewritten page is certain to go out: ``on_html`` came back
within the budget and the caller's ``check`` (a streamed page: nothing sent
was edited) accepts it. The commit is the point of no return: the budget can
still cut it while it waits (the write has not happened: fail open, nothing
logged), but a write that completes is kept, even late — its decisions are in
the log, so the page that shows them goes out. A decision is logged if and
only if its page goes out personalized.
"""

from __future__ import annotations

import logging
import time
from typing import Awaitable, Callable, TypeVar

from slotwise.proxy.forwarding.deadline import deadline
from slotwise.proxy.forwarding.documents import fragment_request
from slotwise.proxy.forwarding.freshness_cap import capped
from slotwise.proxy.forwarding.headers import Headers, unshared
from slotwise.proxy.flow import Flow, NullPersonalizer, PersonalizationError, Personalizer
from slotwise.proxy.operations.metrics import count_fail_open, observe_rewrite

log = logging.getLogger("slotwise.proxy")
T = TypeVar("T")

_FAILED = "sw_failed"
_SPENT = "sw_spent_ms"
BUDGET_EXEMPT = "sw_budget_exempt"
"""Set by the personalizer on a preview: the page is the marketer's, it logs nothing, and running past
the budget is said in the preview bar (visitors get the store's page) rather than failed open here."""
_LOGGED_MAX = 10_000  # bound the "already logged" set against unbounded distinct reasons


class SafePersonalizer:
    def __init__(self, personalizer: Personalizer, budget_ms: float) -> None:
        self.inner = personalizer
        self.budget_ms = budget_ms
        self._logged: set[tuple[str, str | None, str]] = set()

    def passes_through(self) -> bool:
        """True when the personalizer touches no forwarded request (none, or ``serve`` without rules).

        Optional in the protocol; asked once. A failing answer is "no": every request then goes
        through the personalizer's fail-open calls as usual.
        """
        if isinstance(self.inner, NullPersonalizer):
            return True
        ask = getattr(self.inner, "passes_through", None)
        try:
            return ask is not None and ask() is True
        except Exception:  # noqa: BLE001 — fail-open boundary
            log.warning("%s.passes_through failed; personalizing as usual", type(self.inner).__name__, exc_info=True)
            return False

    @staticmethod
    def failed(flow: Flow) -> bool:
        return bool(flow.state.get(_FAILED))

    def fail(self, flow: Flow, stage: str, exc: BaseException) -> None:
        """Record a fail-open: mark the flow, count it, log it once per reason."""
        flow.state[_FAILED] = stage
        if isinstance(exc, PersonalizationError):
            stage, slot, reason = exc.stage, exc.slot, exc.reason
        else:
            slot, reason = None, f"{type(exc).__name__}: {exc}"
        count_fail_open(stage)
        key = (stage, slot, reason[:200])
        if key not in self._logged:
            if len(self._logged) < _LOGGED_MAX:
                self._logged.add(key)
            log.warning(
                "personalization failed open at %s%s: %s (%s)",
                stage, f" slot={slot}" if slot else "", reason, flow.path, exc_info=not isinstance(exc, (PersonalizationError, TimeoutError)),
            )

    async def _call(self, flow: Flow, stage: str, fn: Callable[[], Awaitable[T]]) -> tuple[bool, T | None]:
        if self.failed(flow):
            return False, None
        left = self.budget_ms - flow.state.get(_SPENT, 0.0)
        if flow.state.get(BUDGET_EXEMPT):
            left = max(left, 60_000.0)  # the personalizer itself reports running past the budget
        start = time.perf_counter()
        try:
            if left <= 0:
                raise TimeoutError(f"personalization budget of {self.budget_ms:g} ms used up")
            with deadline(left / 1000.0):
                result = await fn()
            spent = (time.perf_counter() - start) * 1000.0
            if spent > left and not flow.state.get(BUDGET_EXEMPT):  # CPU-bound work cannot be interrupted;
                # its result is late all the same
                raise TimeoutError(f"personalization budget of {self.budget_ms:g} ms exceeded")
        except Exception as exc:  # noqa: BLE001 — this is the fail-open boundary
            flow.state[_SPENT] = flow.state.get(_SPENT, 0.0) + (time.perf_counter() - start) * 1000.0
            self.fail(flow, stage, exc)
            return False, None
        flow.state[_SPENT] = flow.state.get(_SPENT, 0.0) + spent
        flow.timings[stage] = spent
        return True, result

    async def on_request(self, flow: Flow) -> None:
        await self._call(flow, "request", lambda: self.inner.on_request(flow))

    async def on_response(self, flow: Flow) -> None:
        """Outside the page budget (it runs on form posts, not pages), but fail-open all the same."""
        if self.failed(flow):
            return
        try:
            await self.inner.on_response(flow)
        except Exception as exc:  # noqa: BLE001 — fail-open boundary
            self.fail(flow, "response", exc)

    def wants_body(self, flow: Flow) -> bool:
        if self.failed(flow):
            return False
        try:
            return bool(self.inner.wants_body(flow))
        except Exception as exc:  # noqa: BLE001 — fail-open boundary
            self.fail(flow, "wants_body", exc)
            return False

    def may_change(self, flow: Flow) -> bool:
        """Could this request's page go out changed, were the store to answer it with one (a 200)? Asked
        before the request leaves, only for one with the visitor's validators (``conditional``): if not,
        the store's 304 may answer it. ``wants_body`` as for that 200, and some slot's pages match it
        (``edit_selectors``: none, no slot could touch it; unknown counts as yes)."""
        status, flow.status = flow.status, 200
        try:
            if not self.wants_body(flow):
                return False
        finally:
            flow.status = status
        selectors = self.edit_selectors(flow)
        return selectors is None or len(selectors) > 0

    def edit_selectors(self, flow: Flow) -> list[str] | None:
        """The selectors whose elements ``on_html`` may edit on this page; None: unknown (do not stream).

        Optional in the protocol: a personalizer without it has its pages held whole.
        """
        ask = getattr(self.inner, "edit_selectors", None)
        if ask is None or self.failed(flow):
            return None
        try:
            selectors = ask(flow)
            return None if selectors is None else [str(s) for s in selectors]
        except Exception as exc:  # noqa: BLE001 — fail-open boundary
            self.fail(flow, "edit_selectors", exc)
            return None

    def html_cache_allowed(self, flow: Flow) -> bool:
        """May this request be served from (and fill) the upstream HTML cache? Not when logged in.

        Optional in the protocol: without it, a request with ``Authorization``
        may not; a failing answer is "no" (uncached is always safe).
        """
        ask = getattr(self.inner, "html_cache_allowed", None)
        if self.failed(flow):
            return False
        if ask is None:
            return flow.header("authorization") is None
        try:
            return bool(ask(flow))
        except Exception as exc:  # noqa: BLE001 — fail-open boundary
            self.fail(flow, "html_cache", exc)
            return False

    def capped(self, flow: Flow, headers: Headers) -> Headers:
        """``headers`` of a page that keeps the store's caching, its freshness ending at the rules' next
        edge on this page (a window's, a turn of the clock a ``when`` reads) (the personalizer's optional ``fresh_for``); unchanged if that fails."""
        ask = getattr(self.inner, "fresh_for", None)
        if ask is None:
            return headers
        try:
            seconds = ask(flow)
            return headers if seconds is None else capped(headers, seconds)
        except Exception as exc:  # noqa: BLE001 — fail-open boundary
            self.fail(flow, "fresh_for", exc)
            return headers

    def bot_page(self, flow: Flow, headers: Headers) -> Headers:
        """``headers`` of a bot's page, which goes out as the store's (no tag, no decision): its caching capped
        (``capped``), and, where a person's request gets the page tagged or personalized (a GET document
        answered 200), kept by no shared cache: a CDN in front would hand the bot's copy,
        untagged, to the people after it. A person's page the same for everyone keeps the store's caching:
        a CDN may give that copy to bots, which is harmless."""
        headers = self.capped(flow, headers)
        if flow.is_bot and flow.method == "GET" and flow.status == 200 and fragment_request(flow) is None:
            return unshared(headers)  # (``is_bot`` is the personalizer's word: never set when it passes through)
        return headers

    def on_stream(self, flow: Flow) -> None:
        """The head of a streamed page leaves now: the personalizer adds what it already knows (a cookie)."""
        hook = getattr(self.inner, "on_stream", None)
        if hook is None or self.failed(flow):
            return
        try:
            hook(flow)
        except Exception as exc:  # noqa: BLE001 — fail-open boundary
            self.fail(flow, "stream", exc)

    async def on_html(self, flow: Flow, html: bytes,
                      check: Callable[[bytes], None] | None = None) -> bytes | None:
        """The rewritten page, or None (serve the original). ``check`` raises when the caller
        cannot send this result (a ``PersonalizationError``); then nothing is committed."""
        start = time.perf_counter()
        ok, result = await self._call(flow, "html", lambda: self.inner.on_html(flow, html))
        observe_rewrite(time.perf_counter() - start)
        if not ok or result is None:
            return None
        if not isinstance(result, (bytes, bytearray)):
            self.fail(flow, "html", TypeError(f"on_html returned {type(result).__name__}, not bytes"))
            return None
        body = bytes(result)
        if check is not None:
            try:
                check(body)
            except Exception as exc:  # noqa: BLE001 — fail-open boundary
                self.fail(flow, "html", exc)
                return None
        return body if await self._commit(flow) else None

    async def _commit(self, flow: Flow) -> bool:
        """Log what the page shows (the personalizer's optional ``commit``); False: fail open.

        Within what is left of the budget, cut only while it waits (see the module docstring):
        no late-result check here, since a completed write is in the log and its page must go out.
        """
        commit = getattr(self.inner, "commit", None)
        if commit is None:
            return True
        pending = getattr(self.inner, "commit_pending", None)  # optional: "nothing to log" skips the call
        if pending is not None and not self._pending(flow, pending):
            return True
        left = self.budget_ms - flow.state.get(_SPENT, 0.0)
        start = time.perf_counter()
        try:
            if flow.state.get(BUDGET_EXEMPT):  # a preview: it logs nothing and is never cut on time
                await commit(flow)
            else:
                if left <= 0:
                    raise TimeoutError(f"personalization budget of {self.budget_ms:g} ms used up before logging decisions")
                with deadline(left / 1000.0):
                    await commit(flow)
        except Exception as exc:  # noqa: BLE001 — this is the fail-open boundary
            self.fail(flow, "commit", exc)
            return False
        finally:
            spent = (time.perf_counter() - start) * 1000.0
            flow.state[_SPENT] = flow.state.get(_SPENT, 0.0) + spent
            flow.timings["commit"] = spent
        return True

    def _pending(self, flow: Flow, pending: Callable[[Flow], bool]) -> bool:
        """Whether the personalizer's ``commit`` has anything to log for this page; when it says no (a
        returning visitor's sticky choices: most pages), neither the call nor its deadline is made. An
        answer that fails counts as yes: the commit then runs, and fails open as ever."""
        try:
            return bool(pending(flow))
        except Exception:  # noqa: BLE001 — asked in the fail-open boundary: commit decides
            return True

    async def startup(self) -> None:
        await self.inner.startup()

    async def shutdown(self) -> None:
        await self.inner.shutdown()
