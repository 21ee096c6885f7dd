"""The tag's script: ``tag.js`` with the rules' tag config baked in, served hashed and immutable.

``/_sw/tag.<hash>.js`` is cached for a year: its name is the hash of the
script *and* the config, so a rules change gives pages a new URL.
``/_sw/tag.js`` (what the tag-only snippet loads) is the current script,
cached five minutes. Both are gzip-compressed for clients that accept it.

``embed_snippet`` prints the one line a tag-only store puts first in its
``<head>`` (docs/tag.md, "Tag-only mode").
"""

from __future__ import annotations

import gzip
import hashlib
import html
import json
import re
from collections import OrderedDict
from dataclasses import dataclass
from functools import lru_cache
from importlib.resources import files
from typing import Any, Callable, Mapping

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

PREFIX = "/_sw"
IMMUTABLE = "public, max-age=31536000, immutable"
SHORT = "public, max-age=300"
CONFIG_MARK = "/*SW_CONFIG*/{}"
WINDOW_STARTS = ("snippet", "navigation")

_TRAILING_COMMENT = re.compile(r"[;{},)][ \t]+//[ \t]")
_HEADER_COMMENT = re.compile(r"\A\s*/\*.*?\*/\s*", re.DOTALL)


def compact(source: str) -> str:
    """Drops the header comment, indentation, blank lines and ``//`` comments (whole-line,
    or after code ending in ``; { } , )``): the source stays readable, the wire copy small.
    Not a minifier: tag.js is written so that this is safe (no multi-line strings)."""
    lines = (line.strip() for line in _HEADER_COMMENT.sub("", source).splitlines())
    return "\n".join(_code_of(line) for line in lines if line and not line.startswith("//")) + "\n"


def _code_of(line: str) -> str:
    """``line`` without its trailing ``//`` comment: the first `` // `` after ``; { } , )`` whose code before
    it closes every quote it opens (a ``//`` inside a string is never taken for a comment; a line whose
    quotes cannot be told, a regex literal holding one, keeps its comment: bytes, never a broken tag)."""
    for found in _TRAILING_COMMENT.finditer(line):
        code = line[:found.start() + 1]
        if _quotes_closed(code):
            return code
    return line


def _quotes_closed(code: str) -> bool:
    """Whether ``code`` ends outside any string: each ``'``, ``"`` and backtick it opens, closed (escapes seen)."""
    inside: str | None = None
    escaped = False
    for char in code:
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = inside is not None
        elif inside is None and char in "'\"`":
            inside = char
        elif char == inside:
            inside = None
    return inside is None


