"""Decoding: text from bytes (BOMs, UTF-16 without BOM, UTF-8, declared charsets, cp1252)."""

from __future__ import annotations

import codecs
import re

from attache.index.documents.base import Skip

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_SUSPICIOUS = re.compile(r"[\x00-\x08\x0e-\x1f\x7f-\x9f\ue000-\uf8ff\ufffd\U000f0000-\U0010ffff]")
_BINARY_SHARE = 0.05
_META_CHARSET = re.compile(
    rb"""<meta[^>]{0,200}?charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)"""
    rb"""|<\?xml[^>]{0,100}?encoding\s*=\s*["']([A-Za-z0-9_.:-]+)""",
    re.IGNORECASE,
)
_WESTERN = {"latin_1", "iso8859_1", "ascii", "cp1252"}


def decode(data: bytes, html: bool) -> str:
    """Decode text bytes; raise Skip('binary content') for binary data."""
    text = _decode_bom(data)
    if text is None and b"\x00" in data:
        text = _decode_utf16_without_bom(data)
        if text is None:
            raise Skip("binary content")
    if text is None:
        text = _decode_plain(data, html)
    if _looks_binary(text):
        raise Skip("binary content")
    return text


def _decode_bom(data: bytes) -> str | None:
    """Decode by byte order mark, if there is one."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                return data[len(bom) :].decode(encoding)
            except UnicodeDecodeError:
                return data[len(bom) :].decode(encoding, errors="replace")
    return None


def _decode_utf16_without_bom(data: bytes) -> str | None:
    """UTF-16 text without a BOM: NULs almost all on one side of each pair."""
    if len(data) % 2:
        return None
    even = data[0::2].count(0)
    odd = data[1::2].count(0)
    half = len(data) // 2
    if odd >= half * 0.3 and even <= odd * 0.05:
        encoding = "utf-16-le"
    elif even >= half * 0.3 and odd <= even * 0.05:
        encoding = "utf-16-be"
    else:
        return None
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError:
        return None
    return None if "\x00" in text or _looks_binary(text) else text


def _decode_plain(data: bytes, html: bool) -> str:
    """UTF-8, else the HTML-declared charset, else cp1252 (the five bytes it leaves
    undefined read as latin-1 does: as the C1 controls of the same number)."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    if html:
        declared = _declared_charset(data)
        if declared and declared not in _WESTERN | {"utf_8"}:
            try:
                return data.decode(declared)
            except (UnicodeDecodeError, LookupError):
                pass
    text = data.decode("cp1252", errors="surrogateescape")
    return _ESCAPED_BYTE.sub(lambda m: chr(ord(m.group(0)) - 0xDC00), text)


_ESCAPED_BYTE = re.compile("[\udc80-\udcff]")


def _declared_charset(data: bytes) -> str | None:
    """Python codec name of the charset an HTML page declares, if known."""
    match = _META_CHARSET.search(data[:8192])
    if not match:
        return None
    label = (match.group(1) or match.group(2)).decode("ascii", "replace")
    try:
        return codecs.lookup(label).name.replace("-", "_")
    except LookupError:
        return None


def _looks_binary(text: str) -> bool:
    """A high share of control or private-use characters means it is not text."""
    if not text:
        return False
    controls = len(text) - len(_SUSPICIOUS.sub("", text))
    return controls > 0 and controls / len(text) > _BINARY_SHARE
