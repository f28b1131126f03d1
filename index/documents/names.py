"""Names safe to store and show: file names and other untrusted text made printable.

A file name is bytes to the operating system and may not be valid UTF-8 (``caf\\xe9.txt``
from a Latin-1 system); Python hands it over with lone surrogates, which cannot be
encoded, stored in Chroma or hashed. It may also hold control characters (an escape
sequence that would drive the terminal it is printed on). :func:`safe_name` turns such a
name into a stable, printable source name: undecodable bytes as ``\\xe9``, control and
other invisible characters as ``\\x1b``/``\\u202e``. Valid, printable names are unchanged.
"""

from __future__ import annotations


def safe_name(name: str) -> str:
    """A stable, printable, encodable form of a file name (or any untrusted text)."""
    return safe_text(_undo_surrogates(name))


def safe_text(text: str) -> str:
    """Text with every non-printable character (controls, format, separators but the
    space) shown as a Python-style escape; printable text is returned as it is."""
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() or ch == " " else _escape(ch) for ch in text)


def _undo_surrogates(name: str) -> str:
    """Undecodable bytes (lone surrogates) of an OS name written as ``\\xNN``."""
    try:
        name.encode("utf-8")
        return name
    except UnicodeEncodeError:
        pass
    try:
        raw = name.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:  # a surrogate that did not come from the OS
        return name.encode("utf-8", "backslashreplace").decode("utf-8")
    return raw.decode("utf-8", "backslashreplace")


def _escape(ch: str) -> str:
    code = ord(ch)
    if code < 0x100:
        return f"\\x{code:02x}"
    if code < 0x10000:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"