def script_json(value: Any) -> str:
    """JSON safe inside a ``<script>`` and a JS expression (no ``</script>``, U+2028/9)."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    for char, escaped in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"), ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(char, escaped)
    return text


@dataclass(frozen=True)
class TagBundle:
    """One servable tag: source, its gzip, and the hash in its URL."""

    source: bytes
    compressed: bytes
    digest: str


VARIANTS = ("full", "proxy", "late", "spa", "answer", "soft")
REGIONS = ("tag-only", "apply", "requests", "wait", "cookies", "scripts", "shared", "nav", "soft", "spa", "plug", "answer",
           "body", "load")
"""Regions of tag.js between ``// @<name>`` and ``// @end`` (not nested): ``tag-only`` and ``apply`` (applying
decisions in the browser) are left out of the tag the proxy injects; ``requests`` (observing the page's own
requests) is in the tag only when its config has ``requests`` (tag-only mode, rules with ``request`` sources),
``wait`` (watching for elements the store's script renders late) only when it has ``wait`` (a slot with
``wait``), ``cookies`` (reading ``document.cookie``) only when it has ``cookies`` (a field the tag reads is a
cookie: in the tag the proxy injects, a click or submit trigger's), ``scripts`` (reading a script's global or an
element's JSON, ``rules.script_data``) only when it has ``scripts``: most stores pay for none. ``nav`` (noticing
a single-page storefront's soft navigations) is in the full tag and the one the proxy injects when the config has
``nav`` (the rules' ``capture.soft_navigations``, on by default); neither follows them: ``soft`` (reading, deciding
and applying the page a soft navigation shows, and following the navigations ``nav`` queued while it loaded: one
queue for both modes, on the tag's private handle) is in the script the first one loads, behind the proxy the
``spa`` tag (with ``spa``, its taking over of the page's tag), tag-only the ``soft`` script, which plugs into the
full tag (``plug``, in the full tag with ``nav``: a navigation there drops the first page's pending decisions; the
handle carries what the script uses of the tag, ``PLUG``). ``answer`` (loading the
``answer`` script) is in the full tag only when the config has ``answer`` (tag-only mode, ``capture.cart`` read from
a JSON answer); ``body`` (reading that answer) only in that script. ``load`` (adding one of the tag's own scripts to
the page) is in a tag that loads one (``LOADS``). ``shared`` is in every tag."""
OPTIONAL = ("requests", "wait", "cookies", "scripts", "nav", "plug", "answer", "load")  # in the full tag only when its config names them
PROXY_OPTIONAL = ("cookies", "scripts", "nav", "load")  # in the tag the proxy injects only when its config names them
LOADS = {"full": ("answer", "nav"), "proxy": ("nav",)}  # the config keys for which a variant loads a script (``load``)
FULL_LEAVES_OUT = ("body", "soft", "spa")  # the full tag notices soft navigations; the soft script it loads follows them
SPA_LEAVES_OUT = ("requests", "nav", "plug", "answer", "body")
"""The ``spa`` variant: the full tag a proxied page's tag loads at its first soft navigation (``data-nav``), which
then reads, decides and applies each page the router shows (the proxy never sees them): never the observer of
requests (the proxy sees them) nor the noticing of navigations (the page's tag does it); always the watcher."""
PROXY_LEAVES_OUT = ("tag-only", "apply", "requests", "wait", "soft", "spa", "plug", "answer", "body")
LATE_REGIONS = ("shared", "apply", "wait")
"""The ``late`` variant: the script the proxy adds to a page whose decisions wait for an element the store's
script renders (``late.js``), made of these regions of tag.js, in their order there: one ``apply`` and one
watcher for both modes, never a second copy."""
ANSWER_REGIONS = ("shared", "scripts", "requests", "body")
"""The ``answer`` variant: the script the tag-only tag loads when its rules read ``capture.cart`` from the JSON
answer to a request (``answer.js``), made of these regions: the same observer of the page's requests as the full
tag's, the key path steps of the script data reader (``has``), and the reading of that answer, which no other tag
carries (the tag's budgets: docs/tag.md)."""
SOFT_REGIONS = ("soft", "wait")
"""The ``soft`` variant: the script the tag-only tag with ``nav`` loads at the first soft navigation (``soft.js``):
``soft``, and the watcher (``wait``) when the tag has none, compiled against the running tag (``PLUG``)."""
FRAMES = {"late": ("late.js", LATE_REGIONS), "answer": ("answer.js", ANSWER_REGIONS), "soft": ("soft.js", SOFT_REGIONS)}
LATE_MARK = "/*SW_REGIONS*/"
PLUG_MARK = "/*SW_PLUG*/"
PLUG = ("CFG", "each", "loc", "allowed", "known", "confirmations", "trap", "reveal", "ask", "post", "extract",
        "reread", "view", "rank", "field", "find", "kind", "OPS")
"""What the soft script uses of the tag-only tag it plugs into (the handle ``api._`` of its ``plug`` region): the
one list both are built from, so the tag hands over exactly what the script takes. With the watcher in the tag,
``PLUG_WAIT`` too; else the script's own watcher uses the tag's ``PLUG_APPLY``."""
PLUG_WAIT = ("watch", "hold", "held", "scan")
PLUG_APPLY = ("apply", "applied", "observe")
SPA_CONFIG_KEY = "spa"  # in the ``nav`` of a tag with it: the digest of the script it loads (spa, soft)
LATE_CONFIG = ("v", "patterns")  # what its code reads of the config (keys of links: the URL patterns)
_MARKER = re.compile(rf"^[ \t]*// @({'|'.join(REGIONS)}|end)\b", re.MULTILINE)
_REGION = {name: re.compile(rf"^[ \t]*// @{name}\b.*?^[ \t]*// @end[^\n]*\n", re.MULTILINE | re.DOTALL)
           for name in REGIONS}


def strip_regions(source: str, *names: str) -> str:
    """``source`` without the regions named; raises RuntimeError when any region is left unclosed."""
    rest = source
    for name in REGIONS:
        rest = _REGION[name].sub("", rest)
    if _MARKER.search(rest):
        raise RuntimeError(f"tag.js has an unbalanced '// @<region>' / '// @end' region (regions: {', '.join(REGIONS)})")
    for name in names:
        source = _REGION[name].sub("", source)
    return source


def strip_tag_only(source: str) -> str:
    """The tag the proxy injects: without the regions only tag-only stores need (reading pages, /decide,
    applying decisions)."""
    return strip_regions(source, *PROXY_LEAVES_OUT)


def regions_of(source: str, *names: str) -> str:
    """The code of the regions named, in their order in ``source`` (checked balanced, as ``strip_regions``)."""
    strip_regions(source)
    found = sorted((m.start(), m.group(0)) for name in names for m in _REGION[name].finditer(source))
    return "".join(text for _, text in found)


@lru_cache(maxsize=16)
def _code(variant: str, kept: tuple[str, ...] = ()) -> str:
    """The code of a variant; ``kept``: the optional regions it keeps (``OPTIONAL``, the proxy's ``PROXY_OPTIONAL``)."""
    source = files("slotwise.tag").joinpath("tag.js").read_text("utf-8")
    if variant in FRAMES:
        frame, regions = FRAMES[variant]
        if variant == "soft":  # its own watcher only for a tag without one (kept: the script's)
            regions = tuple(r for r in regions if r != "wait" or r in kept)
        stripped = files("slotwise.tag").joinpath(frame).read_text("utf-8").replace(
            LATE_MARK, regions_of(source, *regions).strip())
        if variant == "soft":  # what it takes of the tag, from its handle
            stripped = stripped.replace(PLUG_MARK, ", ".join(plugged("wait" not in kept)))
    elif variant == "proxy":  # its handle holds the queue alone (the spa tag is a whole tag)
        stripped = strip_regions(strip_tag_only(source), *(r for r in PROXY_OPTIONAL if r not in kept)).replace(f", {PLUG_MARK}", "")
    elif variant == "spa":
        stripped = strip_regions(source, *SPA_LEAVES_OUT, *(r for r in OPTIONAL if r not in kept and r != "wait"))
    else:  # what the soft script takes, on the handle (plug)
        stripped = strip_regions(source, *FULL_LEAVES_OUT, *(r for r in OPTIONAL if r not in kept))
        stripped = stripped.replace(PLUG_MARK, ", ".join(plugged("wait" in kept)))
    code = compact(stripped)
    if CONFIG_MARK not in code:
        raise RuntimeError(f"tag.js lost its config mark {CONFIG_MARK!r}")
    return code


def plugged(tag_waits: bool) -> tuple[str, ...]:
    """The names the soft script takes from the tag's handle: ``PLUG``, and the watcher's when the tag has one
    (the script then has none), else what the script's own watcher uses of the tag."""
    return PLUG + (PLUG_WAIT if tag_waits else PLUG_APPLY)


@lru_cache(maxsize=64)
def _bundle(config_json: str, variant: str, kept: tuple[str, ...]) -> TagBundle:
    source = _code(variant, kept).replace(CONFIG_MARK, config_json).encode("utf-8")
    return TagBundle(source, gzip.compress(source, 9, mtime=0), hashlib.sha256(source).hexdigest()[:12])


def bundle(config: Mapping[str, Any] | None = None, variant: str = "full") -> TagBundle:
    """The tag with this config (``None``: the default config, nothing store-specific).

    ``full`` (``/_sw/tag.js``) has everything; ``proxy`` is the smaller tag the
    proxy injects into the pages it serves; ``late`` the script it adds after it
    on a page whose decisions wait for an element the store's script renders
    (``late.js``); ``spa`` the full tag the injected one loads at a single-page
    storefront's first soft navigation (its digest is in the injected tag's
    config); ``soft`` the script the full tag loads there (tag-only: ``soft.js``,
    which plugs into it; its digest is in the full tag's config, and it has
    the watcher when the full tag has none); ``answer`` the script the full
    tag loads when the config has ``answer`` (``capture.cart``'s JSON answer,
    tag-only: the config then names its digest). The observer of the page's
    own requests is in the ``full`` tag only when the config has ``requests``,
    the watcher of late elements only when it has ``wait``, the cookie reader
    (in ``full``, ``proxy`` and ``spa``) only when it has ``cookies``, the
    script data reader (the same) only when it has ``scripts``, the noticing of soft navigations (``full``, ``proxy``) only when it has ``nav``.
    """
    if variant not in VARIANTS:
        raise ValueError(f"variant must be one of {VARIANTS}, not {variant!r}")
    config = dict(config or {"v": 1})
    if variant == "late":  # only what its code reads: rules that differ elsewhere share one script
        config = {k: config[k] for k in LATE_CONFIG if k in config}
    elif variant == "spa":  # never noticing navigations itself: nav is the injected tag's
        config.pop("nav", None)
        config.pop("answer", None)
    elif variant == "soft":  # the tag's config is its own (the handle's CFG): one script for every store
        return _bundle(script_json({"v": config.get("v", 1)}), variant, () if config.get("wait") else ("wait",))
    elif variant == "answer":  # the rule's request and key paths, as its one request source
        config = {"v": config.get("v", 1), "requests": [config["answer"]]} if isinstance(config.get("answer"), Mapping) \
            else {"v": config.get("v", 1)}
    elif variant == "full" and isinstance(config.get("answer"), Mapping):  # the script that reads the answer
        config["answer"] = bundle(config, "answer").digest
    if variant in ("full", "proxy") and config.get("nav"):  # the script it loads at the first soft navigation
        config["nav"] = {**config["nav"], SPA_CONFIG_KEY: bundle(config, "spa" if variant == "proxy" else "soft").digest}
    optional = {"full": OPTIONAL, "proxy": PROXY_OPTIONAL, "spa": OPTIONAL}.get(variant, ())
    kept = tuple(r for r in optional if config.get(r) or (r == "wait" and variant == "spa") or (r == "plug" and config.get("nav"))
                 or (r == "load" and any(config.get(k) for k in LOADS.get(variant, ()))))
    return _bundle(script_json(config), variant, kept)


def tag_source() -> bytes:
    return bundle().source


def content_hash() -> str:
    return bundle().digest


def tag_url(prefix: str = PREFIX, digest: str | None = None) -> str:
    """The immutable URL of a tag, e.g. ``/_sw/tag.3f2a9c1b0d4e.js`` (default config unless ``digest``)."""
    return f"{prefix}/tag.{digest or content_hash()}.js"


def script_tag(nonce: str | None = None, *, data: Mapping[str, str] | None = None, prefix: str = PREFIX,
               src: str | None = None) -> str:
    """The ``<script>`` element the proxy injects into every HTML page.

    ``data`` becomes ``data-*`` attributes (``{"pageview": "off"}``); the
    endpoint defaults to ``prefix``. A CSP nonce found in the page is copied.
    """
    attrs = {"endpoint": prefix, **(data or {})}
    parts = [f'src="{html.escape(src or tag_url(prefix))}"', "defer"]
    parts += [f'data-{html.escape(k)}="{html.escape(str(v))}"' for k, v in attrs.items() if re.fullmatch(r"[a-z][a-z0-9-]*", k)]
    if nonce:
        parts.append(f'nonce="{html.escape(nonce)}"')
    return f"<script {' '.join(parts)}></script>"


_ENDPOINT_RE = re.compile(r"(https?://[A-Za-z0-9.:-]+)?(/[A-Za-z0-9._~-]+)*")


def embed_snippet(endpoint: str = PREFIX, antiflicker_ms: int = 300, *, consent: str = "implied",
                  window_start: str = "snippet") -> str:
    """The tag-only embed, first in ``<head>`` (docs/tag.md, "Tag-only mode").

    It asks ``/decide`` for the page's slots at once (in parallel with
    loading ``tag.js``) and hides the page at most ``antiflicker_ms``,
    counted from the snippet (``window_start="snippet"``: a slow store's HTML
    does not eat the window) or from navigation start (``"navigation"``: the
    page is never hidden longer than that after the click, but a page whose
    HTML arrives after the window gets no personalization — and then nothing
    is hidden and ``/decide`` is not asked). The window ends early when
    Slotwise answers an error or ``tag.js`` cannot load. Nothing leaves the
    browser and nothing is hidden under Global Privacy Control, after a
    refusal, or — with ``consent="required"`` — before ``slotwise.consent(true)``.

    Until the browser has the visitor cookie, a random nonce (``sw_n`` in
    localStorage) goes with ``/decide`` so that it and the tag's first events,
    racing, are one visitor (``VisitorCookies.from_nonce``). It goes in a
    header (``X-Slotwise-Nonce``), never in the URL: whoever holds it within a
    day gets that visitor's id and cookie, and a URL lands in access logs (the
    store's nginx, a CDN) that a header does not.
    """
    if not _ENDPOINT_RE.fullmatch(endpoint):
        raise ValueError(f"endpoint must be a plain URL path or http(s) origin + path, not {endpoint!r}")
    if consent not in ("implied", "required"):
        raise ValueError(f"consent must be 'implied' or 'required', not {consent!r}")
    if window_start not in WINDOW_STARTS:
        raise ValueError(f"window_start must be one of {WINDOW_STARTS}, not {window_start!r}")
    if not isinstance(antiflicker_ms, int) or not 0 <= antiflicker_ms <= 10_000:
        raise ValueError(f"antiflicker_ms must be an integer from 0 to 10000, not {antiflicker_ms!r}")
    required = 1 if consent == "required" else 0
    # an endpoint on another origin (a subdomain of the store: --page-origins) gets the visitor cookie too
    credentials = "include" if endpoint.startswith(("http://", "https://")) else "same-origin"
    navigation = 1 if window_start == "navigation" else 0
    return (
        "<script>!function(w,d,e,t,r,v){var s,c,n,a,j,k,o=w.performance.now(),u=encodeURIComponent;"
        "try{s=w.localStorage;c=s.getItem('sw_consent')}catch(x){}"
        "j=d.createElement('script');j.src=e+'/tag.js';j.async=1;j.dataset.mode='decide';j.dataset.endpoint=e;"
        "if(r)j.dataset.consent='required';w.slotwise_w=(v?0:o)+t;"
        "if(!navigator.globalPrivacyControl&&c!=='0'&&(!r||c==='1')&&w.slotwise_w>o){"
        "a=d.createElement('style');a.id='sw-af';a.textContent='body{opacity:0!important}';d.head.appendChild(a);"
        "k=function(){a.remove()};setTimeout(k,w.slotwise_w-o);j.onerror=k;"
        "try{if(!s.getItem('sw_known')){n=s.getItem('sw_n');if(!n){n=Date.now().toString(36)+'.'+[].map.call("
        "crypto.getRandomValues(new Uint32Array(4)),function(x){return(x+78364164096).toString(36)}).join('');"
        "s.setItem('sw_n',n)}}}catch(x){}"
        "w.slotwise_d=fetch(e+'/decide?url='+u(location.origin+location.pathname+location.search)+'&r='+u(d.referrer),"
        f"{{credentials:'{credentials}',headers:n?{{'X-Slotwise-Nonce':n}}:{{}}}}).then(function(r){{return r.ok?r.json():k()}})"
        ".catch(k)}"
        "d.head.appendChild(j)"
        f"}}(window,document,'{endpoint}',{antiflicker_ms},{required},{navigation})</script>"
    )


_SCRIPT_START = re.compile(rb"<script\b", re.IGNORECASE)
_NONCE_ATTR = re.compile(rb"\snonce\s*=\s*(?:\"([^\"<>]+)\"|'([^'<>]+)'|([^\s\"'<>=`]+))", re.IGNORECASE)
NONCE_WITHIN = 2048
"""The nonce attribute must start within this many bytes of ``<script`` (real tags are far shorter)."""


def find_csp_nonce(page: bytes) -> str | None:
    """The nonce of the page's first ``<script nonce=...>``, to reuse for our script.

    One pass: each ``<script`` start tag is searched up to its ``>`` (and the
    attribute must start within ``NONCE_WITHIN`` bytes), and the next search
    starts after that ``>``; a start tag that never closes holds the rest of
    the page, so the scan ends there. (The regex this replaced tried 2,048
    bytes after every ``<script`` of a page of unclosed tags: 0.5 s for 4,800.)
    """
    pos = 0
    match = None
    while match is None:
        start = _SCRIPT_START.search(page, pos)
        if start is None:
            return None
        end = page.find(b">", start.end())
        match = _NONCE_ATTR.search(page, start.end(), len(page) if end < 0 else end)
        if match is not None and match.start() - start.end() > NONCE_WITHIN:
            match = None
        if end < 0:
            break
        pos = end + 1
    if match is None:
        return None
    value = next(g for g in match.groups() if g)
    try:
        nonce = value.decode("ascii")
    except UnicodeDecodeError:
        return None
    return nonce if re.fullmatch(r"[A-Za-z0-9+/=_-]{1,128}", nonce) else None


class TagAssets:
    """Serves the tag for the current rules, and the tags of recent rules (pages cached with them)."""

    def __init__(self, config: Callable[[], Mapping[str, Any]] | None = None, keep: int = 16) -> None:
        self.config = config or (lambda: {"v": 1})
        self._recent: OrderedDict[str, TagBundle] = OrderedDict()
        self.keep = keep
        self._built: dict[str, tuple[Mapping[str, Any], TagBundle]] = {}  # variant -> (config object, its tag)

    def current(self, variant: str = "full") -> TagBundle:
        config = self.config()
        built = self._built.get(variant)
        if built is not None and built[0] is config:  # the same config object (``tag_config`` keeps one
            return built[1]                            # per rules object): the same tag, no JSON to hash
        found = bundle(config, variant)
        self._built[variant] = (config, found)
        # and the script it loads at the first soft navigation: a page holding its digest gets it after a rules
        # change too (for a digest it does not know this serves the current full tag, which follows no navigation)
        loads = {"full": "soft", "proxy": "spa"}.get(variant) if config.get("nav") else None
        for kept in (found, *((bundle(config, loads),) if loads else ())):
            self._recent[kept.digest] = kept
            self._recent.move_to_end(kept.digest)
        while len(self._recent) > self.keep:
            self._recent.popitem(last=False)
        return found

    def url(self, prefix: str = PREFIX, variant: str = "proxy") -> str:
        """The hashed URL of the tag the proxy injects (``proxy``), or of the script it adds for waiting
        slots (``late``)."""
        return tag_url(prefix, self.current(variant).digest)

    def _serve(self, request: Request, found: TagBundle, cache_control: str) -> Response:
        etag = f'"{found.digest}"'
        headers = {
            "cache-control": cache_control,
            "etag": etag,
            "vary": "Accept-Encoding",
            "x-content-type-options": "nosniff",
        }
        if request.headers.get("if-none-match") == etag:
            return Response(status_code=304, headers=headers)
        if "gzip" in request.headers.get("accept-encoding", ""):
            headers["content-encoding"] = "gzip"
            return Response(found.compressed, media_type="text/javascript; charset=utf-8", headers=headers)
        return Response(found.source, media_type="text/javascript; charset=utf-8", headers=headers)

    async def tag_js(self, request: Request) -> Response:
        return self._serve(request, self.current(), SHORT)

    async def tag_js_hashed(self, request: Request) -> Response:
        current = self.current()
        digest = request.path_params["digest"]
        found = self._recent.get(digest)
        if found is None:  # one of the current rules' other scripts, not built by this process yet (a page
            found = next((b for b in map(self.current, VARIANTS) if b.digest == digest), None)  # another worker made)
        if found is None:
            # a page asking for a tag built with rules this process never had: the current (full) one, briefly cached
            return self._serve(request, current, SHORT)
        return self._serve(request, found, IMMUTABLE)

    def routes(self) -> list[Route]:
        """Routes relative to the ``/_sw`` mount."""
        return [
            Route("/tag.js", self.tag_js, methods=["GET", "HEAD"]),
            Route("/tag.{digest:str}.js", self.tag_js_hashed, methods=["GET", "HEAD"]),
        ]


def routes() -> list[Route]:
    """The default tag's routes (no rules)."""
    return TagAssets().routes()
