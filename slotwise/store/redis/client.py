"""The connection every Redis mixin shares, and the error mapping.

Every public store method is wrapped in :func:`guarded`, so callers only ever
see ``StoreUnavailable`` (Redis unreachable or too slow: fail open) or
``StoreError``. Calls are never retried by redis-py: a lost reply to a
ZINCRBY or a compare-and-set would otherwise be applied twice. Recovery is
the pool's job: a dead pooled connection is dropped at checkout and a new one
dialled, so the store works again as soon as Redis is back.
"""

from __future__ import annotations

import asyncio
import functools
import math
from contextlib import asynccontextmanager
from typing import Any, AsyncIterator, Awaitable, Callable, TypeVar

import redis.asyncio as aioredis
from redis.commands.core import AsyncScript
from redis.asyncio.connection import Connection, parse_url
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import OutOfMemoryError, ReadOnlyError, RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

from slotwise.store.base import StoreError, StoreUnavailable
from slotwise.store.outage import OUTAGE
from slotwise.store.redis.options import OPTION_NAMES, RedisOptions, split_url

F = TypeVar("F", bound=Callable[..., Awaitable[Any]])

UNAVAILABLE_ERRORS: tuple[type[BaseException], ...] = (
    RedisConnectionError,
    RedisTimeoutError,
    OSError,
    asyncio.TimeoutError,
)
# Redis answers but refuses writes: an outage of its own (logged once), not a bug to trace
REFUSED_ERRORS: tuple[type[BaseException], ...] = (OutOfMemoryError, ReadOnlyError)


def connect(url: str, options: RedisOptions, *, socket_timeout: float | None | bool = True) -> aioredis.Redis:
    """A lazily-connecting client; ``socket_timeout=None`` for blocking reads (their own deadline applies)."""
    return aioredis.Redis.from_url(
        url,
        decode_responses=True,
        protocol=2,  # works on every Redis/Valkey; replies parsed the same way everywhere
        socket_connect_timeout=options.connect_timeout_s,
        socket_timeout=options.timeout_s if socket_timeout is True else socket_timeout,
        retry=Retry(NoBackoff(), 0),
        health_check_interval=0,
    )


def check_url(url: str) -> None:
    """Raises ValueError naming what is wrong with a store URL (a port that is no number, a misspelt
    parameter, a bad value), without connecting: redis-py would say so only at the first call, in every
    worker, and the instance would serve unpersonalized until restarted with a fixed URL."""
    rest, _ = split_url(url)  # our own parameters (a bad duration, a timeout that is no number)
    kwargs = parse_url(rest)
    connection_class = kwargs.pop("connection_class", Connection)
    try:
        connection_class(**kwargs)  # builds the connection object only; nothing is dialled
    except TypeError as exc:
        unknown = str(exc).rsplit(" ", 1)[-1]
        raise ValueError(f"unknown parameter {unknown} (Slotwise's: {', '.join(OPTION_NAMES)}; "
                         "any other is redis-py's)") from None
    except RedisError as exc:
        raise ValueError(str(exc)) from None


def translate(exc: BaseException) -> StoreError:
    if isinstance(exc, UNAVAILABLE_ERRORS):
        return StoreUnavailable(f"redis unavailable: {exc.__class__.__name__}: {exc}")
    return StoreError(f"redis error: {exc.__class__.__name__}: {exc}")


def guarded(method: F) -> F:
    """Map redis-py and socket errors onto the Store contract's exceptions; tell ``OUTAGE`` how calls go."""
    name = method.__name__

    @functools.wraps(method)
    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            result = await method(*args, **kwargs)
        except StoreError:
            raise
        except (RedisError, *UNAVAILABLE_ERRORS) as exc:
            err = translate(exc)
            if isinstance(exc, UNAVAILABLE_ERRORS):
                OUTAGE.failed(err)
            elif isinstance(exc, REFUSED_ERRORS):
                OUTAGE.failed(err, name)
            raise err from exc
        OUTAGE.succeeded(name)
        return result

    return wrapper  # type: ignore[return-value]


class KeyedLocks:
    """One asyncio lock per key, dropped when unused.

    Updates to one visitor from the same instance queue here instead of
    colliding in Redis, so optimistic retries only happen across instances.
    """

    def __init__(self) -> None:
        self._locks: dict[str, tuple[asyncio.Lock, int]] = {}

    @asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[None]:
        lock, users = self._locks.get(key, (None, 0))
        if lock is None:
            lock = asyncio.Lock()
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[key]
            if users <= 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)


class RedisBase:
    """What each mixin can rely on: the client, the options, key naming and Lua scripts.

    Scripts build key names from the prefix they are given, so the store
    targets one Redis primary (replicas and Sentinel are fine, Cluster is not).
    """

    redis: aioredis.Redis
    options: RedisOptions
    url: str
    _scripts: dict[str, AsyncScript]

    def key(self, *parts: str) -> str:
        return self.options.prefix + ":".join(parts)

    async def run_script(self, source: str, *args: Any, client: Any = None) -> Any:
        """EVALSHA ``source`` (loaded once per client; reloaded after a Redis restart); ``client``: a
        pipeline to queue it on instead (its ``execute`` loads the script first)."""
        script = self._scripts.get(source)
        if script is None:
            script = self._scripts[source] = self.redis.register_script(source)
        return await script(keys=[], args=[self.options.prefix, *args], client=client)

    @property
    def anon_ttl(self) -> int:
        """Whole seconds for EXPIRE; 0 when anonymous profiles never expire."""
        ttl = self.options.anonymous_ttl_s
        return max(1, math.ceil(ttl)) if ttl else 0
