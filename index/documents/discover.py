"""Discovery: walk the documents folder (links and sizes checked), list what to read."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from attache.index.documents.base import SUPPORTED_SUFFIXES, Skipped, SourceFile
from attache.index.documents.names import safe_name

from attache.errors import DocumentsFolderError


def discover(root: Path, max_bytes: int) -> tuple[list[SourceFile], list[Skipped]]:
    """List the candidate files under ``root`` and the ones skipped, by source."""
    root = Path(root)
    if not root.is_dir():
        raise DocumentsFolderError(f"documents folder not found: {root}")
    base = Path(os.path.abspath(root))
    real_root = root.resolve()
    files: list[SourceFile] = []
    skipped: list[Skipped] = []
    candidates = 0
    pending: list[tuple[str, ...]] = [()]
    while pending:
        parts = pending.pop()
        try:
            entries = sorted(os.scandir(base.joinpath(*parts)), key=lambda e: e.name)
        except OSError as exc:
            if not parts:
                raise DocumentsFolderError(
                    f"documents folder cannot be read: {root} ({os_reason(exc)})"
                ) from None
            skipped.append(Skipped(_posix(parts), f"unreadable: {os_reason(exc)}"))
            continue
        for entry in entries:
            if entry.name.startswith("."):
                continue
            rel = (*parts, entry.name)
            outcome = _classify(entry, rel, base, real_root, max_bytes)
            if outcome is None:
                pending.append(rel)
                continue
            candidates += _is_file_candidate(outcome)
            (files if isinstance(outcome, SourceFile) else skipped).append(outcome)
    if candidates == 0:
        raise DocumentsFolderError(f"documents folder is empty: {root}")
    files = _distinct_sources(files, skipped)
    files.sort(key=lambda f: f.source)
    skipped.sort(key=lambda s: s.path)
    return files, skipped


NOT_REGULAR = "not a regular file"
OUTSIDE_LINK = "symbolic link leading outside the documents folder"
_NOT_REGULAR = NOT_REGULAR
_BROKEN_LINK = "unreadable: broken symbolic link"
_OUTSIDE_LINK = OUTSIDE_LINK
_FOLDER_LINK = "symbolic link to a folder (not followed)"


def _is_file_candidate(outcome: SourceFile | Skipped) -> int:
    """1 when the outcome stands for a file (indexed or not), else 0."""
    if isinstance(outcome, SourceFile):
        return 1
    return int(outcome.reason not in {_NOT_REGULAR, _BROKEN_LINK, _FOLDER_LINK})


def _classify(
    entry: os.DirEntry[str],
    rel: tuple[str, ...],
    base: Path,
    real_root: Path,
    max_bytes: int,
) -> SourceFile | Skipped | None:
    """Decide what one directory entry is: a file, a skip, or (None) a folder to walk."""
    source = _posix(rel)
    try:
        if entry.is_symlink():
            return _classify_link(rel, source, base, real_root, max_bytes)
        if entry.is_dir(follow_symlinks=False):
            return None
        info = entry.stat(follow_symlinks=False)
    except OSError as exc:
        return Skipped(source, f"unreadable: {os_reason(exc)}")
    if not stat.S_ISREG(info.st_mode):
        return Skipped(source, _NOT_REGULAR)
    return _check_file(base, rel, source, info, max_bytes)


def _classify_link(
    rel: tuple[str, ...], source: str, base: Path, real_root: Path, max_bytes: int
) -> SourceFile | Skipped:
    """Classify a symbolic link without ever reading through it."""
    try:
        target = base.joinpath(*rel).resolve(strict=True)
    except (OSError, RuntimeError):
        return Skipped(source, _BROKEN_LINK)
    if not target.is_relative_to(real_root):
        return Skipped(source, _OUTSIDE_LINK)
    try:
        info = target.stat()
    except OSError as exc:
        return Skipped(source, f"unreadable: {os_reason(exc)}")
    if stat.S_ISDIR(info.st_mode):
        return Skipped(source, _FOLDER_LINK)
    if not stat.S_ISREG(info.st_mode):
        return Skipped(source, _NOT_REGULAR)
    return _check_file(base, rel, source, info, max_bytes)


def _suffix(source: str) -> str:
    """`PurePosixPath(source).suffix`, without making a path."""
    name = source.rpartition("/")[2]
    dot = name.rfind(".")
    return name[dot:] if 0 < dot < len(name) - 1 else ""


def _check_file(
    base: Path, rel: tuple[str, ...], source: str, info: os.stat_result, max_bytes: int
) -> SourceFile | Skipped:
    """Apply the suffix and size rules to a regular file (`info`: its status)."""
    size = info.st_size
    suffix = _suffix(source).lower()
    if not suffix:
        return Skipped(source, "unsupported type (no extension)")
    if suffix not in SUPPORTED_SUFFIXES:
        return Skipped(source, f"unsupported type '{suffix}'")
    if size > max_bytes:
        return Skipped(source, f"larger than {format_limit(max_bytes)} ({format_size(size)})")
    return SourceFile(path=base.joinpath(*rel), source=source, size=size, root=base, parts=rel,
                      mtime_ns=info.st_mtime_ns)


def _distinct_sources(files: list[SourceFile], skipped: list[Skipped]) -> list[SourceFile]:
    """Keep one file per source name; a second file whose escaped name is the same as
    another's (``caf\\xe9.txt`` spelt out, beside the Latin-1 ``café.txt``) is skipped."""
    seen: dict[str, SourceFile] = {}
    for file in sorted(files, key=lambda f: (f.source, f.parts != _raw_parts(f.source))):
        if file.source in seen:
            skipped.append(Skipped(file.source, "name the same as another file's once escaped"))
        else:
            seen[file.source] = file
    return list(seen.values())


def _raw_parts(source: str) -> tuple[str, ...]:
    return tuple(source.split("/"))


_MB = 1024 * 1024
_KB = 1024


def format_limit(n: int) -> str:
    """A size limit, e.g. ``20 MB``."""
    if n >= _MB:
        return f"{n / _MB:.1f}".removesuffix(".0") + " MB"
    if n >= _KB:
        return f"{n / _KB:.1f}".removesuffix(".0") + " KB"
    return f"{n} bytes"


def format_size(n: int) -> str:
    """A file size, e.g. ``31.2 MB``."""
    if n >= _MB // 10:
        return f"{n / _MB:.1f} MB"
    if n >= _KB:
        return f"{n / _KB:.1f} KB"
    return f"{n} bytes"


def _posix(parts: tuple[str, ...]) -> str:
    """Safe relative POSIX path of path parts ("." for the root itself): undecodable
    bytes and control characters written as escapes (see names.safe_name)."""
    return safe_name("/".join(parts)) if parts else "."  # names hold no "/"


def os_reason(exc: OSError) -> str:
    """Short text of an OS error, without the path."""
    return exc.strerror or str(exc) or type(exc).__name__
