"""`attache index watch`: rebuild when the documents folder changes.

watchfiles reports changes; a burst (a copy of many files, an editor's save dance) is
waited out until nothing has changed for `settle` seconds (at most `MAX_WAIT` in all),
then the index is brought up to date, incrementally, and one line says what changed.
Hidden files and folders (and so the temporary files documents are written through)
and files of unsupported types are ignored. With a feed schedule, a thread syncs the
feeds every `every` seconds, saving new items into the folder: the watcher sees them
and rebuilds. `stop` (or Ctrl-C) ends it cleanly.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from attache.index.sources.archive import SyncReport
    from attache.models import RebuildReport

log = logging.getLogger("attache.watch")

MAX_WAIT = 30.0  # seconds a continuous stream of changes may delay a rebuild
RETRY_SECONDS = 5.0  # after a failed or busy rebuild


def relevant(docs_dir: Path, path: str) -> bool:
    """Whether a changed path can matter to the index."""
    from attache.index.documents import SUPPORTED_SUFFIXES

    try:
        parts = Path(path).relative_to(docs_dir).parts
    except ValueError:
        parts = Path(path).parts
    if not parts or any(part.startswith(".") for part in parts):
        return False
    suffix = Path(parts[-1]).suffix.lower()
    return not suffix or suffix in SUPPORTED_SUFFIXES  # no suffix: perhaps a folder


def describe(report: RebuildReport) -> str:
    """One line for a rebuild report."""
    skipped = len(report.skipped)
    if not report.switched:
        return (f"index up to date: {report.documents} documents, {report.chunks} chunks"
                + (f", {skipped} skipped" if skipped else ""))
    return (
        f"rebuilt in {report.seconds:.1f}s: {report.added} added, "
        f"{report.updated} updated, {report.removed} removed"
        + (f", {skipped} skipped" if skipped else "")
        + f"; {report.documents} documents, {report.chunks} chunks, "
        f"{report.embedded} embedded; version {report.version}"
    )


def describe_sync(report: SyncReport) -> str:
    errors = sum(len(f["errors"]) for f in report.feeds)
    return (
        f"feeds synced: {len(report.feeds)} feeds, {len(report.added)} new articles saved, "
        f"{len(report.skipped)} skipped" + (f", {errors} errors" if errors else "")
    )


class Watcher:
    """Watches `docs_dir` and calls `rebuild` after each settled burst of changes."""

    def __init__(
        self,
        docs_dir: Path,
        rebuild: Callable[[], RebuildReport],
        say: Callable[[str], None],
        settle: float = 1.0,
        sync: Callable[[threading.Event], SyncReport] | None = None,
        every: float | None = None,
        stop: threading.Event | None = None,
    ) -> None:
        self.docs_dir = docs_dir
        self._rebuild = rebuild
        self.say = say
        self.settle = settle
        self._sync = sync
        self.every = every
        self.stop = stop or threading.Event()
        self.rebuilds = 0

    def rebuild(self) -> bool:
        """One rebuild and its line; False when it should be tried again later."""
        from attache.errors import DocumentsFolderError, NoUsableDocuments, RebuildBusy

        try:
            report = self._rebuild()
        except RebuildBusy:
            self.say(f"another rebuild is running; trying again in {RETRY_SECONDS:g}s")
            return False
        except (DocumentsFolderError, NoUsableDocuments) as exc:
            self.say(f"not rebuilt: {exc}")
            return True  # the next change will tell
        except Exception as exc:  # keep watching; the index is untouched
            log.debug("rebuild failed", exc_info=True)
            self.say(f"rebuild failed: {exc}; trying again in {RETRY_SECONDS:g}s")
            return False
        self.rebuilds += 1
        self.say(describe(report))
        return True

    def _feeds(self) -> None:
        assert self._sync is not None and self.every
        while not self.stop.is_set():
            try:
                self.say(describe_sync(self._sync(self.stop)))
            except Exception as exc:  # keep the schedule
                log.debug("feed sync failed", exc_info=True)
                self.say(f"feed sync failed: {exc}")
            if self.stop.wait(self.every):
                return

    def run(self) -> None:
        """Watch until `stop` is set or Ctrl-C; returns normally either way."""
        feeds: threading.Thread | None = None
        try:
            pending = not self.rebuild()  # catch up with what changed while not watching
            if not self.stop.is_set():
                if self._sync is not None and self.every:
                    feeds = threading.Thread(target=self._feeds, name="attache-feeds",
                                             daemon=True)
                    feeds.start()
                self.say(f"watching {self.docs_dir} (Ctrl-C to stop)")
                self._watch(pending)
        except KeyboardInterrupt:
            pass
        finally:
            self.stop.set()
            if feeds is not None:
                feeds.join(timeout=30)
        self.say("stopped watching")

    def _watch(self, pending: bool) -> None:
        """Rebuild after each settled burst of changes (and retry a failed rebuild) until
        `stop` is set; watchfiles looks at `stop` every `settle` seconds."""
        import watchfiles

        retry_at = time.monotonic() + RETRY_SECONDS
        for changes in watchfiles.watch(
            self.docs_dir,
            watch_filter=lambda _change, path: relevant(self.docs_dir, path),
            step=max(int(self.settle * 1000), 50),
            debounce=int(max(MAX_WAIT, self.settle) * 1000),
            stop_event=self.stop,
            yield_on_timeout=True,
            rust_timeout=int(RETRY_SECONDS * 1000),
            raise_interrupt=True,
        ):
            if changes or (pending and time.monotonic() >= retry_at):
                pending = not self.rebuild()
                retry_at = time.monotonic() + RETRY_SECONDS
