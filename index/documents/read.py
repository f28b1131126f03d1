"""Reading: the bytes of a discovered file, or why they could not be read.

Discovery and reading happen at different times, so everything discovery checked is
checked again on the open file: the path is opened one component at a time from the
documents folder with ``O_NOFOLLOW`` (a file swapped for a symbolic link is not
followed; a link discovery accepted is resolved and must still lead inside the folder,
with no link on the way), the open handle must be a regular file within the size
limit, and at most the limit is read (a file that grew meanwhile is skipped).
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from attache.index.documents.base import Skipped, SourceFile
from attache.index.documents.discover import (
    NOT_REGULAR,
    OUTSIDE_LINK,
    format_limit,
    format_size,
    os_reason,
)

_LINK_ERRORS = (errno.ELOOP, errno.ENOTDIR, errno.EMLINK)
_CHANGED_LINK = "symbolic link changed while being read"
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_FILE_FLAGS = (
    os.O_RDONLY | _NOFOLLOW | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_BINARY", 0)
)
_DIR_FLAGS = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | _NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
# Where the OS cannot open relative to a folder without following links (not POSIX),
# the path is checked with realpath and opened by name.
_WALKS = bool(_NOFOLLOW) and os.open in os.supports_dir_fd
_CHUNK = 1024 * 1024


class _Refused(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def read(file: SourceFile, max_bytes: int | None = None) -> bytes | Skipped:
    """The raw bytes of a file (at most ``max_bytes``), or why they could not be read."""
    if file.root is not None and file.parts:
        root, parts = Path(file.root), tuple(file.parts)
    else:
        root, parts = file.path.parent, (file.path.name,)
    try:
        fd = _open_inside(root, parts)
    except _Refused as refused:
        return Skipped(file.source, refused.reason)
    except OSError as exc:
        return Skipped(file.source, f"unreadable: {os_reason(exc)}")
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            return Skipped(file.source, NOT_REGULAR)
        if max_bytes is not None and info.st_size > max_bytes:
            return Skipped(
                file.source,
                f"larger than {format_limit(max_bytes)} ({format_size(info.st_size)})",
            )
        data = _read_at_most(fd, max_bytes)
    except OSError as exc:
        return Skipped(file.source, f"unreadable: {os_reason(exc)}")
    finally:
        os.close(fd)
    if max_bytes is not None and len(data) > max_bytes:
        return Skipped(file.source, f"larger than {format_limit(max_bytes)} (grew while being read)")
    return data


def _read_at_most(fd: int, max_bytes: int | None) -> bytes:
    """Read to the end, or one byte past ``max_bytes`` at most."""
    left = None if max_bytes is None else max_bytes + 1
    parts: list[bytes] = []
    while left is None or left > 0:
        block = os.read(fd, _CHUNK if left is None else min(_CHUNK, left))
        if not block:
            break
        parts.append(block)
        if left is not None:
            left -= len(block)
    return b"".join(parts)


def _open_inside(root: Path, parts: tuple[str, ...]) -> int:
    """A read-only descriptor of ``root/parts``, never through a link leading outside."""
    if not _WALKS:
        real_root = os.path.realpath(root)
        target = os.path.realpath(os.path.join(root, *parts))
        if os.path.commonpath([real_root, target]) != real_root:
            raise _Refused(OUTSIDE_LINK)
        return os.open(target, _FILE_FLAGS)
    try:
        return _walk(root, parts)
    except OSError as exc:
        if exc.errno not in _LINK_ERRORS:
            raise
    # A symbolic link on the way: resolve it now, and open what it leads to only if that
    # is inside the folder, again with no link on the way (a link swapped in since fails).
    real_root = os.path.realpath(root)
    target = os.path.realpath(os.path.join(root, *parts))
    if os.path.commonpath([real_root, target]) != real_root:
        raise _Refused(OUTSIDE_LINK)
    relative = os.path.relpath(target, real_root)
    try:
        return _walk(Path(real_root), tuple(relative.split(os.sep)))
    except OSError as exc:
        if exc.errno in _LINK_ERRORS:
            raise _Refused(_CHANGED_LINK) from None
        raise


def _walk(root: Path, parts: tuple[str, ...]) -> int:
    """Open ``parts`` below ``root`` one component at a time, following no link."""
    current = os.open(root, _DIR_FLAGS & ~_NOFOLLOW)
    try:
        for part in parts[:-1]:
            following = os.open(part, _DIR_FLAGS, dir_fd=current)
            os.close(current)
            current = following
        return os.open(parts[-1], _FILE_FLAGS, dir_fd=current)
    finally:
        os.close(current)
