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
import re
import zlib

import brotli
import zstandard

from .errors import DecodeError

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
        d = _ZSTD_D.decompressobj()
        try:
            out = d.decompress(data)
        except zstandard.ZstdError as exc:
            raise DecodeError(f"zstd: {exc}") from exc
        if len(out) > limit or not d.eof:
            raise DecodeError("zstd: truncated or over the size limit")
        return out
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
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


def sniff_charset(body: bytes, content_type: str | None) -> str:
    """HTML's order of precedence: BOM, then the header, then a meta tag in the first 1024 bytes, then UTF-8."""
    for bom, name in _BOMS:
        if body.startswith(bom):
            return name
    if content_type:
        m = _HEADER_CHARSET.search(content_type)
        if m and (name := _known(m.group(1))):
            return name
    m = _META_CHARSET.search(body[:1024])
    if m and (name := _known(m.group(1))):
        return name
    return "utf-8"
