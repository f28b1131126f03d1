"""Tests for index.documents: discovery, decoding, extraction and cleaning."""

from __future__ import annotations

import io
import os
import random
from pathlib import Path

import pytest
from trapfiles import pdf_file

from attache.index.documents import (
    SUPPORTED_SUFFIXES,
    Document,
    DocumentsFolderError,
    Skipped,
    SourceFile,
    clean_plain_text,
    discover,
    load,
    read,
)

MB = 1024 * 1024
SEEDS = next(
    (
        p
        for p in (Path(__file__).resolve().parents[3] / "seeds", Path("/work/shared/seeds"))
        if (p / "000_a92a2212d4dbd9c6.txt").is_file()
    ),
    None,
)

LEGACY_TEXT = "café – “quoted” €5"

ARTICLE_PARAGRAPHS = [
    "The Senate on Wednesday passed a sweeping bill intended to strengthen the nation's "
    "defences against cyberattacks, sending the measure to the House for a final vote.",
    "The legislation creates a new office within the State Department to coordinate "
    "international cyber diplomacy and sets aside funding for training diplomats.",
    "Lawmakers from both parties said the measure was overdue after a series of intrusions "
    "into government networks last year, including the SolarWinds breach.",
    "“This is a generational investment,” said one senator, who added that the office "
    "would report directly to the Secretary of State and brief Congress every quarter.",
]

HTML_PAGE = """<!DOCTYPE html>
<html lang="en"><head>
<meta charset="utf-8">
<title>Senate passes cyber bill – Example Gazette</title>
<meta property="og:title" content="Senate passes cyber bill">
<meta property="og:site_name" content="Example Gazette">
<meta name="author" content="Jane Doe">
<meta property="article:published_time" content="2021-03-03T10:00:00Z">
<style>body {{ color: red; }} .STYLE_MARKER {{ display: none; }}</style>
<script>var tracking = "SCRIPT_MARKER"; console.log(tracking);</script>
</head><body>
<header><nav class="site-nav"><ul><li><a href="/">Home</a></li>
<li><a href="/politics">Politics NAV_MARKER</a></li></ul></nav></header>
<div id="cookie-banner" class="cookie-consent">We use cookies to improve your experience.
COOKIE_MARKER <button>Accept all</button></div>
<main><article>
<h1>Senate passes cyber bill</h1>
<p>{0}</p>
<p>{1}</p>
<h2>What the bill does</h2>
<p>{2}</p>
<p>{3}</p>
</article></main>
<aside>ASIDE_MARKER Most read stories</aside>
<footer class="site-footer"><p>© 2021 Example Gazette. All rights reserved. FOOTER_MARKER</p></footer>
<script>document.write("SCRIPT_MARKER_2")</script>
</body></html>
""".format(*ARTICLE_PARAGRAPHS)


# --------------------------------------------------------------------------- helpers


