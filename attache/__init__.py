"""Attaché: short, sourced answers from a folder of articles.

The installed package holds `attache.index` (the write path), `attache.retrieval`
(the read path) and `attache.bot` (the front ends).
"""

from __future__ import annotations


from typing import Any


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("attache")
    except PackageNotFoundError:  # a source tree that was never installed
        return "0+unknown"


def __getattr__(name: str) -> Any:
    """`attache.__version__`, read from the package's metadata when first asked for, not on
    every import."""
    if name == "__version__":
        return _version()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
