"""Settings of one Slotwise proxy process.

Every setting has a CLI flag and a ``SLOTWISE_*`` environment variable (for
containers). The CLI writes the flags it got into the environment before it
starts the ASGI server, so each worker process builds the same ``Settings``
from ``Settings.from_env()``.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import functools
import os
import re
import secrets
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping
from urllib.parse import urlsplit

from slotwise.client_origin import Trust


class ConfigError(ValueError):
    """A setting has a value Slotwise cannot run with; the message names it."""


# An admin token is guessed over the network, 10 tries per client per 30 s (``admin_throttle``) but from
# as many clients as an attacker has: 16 characters of a random token put it out of reach (and it derives
# the key that signs admin sessions). ``openssl rand -hex 16`` makes one of 32.
MIN_ADMIN_TOKEN = 16

# Of ``stop_timeout``, what a worker keeps for its last requests and its exit (``Settings.worker_stop_budget``).
STOP_MARGIN_S = 5.0


@dataclass(frozen=True)
class Option:
    """One setting: its environment variable, type and help text."""

    name: str
    type: type
    default: Any
    help: str

    @property
    def env(self) -> str:
        return "SLOTWISE_" + self.name.upper()

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")


def setting(default: Any, help: str) -> Any:
    """A ``Settings`` field: its default, and its help for ``--help``."""
    return field(default=default, metadata={"help": help})


@dataclass(frozen=True)
class PathTimeouts:
    """One ``path_timeouts`` entry: a glob on the request path and what it overrides.

    ``head``/``idle`` are None when the entry leaves them at the global value,
    and 0 for "no limit" (an event stream, a long poll).
    """

    glob: str
    head: float | None = None
    idle: float | None = None


def parse_path_timeouts(text: str) -> tuple[PathTimeouts, ...]:
    """``"/events/* idle=0; /poll/* head=120 idle=120"`` → rules, in order (the first match wins)."""
    rules: list[PathTimeouts] = []
    for entry in text.replace("\n", ";").split(";"):
        tokens = entry.split()
        if not tokens:
            continue
        glob, values = tokens[0], {}
        if not glob.startswith("/"):
            raise ConfigError(f"SLOTWISE_PATH_TIMEOUTS: {entry.strip()!r}: the path glob must start with /")
        for token in tokens[1:]:
            key, sep, raw = token.partition("=")
            if key not in ("head", "idle") or not sep:
                raise ConfigError(f"SLOTWISE_PATH_TIMEOUTS: {entry.strip()!r}: expected head=SECONDS or idle=SECONDS, got {token!r}")
            try:
                seconds = 0.0 if raw.lower() in ("0", "none", "off") else float(raw)
            except ValueError:
                raise ConfigError(f"SLOTWISE_PATH_TIMEOUTS: {entry.strip()!r}: {raw!r} is not a number of seconds") from None
            if seconds < 0:
                raise ConfigError(f"SLOTWISE_PATH_TIMEOUTS: {entry.strip()!r}: {key} must not be negative")
            values[key] = seconds
        if not values:
            raise ConfigError(f"SLOTWISE_PATH_TIMEOUTS: {entry.strip()!r}: names no head= or idle=")
        rules.append(PathTimeouts(glob, values.get("head"), values.get("idle")))
    return tuple(rules)


# A path (and query) as it goes on the request line, on the upstream's host: "//host/x" would name another.
_HEALTH_PATH = re.compile(r"/(?!/)[!-\"$-~]*")  # printable ASCII but "#" (a fragment is never sent)
_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off", "")


def _not_a_directory(path: Path) -> Path | None:
    """The first place from ``path`` upwards that exists and is no directory (a file the workers could
    only fail under), or None when the first existing one is a directory."""
    for place in (path, *path.parents):
        if os.path.isdir(place):
            return None
        if os.path.lexists(place):
            return place
    return None


def _coerce(option: Option, raw: Any) -> Any:
    if isinstance(raw, option.type):
        return raw
    if option.type is bool:
        text = str(raw).strip().lower()
        if text in _TRUE or text in _FALSE:
            return text in _TRUE
        raise ConfigError(f"{option.env} / {option.flag}: expected true or false, got {raw!r}")
    try:
        return option.type(raw)
    except (TypeError, ValueError) as exc:
        raise ConfigError(
            f"{option.env} / {option.flag}: expected {option.type.__name__}, got {raw!r}"
        ) from exc


@dataclass(frozen=True)
class Settings:
    """The validated configuration of a proxy process: one field per setting, with its default and help.

    The fields are the one list of settings: ``OPTIONS`` (the flags, the environment variables, the help)
    is made from them, so a setting cannot have a flag without a field or a field without a flag.
    """

    upstream: str = setting("", "URL of the storefront to proxy, e.g. https://shop.example")
    rules: str = setting("", "YAML rules file; empty: a transparent reverse proxy")
    host: str = setting("127.0.0.1", "address to listen on")
    port: int = setting(8000, "port to listen on")
    workers: int = setting(1, "worker processes (one per core is a good start)")
    server: str = setting("granian", "ASGI server: granian or uvicorn")
    stop_timeout: float = setting(30.0, "seconds the workers have to stop after SIGTERM or Ctrl-C (finish their "
                                        f"requests, write their queued page views within this less {STOP_MARGIN_S:g} s, save the "
                                        "learner's snapshot: well under a second when all is well) before any still "
                                        "running is killed, with a warning: a stuck worker never keeps serve up; 30 "
                                        "as Kubernetes' default grace period: give the supervisor's a few seconds "
                                        "more (docker stop: -t 35)")
    http: str = setting("auto", "HTTP versions: auto (HTTP/1.1, and HTTP/2 as h2c with prior knowledge or h2 over TLS), "
                                "1, or 2; uvicorn speaks HTTP/1.1 only")
    tls_cert: str = setting("", "PEM certificate (chain) file: serve HTTPS (with --tls-key)")
    tls_key: str = setting("", "PEM private key file of --tls-cert")
    data: str = setting(".slotwise", "directory of the embedded SQLite store and secrets")
    store: str = setting("", "state store URL: empty for SQLite under --data, or redis://host:port/db")
    secret: str = setting("", "key that signs visitor cookies and preview links; default: generated once under --data")
    admin_token: str = setting("", f"token for /_sw/admin and the admin API, at least {MIN_ADMIN_TOKEN} characters "
                                   "(openssl rand -hex 16); empty: admin API disabled")
    webhook_url: str = setting("", "URL that receives each newsletter sign-up (JSON POST, retried from a durable outbox)")
    webhook_secret: str = setting("", "key of the webhook's x-slotwise-signature (give the receiver this, not --secret); "
                                      "empty: --secret's key")
    public_url: str = setting("", "public base URL (scheme://host[:port]); default: taken from each request "
                                  "whose Host is allowed (see --allowed-hosts)")
    allowed_hosts: str = setting("", "comma-separated public hosts a request's Host may name without --public-url "
                                     "(shop.example, shop.example:8443, *.shop.example, * for any); the upstream's "
                                     "host and localhost always are; others get the upstream's host in URLs")
    connect_timeout: float = setting(5.0, "seconds to wait for the upstream connection (then 502)")
    read_timeout: float = setting(60.0, "seconds to wait for the upstream's response head once the request is sent (then 504)")
    idle_timeout: float = setting(60.0, "seconds a response body or a WebSocket may stay silent before it is cut "
                                        "(a body is aborted, never ended cleanly); 0: no limit")
    path_timeouts: str = setting("", "per-path overrides, 'GLOB head=S idle=S; ...' (first match wins, 0: no limit), "
                                     "e.g. '/events/* idle=0; /poll/* head=120'")
    upstream_health_path: str = setting("/", "path (and query) on the store that /_sw/health's own check asks with "
                                             "HEAD (while the store fails, or when no visitor's request has said for "
                                             "10 s): one it answers fast, e.g. /robots.txt; any status is an answer")
    html_hold_ms: float = setting(3.0, "a personalized page that pauses this long before it is complete starts "
                                       "streaming: what no slot can change is sent at once; 0: stream at once, "
                                       "negative: always wait for the whole page")
    page_client: str = setting("own", "client for page requests to the upstream (a GET without a body): own "
                                      "(Slotwise's keep-alive HTTP/1.1 client, about half aiohttp's CPU a page) or "
                                      "aiohttp (what every other request uses)")
    max_html_bytes: int = setting(4 * 1024 * 1024, "HTML bodies larger than this pass through unrewritten")
    html_cache_mb: float = setting(64.0, "MB per worker for the store's pages it marks cacheable for a shared cache "
                                         "(Cache-Control public/s-maxage/max-age, or ETag/Last-Modified to revalidate): "
                                         "many visitors are personalized from one fetch; 0: off")
    personalize_budget_ms: float = setting(50.0, "time budget for personalization of one page; past it the original page is served")
    trusted_proxies: str = setting("", "comma-separated addresses or ranges (10.0.0.0/8) of the balancers and CDNs in "
                                       "front, whose X-Forwarded-* (or Forwarded) are trusted")
    trusted_proxy_headers: str = setting("x-forwarded", "which headers --trusted-proxies set themselves, first "
                                                        "believed first: x-forwarded (X-Forwarded-For/-Proto/-Host), "
                                                        "forwarded (RFC 7239), or both, e.g. forwarded,x-forwarded")
    cookie_name: str = setting("sw_vid", "name of the first-party visitor cookie")
    log_level: str = setting("info", "log level: debug, info, warning, error")
    access_log: bool = setting(False, "log one line per request (off by default: it drowns everything else)")
    tag_only: bool = setting(False, "serve only /_sw/ (the tag, its API and admin) for stores that embed the tag; no upstream")
    page_origins: str = setting("", "with --tag-only on a subdomain of the store (sw.shop.example): the origins of the "
                                    "store's pages, comma-separated (https://shop.example,https://www.shop.example), "
                                    "whose pages the tag's endpoints answer with CORS (docs/tag.md); empty: the pages "
                                    "route /_sw/ on their own origin")
    order_secret: str = setting("", "shared secret that signs the store's order webhooks to /_sw/orders; empty: endpoint off")
    preview_ttl: float = setting(86400.0, "seconds a preview link works after it is made (default 24 h)")
    max_claimed_order: float = setting(5000.0, "most a purchase only a browser claims is worth to revenue goals")
    health_max_lag: float = setting(600.0, "seconds the learner may lag behind the log before /_sw/health says degraded")
    learner_max_pending: int = setting(100_000, "decisions the learner holds while their reward window is open "
                                                "(~640 bytes each); one beyond it is not learned from (counted: not_held)")
    slot_health_flush: float = setting(5.0, "seconds between a worker's adds of its slot-health counts (each slot's "
                                            "element found or not) to the store: the admin page's health lines are at "
                                            "most this old; tests set it low so as not to wait it out")
    extra: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> "Settings":
        """Build from a mapping of option names to raw values, validating each."""
        kwargs: dict[str, Any] = {}
        for option in OPTIONS:
            if option.name in values and values[option.name] is not None:
                kwargs[option.name] = _coerce(option, values[option.name])
        settings = cls(**kwargs)
        settings.validate()
        return settings

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> "Settings":
        """Build from ``SLOTWISE_*`` variables; keyword overrides win."""
        environ = os.environ if environ is None else environ
        values: dict[str, Any] = {o.name: environ[o.env] for o in OPTIONS if o.env in environ}
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls.from_mapping(values)

    def to_env(self) -> dict[str, str]:
        """The environment that rebuilds these settings in a worker process."""
        return {o.env: str(getattr(self, o.name)) for o in OPTIONS}

    def validate(self) -> None:
        if self.tag_only and self.upstream:
            raise ConfigError("--tag-only serves the tag and its API only: leave out --upstream (SLOTWISE_UPSTREAM)")
        if self.page_origins.strip() and not self.tag_only:
            raise ConfigError("SLOTWISE_PAGE_ORIGINS / --page-origins is for --tag-only: the proxy serves the pages "
                              "and /_sw/ on one origin")
        try:
            self.page_origin_list
        except ValueError as exc:
            raise ConfigError(str(exc)) from None
        if self.upstream:
            parts = urlsplit(self.upstream)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise ConfigError(
                    f"SLOTWISE_UPSTREAM / --upstream: {self.upstream!r} is not an http(s) URL with a host"
                )
        if self.public_url:
            parts = urlsplit(self.public_url)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise ConfigError(f"SLOTWISE_PUBLIC_URL / --public-url: {self.public_url!r} is not an http(s) URL")
        if self.server not in ("granian", "uvicorn"):
            raise ConfigError(f"SLOTWISE_SERVER / --server: {self.server!r} is not one of granian, uvicorn")
        try:
            Trust.parse(self.trusted_proxies, "x-forwarded")
        except ValueError as exc:
            raise ConfigError(f"SLOTWISE_TRUSTED_PROXIES / --trusted-proxies: {exc}") from None
        try:
            self.proxy_trust
        except ValueError as exc:
            raise ConfigError(f"SLOTWISE_TRUSTED_PROXY_HEADERS / --trusted-proxy-headers: {exc}") from None
        if self.page_client not in ("own", "aiohttp"):
            raise ConfigError(f"SLOTWISE_PAGE_CLIENT / --page-client: {self.page_client!r} is not one of own, aiohttp")
        if not (0 < self.port < 65536):
            raise ConfigError(f"SLOTWISE_PORT / --port: {self.port} is not a TCP port")
        if self.workers < 1:
            raise ConfigError(f"SLOTWISE_WORKERS / --workers: {self.workers} must be at least 1")
        for name in ("connect_timeout", "read_timeout", "personalize_budget_ms"):
            if getattr(self, name) <= 0:
                raise ConfigError(f"SLOTWISE_{name.upper()}: must be positive")
        if not self.stop_timeout > 0 or self.stop_timeout == float("inf"):  # also refuses NaN
            raise ConfigError(f"SLOTWISE_STOP_TIMEOUT / --stop-timeout: {self.stop_timeout!r} is not a positive number "
                              "of seconds: give how long a worker may take to stop before it is killed, e.g. 30")
        if self.idle_timeout < 0:
            raise ConfigError("SLOTWISE_IDLE_TIMEOUT / --idle-timeout: must not be negative (0: no limit)")
        self.path_timeout_rules  # parses, or raises ConfigError naming the entry
        if not _HEALTH_PATH.fullmatch(self.upstream_health_path):
            raise ConfigError(f"SLOTWISE_UPSTREAM_HEALTH_PATH / --upstream-health-path: {self.upstream_health_path!r} "
                              "is not a path on the store: give one that starts with a single /, in printable ASCII "
                              "(percent-encode the rest; a query may follow, a # may not), e.g. /robots.txt")
        if self.http not in ("auto", "1", "2"):
            raise ConfigError(f"SLOTWISE_HTTP / --http: {self.http!r} is not one of auto, 1, 2")
        if self.server == "uvicorn" and self.http == "2":
            raise ConfigError("SLOTWISE_HTTP / --http 2: uvicorn speaks HTTP/1.1 only; use --server granian "
                              "(or a balancer that speaks HTTP/2 in front, see README: Protocols)")
        if bool(self.tls_cert) != bool(self.tls_key):
            raise ConfigError("SLOTWISE_TLS_CERT / --tls-cert and SLOTWISE_TLS_KEY / --tls-key go together")
        for name in ("tls_cert", "tls_key"):
            if getattr(self, name) and not Path(getattr(self, name)).is_file():
                raise ConfigError(f"SLOTWISE_{name.upper()}: {getattr(self, name)!r} is not a readable file")
        self._check_admin_token()
        self._check_data()
        if self.max_html_bytes < 0:
            raise ConfigError("SLOTWISE_MAX_HTML_BYTES: must not be negative")
        if self.learner_max_pending < 1:
            raise ConfigError("SLOTWISE_LEARNER_MAX_PENDING / --learner-max-pending: must be at least 1")
        if not 0 < self.slot_health_flush < float("inf"):  # also refuses NaN
            raise ConfigError(f"SLOTWISE_SLOT_HEALTH_FLUSH / --slot-health-flush: {self.slot_health_flush!r} is not a "
                              "positive number of seconds, e.g. 5")
        if not self.html_cache_mb >= 0:  # also refuses NaN
            raise ConfigError(f"SLOTWISE_HTML_CACHE_MB / --html-cache-mb: {self.html_cache_mb!r} must be 0 (off) or more")
        if self.store and not self.store.startswith(("redis://", "rediss://", "unix://", "sqlite:")):
            raise ConfigError(f"SLOTWISE_STORE / --store: {self.store!r} is not a redis:// or sqlite: URL")
        self._check_sqlite_store()
        if self.store.startswith(("redis://", "rediss://", "unix://")):
            from slotwise.store.redis.client import check_url

            try:
                check_url(self.store)
            except ValueError as exc:
                shown = re.sub(r"//([^/@]*?):[^/@]*@", r"//\1:***@", self.store)  # not the password
                raise ConfigError(f"SLOTWISE_STORE / --store: {shown!r}: {exc}") from None

    def _check_admin_token(self) -> None:
        token = self.admin_token
        if not token:
            return  # the admin page and API are off
        where = "SLOTWISE_ADMIN_TOKEN / --admin-token"
        if token != token.strip():  # a sign-in strips what is typed or pasted: this token could never match
            raise ConfigError(f"{where}: the token starts or ends with white space; remove it")
        if len(token) < MIN_ADMIN_TOKEN:
            raise ConfigError(f"{where}: {len(token)} characters is too short to resist guessing; give at least "
                              f"{MIN_ADMIN_TOKEN} (make one with: openssl rand -hex 16), or none to disable the admin page")

    def _check_data(self) -> None:
        """``--data`` naming a file (or a path under one) failed in every worker after the start, each with
        a NotADirectoryError: refused before, like any other setting."""
        blocked = _not_a_directory(self.data_dir.absolute())
        if blocked is not None:
            under = "" if blocked == self.data_dir.absolute() else f" is under {str(blocked)!r}, which"
            raise ConfigError(f"SLOTWISE_DATA / --data: {self.data!r}{under} is not a directory: give the "
                              "directory that holds (or will hold) the embedded store and the signing key")

    def _check_sqlite_store(self) -> None:
        """``--store sqlite:PATH`` that no database can live at (a directory, or a path under a file) failed
        only in the workers, after the start (or as a traceback in a one-shot command): refused before, as
        ``--data`` is."""
        if not self.store.startswith("sqlite:"):
            return
        where = f"SLOTWISE_STORE / --store: {self.store!r}"
        raw = self.store[len("sqlite:"):]
        if not raw.strip():
            raise ConfigError(f"{where} names no file: give sqlite:PATH, the SQLite database file")
        path = Path(raw).absolute()
        if os.path.isdir(path):
            raise ConfigError(f"{where} is a directory: give the SQLite database file in it, e.g. "
                              f"sqlite:{path / 'slotwise.db'}")
        blocked = _not_a_directory(path.parent)
        if blocked is not None:
            raise ConfigError(f"{where} is under {str(blocked)!r}, which is not a directory: give a file in a "
                              "directory that exists (or can be made)")

    def replace(self, **changes: Any) -> "Settings":
        return dataclasses.replace(self, **changes)

    @property
    def data_dir(self) -> Path:
        return Path(self.data)

    @property
    def storefront(self) -> str:
        """Where the store's own paths are (a feed at ``/products.json``): the upstream, or with --tag-only the
        public URL — the store's origin, whose ``/_sw/`` routes to Slotwise (docs/tag.md)."""
        return self.upstream or (self.public_url if self.tag_only else "")

    @property
    def upstream_host(self) -> str:
        """The Host header the upstream expects (host[:port] as in the URL)."""
        return urlsplit(self.upstream).netloc

    @functools.cached_property
    def path_timeout_rules(self) -> tuple[PathTimeouts, ...]:
        """``path_timeouts`` parsed: (glob, head, idle) with None for "the global value"."""
        return parse_path_timeouts(self.path_timeouts)

    def timeouts_for(self, path: str) -> tuple[float | None, float | None]:
        """(head, idle) timeouts in seconds for this request path; None means no limit."""
        head: float | None = self.read_timeout
        idle: float | None = self.idle_timeout or None
        for rule in self.path_timeout_rules:
            if fnmatch.fnmatchcase(path, rule.glob):
                if rule.head is not None:
                    head = rule.head or None
                if rule.idle is not None:
                    idle = rule.idle or None
                break
        return head, idle

    @property
    def worker_stop_budget(self) -> float:
        """Seconds a worker's own shutdown may wait to write what it holds (its queued page views).

        ``stop_timeout`` less a margin for the requests still running when the stop came and for the exit: a
        worker that cannot write in time says what it gives up, instead of being killed with it mid-write.
        """
        return max(self.stop_timeout - STOP_MARGIN_S, self.stop_timeout / 2)

    @functools.cached_property
    def page_origin_list(self) -> tuple[str, ...]:
        """``page_origins`` checked and normalized (``slotwise.tag.page_origins``): the origins whose pages call
        the tag's endpoints on this subdomain; empty: the pages route ``/_sw/`` on their own origin."""
        from slotwise.tag.page_origins import parse_page_origins

        return parse_page_origins(self.page_origins, self.public_url)

    @functools.cached_property
    def proxy_trust(self) -> Trust:
        """Whom to believe about the visitor's address, scheme and host (``client_origin``): parsed once (the
        tag API asks for it on every request)."""
        return Trust.parse(self.trusted_proxies, self.trusted_proxy_headers)

    def webhook_key(self) -> bytes:
        """The key that signs the sign-up webhook: its own when given, so a receiver never holds the
        key that signs visitor cookies and preview links."""
        return self.webhook_secret.encode() if self.webhook_secret else self.signing_key()

    def signing_key(self) -> bytes:
        """The secret that signs cookies and preview links.

        Generated once and kept in ``DATA/secret`` (mode 0600) so that every
        worker and every restart signs with the same key.
        """
        if self.secret:
            return self.secret.encode()
        path = self.data_dir / "secret"
        if not path.exists():
            self.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)  # the store makes it 0700 too
            tmp = path.with_suffix(f".tmp{os.getpid()}")
            tmp.write_text(secrets.token_urlsafe(32))
            os.chmod(tmp, 0o600)
            try:
                os.link(tmp, path)  # first writer wins; others read its key
            except FileExistsError:
                pass
            finally:
                tmp.unlink(missing_ok=True)
        return path.read_text().strip().encode()


_TYPES = typing.get_type_hints(Settings)
OPTIONS: tuple[Option, ...] = tuple(
    Option(f.name, _TYPES[f.name], f.default, f.metadata["help"]) for f in dataclasses.fields(Settings)
    if "help" in f.metadata
)
"""Every setting, in ``--help``'s order: a flag ``--name``, a variable ``SLOTWISE_NAME`` and ``Settings``' field."""
