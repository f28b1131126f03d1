"""`attache`: the command line. Parses, calls the service, renders; nothing more."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

EXIT_USAGE = 2  # bad settings, missing documents folder, nothing usable
EXIT_BUSY = 3  # another rebuild holds the lock


class CommandError(Exception):
    """A failure to report in one line, with an exit status."""

    def __init__(self, message: str, status: int = EXIT_USAGE) -> None:
        super().__init__(message)
        self.status = status


def _settings(args: argparse.Namespace) -> Any:
    from pydantic import ValidationError

    from index.settings import load_settings

    overrides: dict[str, Any] = {}
    if getattr(args, "docs", None):
        overrides["docs_dir"] = Path(args.docs)
    try:
        return load_settings(**overrides)
    except ValidationError as exc:
        problems = "; ".join(
            f"ATTACHE_{'_'.join(str(p) for p in e['loc']).upper()}: {e['msg']}"
            for e in exc.errors()
        )
        raise CommandError(f"invalid settings: {problems}") from None


def _service(args: argparse.Namespace) -> Any:
    from retrieval.service import Attache

    return Attache(_settings(args))


def _print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False) + "\n")


def _console() -> Any:
    from rich.console import Console

    return Console(highlight=False)


class _ProgressBar:
    """A rich progress bar on stderr, one task per stage."""

    def __init__(self) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

        self._progress = Progress(
            "[progress.description]{task.description}",
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            console=Console(stderr=True),
            transient=True,
        )
        self._tasks: dict[str, Any] = {}

    def __enter__(self) -> _ProgressBar:
        self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._progress.stop()

    def __call__(self, stage: str, done: int, total: int) -> None:
        if stage not in self._tasks:
            self._tasks[stage] = self._progress.add_task(stage, total=total)
        self._progress.update(self._tasks[stage], completed=done, total=total)


def cmd_index_rebuild(args: argparse.Namespace) -> int:
    from index.build import NoUsableDocuments, RebuildBusy
    from index.documents import DocumentsFolderError

    service = _service(args)
    show_bar = not args.json and sys.stderr.isatty()
    try:
        if show_bar:
            with _ProgressBar() as bar:
                report = service.rebuild(progress=bar)
        else:
            report = service.rebuild()
    except (DocumentsFolderError, NoUsableDocuments) as exc:
        raise CommandError(f"{exc}; the existing index was left untouched") from None
    except RebuildBusy as exc:
        raise CommandError(str(exc), EXIT_BUSY) from None
    data = report.as_dict()
    if args.json:
        _print_json(data)
        return 0
    console = _console()
    if report.switched:
        console.print(
            f"Indexed {data['documents']} documents ({data['chunks']} chunks) "
            f"from {service.settings.docs_dir} in {data['seconds']:.1f}s: "
            f"{data['added']} added, {data['updated']} updated, {data['removed']} removed, "
            f"{data['unchanged']} unchanged, {len(data['skipped'])} skipped; "
            f"{data['embedded']} chunks embedded. Now serving version {data['version']}."
        )
    else:
        console.print(
            f"Index is up to date: {data['documents']} documents ({data['chunks']} chunks), "
            f"{len(data['skipped'])} skipped; nothing embedded ({data['seconds']:.2f}s)."
        )
    return 0


def cmd_index_status(args: argparse.Namespace) -> int:
    status = _service(args).status()
    if args.json:
        _print_json(status)
        return 0
    console = _console()
    if status["version"] is None:
        console.print(f"No index yet in {status['store']}. Run: attache index rebuild")
        return 0
    from rich.table import Table

    table = Table(title=f"Attaché index, version {status['version']}")
    for column in ("source", "title", "chunks"):
        table.add_column(column, overflow="fold")
    for doc in status["documents"]:
        table.add_row(doc["source"], doc["title"], str(doc["chunks"]))
    console.print(table)
    console.print(
        f"{len(status['documents'])} documents, {status['chunks']} chunks; "
        f"model {status['embedding_model']}; built {status['built_at']}; "
        f"store {status['store']}"
    )
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="attache",
        description="Attaché: short, sourced answers from a folder of articles.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log details to stderr")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    index = commands.add_parser("index", help="build or inspect the index")
    index_commands = index.add_subparsers(dest="index_command", metavar="ACTION", required=True)
    rebuild = index_commands.add_parser(
        "rebuild", help="bring the index up to date with the documents folder"
    )
    rebuild.add_argument("--json", action="store_true", help="print one JSON report")
    rebuild.add_argument("--docs", metavar="DIR", help="documents folder (ATTACHE_DOCS_DIR)")
    rebuild.set_defaults(handler=cmd_index_rebuild)
    status = index_commands.add_parser("status", help="the indexed documents")
    status.add_argument("--json", action="store_true", help="print JSON")
    status.set_defaults(handler=cmd_index_status)
    return parser


def _configure_logging(verbose: bool) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s: %(message)s"))
    root = logging.getLogger("attache")
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    root.propagate = False
    logging.addLevelName(logging.WARNING, "warning")
    # Libraries' own notes about a bad file would repeat the one warning line per file.
    for noisy in ("pypdf", "trafilatura", "bm25s", "chromadb"):
        logging.getLogger(noisy).setLevel(logging.ERROR)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    _configure_logging(args.verbose)
    handler: Callable[[argparse.Namespace], int] = args.handler
    from index.store import StoreError

    try:
        return handler(args)
    except CommandError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.status
    except StoreError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
