"""Decoding text bytes: byte order marks, UTF-16 without one, declared and legacy charsets."""

from __future__ import annotations

import codecs

import pytest

from attache.index.documents.base import Skip
from attache.index.documents.decode import decode

TEXT = "Résumé of the café talks – “quoted” €5"


@pytest.mark.parametrize(
    ("bom", "encoding"),
    [
        (codecs.BOM_UTF8, "utf-8"),
        (codecs.BOM_UTF16_LE, "utf-16-le"),
        (codecs.BOM_UTF16_BE, "utf-16-be"),
        (codecs.BOM_UTF32_LE, "utf-32-le"),
        (codecs.BOM_UTF32_BE, "utf-32-be"),
    ],
)
def test_a_byte_order_mark_chooses_the_encoding_and_is_dropped(bom: bytes, encoding: str) -> None:
    assert decode(bom + TEXT.encode(encoding), html=False) == TEXT


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be"])
def test_utf16_without_a_byte_order_mark_is_recognised(encoding: str) -> None:
    text = "The council met on Tuesday to adopt the charter.\n" * 3
    assert decode(text.encode(encoding), html=False) == text


def test_utf8_comes_first_then_cp1252() -> None:
    assert decode(TEXT.encode("utf-8"), html=False) == TEXT
    assert decode(TEXT.encode("cp1252"), html=False) == TEXT


def test_a_byte_cp1252_leaves_undefined_keeps_the_rest_cp1252() -> None:
    # 0x81 has no character in cp1252: it reads as latin-1's U+0081, and the quotes and
    # dashes around it stay quotes and dashes rather than turning into controls
    text = "The “bureau” opened – in April. " * 3
    decoded = decode(text.encode("cp1252") + b"\x81 End.", html=False)
    assert decoded == text + "\x81 End."


def test_an_html_page_is_read_in_the_charset_it_declares() -> None:
    page = '<html><head><meta charset="koi8-r"></head><body>Привет, мир</body></html>'
    assert "Привет, мир" in decode(page.encode("koi8-r"), html=True)
    # the same bytes outside HTML: no declaration is looked for, cp1252 reads them
    assert "Привет" not in decode(page.encode("koi8-r"), html=False)


def test_binary_bytes_are_refused() -> None:
    data = bytes(range(256)) * 8
    with pytest.raises(Skip) as caught:
        decode(data, html=False)
    assert caught.value.reason == "binary content"


def test_a_few_control_characters_in_text_are_tolerated() -> None:
    text = "A line with one stray \x07 bell in a long enough paragraph of plain words."
    assert decode(text.encode("utf-8"), html=False) == text
