"""Control characters made visible: terminal escape sequences and the bidirectional
overrides and isolates (which can turn "[1]" around on screen) are shown as `\\x1b` or
`\\u202e`, in the terminal and in Discord alike."""

from __future__ import annotations

import re

# C0 and C1 controls but newline and tab, and the bidirectional overrides and isolates.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def plain(text: str) -> str:
    """`text` with its control characters made visible (`\\x1b`, `\\u202e`)."""
    return _CONTROL.sub(lambda m: repr(m.group(0))[1:-1], text)
