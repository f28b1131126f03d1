"""`attache`: the command line. Parses, calls the service, renders; nothing more."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from attache.errors import (
    EXIT_FAULT,
    EXIT_INTERRUPTED,
    AttacheError,
    DocumentsFolderError,
    NoUsableDocuments,
    QuestionTooLong,
    SettingsError,
    UsageError,
)

if TYPE_CHECKING:
    from pydantic import BaseModel

def _settings(args: argparse.Namespace) -> Any:
    from pydantic import ValidationError

    from attache.index.settings import load_settings

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
        raise SettingsError(f"invalid settings: {problems}") from None


def _service(args: argparse.Namespace, **options: Any) -> Any:
    from attache.retrieval.service import Attache

    return Attache(_settings(args), **options)


def _origin() -> Any:
    from attache.retrieval.questionlog import Origin

    return Origin(front_end="cli")


def _print_json(model: BaseModel) -> None:
    from attache.models import dump

    sys.stdout.write(json.dumps(dump(model), ensure_ascii=False) + "\n")


def escape(text: str) -> str:
    """Text from documents, file names or questions, made inert for rich markup."""
    from rich.markup import escape as rich_escape

    return rich_escape(escape_terminal(text))


def _console(stderr: bool = False) -> Any:
    from rich.console import Console

    return Console(stderr=stderr, highlight=False)


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
    service = _service(args)
    show_bar = not args.json and sys.stderr.isatty()
    try:
        if show_bar:
            with _ProgressBar() as bar:
                report = service.rebuild(progress=bar)
        else:
            report = service.rebuild()
    except (DocumentsFolderError, NoUsableDocuments) as exc:
        raise type(exc)(f"{exc}; the index was not changed") from None
    if args.json:
        _print_json(report)
        return 0
    console = _console()
    if report.switched:
        console.print(
            f"Indexed {report.documents} documents ({report.chunks} chunks) "
            f"from {escape(str(service.settings.docs_dir))} in {report.seconds:.1f}s: "
            f"{report.added} added, {report.updated} updated, {report.removed} removed, "
            f"{report.unchanged} unchanged, {len(report.skipped)} skipped; "
            f"{_count(report.embedded, 'chunk')} embedded. Now serving version "
            f"{report.version}."
        )
    else:
        console.print(
            f"Index is up to date: {report.documents} documents ({report.chunks} chunks), "
            f"{len(report.skipped)} skipped; nothing embedded ({report.seconds:.2f}s)."
        )
    return 0


def cmd_index_status(args: argparse.Namespace) -> int:
    status = _service(args).status()
    if args.json:
        _print_json(status)
        return 0
    console = _console()
    if status.version is None:
        console.print(f"No index yet in {escape(status.store)}. Run: attache index rebuild")
        return 0
    from rich.table import Table

    table = Table(title=f"Attaché index, version {status.version}")
    for column in ("source", "title", "chunks"):
        table.add_column(column, overflow="fold")
    for doc in status.documents:
        table.add_row(escape(doc.source), escape(doc.title), str(doc.chunks))
    console.print(table)
    console.print(
        f"{len(status.documents)} documents, {status.chunks} chunks; "
        f"model {escape(status.embedding_model or '')}; built {escape(str(status.built_at))}; "
        f"store {escape(status.store)}"
    )
    return 0


def cmd_ask(args: argparse.Namespace) -> int:
    from attache.bot.render import print_answer

    service = _service(args)
    answer = service.ask(args.question, origin=_origin())
    if args.json:
        _print_json(answer.to_result())
    else:
        print_answer(_console(), answer)
    return 0


CHAT_HELP = (
    "Ask a question about the documents; follow-ups may refer to earlier answers.\n"
    "/sources  the passages behind the last answer\n"
    "/reset    forget the conversation\n"
    "/help     this text\n"
    "/quit     leave (or Ctrl-D)"
)


class _Chat:
    """One conversation: questions go to the service, lines starting with "/" are
    commands, whether they are typed or piped in."""

    def __init__(self, service: Any, as_json: bool) -> None:
        from attache.retrieval.conversation import Conversation

        self.service = service
        self.as_json = as_json
        self.console = _console()
        # with --json, standard output holds answers only: what commands say goes to stderr
        self.notes = _console(stderr=True) if as_json else self.console
        self.conversation = Conversation()
        self.last: Any = None

    def take(self, line: str, echo: bool = False) -> bool:
        """Handle one line; False once the user leaves."""
        from attache.bot.render import print_answer, sources_panel

        question = line.strip()
        if not question:
            return True
        if question.startswith("/"):
            command = question.split()[0].lower()
            if command in ("/quit", "/exit"):
                return False
            if command == "/reset":
                self.conversation.reset()
                self.last = None
                self.notes.print("Conversation forgotten.")
            elif command == "/sources":
                self.notes.print(sources_panel(self.last) if self.last
                                 else "No sources yet: ask a question first.")
            else:
                if command != "/help":
                    self.notes.print(f"Unknown command {escape_terminal(command)}.",
                                     markup=False)
                self.notes.print(CHAT_HELP, markup=False)
            return True
        try:
            self.last = self.service.ask(question, self.conversation, origin=_origin())
        except QuestionTooLong as exc:  # the chat goes on
            self.notes.print(f"error: {escape_terminal(str(exc))}", markup=False)
            return True
        if self.as_json:
            _print_json(self.last.to_result())
        else:
            if echo:
                self.console.print(f"[bold]> {escape(question)}[/bold]", markup=True)
            print_answer(self.console, self.last)
        return True


def cmd_chat(args: argparse.Namespace) -> int:
    service = _service(args)
    chat = _Chat(service, args.json)
    if not sys.stdin.isatty():
        for line in sys.stdin:
            if not chat.take(line, echo=True):
                break
            sys.stdout.flush()
        return 0

    from prompt_toolkit import PromptSession
    from prompt_toolkit.history import InMemoryHistory

    # the session's questions, for the arrow keys, kept in memory only: what is stored on
    # disk is the question log, with its own settings (ATTACHE_LOG_QUESTIONS, _LOG_DAYS)
    session: Any = PromptSession(history=InMemoryHistory())
    chat.console.print("Attaché. Ask about the documents; /help for commands, Ctrl-D to leave.")
    while True:
        try:
            line = session.prompt("> ")
        except KeyboardInterrupt:
            continue
        except EOFError:
            return 0
        if not chat.take(line):
            return 0


def cmd_eval(args: argparse.Namespace) -> int:
    from attache.models import dump
    from attache.retrieval.evaluate import Scores, read_questions, run

    try:
        questions = read_questions(Path(args.questions))
    except (OSError, ValueError) as exc:
        raise UsageError(f"cannot read questions: {exc}") from None
    target = _out(args)
    service = _service(args, question_log=None)  # evaluation runs are not readers' questions
    service.warm_up()  # latency figures measure answering, not loading
    out = target.open("w", encoding="utf-8") if target else None
    scores = Scores()
    try:
        for row, scores in run(questions, lambda q: service.ask(q).to_result()):
            if out:
                out.write(json.dumps(dump(row), ensure_ascii=False) + "\n")
    finally:
        if out:
            out.close()
    summary = scores.summary()
    if args.json:
        _print_json(summary)
    else:
        console = _console()
        for key, value in summary.model_dump().items():
            if value is not None:
                console.print(f"{key:>22}: {value}")
        if scores and scores.failures:
            console.print("failed:")
            for failure in scores.failures:
                console.print(f"  {escape_terminal(failure)}", markup=False)
    return 0


def _since(args: argparse.Namespace) -> Any:
    if not getattr(args, "since", None):
        return None
    from attache.retrieval.questionlog import parse_since

    try:
        return parse_since(args.since)
    except ValueError:
        raise UsageError(f"--since wants a date such as 2026-11-01, not {args.since!r}") from None


def _out(args: argparse.Namespace) -> Path | None:
    """The file --out names, in a folder that exists (checked before any work)."""
    if not args.out:
        return None
    target = Path(args.out)
    if not target.parent.is_dir():
        raise UsageError(f"no folder {escape_terminal(str(target.parent))} for --out")
    return target


def _logs(args: argparse.Namespace) -> list[Path] | None:
    """The question logs named by --log, each once; None for the data folder's own."""
    if not getattr(args, "log", None):
        return None
    paths = list(dict.fromkeys(Path(p).resolve() for p in args.log))
    for path in paths:
        if not path.is_file():
            raise UsageError(f"no question log at {escape_terminal(str(path))}")
    return paths


