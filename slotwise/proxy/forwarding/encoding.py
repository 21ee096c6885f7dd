"""Content-Encoding and charset of HTML bodies the personalizer rewrites.

Decoding is strict: a body that does not decode completely (corrupt,
truncated, unknown coding, bigger than the limit) raises ``DecodeError`` and
the caller serves the original bytes. Re-encoding uses the same coding the
origin chose (the client asked for it, so it can read it) at a fast level:
the levels below were measured on a 120 KB storefront page (see
docs/benchmarks.md) — past them, CPU grows faster than the bytes saved.
"""

from __future__ import annotations

import codecs
import functools
import re
import zlib
from typing import Iterator

import brotli
import zstandard

from slotwise.proxy.forwarding.errors import DecodeError

GZIP_LEVEL = 1  # 0.24 ms / 120 KB; level 6: 0.6 ms for ~12% fewer bytes
BROTLI_QUALITY = 4  # 0.34 ms / 120 KB, smaller than gzip 6
ZSTD_LEVEL = 3

_ZSTD_D = zstandard.ZstdDecompressor()
_ZSTD_C = zstandard.ZstdCompressor(level=ZSTD_LEVEL)


def codings(content_encoding: str | None) -> list[str]:
    """The codings applied, in the order they were applied ("identity" dropped)."""
    if not content_encoding:
        return []
    return [c.strip().lower() for c in content_encoding.split(",") if c.strip() and c.strip().lower() != "identity"]


def _zlib(data: bytes, wbits: int, limit: int) -> bytes:
    out: list[bytes] = []
    size = 0
    while True:
        d = zlib.decompressobj(wbits)
        try:
            chunk = d.decompress(data, limit + 1 - size)
        except zlib.error as exc:
            raise DecodeError(f"zlib: {exc}") from exc
        size += len(chunk)
        out.append(chunk)
        if size > limit or d.unconsumed_tail:
            raise DecodeError("decoded body over the size limit")
        if not d.eof:
            raise DecodeError("truncated stream")
        data = d.unused_data
        if not data or wbits != 31:  # gzip may have several members
            return b"".join(out)


# zstd's decompressobj has no output limit, and one 3-byte RLE block makes 128 KB: the streaming
# decoder feeds it this many input bytes at a time, so a piece is at most ~3 MB (cost: ~40 µs per
# KB of input).
_ZSTD_SLICE = 64


def _one(data: bytes, coding: str, limit: int) -> bytes:
    if coding in ("gzip", "x-gzip"):
        return _zlib(data, 31, limit)
    if coding == "deflate":  # RFC says zlib-wrapped; some servers send raw deflate
        try:
            return _zlib(data, 15, limit)
        except DecodeError:
            return _zlib(data, -15, limit)
    if coding == "br":
        d = brotli.Decompressor()
        try:
            out = d.process(data, output_buffer_limit=limit + 1)
        except brotli.error as exc:
            raise DecodeError(f"brotli: {exc}") from exc
        if len(out) > limit or not d.is_finished():
            raise DecodeError("brotli: truncated or over the size limit")
        return out
    if coding == "zstd":
        try:  # decompressobj has no output limit (a bomb): read at most limit + 1 bytes first
            with _ZSTD_D.stream_reader(data) as reader:
                size = len(reader.read(limit + 1))
            if size > limit:
                raise DecodeError("zstd: decoded body over the size limit")
            d = _ZSTD_D.decompressobj()
            out = d.decompress(data)  # the same frame again: now known to be small; tells a cut stream
        except zstandard.ZstdError as exc:
            raise DecodeError(f"zstd: {exc}") from exc
        if not d.eof:
            raise DecodeError("zstd: truncated stream")
        return out  # type: ignore[no-any-return]
    raise DecodeError(f"unsupported content-encoding {coding!r}")


def decode(data: bytes, content_encoding: str | None, limit: int) -> bytes:
    """Undo every coding of ``Content-Encoding`` (last applied first)."""
    for coding in reversed(codings(content_encoding)):
        data = _one(data, coding, limit)
    return data


def encode(data: bytes, content_encoding: str | None) -> bytes:
    """Apply the same codings again, at the measured levels."""
    for coding in codings(content_encoding):
        if coding in ("gzip", "x-gzip"):
            data = zlib.compress(data, GZIP_LEVEL, 31)
        elif coding == "deflate":
            data = zlib.compress(data, GZIP_LEVEL)
        elif coding == "br":
            data = brotli.compress(data, quality=BROTLI_QUALITY)
        elif coding == "zstd":
            data = _ZSTD_C.compress(data)
        else:
            raise DecodeError(f"unsupported content-encoding {coding!r}")
    return data


