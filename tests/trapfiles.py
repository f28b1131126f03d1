"""Hostile documents for the tests: each file reproduces one attack on the rebuild."""

from __future__ import annotations

import os
import zlib
from pathlib import Path

GOOD_TEXT = (
    "The lighthouse keeper of Port Alder logged every passing ship for forty years.\n\n"
    "Her notebooks, now kept in the town library, record more than twelve thousand "
    "vessels and the weather on each day she watched them."
)


def pdf_file(objects: list[bytes], info: bool = False) -> bytes:
    """A PDF of numbered `objects` (the first the catalog) with its cross-reference table;
    with `info`, the last object is the document information dictionary."""
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    trailer = b"<< /Size %d /Root 1 0 R" % (len(objects) + 1)
    if info:
        trailer += b" /Info %d 0 R" % len(objects)
    out += b"trailer\n" + trailer + b" >>\nstartxref\n%d\n%%%%EOF\n" % xref
    return bytes(out)


def pdf_bomb(pages: int = 40, repeats: int = 9000) -> bytes:
    """A small PDF whose pages all draw one compressed content stream of many text
    operators: a few KB of file, millions of characters of text."""
    ops = b"BT /F1 12 Tf 72 712 Td " + b"(Expanding text, again and again. ) Tj " * repeats + b"ET"
    stream = zlib.compress(ops, 9)
    kids = " ".join(f"{5 + i} 0 R" for i in range(pages))
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        f"<< /Type /Pages /Kids [{kids}] /Count {pages} >>".encode(),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(stream) + stream + b"\nendstream",
    ]
    for _ in range(pages):
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
            b"/Resources << /Font << /F1 3 0 R >> >> /Contents 4 0 R >>"
        )
    return pdf_file(objects)


def paragraph_page(paragraphs: int = 500_000) -> bytes:
    """An HTML page of half a million <p> elements (4 MB)."""
    return b"<html><body>" + b"<p>a</p>" * paragraphs + b"</body></html>"


def byline_trap(spaces: int = 24_000) -> str:
    return "Title\n\nBy a" + " " * spaces + "b\n\nThe body of the article."


def boundary_trap(dots: int = 24_000) -> str:
    return "Title\n\nA sentence" + "." * dots + "\n\nAnother sentence."


def write_traps(folder: Path) -> dict[str, str]:
    """Write every trap into ``folder``; map of the source names they must be skipped
    under to a word of the expected reason (the regex traps are plain files now)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "good.txt").write_text(GOOD_TEXT, encoding="utf-8")
    (folder / "notes.md").write_text("# Notes\n\n" + GOOD_TEXT, encoding="utf-8")
    # A Latin-1 file name: not valid UTF-8.
    latin1 = os.fsdecode(os.fsencode(folder) + b"/caf\xe9.txt")
    Path(latin1).write_text("Caf\u00e9 menus. " + GOOD_TEXT, encoding="utf-8")
    # A name with a terminal escape sequence (and an empty body, so it is skipped).
    (folder / "red\x1b[31mALERT\x1b[0m.txt").write_text("   \n")
    (folder / "byline.txt").write_text(byline_trap(), encoding="utf-8")
    (folder / "dots.txt").write_text(boundary_trap(), encoding="utf-8")
    (folder / "paragraphs.html").write_bytes(paragraph_page())
    (folder / "bomb.pdf").write_bytes(pdf_bomb())
    return {
        "red\\x1b[31mALERT\\x1b[0m.txt": "empty file",
        "paragraphs.html": "extraction took longer than",
        "bomb.pdf": "too much text",
    }