def cmd_gaps(args: argparse.Namespace) -> int:
    service = _service(args)
    if args.purge:
        if args.since or args.log:
            raise UsageError("--purge deletes the data folder's whole question log; it takes "
                             "no --since or --log")
        removed = service.purge_log()
        where = escape_terminal(str(service.settings.data_dir))
        print(f"Deleted the question log of {where} ({_count(len(removed), 'file')})."
              if removed
              else f"There is no question log in {where}.")
        return 0
    report = service.gaps(_since(args), _logs(args))
    if args.json:
        _print_json(report)
        return 0
    console = _console()
    if not report.gaps:
        console.print("No gaps: no logged question was refused, and no answer got a 👎.")
        return 0
    from rich.table import Table

    table = Table(title="Questions the documents did not answer", show_lines=True)
    for column in ("count", "kind", "question", "also asked as", "last asked"):
        table.add_column(column, overflow="fold")
    for gap in report.gaps:
        others = [e for e in gap.examples if e != gap.question]
        note = "\n".join(escape(e) for e in others)
        if gap.comments:
            note += ("\n" if note else "") + "\n".join(
                f"👎 {escape(c)}" for c in gap.comments)
        table.add_row(str(gap.count), gap.kind, escape(gap.question), note, gap.last_asked)
    console.print(table)
    return 0