_BOMS = ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"))
_HEADER_CHARSET = re.compile(r"""charset\s*=\s*["']?([\w.:-]+)""", re.I)
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?([\w.:-]+)""", re.I)


def _known(name: str | bytes | None) -> str | None:
    if not name:
        return None
    if isinstance(name, bytes):
        name = name.decode("ascii", "replace")
    return _codec_name(name)


@functools.lru_cache(maxsize=256)
def _codec_name(name: str) -> str | None:
    """``codecs.lookup(name).name`` kept (a lookup normalises and searches on every call; a store uses
    one or two names); None for an unknown one."""
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


@functools.lru_cache(maxsize=256)
def header_charset(content_type: str) -> str | None:
    """The known charset a ``Content-Type`` names, or None; kept per header value (the same few on
    every page of a store)."""
    m = _HEADER_CHARSET.search(content_type)
    return _known(m.group(1)) if m else None


def sniff_charset(body: bytes, content_type: str | None) -> str:
    """HTML's order of precedence: BOM, then the header, then a meta tag in the first 1024 bytes, then UTF-8."""
    for bom, name in _BOMS:
        if body.startswith(bom):
            return name
    if content_type and (name := header_charset(content_type)):
        return name
    m = _META_CHARSET.search(body[:1024])
    if m and (name := _known(m.group(1))):
        return name
    return "utf-8"


# -- streaming (a personalized page sent while it still arrives) ---------------------------

STREAMABLE = frozenset({"gzip", "x-gzip", "deflate", "br", "zstd"})


def streamable(content_encoding: str | None) -> bool:
    """One coding we can undo and redo piece by piece (or none at all)."""
    applied = codings(content_encoding)
    return not applied or (len(applied) == 1 and applied[0] in STREAMABLE)


class Decoder:
    """Undoes one Content-Encoding piece by piece; ``finish`` raises ``DecodeError`` if the body was cut.

    Each ``feed`` returns at most about ``STEP`` bytes, keeping the input it
    did not get to (``pending``): a bomb (16 KB of zstd that inflate to 512 MB)
    never lands in memory whole. ``pieces`` feeds and drains.
    """

    STEP = 256 * 1024

    def __init__(self, content_encoding: str | None) -> None:
        applied = codings(content_encoding)
        self.coding = applied[0] if applied else None
        self._d: object | None = None
        self._raw_deflate_tried = False
        self._head = b""  # deflate: the first bytes, to retry as raw deflate
        self._in = b""  # input not yet decoded (zlib's unconsumed tail, zstd's rest)
        self._brotli_more = False  # brotli holds output it could not give yet
        if self.coding in ("gzip", "x-gzip"):
            self._d = zlib.decompressobj(31)
        elif self.coding == "deflate":
            self._d = zlib.decompressobj(15)
        elif self.coding == "br":
            self._d = brotli.Decompressor()
        elif self.coding == "zstd":
            self._d = _ZSTD_D.decompressobj()

    @property
    def pending(self) -> bool:
        """Input was taken that has not been decoded yet (call ``feed(b"")``)."""
        return bool(self._in) or self._brotli_more

    def pieces(self, data: bytes) -> Iterator[bytes]:
        """``data`` decoded, in pieces of at most about ``STEP`` bytes."""
        yield self.feed(data)
        while self.pending:
            yield self.feed(b"")

    def feed(self, data: bytes) -> bytes:
        d = self._d
        if d is None:
            return data
        try:
            if isinstance(d, brotli.Decompressor):
                out = d.process(data, output_buffer_limit=self.STEP)
                self._brotli_more = not d.can_accept_more_data()
                return out  # type: ignore[no-any-return]
            if self.coding == "zstd":
                return self._zstd(d, data)
            if self.coding == "deflate" and not self._raw_deflate_tried:
                self._head += data
                try:
                    out = d.decompress(self._in + data, self.STEP)  # type: ignore[attr-defined]
                except zlib.error:
                    self._raw_deflate_tried = True  # some servers send raw deflate: start over that way
                    self._d = d = zlib.decompressobj(-15)
                    self._in = b""
                    data, self._head = self._head, b""
                    return self._zlib(d, data)
                self._in = d.unconsumed_tail  # type: ignore[attr-defined]
                if len(self._head) > 64:
                    self._raw_deflate_tried = True  # the zlib header was fine
                    self._head = b""
                return out  # type: ignore[no-any-return]
            return self._zlib(d, data)
        except (zlib.error, brotli.error, zstandard.ZstdError) as exc:
            raise DecodeError(f"{self.coding}: {exc}") from exc

    def _zlib(self, d: object, data: bytes) -> bytes:
        out = d.decompress(self._in + data, self.STEP)  # type: ignore[attr-defined]
        self._in = d.unconsumed_tail  # type: ignore[attr-defined]
        if self.coding in ("gzip", "x-gzip") and d.eof and d.unused_data:  # type: ignore[attr-defined]
            self._in = d.unused_data  # type: ignore[attr-defined]  # another gzip member: next feed
            self._d = zlib.decompressobj(31)
        return out  # type: ignore[no-any-return]

    def _zstd(self, d: object, data: bytes) -> bytes:
        rest = self._in + data
        out = bytearray()
        i = 0
        while i < len(rest) and len(out) < self.STEP and not d.eof:  # type: ignore[attr-defined]
            out += d.decompress(rest[i:i + _ZSTD_SLICE])  # type: ignore[attr-defined]
            i += _ZSTD_SLICE
        self._in = rest[i:] if not d.eof else b""  # type: ignore[attr-defined]
        return bytes(out)

    def finish(self) -> None:
        d = self._d
        if d is None:
            return
        if self.pending:
            raise DecodeError(f"{self.coding}: finished with input not decoded")
        done = d.is_finished() if isinstance(d, brotli.Decompressor) else d.eof  # type: ignore[attr-defined]
        if not done:
            raise DecodeError(f"{self.coding}: truncated stream")