def write(path: Path, data: bytes | str) -> Path:
    """Write bytes (or UTF-8 text) to path, creating folders."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return path


def source_file(path: Path, source: str | None = None) -> SourceFile:
    """A SourceFile for a file written by a test."""
    size = path.stat().st_size if path.is_file() else 0
    return SourceFile(path=path, source=source or path.name, size=size)


def load_file(path: Path, source: str | None = None) -> Document | Skipped:
    """Read and load one file like the indexer does."""
    file = source_file(path, source)
    data = read(file)
    assert isinstance(data, bytes)
    return load(file, data)


def load_bytes(tmp_path: Path, name: str, data: bytes | str) -> Document | Skipped:
    """Write data to tmp_path/name and load it."""
    return load_file(write(tmp_path / name, data))


def loaded(result: Document | Skipped) -> Document:
    """The Document, failing the test on a Skipped."""
    assert isinstance(result, Document), result
    return result


def pdf_string(text: str) -> bytes:
    """A PDF literal string."""
    escaped = text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
    return b"(" + escaped.encode("cp1252") + b")"


def make_pdf(lines: list[str], title: str | None = None) -> bytes:
    """A minimal valid one-page PDF showing ``lines`` in Helvetica."""
    ops = [b"BT", b"/F1 12 Tf", b"14 TL", b"72 720 Td"]
    for i, line in enumerate(lines):
        ops.append((b"" if i == 0 else b"T* ") + pdf_string(line) + b" Tj")
    ops.append(b"ET")
    stream = b"\n".join(ops)
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
        b"/Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
    ]
    if title is not None:
        objects.append(b"<< /Title " + pdf_string(title) + b" >>")
    return pdf_file(objects, info=title is not None)


def skipped_reasons(skipped: list[Skipped]) -> dict[str, str]:
    return {s.path: s.reason for s in skipped}


# --------------------------------------------------------------------------- encodings


@pytest.mark.parametrize(
    "encoded",
    [
        pytest.param(lambda s: s.encode("utf-8"), id="utf-8"),
        pytest.param(lambda s: s.encode("utf-8-sig"), id="utf-8-bom"),
        pytest.param(lambda s: b"\xff\xfe" + s.encode("utf-16-le"), id="utf-16-le-bom"),
        pytest.param(lambda s: b"\xfe\xff" + s.encode("utf-16-be"), id="utf-16-be-bom"),
        pytest.param(lambda s: s.encode("cp1252"), id="cp1252"),
    ],
)
def test_encodings_decode_exactly(tmp_path: Path, encoded) -> None:
    raw = f"Title line\n\n{LEGACY_TEXT} is the price.\n\nNaïve façade, déjà vu.\n"
    doc = loaded(load_bytes(tmp_path, "enc.txt", encoded(raw)))
    assert doc.text == f"Title line\n\n{LEGACY_TEXT} is the price.\n\nNaïve façade, déjà vu."
    assert doc.title == "Title line"
    assert "\ufeff" not in doc.text


def test_cp1252_exact_phrase(tmp_path: Path) -> None:
    doc = loaded(load_bytes(tmp_path, "legacy.txt", LEGACY_TEXT.encode("cp1252")))
    assert doc.text == LEGACY_TEXT


def test_undefined_cp1252_bytes_fall_back_to_latin1(tmp_path: Path) -> None:
    doc = loaded(load_bytes(tmp_path, "odd.txt", b"Caf\xe9 \x81 bar sentence here."))
    assert doc.text == "Café  bar sentence here."


def test_utf16_without_bom(tmp_path: Path) -> None:
    raw = "Plain title\n\nSome UTF-16 text without a byte order mark – ok.\n"
    doc = loaded(load_bytes(tmp_path, "nobom.txt", raw.encode("utf-16-le")))
    assert doc.text == "Plain title\n\nSome UTF-16 text without a byte order mark – ok."


def test_html_meta_charset_is_honoured(tmp_path: Path) -> None:
    greek = "Καλημέρα κόσμε, αυτό είναι ένα άρθρο για την κυβερνοασφάλεια."
    body = "".join(f"<p>{greek} Παράγραφος {i}.</p>\n" for i in range(6))
    page = (
        '<html><head><meta http-equiv="Content-Type" content="text/html; charset=iso-8859-7">'
        f"<title>Ειδήσεις</title></head><body><article>{body}</article></body></html>"
    )
    doc = loaded(load_bytes(tmp_path, "greek.html", page.encode("iso-8859-7")))
    assert greek in doc.text
    assert doc.title == "Ειδήσεις"


def test_windows_newlines_and_whitespace_normalised(tmp_path: Path) -> None:
    raw = "  Heading here \r\n\r\n\r\n\r\nFirst line.\xa0 \r\nsecond line\u00a0\r\rThird para.  \r\n\r\n"
    doc = loaded(load_bytes(tmp_path, "crlf.txt", raw))
    assert doc.text == "Heading here\n\nFirst line.\nsecond line\n\nThird para."
    assert "\r" not in doc.text


# --------------------------------------------------------------------------- formats


def test_txt_document(tmp_path: Path) -> None:
    raw = "Budget talks stall\n\nBy Jane Doe\nPublished: March 3, 2021\n\nThe talks stalled on Tuesday.\n"
    doc = loaded(load_bytes(tmp_path, "budget.txt", raw))
    assert doc.kind == "txt"
    assert doc.source == "budget.txt"
    assert doc.title == "Budget talks stall"
    assert doc.author == "Jane Doe"
    assert doc.date == "2021-03-03"
    assert "The talks stalled on Tuesday." in doc.text


def test_markdown_heading_title(tmp_path: Path) -> None:
    raw = "Some intro line\n\n# Fund raises *record* sums #\n\nThe fund raised money.\n\n## Details\n\nMore text here.\n"
    doc = loaded(load_bytes(tmp_path, "fund.md", raw))
    assert doc.kind == "md"
    assert doc.title == "Fund raises record sums"
    # headings are structure: their text is a paragraph of its own, its level recorded
    assert "## Details" not in doc.text
    assert "\n\nDetails\n\nMore text here." in doc.text
    assert [(h.text, h.level) for h in doc.headings] == [("Fund raises record sums", 1), ("Details", 2)]
    assert all(doc.text[h.start : h.end] == h.text for h in doc.headings)
    assert "The fund raised money." in doc.text


def test_markdown_front_matter(tmp_path: Path) -> None:
    raw = (
        "---\ntitle: \"Harbour reopens\"\nauthor: Ana Lima\ndate: 2022-07-14\nsource: Port News\n---\n"
        "# Ignored heading\n\nThe harbour reopened on Thursday.\n"
    )
    doc = loaded(load_bytes(tmp_path, "harbour.markdown", raw))
    assert (doc.title, doc.author, doc.date, doc.outlet) == (
        "Harbour reopens",
        "Ana Lima",
        "2022-07-14",
        "Port News",
    )
    assert doc.text.startswith("Ignored heading\n\nThe harbour")
    assert "title:" not in doc.text


def test_markdown_front_matter_is_read_as_yaml(tmp_path: Path) -> None:
    # A title folded over two lines with YAML escapes (\\_ is a no-break space), the
    # source given as a web address, an unquoted timestamp, a placeholder author.
    raw = (
        "---\ndate: 2022-02-21T20:37:01.895Z\nsource_url: https://example.org/a/quad\n"
        "title: \"Statement on Quad Senior\\\n  \\ Cyber Group\\_Meeting\"\nauthor: Author\n"
        "source: https://example.org/b\npublisher: Example Wire\n---\nThe group met in Sydney.\n"
    )
    doc = loaded(load_bytes(tmp_path, "quad.md", raw))
    assert doc.title == "Statement on Quad Senior Cyber Group Meeting"
    assert (doc.date, doc.url, doc.outlet, doc.author) == (
        "2022-02-21", "https://example.org/a/quad", "Example Wire", None)
    assert doc.text == "The group met in Sydney."


def test_markdown_front_matter_keeps_a_title_yaml_would_read_as_a_number(tmp_path: Path) -> None:
    doc = loaded(load_bytes(tmp_path, "novel.md", "---\ntitle: 1984\ndate: 2020-01-02\n---\nA novel.\n"))
    assert (doc.title, doc.date) == ("1984", "2020-01-02")
    doc = loaded(load_bytes(tmp_path, "no.md", "---\ntitle: No\n---\nA film.\n"))
    assert doc.title == "No"


def test_markdown_front_matter_that_is_not_yaml_is_read_by_line(tmp_path: Path) -> None:
    raw = "---\ntitle: Harbour: reopened [draft\ndate: July 14, 2022\n---\nThe harbour reopened.\n"
    doc = loaded(load_bytes(tmp_path, "harbour.md", raw))
    assert (doc.title, doc.date, doc.text) == ("Harbour: reopened [draft", "2022-07-14", "The harbour reopened.")


def test_text_header_lines_are_metadata(tmp_path: Path) -> None:
    raw = (
        "Title: Australia passes cyber sanctions bill\nSource: The Record\nDate: December 2, 2021\n"
        "Author: Jane Doe\nURL: https://therecord.example/australia-sanctions\n\n"
        "The Australian Senate has passed a bill today.\n\nIt was modeled after a US law.\n"
    )
    doc = loaded(load_bytes(tmp_path, "record.txt", raw))
    assert (doc.title, doc.outlet, doc.date, doc.author, doc.url) == (
        "Australia passes cyber sanctions bill", "The Record", "2021-12-02", "Jane Doe",
        "https://therecord.example/australia-sanctions")
    assert doc.text == "The Australian Senate has passed a bill today.\n\nIt was modeled after a US law."
    # A web address as the source is the URL; an aside after the publisher goes.
    raw = (
        "Title: Quad statement\nDate: 2023-02-02\nSource: https://wh.example/quad\n"
        "Publisher: The White House (briefing room archive)\nRepost date: 2024-09-18\n\nWe met in New Delhi.\n"
    )
    doc = loaded(load_bytes(tmp_path, "quad.txt", raw))
    assert (doc.title, doc.date, doc.url, doc.outlet) == (
        "Quad statement", "2023-02-02", "https://wh.example/quad", "The White House")
    assert doc.text == "We met in New Delhi."


@pytest.mark.parametrize("raw", [
    "Note: the figures are provisional.\nTags: funds\n\nMore text.\n",  # no known field
    "Title: Fund report\nThe fund grew by 4% in 2021, its managers said.\n\nMore text.\n",  # prose follows
    "Title: Fund report\nDate: 2021-03-04\n",  # nothing but the header: kept as text
])
def test_text_without_a_header_block_keeps_its_lines(tmp_path: Path, raw: str) -> None:
    doc = loaded(load_bytes(tmp_path, "fund.txt", raw))
    assert raw.split("\n")[0] in doc.text


def test_markdown_field_list_at_the_top_is_metadata(tmp_path: Path) -> None:
    raw = (
        "# EU blames Russia for Ghostwriter\n\n## Information:\n+ Source: Bleeping Computer\n"
        "+ Link: [article](https://bleeping.example/ghostwriter)\n+ Date: September 24, 2021\n"
        "+ Author: Sergiu Gatlan\n\n## Article:\nThe EU has linked Russia to Ghostwriter.\n\n"
        "- Source: a later list is text\n- Date: 2021\n"
    )
    doc = loaded(load_bytes(tmp_path, "ghost.md", raw))
    assert (doc.outlet, doc.url, doc.date, doc.author) == (
        "Bleeping Computer", "https://bleeping.example/ghostwriter", "2021-09-24", "Sergiu Gatlan")
    assert "Information" not in doc.text and "Bleeping Computer" not in doc.text
    assert doc.text.startswith("EU blames Russia for Ghostwriter\n\nArticle:\n\nThe EU has linked")
    assert "Source: a later list is text" in doc.text


def test_html_article_without_page_furniture(tmp_path: Path) -> None:
    doc = loaded(load_bytes(tmp_path, "page.html", HTML_PAGE))
    assert doc.kind == "html"
    for paragraph in ARTICLE_PARAGRAPHS:
        assert paragraph in doc.text
    for marker in (
        "SCRIPT_MARKER",
        "STYLE_MARKER",
        "NAV_MARKER",
        "COOKIE_MARKER",
        "We use cookies",
        "FOOTER_MARKER",
        "ASIDE_MARKER",
        "color: red",
    ):
        assert marker not in doc.text
    assert "\n\n".join(ARTICLE_PARAGRAPHS[:2]) in doc.text
    assert doc.title == "Senate passes cyber bill"
    assert doc.author == "Jane Doe"
    assert doc.outlet == "Example Gazette"
    assert doc.date == "2021-03-03"


def test_html_date_is_the_declared_one_never_a_year_in_the_text(tmp_path: Path) -> None:
    body = ("<article><h1>Embassy cyber unit</h1><p>The unit was founded in 2019 by Consul "
            "Maria Lopez to coordinate incident response.</p></article>")
    undated = loaded(load_bytes(tmp_path, "undated.html",
                                f"<html><head><title>Unit</title></head><body>{body}</body></html>"))
    assert undated.date is None
    dated = loaded(load_bytes(tmp_path, "dated.html", (
        '<html><head><title>Unit</title><meta property="article:published_time" '
        f'content="2024-03-05"></head><body>{body}</body></html>')))
    assert dated.date == "2024-03-05"


def test_htm_suffix_and_lxml_fallback(tmp_path: Path) -> None:
    from attache.index.documents.formats.html import _html_fallback_text

    text = clean_plain_text(_html_fallback_text(HTML_PAGE))
    for paragraph in ARTICLE_PARAGRAPHS:
        assert paragraph in text
    for marker in ("SCRIPT_MARKER", "NAV_MARKER", "COOKIE_MARKER", "FOOTER_MARKER", "ASIDE_MARKER"):
        assert marker not in text
    assert f"{ARTICLE_PARAGRAPHS[0]}\n\n{ARTICLE_PARAGRAPHS[1]}" in text
    doc = loaded(load_bytes(tmp_path, "page.htm", HTML_PAGE))
    assert doc.kind == "html"


def test_pdf_text_is_extracted(tmp_path: Path) -> None:
    from pypdf import PdfReader

    data = make_pdf(["Port strike ends after talks", "Dock workers returned to work on Monday."])
    assert len(PdfReader(io.BytesIO(data), strict=True).pages) == 1
    doc = loaded(load_bytes(tmp_path, "strike.pdf", data))
    assert doc.kind == "pdf"
    assert "Port strike ends after talks" in doc.text
    assert "Dock workers returned to work on Monday." in doc.text
    assert doc.title == "Port strike ends after talks"


def test_pdf_info_title(tmp_path: Path) -> None:
    data = make_pdf(["Body text of the report is here."], title="Annual Report 2021")
    doc = loaded(load_bytes(tmp_path, "report.pdf", data))
    assert doc.title == "Annual Report 2021"
    assert doc.text == "Body text of the report is here."


def test_encrypted_pdf(tmp_path: Path) -> None:
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(make_pdf(["Secret text."]))))
    writer.encrypt(user_password="secret", owner_password="owner", algorithm="RC4-128")
    buffer = io.BytesIO()
    writer.write(buffer)
    result = load_bytes(tmp_path, "locked.pdf", buffer.getvalue())
    assert result == Skipped("locked.pdf", "encrypted PDF")


def test_pdf_encrypted_with_empty_user_password_opens(tmp_path: Path) -> None:
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(make_pdf(["Open text here."]))))
    writer.encrypt(user_password="", owner_password="owner", algorithm="RC4-128")
    buffer = io.BytesIO()
    writer.write(buffer)
    doc = loaded(load_bytes(tmp_path, "open.pdf", buffer.getvalue()))
    assert "Open text here." in doc.text


# --------------------------------------------------------------------------- bad content


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("empty.txt", b"", "empty file"),
        ("blank.md", b"  \n\t\r\n   \n", "empty file"),
        ("blank16.txt", b"\xff\xfe" + " \n \xa0\n".encode("utf-16-le"), "empty file"),
        ("bom-only.txt", b"\xef\xbb\xbf", "empty file"),
        ("empty.pdf", b"", "empty file"),
        ("image.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01\x00" + bytes(64), "binary content"),
        ("controls.md", bytes(range(1, 9)) * 20 + b"abc", "binary content"),
        ("nul.html", b"<html><body><p>Hi\x00there</p></body></html>", "binary content"),
        ("boilerplate.txt", b"Connect with us\n\nLatest News\nRead more\n", "no text after cleaning"),
        ("fake.pdf", b"PK\x03\x04 this is a zip", "not a PDF file"),
        ("doc.docx", b"PK\x03\x04", "unsupported type '.docx'"),
    ],
)
def test_bad_content_is_skipped(tmp_path: Path, name: str, data: bytes, reason: str) -> None:
    assert load_bytes(tmp_path, name, data) == Skipped(name, reason)


def test_corrupt_pdf(tmp_path: Path) -> None:
    result = load_bytes(tmp_path, "broken.pdf", b"%PDF-1.4\n\x00\x13garbage\xff\xfe not really a pdf")
    assert isinstance(result, Skipped)
    assert result.reason.startswith("corrupt PDF: ")
    assert len(result.reason) < 160


def test_pdf_without_text(tmp_path: Path) -> None:
    assert load_bytes(tmp_path, "scan.pdf", make_pdf([])) == Skipped("scan.pdf", "no extractable text in PDF")


@pytest.mark.parametrize("suffix", sorted(SUPPORTED_SUFFIXES))
def test_load_never_raises(suffix: str) -> None:
    rng = random.Random(suffix)
    file = SourceFile(path=Path("/nonexistent/x" + suffix), source="x" + suffix, size=0)
    prefixes = [b"", b"%PDF-1.7\n", b"<html><body>", b"\xff\xfe", b"\xef\xbb\xbf"]
    for i in range(40):
        data = rng.choice(prefixes) + rng.randbytes(rng.randrange(0, 400))
        result = load(file, data)
        assert isinstance(result, (Document, Skipped))
    assert isinstance(load(file, make_pdf(["x"])[:-40]), (Document, Skipped))


# --------------------------------------------------------------------------- discovery


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    root = tmp_path / "docs"
    write(root / "a.txt", "Alpha\n\nAlpha text.\n")
    write(root / "b.md", "# Beta\n\nBeta text.\n")
    write(root / "sub" / "dir" / "x.md", "# X\n\nX text.\n")
    write(root / "report.pdf", make_pdf(["Report line."]))
    write(root / "page.HTML", HTML_PAGE)
    write(root / ".hidden.txt", "hidden")
    write(root / ".hiddendir" / "y.txt", "hidden too")
    write(root / "sub" / ".secret.md", "hidden")
    write(root / "notes.docx", b"PK\x03\x04")
    write(root / "README", "no extension")
    write(tmp_path / "outside" / "secret.txt", "Outside the folder.")
    (root / "inside-link.txt").symlink_to(root / "a.txt")
    (root / "outside-link.txt").symlink_to(tmp_path / "outside" / "secret.txt")
    (root / "broken-link.txt").symlink_to(root / "missing.txt")
    (root / "dir-link").symlink_to(root / "sub", target_is_directory=True)
    (root / "outside-dir-link").symlink_to(tmp_path / "outside", target_is_directory=True)
    os.mkfifo(root / "pipe.txt")
    with open(root / "big.txt", "wb") as handle:
        handle.truncate(int(3.2 * MB))
    return root


def test_discover_lists_files_and_skips(folder: Path) -> None:
    files, skipped = discover(folder, max_bytes=2 * MB)
    assert [f.source for f in files] == [
        "a.txt",
        "b.md",
        "inside-link.txt",
        "page.HTML",
        "report.pdf",
        "sub/dir/x.md",
    ]
    by_source = {f.source: f for f in files}
    assert by_source["sub/dir/x.md"].path == folder / "sub" / "dir" / "x.md"
    assert by_source["inside-link.txt"].path == folder / "inside-link.txt"
    assert by_source["a.txt"].size == (folder / "a.txt").stat().st_size
    assert all(f.path.is_absolute() for f in files)
    assert skipped_reasons(skipped) == {
        "README": "unsupported type (no extension)",
        "big.txt": "larger than 2 MB (3.2 MB)",
        "broken-link.txt": "unreadable: broken symbolic link",
        "dir-link": "symbolic link to a folder (not followed)",
        "notes.docx": "unsupported type '.docx'",
        "outside-dir-link": "symbolic link leading outside the documents folder",
        "outside-link.txt": "symbolic link leading outside the documents folder",
        "pipe.txt": "not a regular file",
    }
    assert [s.path for s in skipped] == sorted(s.path for s in skipped)


def test_discovered_files_load(folder: Path) -> None:
    files, _ = discover(folder, max_bytes=2 * MB)
    docs = {f.source: load(f, read(f)) for f in files}
    assert all(isinstance(d, Document) for d in docs.values()), docs
    assert docs["inside-link.txt"].text == docs["a.txt"].text == "Alpha\n\nAlpha text."
    assert docs["sub/dir/x.md"].source == "sub/dir/x.md"
    assert docs["sub/dir/x.md"].title == "X"
    assert docs["report.pdf"].text == "Report line."


def test_discover_is_deterministic(folder: Path) -> None:
    assert discover(folder, 2 * MB) == discover(folder, 2 * MB)


def test_discover_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(DocumentsFolderError, match="documents folder not found"):
        discover(tmp_path / "nope", max_bytes=MB)
    write(tmp_path / "file.txt", "not a folder")
    with pytest.raises(DocumentsFolderError, match="documents folder not found"):
        discover(tmp_path / "file.txt", max_bytes=MB)


def test_discover_empty_folder(tmp_path: Path) -> None:
    root = tmp_path / "docs"
    root.mkdir()
    with pytest.raises(DocumentsFolderError, match="documents folder is empty"):
        discover(root, max_bytes=MB)
    write(root / ".DS_Store", b"\x00\x01")
    write(root / ".git" / "config", "x")
    (root / "empty-sub").mkdir()
    with pytest.raises(DocumentsFolderError, match="documents folder is empty"):
        discover(root, max_bytes=MB)


def test_discover_unsupported_only_is_not_empty(tmp_path: Path) -> None:
    write(tmp_path / "letter.docx", b"PK")
    assert discover(tmp_path, max_bytes=MB) == ([], [Skipped("letter.docx", "unsupported type '.docx'")])


# --------------------------------------------------------------------------- reading


def test_read_returns_bytes(tmp_path: Path) -> None:
    path = write(tmp_path / "a.txt", b"abc")
    assert read(source_file(path)) == b"abc"


def test_read_failure_is_skipped(tmp_path: Path) -> None:
    folder = tmp_path / "looks-like-a-file.txt"
    folder.mkdir()
    result = read(SourceFile(path=folder, source="looks-like-a-file.txt", size=0))
    assert isinstance(result, Skipped)
    assert result.path == "looks-like-a-file.txt"
    assert result.reason == "not a regular file"
    gone = read(SourceFile(path=tmp_path / "gone.txt", source="gone.txt", size=0))
    assert gone == Skipped("gone.txt", "unreadable: No such file or directory")


@pytest.mark.skipif(os.geteuid() == 0, reason="root can read files without permission")
def test_read_permission_denied(tmp_path: Path) -> None:
    path = write(tmp_path / "locked.txt", "secret")
    path.chmod(0)
    try:
        assert read(source_file(path)) == Skipped("locked.txt", "unreadable: Permission denied")
    finally:
        path.chmod(0o644)


# --------------------------------------------------------------------------- cleaning


def test_clean_plain_text_drops_boilerplate_lines() -> None:
    raw = "\n".join(
        [
            "Connect with us",
            "Real headline",
            "",
            "We use cookies to give you the best experience. By continuing you accept.",
            "First paragraph of the story.",
            "Advertisement",
            "- Sponsored -",
            "Related Posts:",
            "Share this article",
            "Subscribe!",
            "Photo: Jane Roe / Photo credit: Wire",
            "(Image Credit: freepik)",
            "Second paragraph, still the story.",
            "Leave a comment",
            "Leave a Reply",
            "Your email address will not be published.",
            "Required fields are marked *",
        ]
    )
    assert clean_plain_text(raw) == (
        "Real headline\n\nFirst paragraph of the story.\nSecond paragraph, still the story."
    )


def test_clean_plain_text_drops_alt_text_with_credit() -> None:
    raw = "Title\n\nsome alt text words\nsome alt text words (Image Credit: freepik)\n\nBody sentence."
    assert clean_plain_text(raw) == "Title\n\nBody sentence."


def test_clean_plain_text_keeps_headings_and_drops_footer() -> None:
    raw = (
        "Title of story\n\nFirst sentence here.\n\nMid Heading\n\nSecond sentence here.\n\n"
        "Site Name Advertise\n\n\nAbout Us\nContact\n"
    )
    assert clean_plain_text(raw) == (
        "Title of story\n\nFirst sentence here.\n\nMid Heading\n\nSecond sentence here."
    )


def test_clean_plain_text_keeps_wording_verbatim() -> None:
    raw = "  U . S . policy OR emergent events TO disputes…  \n\n\n\nMIXED case Stays “as is”.\xa0\xa0\n"
    assert clean_plain_text(raw) == "U . S . policy OR emergent events TO disputes…\n\nMIXED case Stays “as is”."


def test_clean_plain_text_without_sentences_keeps_everything() -> None:
    assert clean_plain_text("Groceries\nMilk\nEggs\n") == "Groceries\nMilk\nEggs"


def test_clean_plain_text_keeps_trailing_table_rows() -> None:
    raw = "Results are below.\n\n| Team | Points |\n| Reds | 3 |\nShare\n"
    assert clean_plain_text(raw) == "Results are below.\n\n| Team | Points |\n| Reds | 3 |"


def test_clean_plain_text_is_idempotent() -> None:
    once = clean_plain_text(HTML_PAGE)
    assert clean_plain_text(once) == once


# --------------------------------------------------------------------------- metadata


def test_dateline_and_agency(tmp_path: Path) -> None:
    raw = (
        "Quake hits coast\n\nLIMA, Peru, July 4, 2019 (Reuters) - A strong quake hit the coast.\n\n"
        "No damage was reported.\n"
    )
    doc = loaded(load_bytes(tmp_path, "quake.txt", raw))
    assert (doc.title, doc.date, doc.outlet, doc.author) == ("Quake hits coast", "2019-07-04", "Reuters", None)


def test_iso_date_label_and_byline_with_outlet(tmp_path: Path) -> None:
    raw = "Rates rise\nBy Ana María de la Cruz, AFP\nDate: 2021-11-02\n\nThe bank raised rates.\n"
    doc = loaded(load_bytes(tmp_path, "rates.txt", raw))
    assert (doc.author, doc.outlet, doc.date) == ("Ana María de la Cruz", "AFP", "2021-11-02")


def test_no_false_metadata(tmp_path: Path) -> None:
    raw = "By the way, nothing here\n\nIt happened in 2021 around 10 of them.\n"
    doc = loaded(load_bytes(tmp_path, "plain.txt", raw))
    assert (doc.author, doc.outlet, doc.date) == (None, None, None)


# --------------------------------------------------------------------------- seeds

SEED_BOILERPLATE = {
    "Connect with us",
    "Click to comment",
    "Leave a Reply",
    "Your email address will not be published. Required fields are marked *",
    "Latest News",
    "Nevada Weekly Advertise",
    "pompeo cyberspace security emerging technologieslead solarwindsmiller",
    "pompeo cyberspace security emerging technologieslead solarwindsmiller (Image Credit: freepik)",
}
SEED_GONE = (
    "Connect with us",
    "Click to comment",
    "Leave a Reply",
    "Your email address",
    "Latest News",
    "Nevada Weekly Advertise",
    "Image Credit",
)


def seed(name: str) -> SourceFile:
    if SEEDS is None:
        pytest.skip("seed articles not available")
    path = SEEDS / name
    return SourceFile(path=path, source=name, size=path.stat().st_size)


@pytest.mark.parametrize("name", ["000_a92a2212d4dbd9c6.txt", "004_703d1c81ffbf0c84.txt"])
def test_seed_boilerplate_gone_and_paragraphs_kept(name: str) -> None:
    file = seed(name)
    raw = file.path.read_text(encoding="utf-8")
    doc = loaded(load(file, file.path.read_bytes()))
    for phrase in SEED_GONE:
        assert phrase not in doc.text
    for line in raw.splitlines():
        line = line.strip()
        if line and line not in SEED_BOILERPLATE:
            assert line in doc.text, line
    assert "\n\n\n" not in doc.text
    assert all(line == line.strip() for line in doc.text.split("\n"))
    assert clean_plain_text(doc.text) == doc.text


def test_seed_pompeo_metadata() -> None:
    file = seed("000_a92a2212d4dbd9c6.txt")
    doc = loaded(load(file, file.path.read_bytes()))
    assert doc.title == (
        "Mike Pompeo Approves Creation of Bureau of Cyberspace Security and Emerging "
        "Technologies (CSET) to Lead Cybersecurity Diplomacy Amid SolarWinds Hack"
    )
    assert doc.author == "Meggie Miller"
    assert doc.outlet == "The Hill"
    assert "(Meggie Miller /The Hill)" in doc.text
    assert "Impact of SolarWinds Hack" in doc.text.split("\n")
    assert "Background on Pompeo’s Cybersecurity Push" in doc.text.split("\n")
    assert doc.text.endswith("imported externally.")


def test_seed_blinken_metadata() -> None:
    file = seed("004_703d1c81ffbf0c84.txt")
    doc = loaded(load(file, file.path.read_bytes()))
    assert doc.title == "American diplomacy wants to strengthen itself in the face of increasing cyberattacks"
    assert doc.outlet == "AFP"
    assert doc.text.startswith(doc.title + "\n\n(Washington) US Secretary of State")