def cmd_stats(args: argparse.Namespace) -> int:
    report = _service(args).stats(_since(args), _logs(args))
    if args.json:
        _print_json(report)
        return 0
    from rich.table import Table

    table = Table(title="Questions asked")
    for column in ("front end", "questions", "refused", "refusal rate", "👍", "👎",
                   "p50 ms", "p95 ms"):
        table.add_column(column, justify="right" if column != "front end" else "left")

    def row(name: str, f: Any) -> None:
        rate = f"{f.refusal_rate:.0%}" if f.refusal_rate is not None else "-"
        table.add_row(escape(name), str(f.questions), str(f.refused), rate, str(f.votes_up),
                      str(f.votes_down), _ms(f.latency_ms_p50), _ms(f.latency_ms_p95))

    for name, figures in report.by_front_end.items():
        row(name, figures)
    row("total", report)
    console = _console()
    console.print(table)
    if report.top_sources:
        console.print("Most cited: " + ", ".join(
            f"{escape(s.source)} ({s.count})" for s in report.top_sources))
    return 0


def _count(n: int, noun: str) -> str:
    """"1 chunk", "2 chunks"."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}"


def cmd_feedback_export(args: argparse.Namespace) -> int:
    from attache.models import dump

    target = _out(args)
    rows = _service(args).feedback(_since(args), _logs(args))
    lines = [json.dumps(dump(row), ensure_ascii=False) for row in rows]
    if target:
        target.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    if args.json and not args.out:
        sys.stdout.write("".join(line + "\n" for line in lines))
        return 0
    kinds = {kind: sum(1 for r in rows if r.kind == kind)
             for kind in ("confirmed", "refused", "downvoted")}
    counts = (f"{kinds['confirmed']} confirmed by a 👍 (expect the same sources), "
              f"{kinds['refused']} refused and {kinds['downvoted']} voted 👎 (to check again)")
    summary = f"{len(rows)} questions: {counts}."
    if args.out:
        out = escape_terminal(args.out)
        print(f"Wrote {len(rows)} questions to {out}: {counts}. Run: attache eval {out}")
        return 0
    console = _console()
    for row in rows:
        expectation = (", ".join(row.expect_sources or []) if row.kind == "confirmed"
                       else "check again")
        console.print(f"{row.kind:>9}  {escape(row.question)}  [dim]{escape(expectation)}[/dim]")
    console.print(summary)
    return 0


def cmd_discord(args: argparse.Namespace) -> int:
    from attache.bot.discord.client import run_bot

    return run_bot(_settings(args))


def cmd_schema(args: argparse.Namespace) -> int:
    from attache.models import SCHEMAS

    if not args.name:
        for name, model in SCHEMAS.items():
            print(f"{name:10} {(model.__doc__ or '').strip().splitlines()[0]}")
        return 0
    model = SCHEMAS.get(args.name)
    if model is None:
        raise UsageError(f"no schema named {args.name!r}; `attache schema` lists them")
    print(json.dumps(model.model_json_schema(), indent=2, ensure_ascii=False))
    return 0


def _sizes(text: str) -> tuple[int, ...]:
    try:
        sizes = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise argparse.ArgumentTypeError("sizes are whole numbers, e.g. 10000,100000") from None
    if not sizes or min(sizes) < 1:
        raise argparse.ArgumentTypeError("sizes are whole numbers, e.g. 10000,100000")
    return sizes


def cmd_bench(args: argparse.Namespace) -> int:
    from attache.retrieval.bench import DEFAULT_DOCS, run_bench

    docs = Path(args.docs) if args.docs else DEFAULT_DOCS
    if not docs.is_dir():
        raise UsageError(f"benchmark corpus not found: {escape_terminal(str(docs))} (use "
                         "--docs DIR)")
    report = run_bench(
        _settings(args), docs, quick=args.quick,
        progress=None if args.json else lambda line: print(line, file=sys.stderr, flush=True),
        sizes=args.sizes,
    )
    if args.json:
        from attache.models import BenchReport

        _print_json(BenchReport(**report))
    else:
        from attache.retrieval.bench import format_report

        _console().print(format_report(report), markup=False)
    return 0


class _Version(argparse.Action):
    """--version: the package's metadata is read only when asked for."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: Any, option_string: str | None = None) -> None:
        import attache

        print(f"attache {attache.__version__}")
        parser.exit()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="attache",
        description="Attaché: short, sourced answers from a folder of articles.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log details to stderr")
    parser.add_argument("--version", action=_Version, nargs=0,
                        help="show the program's version number and exit")
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

    ask = commands.add_parser("ask", help="answer one question, with sources")
    ask.add_argument("question", help="the question, quoted")
    ask.add_argument("--json", action="store_true", help="print the answer as JSON")
    ask.set_defaults(handler=cmd_ask)

    chat = commands.add_parser(
        "chat", help="a conversation (reads one question per line when input is not a terminal)"
    )
    chat.add_argument("--json", action="store_true", help="one JSON answer per line")
    chat.set_defaults(handler=cmd_chat)

    evaluate = commands.add_parser("eval", help="answer a JSONL question file and score it")
    evaluate.add_argument("questions", metavar="QUESTIONS.jsonl")
    evaluate.add_argument("--out", metavar="RESULTS.jsonl", help="write one result per question")
    evaluate.add_argument("--json", action="store_true", help="print the scores as JSON")
    evaluate.set_defaults(handler=cmd_eval)

    def log_options(command: argparse.ArgumentParser) -> None:
        command.add_argument("--since", metavar="DATE",
                             help="only questions asked from then on (2026-11-01, UTC)")
        command.add_argument("--log", action="append", metavar="FILE",
                             help="a question log to read (repeat for several instances'; "
                                  "default: the data folder's)")

    gaps = commands.add_parser(
        "gaps", help="refused and 👎 questions, grouped by meaning, most asked first")
    gaps.add_argument("--json", action="store_true", help="print JSON")
    log_options(gaps)
    gaps.add_argument("--purge", action="store_true",
                      help="delete the question log (and its salt) of the data folder")
    gaps.set_defaults(handler=cmd_gaps)

    stats = commands.add_parser("stats", help="questions, refusals, votes and latency")
    stats.add_argument("--json", action="store_true", help="print JSON")
    log_options(stats)
    stats.set_defaults(handler=cmd_stats)

    feedback = commands.add_parser("feedback", help="readers' votes as a regression set")
    feedback_commands = feedback.add_subparsers(dest="feedback_command", metavar="ACTION",
                                                required=True)
    export = feedback_commands.add_parser(
        "export", help="JSON lines for `attache eval`: 👍 answers, refused and 👎 questions")
    export.add_argument("--json", action="store_true", help="print the JSON lines")
    export.add_argument("--out", metavar="FILE", help="write the JSON lines to FILE")
    log_options(export)
    export.set_defaults(handler=cmd_feedback_export)

    discord = commands.add_parser("discord", help="run the Discord bot (settings from .env)")
    discord.set_defaults(handler=cmd_discord)

    bench = commands.add_parser("bench", help="measure build and query speed and memory")
    bench.add_argument("--docs", metavar="DIR",
                       help="corpus folder (default ../shared/eval/squad-public/docs)")
    bench.add_argument("--json", action="store_true", help="print the figures as JSON")
    bench.add_argument("--quick", action="store_true",
                       help="smaller growth sizes (1k and 10k chunks), for a fast look")
    bench.add_argument("--sizes", type=_sizes, metavar="N,N",
                       help="growth store sizes in chunks (default 10000,100000)")
    bench.set_defaults(handler=cmd_bench)

    schema = commands.add_parser("schema", help="the JSON Schema of a --json output")
    schema.add_argument("name", nargs="?", metavar="NAME", help="one of the names it lists")
    schema.set_defaults(handler=cmd_schema)

    from attache.bot.sources_cli import register as register_sources

    register_sources(commands, index_commands, sys.modules[__name__])  # add, feeds, index watch
    return parser


