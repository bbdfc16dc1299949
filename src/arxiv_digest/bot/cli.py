"""The `arxiv-digest` command line.

    arxiv-digest digest CATEGORY... [--lang CODE] [--format markdown] [--limit N] [--date YYYY-MM-DD]
    arxiv-digest paper ID [--lang CODE]
    arxiv-digest run
    arxiv-digest db upgrade
    arxiv-digest bench summary FILE

The digest goes to stdout; progress and notices to stderr. Expected failures print one line and a hint and
exit non-zero, never a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import date
from pathlib import Path
from typing import NoReturn

from pydantic import ValidationError

from .. import __version__
from ..papers.digest import MAX_KEYWORD_LENGTH
from ..papers.errors import ArxivDigestError, InvalidInput, PaperNotFound, SourceUnavailable
from ..papers.languages import is_english, normalize_language
from ..papers.models import DigestOptions
from ..papers.taxonomy import load_taxonomy
from ..papers.translate import NOTICE_NO_KEY
from ..storage.db import AlreadyRunning, Database, StorageUnavailable
from .delivery import PlatformFailed
from .digests import DigestService, HarvestStatus
from .runtime import NothingToRun, open_runtime, run_bots
from .settings import Settings

logger = logging.getLogger("arxiv_digest.cli")

EXIT_USAGE = 2
EXIT_FAILURE = 1


class CliError(Exception):
    """An expected failure: one line to stderr, exit status ``code``."""

    def __init__(self, message: str, code: int = EXIT_FAILURE) -> None:
        super().__init__(message)
        self.code = code


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"arxiv-digest: {message} (see: arxiv-digest {self._sub()}--help)\n")

    def _sub(self) -> str:
        parts = self.prog.split()[1:]
        return (" ".join(parts) + " ") if parts else ""


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text[:20]!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _iso_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text[:20]!r} is not a date (use YYYY-MM-DD)") from None


def plural(count: int, noun: str) -> str:
    """``1 paper``, ``2 papers``."""
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="arxiv-digest", description="arXiv announcements, translated.")
    parser.add_argument("--version", action="version", version=f"arxiv-digest {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="more progress on stderr")
    # -v is also accepted after the subcommand (``digest cs.LG -v``); SUPPRESS keeps the first one given
    verbose = _Parser(add_help=False)
    verbose.add_argument(
        "-v", "--verbose", action="store_true", default=argparse.SUPPRESS, help="more progress on stderr"
    )
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    d = sub.add_parser(
        "digest", parents=[verbose], help="print the latest (or a given day's) announcements as a digest"
    )
    d.add_argument("categories", nargs="+", metavar="CATEGORY", help="e.g. cs.LG stat.ML, or an archive: cs")
    d.add_argument("--lang", help="DeepL target: ZH-HANS, JA, DE, EN-US, … (default: DEFAULT_LANGUAGE)")
    d.add_argument("--format", choices=["markdown"], default="markdown")
    d.add_argument("--limit", type=_positive_int, help="at most N papers (the rest are counted)")
    d.add_argument("--date", type=_iso_date, help="an announcement day already harvested, YYYY-MM-DD")
    d.add_argument("--no-cross", action="store_true", help="leave out cross-lists")
    d.add_argument("--no-replacements", action="store_true", help="leave out replaced (revised) papers")
    d.add_argument("--keyword", action="append", default=[], help="keep papers mentioning this (repeatable)")

    p = sub.add_parser("paper", parents=[verbose], help="print one paper as a footnote")
    p.add_argument("id", metavar="ID", help="2403.19243, 2403.19243v2, arXiv:…, a URL, hep-th/9901001")
    p.add_argument("--lang", help="DeepL target language (default: DEFAULT_LANGUAGE)")

    sub.add_parser(
        "run",
        parents=[verbose],
        help="run the bots (TELEGRAM_BOT_TOKEN, DISCORD_BOT_TOKEN), the harvest and the deliveries",
    )

    db = sub.add_parser("db", parents=[verbose], help="database maintenance")
    db_sub = db.add_subparsers(dest="db_command", required=True, parser_class=_Parser)
    db_sub.add_parser(
        "upgrade", parents=[verbose], help="create or upgrade the tables (done automatically on first use)"
    )

    b = sub.add_parser("bench", parents=[verbose], help="benchmarks")
    b_sub = b.add_subparsers(dest="bench_command", required=True, parser_class=_Parser)
    bs = b_sub.add_parser(
        "summary", parents=[verbose], help="score the one-sentence summary against a corpus (ROUGE-L F1)"
    )
    bs.add_argument(
        "file",
        nargs="?",
        type=Path,
        metavar="FILE",
        help="JSON lines with title, abstract and a reference summary tldr_en",
    )
    return parser


class RedactSecrets(logging.Filter):
    """Replaces every configured secret (bot tokens, API keys) in a log record by ``[redacted]``: a library
    logging a URL or its parameters at DEBUG must never print a token."""

    def __init__(self, secrets: Sequence[str]) -> None:
        super().__init__()
        self.secrets = sorted({s for s in secrets if len(s) >= 6}, key=len, reverse=True)

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.secrets:
            return True
        message = record.getMessage()
        cleaned = message
        for secret in self.secrets:
            cleaned = cleaned.replace(secret, "[redacted]")
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_info and record.exc_text is None:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            for secret in self.secrets:
                record.exc_text = record.exc_text.replace(secret, "[redacted]")
        return True


class ExpectedErrorsInOneLine(logging.Filter):
    """python-telegram-bot and discord.py log the tracebacks of network conditions (a revoked token, an
    answer that is not JSON, a gateway dropped and reconnected), which the bot reports and handles itself in
    one line: such records keep their message, not the traceback; ``-v`` shows everything. Our own code's
    tracebacks (bugs) are kept."""

    EXPECTED = frozenset({"InvalidToken"})

    def filter(self, record: logging.LogRecord) -> bool:
        kind = record.exc_info[0] if record.exc_info else None
        if kind is not None and (
            kind.__name__ in self.EXPECTED or record.name.startswith(("telegram", "discord"))
        ):
            record.exc_info = None
            record.exc_text = None
        return True


def _secrets(settings: Settings | None) -> list[str]:
    if settings is None:
        return []
    found: list[str] = []
    for secret in (settings.telegram_bot_token, settings.discord_bot_token, settings.deepl_auth_key):
        if secret is not None:
            value = secret.get_secret_value()
            found.append(value)
            if ":" in value:  # a Telegram token: its secret half alone is a secret too
                found.append(value.split(":", 1)[1])
    return found


def configure_logging(level: str, *, verbose: bool, settings: Settings | None = None) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactSecrets(_secrets(settings)))
    if not verbose:
        handler.addFilter(ExpectedErrorsInOneLine())
    handler.set_name("arxiv-digest")
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == "arxiv-digest"]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(logging.DEBUG if verbose else getattr(logging, level, logging.INFO))
    # Bot API URLs carry the token: the HTTP clients stay at WARNING whatever the level.
    # APScheduler's INFO lines (each job run, twice) would bury the one summary line a scheduled run logs.
    noisy_libraries = (
        "httpx",
        "httpcore",
        "urllib3",
        "arxiv",
        "deepl",
        "aiosqlite",
        "asyncio",
        "alembic",
        "apscheduler",
    )
    for noisy in (*noisy_libraries, "discord"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def _load_settings() -> Settings:
    try:
        return Settings()
    except ValidationError as exc:
        first = exc.errors()[0]
        name = str(first["loc"][0]).upper() if first["loc"] else "settings"
        raise CliError(f"invalid setting {name}: {first['msg']} (see .env.example)", EXIT_USAGE) from None


@asynccontextmanager
async def _service(settings: Settings) -> AsyncIterator[DigestService]:
    async with open_runtime(settings) as runtime:
        yield runtime.digests


def _say_if_untranslated(service: DigestService, language: str) -> None:
    if not is_english(language) and not service.translation_enabled:
        print(NOTICE_NO_KEY, file=sys.stderr)


async def _cmd_digest(args: argparse.Namespace, settings: Settings) -> int:
    from ..formatters.markdown import render_digest

    taxonomy = load_taxonomy()
    categories = taxonomy.resolve_many(args.categories)
    if not categories:
        raise CliError("no category given (e.g. arxiv-digest digest cs.LG stat.ML)", EXIT_USAGE)
    language = normalize_language(args.lang) if args.lang else settings.default_language
    keywords = tuple(k.strip() for k in args.keyword if k.strip())
    for keyword in keywords:
        if len(keyword) > MAX_KEYWORD_LENGTH:
            raise CliError(f"--keyword is too long (at most {MAX_KEYWORD_LENGTH} characters)", EXIT_USAGE)
    options = DigestOptions(
        categories=categories,
        include_cross=not args.no_cross,
        include_replacements=not args.no_replacements,
        keywords=keywords,
        max_papers=args.limit,
    )
    async with _service(settings) as service:
        _say_if_untranslated(service, language)
        day: date | None = args.date
        if day is None:
            print(f"Fetching the latest announcements for {' '.join(categories)}…", file=sys.stderr)
            result = await service.harvest(categories)
            if result.status is HarvestStatus.EMPTY:
                stored = await service.stored_dates()
                if not stored:
                    print(
                        "arXiv announced nothing today (there are no announcements on weekends and "
                        "holidays) and no earlier batch is stored: no digest.",
                        file=sys.stderr,
                    )
                    return 0
                day = stored[-1]
                print(f"No announcement today; showing the last stored batch, {day}.", file=sys.stderr)
            else:
                day = result.batch.announced_on
                assert day is not None
        else:
            stored = await service.stored_dates()
            if day not in stored:
                known = ", ".join(d.isoformat() for d in stored[-5:]) or "none yet"
                raise CliError(
                    f"no announcements stored for {day} (stored days: {known}); "
                    "run without --date to fetch the latest batch",
                    EXIT_USAGE,
                )
        digest = await service.digest(options, language=language, announced_on=day)
        for notice in digest.notices:
            print(notice, file=sys.stderr)
        if not digest.entries:
            print(f"No papers for these options on {day}.", file=sys.stderr)
        sys.stdout.write(render_digest(digest))
        sys.stdout.flush()
        print(
            f"{plural(len(digest.entries), 'paper')} ({day}), "
            f"{plural(service.billed_characters, 'character')} billed by DeepL.",
            file=sys.stderr,
        )
    return 0


async def _cmd_paper(args: argparse.Namespace, settings: Settings) -> int:
    from ..formatters.markdown import render_footnote
    from ..papers.ids import parse_arxiv_id

    parse_arxiv_id(args.id)  # reject malformed ids before opening anything
    language = normalize_language(args.lang) if args.lang else settings.default_language
    async with _service(settings) as service:
        _say_if_untranslated(service, language)
        entry, notices = await service.paper(args.id, language=language)
        for notice in notices:
            print(notice, file=sys.stderr)
        sys.stdout.write(render_footnote(entry, language=service.effective_language(language)))
        sys.stdout.flush()
    return 0


async def _cmd_db(args: argparse.Namespace, settings: Settings) -> int:
    db = Database(settings.database_url)
    try:
        await db.upgrade()
        print(f"Database is at revision {await db.current_revision()}.", file=sys.stderr)
    finally:
        await db.dispose()
    return 0


def _cmd_bench(args: argparse.Namespace) -> int:
    from ..papers.summary_bench import format_result, run_bench

    path: Path | None = args.file
    if path is None:
        raise CliError(
            "bench summary needs a corpus FILE: JSON lines with title, abstract and a reference summary "
            "tldr_en (the team's cn_chat_arxiv_3000.jsonl; see tests/fixtures/README.md)",
            EXIT_USAGE,
        )
    if not path.is_file():
        raise CliError(f"no such file: {path} (JSON lines with title, abstract and tldr_en)", EXIT_USAGE)
    try:
        print(format_result(run_bench(path)))
    except ValueError as exc:
        raise CliError(str(exc), EXIT_USAGE) from None
    return 0


def run(argv: Sequence[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:  # usage errors, --help, --version: argparse has printed what to say
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    try:
        if args.command == "bench":
            configure_logging("ERROR", verbose=args.verbose)
            return _cmd_bench(args)
        settings = _load_settings()
        configure_logging(
            settings.log_level if args.verbose else "ERROR", verbose=args.verbose, settings=settings
        )
        if args.command == "digest":
            return asyncio.run(_cmd_digest(args, settings))
        if args.command == "paper":
            return asyncio.run(_cmd_paper(args, settings))
        if args.command == "db":
            return asyncio.run(_cmd_db(args, settings))
        if args.command == "run":
            configure_logging(settings.log_level, verbose=args.verbose, settings=settings)
            asyncio.run(run_bots(settings))
            return 0
    except NothingToRun as exc:
        print(f"arxiv-digest: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except PlatformFailed as exc:
        print(f"arxiv-digest: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    except CliError as exc:
        print(f"arxiv-digest: {exc}", file=sys.stderr)
        return exc.code
    except InvalidInput as exc:
        print(f"arxiv-digest: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except PaperNotFound as exc:
        print(f"arxiv-digest: {exc} Check the id on https://arxiv.org.", file=sys.stderr)
        return EXIT_FAILURE
    except SourceUnavailable as exc:
        logger.info("arXiv failure: %s", exc)
        print("arxiv-digest: arXiv is unreachable. Try again later (-v shows why).", file=sys.stderr)
        return EXIT_FAILURE
    except AlreadyRunning as exc:
        print(f"arxiv-digest: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    except StorageUnavailable as exc:
        print(f"arxiv-digest: database unavailable: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    except ArxivDigestError as exc:
        print(f"arxiv-digest: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # a bug: one line for the user, the traceback with -v
        logger.debug("unexpected error", exc_info=True)
        print(
            f"arxiv-digest: unexpected error ({type(exc).__name__}); run again with -v for details.",
            file=sys.stderr,
        )
        return EXIT_FAILURE
    raise AssertionError(f"unhandled command {args.command!r}")


def main() -> None:
    # python-telegram-bot 22: opt in to RetryAfter.retry_after as a timedelta (the future default), which
    # also silences its deprecation warning on every flood-control answer.
    os.environ.setdefault("PTB_TIMEDELTA", "true")
    sys.exit(run())


if __name__ == "__main__":
    main()