class Encoder:
    """Applies one Content-Encoding piece by piece; each ``feed`` is flushed so the client can read it."""

    def __init__(self, content_encoding: str | None) -> None:
        applied = codings(content_encoding)
        self.coding = applied[0] if applied else None
        self._c: object | None = None
        if self.coding in ("gzip", "x-gzip"):
            self._c = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, 31)
        elif self.coding == "deflate":
            self._c = zlib.compressobj(GZIP_LEVEL)
        elif self.coding == "br":
            self._c = brotli.Compressor(quality=BROTLI_QUALITY)
        elif self.coding == "zstd":
            self._c = _ZSTD_C.compressobj()

    def feed(self, data: bytes) -> bytes:
        c = self._c
        if c is None:
            return data
        if isinstance(c, brotli.Compressor):
            return c.process(data) + c.flush()
        if self.coding == "zstd":
            return c.compress(data) + c.flush(zstandard.COMPRESSOBJ_FLUSH_BLOCK)  # type: ignore[attr-defined,no-any-return]
        return c.compress(data) + c.flush(zlib.Z_SYNC_FLUSH)  # type: ignore[attr-defined,no-any-return]

    def finish(self, data: bytes = b"") -> bytes:
        c = self._c
        if c is None:
            return data
        if isinstance(c, brotli.Compressor):
            return c.process(data) + c.finish()
        if self.coding == "zstd":
            return c.compress(data) + c.flush()  # type: ignore[attr-defined,no-any-return]
        return c.compress(data) + c.flush()  # type: ignore[attr-defined,no-any-return]


def decided_charset(prefix: bytes, content_type: str | None) -> str | None:
    """The page's charset once the first bytes settle it (BOM, header, or 1024 bytes for a meta), else None."""
    if any(prefix.startswith(bom) for bom, _ in _BOMS):
        return sniff_charset(prefix, content_type)
    if content_type and header_charset(content_type):
        return sniff_charset(prefix, content_type)
    if len(prefix) >= 1024:
        return sniff_charset(prefix, content_type)
    return None


_HTML_SYNTAX = "<a b='c\"d'=/>\t\n\f\r !-?[]xyzABCXYZ0&#;"


@functools.lru_cache(maxsize=256)
def ascii_compatible(charset: str) -> bool:
    """Whether HTML's syntax characters are the same bytes as in ASCII (a byte scan can read the markup).

    Kept per name (a pure function of it): asked twice a personalized page, a codec lookup each."""
    try:
        name = codecs.lookup(charset).name
        same = _HTML_SYNTAX.encode(name) == _HTML_SYNTAX.encode("ascii")
    except (LookupError, UnicodeError):
        return False
    return same and not name.startswith(("utf-16", "utf-32", "utf-7", "iso2022", "hz", "cp037", "cp500"))
