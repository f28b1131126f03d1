"""Attaché: short, sourced answers from a folder of articles.

The installed package holds `attache.index` (the write path), `attache.retrieval`
(the read path) and `attache.bot` (the front ends).
"""

from __future__ import annotations


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("attache")
    except PackageNotFoundError:  # a source tree that was never installed
        return "0+unknown"


__version__ = _version()
