"""Documents with the traps of real material, in three formats: a Markdown charter
(link, emphasis, quote, numbered list, table, code), a typeset PDF (running header,
page footer, hyphenated line ends, a sentence across a page break) and a hard-wrapped
text note. Shared by the format tests and the end-to-end answer tests."""

from __future__ import annotations

import io
from pathlib import Path

CHARTER_MD = """---
title: Harbor cyber council charter
date: 2026-03-02
---

# Harbor cyber council charter

The council is chaired by [Admiral Ines Varga](https://example.org/people/varga), who was
appointed in **March 2026** by the harbor board.

> The council exists so that *no harbor* faces an attack alone.

## Priorities

The council has five priorities:

1. Protect the lighthouse signalling network.
2. Share threat reports with every port within a day.
3. Train harbor staff in incident response.
4. Fund security audits of crane control systems.
5. Secure the undersea cables that link the harbors.

## Budget

| Year | Budget |
|------|--------|
| 2026 | $4 million |
| 2027 | $6 million |

```
alert --level=red --port all
```
"""

NOTE_TXT = """Embassy note on cyber staffing

The embassy's cyber unit was founded in 2019 by Consul
Marta Ilves, who had led the consulate's network team for
six years before she moved to the embassy in the capital.

The unit reports to the deputy head of mission and meets
the harbor council every quarter to review threat reports.
"""

PDF_HEADER = "U.S. Department of Harbors | International Harbor Cyber Strategy"
# Body lines of each page, as the typesetter wrapped them.
PDF_PAGES = [
    [
        "International Harbor Cyber Strategy",
        "",
        "The department will deepen its coopera-",
        "tion with allied ports on the defense of shared networks and",
        "will report every serious incident within twenty-four hours",
        "of its discovery to the regional harbor authorities.",
        "",
        "The strategy commits the department to the light-",
    ],
    [
        "house protocol, a shared alert system that warns every port",
        "of an attack on any one of them within minutes.",
        "",
        "Funding for the protocol comes from the maritime security",
        "fund, which grew to nine million dollars in the last year.",
    ],
    [
        "The department reviews the strategy every two years and",
        "publishes the results of each review for the public.",
    ],
]


def make_pdf() -> bytes:
    """A three-page typeset PDF (reportlab): header, footer, hyphenation, page break."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    out = io.BytesIO()
    pdf = canvas.Canvas(out, pagesize=A4)
    pdf.setTitle("International Harbor Cyber Strategy")
    width, height = A4
    for number, lines in enumerate(PDF_PAGES, 1):
        pdf.setFont("Helvetica", 9)
        pdf.drawString(72, height - 40, PDF_HEADER)
        pdf.setFont("Helvetica", 11)
        y = height - 90
        for line in lines:
            if line:
                pdf.drawString(72, y, line)
            y -= 15
        pdf.setFont("Helvetica", 9)
        pdf.drawString(width / 2 - 30, 40, f"Page {number} of {len(PDF_PAGES)}")
        pdf.showPage()
    pdf.save()
    return out.getvalue()


def write_folder(folder: Path) -> Path:
    """The three documents in `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "charter.md").write_text(CHARTER_MD, encoding="utf-8")
    (folder / "note.txt").write_text(NOTE_TXT, encoding="utf-8")
    (folder / "strategy.pdf").write_bytes(make_pdf())
    return folder