def _configure_logging(verbose: bool) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_TerminalFormatter("%(levelname)s: %(message)s"))
    root = logging.getLogger("attache")
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    root.propagate = False
    logging.addLevelName(logging.WARNING, "warning")
    # Libraries' own notes about a bad file would repeat the one warning line per file.
    for noisy in ("pypdf", "trafilatura", "bm25s", "chromadb"):
        logging.getLogger(noisy).setLevel(logging.ERROR)


class _TerminalFormatter(logging.Formatter):
    """Log lines with control characters shown as escapes (names come from documents)."""

    def format(self, record: logging.LogRecord) -> str:
        return "\n".join(escape_terminal(line) for line in super().format(record).split("\n"))


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    _configure_logging(args.verbose)
    handler: Callable[[argparse.Namespace], int] = args.handler
    try:
        return handler(args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BaseException as exc:  # noqa: BLE001 - the one place errors become messages
        if isinstance(exc, SystemExit):
            raise
        message, status = describe(exc)
        if args.verbose:
            logging.getLogger("attache").exception("details")
        print(f"error: {escape_terminal(message)}", file=sys.stderr)
        return status


def describe(exc: BaseException) -> tuple[str, int]:
    """The one `error:` line and exit status for any failure a command meets."""
    if isinstance(exc, AttacheError):
        return str(exc), exc.exit_status
    if isinstance(exc, OSError):
        import errno

        where = f": {exc.filename}" if exc.filename else ""
        if exc.errno == errno.ENOSPC:
            return f"the disk is full{where}; free some space and run the command again", EXIT_FAULT
        if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
            return (f"permission denied{where}: check that the data folder "
                    "(ATTACHE_DATA_DIR) is writable"), EXIT_FAULT
        return f"{exc.strerror or exc}{where}", EXIT_FAULT
    return (f"unexpected {type(exc).__name__}: {exc} (run with -v for details)", EXIT_FAULT)


def escape_terminal(text: str) -> str:
    """Text with control characters (escape sequences among them) made visible."""
    return "".join(ch if ch.isprintable() or ch == " " else repr(ch)[1:-1] for ch in text)


if __name__ == "__main__":
    sys.exit(main())
