"""The ``discuz-scraper`` command.

Results go to stdout or ``-o``; progress and errors go to stderr, one line each (``-q`` silences
progress, ``-v`` adds debug logging). Exit codes: 0 done, 1 the site or the network refused (a typed
:class:`~discuz_scraper.errors.DiscuzError`), 2 bad usage, 3 finished with failures (listed on stderr;
for ``crawl`` also in the database's failures table, see ``crawl --retry-failed``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO, get_args
from urllib.parse import urlsplit

from . import __version__
from .backends import Backend
from .client import AsyncDiscuzClient, DiscuzClient, PageSelection
from .crawl import CrawlEvent, CrawlReport
from .errors import ConfigError, DiscuzError
from .export import ExportFormat, export, json_schemas
from .media import DEFAULT_MAX_SIZE, MediaFolder, MediaItem, stored_media
from .models import Board, Thread, ThreadPage, ThreadSummary
from .parsers.dates import DEFAULT_TZ
from .store import ItemKind, SQLiteStore
from .urls import normalize_base, parse_url

__all__ = ["main"]

_EXAMPLES = """\
examples:
  discuz-scraper demo
  discuz-scraper detect "https://bbs.example.com/"
  discuz-scraper crawl "https://bbs.example.com/" --db forum.db              # whole forum, resumable
  discuz-scraper crawl "https://bbs.example.com/forum-2-1.html" --db forum.db --stop-after 20
  discuz-scraper crawl "https://bbs.example.com/" --db forum.db --retry-failed
  discuz-scraper export --db forum.db --format csv -o posts.csv
  discuz-scraper export --db forum.db --format jsonl --what threads -o threads.jsonl
  discuz-scraper media --db forum.db -o media/
  discuz-scraper schema -o schemas.json
  discuz-scraper board "https://bbs.example.com/forum-2-1.html" --pages 1-5 --with-posts -o board-2.jsonl
  discuz-scraper thread "https://bbs.example.com/thread-123-1-1.html" -o thread-123.jsonl
  discuz-scraper user "https://bbs.example.com/space-uid-5.html"
"""

EXIT_OK, EXIT_SITE, EXIT_USAGE, EXIT_FAILURES = 0, 1, 2, 3

# The sites of the bundled fixture forum the demo crawls (paths under the loopback server).
_DEMO_SITES = ("", "bbs/")

logger = logging.getLogger("discuz_scraper")


PROGRESS_EVERY = 1.0
"""Seconds between two progress lines when stderr is not a terminal (a log file, CI)."""


class _Progress:
    """The progress line on stderr. A terminal redraws it in place on every update; elsewhere each
    update would be a line of its own, so a long crawl would flood the log: there it is written at
    most once per :data:`PROGRESS_EVERY` seconds, and :meth:`finish` writes the last state."""

    def __init__(self, quiet: bool) -> None:
        self._quiet = quiet
        self._stream = sys.stderr
        self._tty = self._stream.isatty()
        self._written_at: float | None = None
        self._unwritten: str | None = None

    def update(self, message: str) -> None:
        """Show ``message`` as the current state (now, or when the throttle next allows)."""
        if self._quiet:
            return
        now = time.monotonic()
        if not self._tty and self._written_at is not None and now - self._written_at < PROGRESS_EVERY:
            self._unwritten = message
            return
        self._stream.write(f"\r\033[K{message}" if self._tty else f"{message}\n")
        self._stream.flush()
        self._written_at, self._unwritten = now, None

    def finish(self) -> None:
        """End the progress display: the last state if it was held back, or the terminal's newline."""
        if self._quiet or self._written_at is None:
            return
        if self._tty:
            self._stream.write("\n")
        elif self._unwritten is not None:
            self._stream.write(f"{self._unwritten}\n")
        self._stream.flush()


def _client_options(args: argparse.Namespace) -> dict[str, Any]:
    """The client keyword options every networked command shares (``--rate 0`` = no limit)."""
    return {
        "cookies": args.cookies,
        "rate": args.rate or None,
        "concurrency": args.concurrency,
        "user_agent": args.user_agent,
        "backend": args.backend,
    }


def _client_for(url: str, args: argparse.Namespace) -> DiscuzClient:
    return DiscuzClient(normalize_base(url), **_client_options(args))


@contextmanager
def _output(path: str | None) -> Iterator[TextIO]:
    if path is None or path == "-":
        yield sys.stdout
        return
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("w", encoding="utf-8") as handle:
        yield handle


def _scrape_thread(client: DiscuzClient, ref: int | str, pages: int | None, quiet: bool) -> Thread:
    """Fetch a thread page by page, reporting progress on stderr."""
    pids: set[int] = set()
    progress = _Progress(quiet)

    def report(page: ThreadPage) -> None:
        pids.update(post.pid for post in page.posts)
        total = page.page_count or "?"
        progress.update(f"thread {page.tid}: page {page.page}/{total}, {len(pids)} posts")

    thread = client.thread(ref, pages=pages, progress=report)
    progress.finish()
    return thread


def _cmd_thread(args: argparse.Namespace) -> int:
    with _client_for(args.url, args) as client:
        thread = _scrape_thread(client, args.url, args.pages, args.quiet)
    with _output(args.output) as out:
        if args.format == "json":
            out.write(thread.model_dump_json(indent=2) + "\n")
        else:
            for post in thread.posts:
                out.write(post.model_dump_json() + "\n")
    if not args.quiet:
        print(f"{len(thread.posts)} posts from thread {thread.tid} ({thread.title})", file=sys.stderr)
    return 0


def _page_range(value: str) -> PageSelection:
    """``--pages``: ``N`` (the first N pages) or ``A-B`` (pages A to B)."""
    first, sep, last = value.partition("-")
    if not sep and first.isdigit() and int(first) >= 1:
        return int(first)
    if sep and first.isdigit() and last.isdigit() and 1 <= int(first) <= int(last):
        return range(int(first), int(last) + 1)
    raise argparse.ArgumentTypeError(f"expected N or A-B with 1 <= A <= B, got {value!r}")


def _drain_crawl(
    events: Iterator[CrawlEvent], quiet: bool, write: Callable[[ThreadSummary | Thread], None] | None = None
) -> CrawlReport:
    """Consume a crawl with a progress line on stderr, handing rows and threads to ``write``;
    returns the final report."""
    boards = rows = threads = posts = 0
    progress = _Progress(quiet)
    for event in events:
        if isinstance(event, CrawlReport):
            progress.finish()
            return event
        if isinstance(event, Board):
            boards += 1
        else:
            if isinstance(event, ThreadSummary):
                rows += 1
            else:
                threads += 1
                posts += len(event.posts)
            if write is not None:
                write(event)
        progress.update(f"boards {boards}, rows {rows}, threads fetched {threads}, posts {posts}")
    raise DiscuzError("the crawl ended without its report")


def _jsonl_writer(out: TextIO, *, with_posts: bool) -> Callable[[ThreadSummary | Thread], None]:
    """Posts of each thread as JSON lines when ``with_posts``, else the thread rows."""

    def write(item: ThreadSummary | Thread) -> None:
        if isinstance(item, ThreadSummary) and not with_posts:
            out.write(item.model_dump_json() + "\n")
        elif isinstance(item, Thread):
            for post in item.posts:
                out.write(post.model_dump_json() + "\n")

    return write


def _print_report(report: CrawlReport, label: str) -> None:
    print(
        f"{label}: {report.boards} boards, {report.thread_rows} threads listed, {report.threads} fetched, "
        f"{report.posts} posts, {report.requests} requests, {len(report.failures)} failures, "
        f"{len(report.skipped)} skipped",
        file=sys.stderr,
    )
    for failure in sorted(report.failures, key=lambda f: f.url):
        print(
            f"  failed {failure.kind} {failure.url}: {failure.error_type}: {failure.message}", file=sys.stderr
        )
    for skip in report.skipped:
        print(f"  skipped {skip.reason} board {skip.name} {skip.url}", file=sys.stderr)


def _cmd_board(args: argparse.Namespace) -> int:
    with _client_for(args.url, args) as client, _output(args.output) as out:
        events = client.crawl_board(args.url, with_posts=args.with_posts, pages=args.pages)
        report = _drain_crawl(events, args.quiet, _jsonl_writer(out, with_posts=args.with_posts))
    _print_report(report, "board")
    return EXIT_FAILURES if report.failures else EXIT_OK


def _cmd_forum(args: argparse.Namespace) -> int:
    with _client_for(args.url, args) as client:
        index = client.forum_index()
    with _output(args.output) as out:
        out.write(index.model_dump_json(indent=2) + "\n")
    return 0


def _cmd_user(args: argparse.Namespace) -> int:
    with _client_for(args.url, args) as client:
        profile = client.user(args.url)
    with _output(args.output) as out:
        out.write(profile.model_dump_json(indent=2) + "\n")
    return 0


def _yes_no(value: bool | None) -> str:
    return "unknown" if value is None else "yes" if value else "no"


def _cmd_detect(args: argparse.Namespace) -> int:
    with _client_for(args.url, args) as client:
        site = client.site()
    print(f"site: {site.base_url}")
    print(f"discuz: {_yes_no(site.is_discuz)}")
    if not site.is_discuz:
        return 1
    offset = site.utc_offset_minutes
    lines = {
        "evidence": ", ".join(site.evidence),
        "name": site.name,
        "version": site.version,
        "charset": site.charset,
        "timezone": None if offset is None else f"UTC{offset / 60:+g}",
        "rewrite": ", ".join(site.rewrite) or "none",
        "archiver": _yes_no(site.archiver),
        "mobile api": _yes_no(site.mobile_api),
        "logged in": f"{site.logged_in_name} (uid {site.logged_in_uid})" if site.logged_in_uid else "no",
    }
    for label, value in lines.items():
        print(f"{label}: {value if value is not None else 'unknown'}")
    return 0


def _is_board_url(url: str) -> bool:
    return "/" in url and parse_url(url).kind == "board"


def _crawl_events(client: DiscuzClient, args: argparse.Namespace, store: SQLiteStore) -> Iterator[CrawlEvent]:
    if args.retry_failed:
        return client.retry_failed(store)
    options: dict[str, Any] = {
        "store": store, "stop_after": args.stop_after, "since": args.since, "with_posts": not args.no_posts
    }
    if _is_board_url(args.url):
        return client.crawl_board(args.url, pages=args.pages, **options)
    return client.crawl_forum(**options)


def _cmd_crawl(args: argparse.Namespace) -> int:
    if args.pages is not None and not _is_board_url(args.url):
        raise ConfigError("--pages applies to a board URL only")
    client = DiscuzClient(normalize_base(args.url), parse_workers=args.parse_workers, **_client_options(args))
    with SQLiteStore(args.db) as store, client:
        report = _drain_crawl(_crawl_events(client, args, store), args.quiet)
    _print_report(report, "crawl")
    if report.unchanged:
        print(f"  {report.unchanged} threads unchanged since the last crawl", file=sys.stderr)
    print(f"  -> {args.db}", file=sys.stderr)
    return EXIT_FAILURES if report.failures else EXIT_OK


def _open_existing(path: str) -> SQLiteStore:
    if not Path(path).is_file():
        raise ConfigError(f"no such database: {path} (create it with: discuz-scraper crawl URL --db {path})")
    return SQLiteStore(path)


def _cmd_export(args: argparse.Namespace) -> int:
    with _open_existing(args.db) as store:
        count = export(store, args.output, format=args.format, what=args.what)
    print(f"{count} {args.what} -> {args.output}", file=sys.stderr)
    return EXIT_OK


def _cmd_schema(args: argparse.Namespace) -> int:
    with _output(args.output) as out:
        out.write(json.dumps(json_schemas(), ensure_ascii=False, indent=2) + "\n")
    return EXIT_OK


async def _download_site(
    site: str, items: list[MediaItem], folder: MediaFolder, args: argparse.Namespace
) -> tuple[int, int]:
    """Download one site's items with ``--concurrency`` workers; (done, failed)."""
    pending = iter(items)
    counts = [0, 0]
    progress = _Progress(args.quiet)

    async def worker(client: AsyncDiscuzClient) -> None:
        # Workers share one iterator and one folder: each item is taken once, and the folder's
        # sidecar is only ever written from this event loop's thread.
        for item in pending:
            try:
                await client.download_item(item, folder)
                counts[0] += 1
            except DiscuzError as exc:
                folder.failed(item, exc)
                counts[1] += 1
                print(f"  failed {item.url}: {type(exc).__name__}: {exc.message}", file=sys.stderr)
            progress.update(f"{site}: {counts[0]} files done, {counts[1]} failed")

    async with AsyncDiscuzClient(site, **_client_options(args)) as client:
        await asyncio.gather(*(worker(client) for _ in range(args.concurrency)))
    progress.finish()
    return counts[0], counts[1]


def _on_site(item: MediaItem) -> bool:
    """Whether ``item`` is served by its forum's own host (not an image host linked from a post)."""
    return urlsplit(item.url).netloc == urlsplit(item.site).netloc


def _cmd_media(args: argparse.Namespace) -> int:
    folder = MediaFolder(args.output, max_size=args.max_size)
    with _open_existing(args.db) as store:
        by_site: dict[str, list[MediaItem]] = {}
        for item in stored_media(store):
            if args.site_only and not _on_site(item):
                continue
            by_site.setdefault(item.site, []).append(item)
    done = failed = 0
    for site, items in by_site.items():
        site_done, site_failed = asyncio.run(_download_site(site, items, folder, args))
        done, failed = done + site_done, failed + site_failed
    print(f"media: {done} done, {failed} failed -> {folder.root} (records in {folder.sidecar.name})",
          file=sys.stderr)
    return EXIT_FAILURES if failed else EXIT_OK


def _cmd_demo(args: argparse.Namespace) -> int:
    from .testing import default_forum

    out_dir = Path(args.output)
    out_dir.mkdir(parents=True, exist_ok=True)
    database = out_dir / "demo.db"
    for stale in (database, Path(f"{database}-wal"), Path(f"{database}-shm")):
        stale.unlink(missing_ok=True)  # the demo always starts from scratch
    forum = default_forum()
    failures = 0
    outputs: dict[ExportFormat, Path] = {"jsonl": out_dir / "posts.jsonl", "csv": out_dir / "posts.csv"}
    with forum.serve() as server, SQLiteStore(database) as store:
        print(f"demo forum serving on {server.base_url} (loopback only)", file=sys.stderr)
        for site_path in _DEMO_SITES:
            base = server.base_url + site_path
            with DiscuzClient(base, rate=None) as client:
                report = _drain_crawl(client.crawl_forum(store=store), args.quiet)
            failures += len(report.failures)
            print(
                f"  {base}: {report.boards} boards, {report.threads} threads, {report.posts} posts, "
                f"{len(report.failures)} failures, {len(report.skipped)} skipped"
            )
            for failure in sorted(report.failures, key=lambda f: f.url):
                print(f"    failed {failure.kind} {failure.url.removeprefix(base)}: {failure.error_type}")
        for format_name, target in outputs.items():
            export(store, target, format=format_name, what="posts")
    print(f"  database -> {database}")
    for target in outputs.values():
        print(f"  posts    -> {target}")
    print(
        f"  {failures} failures: the fixture forum's deliberate login wall, read permission, deleted thread"
    )
    return EXIT_OK


def _non_negative_rate(value: str) -> float:
    try:
        rate = float(value)
    except ValueError:
        rate = -1.0
    if rate < 0:
        raise argparse.ArgumentTypeError(f"expected requests per second >= 0 (0 = no limit), got {value!r}")
    return rate


def _since(value: str) -> datetime:
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an ISO date or date-time, got {value!r}") from None
    # A forum's times are shown in its own zone; Discuz's default (+08:00) unless one is given.
    return when if when.tzinfo is not None else when.replace(tzinfo=DEFAULT_TZ)


def _non_negative_int(value: str) -> int:
    if not value.isdigit():
        raise argparse.ArgumentTypeError(f"expected a whole number >= 0, got {value!r}")
    return int(value)


def _positive_int(value: str) -> int:
    if not value.isdigit() or int(value) < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value!r}")
    return int(value)


def _command(
    commands: Any, name: str, help: str, parents: Sequence[argparse.ArgumentParser] = ()
) -> argparse.ArgumentParser:
    return commands.add_parser(  # type: ignore[no-any-return]
        name, parents=list(parents), help=help, description=help, epilog=_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="discuz-scraper",
        description="Turn Discuz! forums into clean, typed data.",
        epilog=_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    chatty = argparse.ArgumentParser(add_help=False)
    level = chatty.add_mutually_exclusive_group()
    level.add_argument("-v", "--verbose", action="store_true", help="debug logging on stderr")
    level.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr, warnings only")

    net = argparse.ArgumentParser(add_help=False, parents=[chatty])
    net.add_argument(
        "--cookies", help="a browser Cookie header ('name=value; name2=value2'), a cookies.txt or JSON export"
    )
    net.add_argument("--rate", type=_non_negative_rate, default=2.0,
                     help="requests per second per host (default 2; 0 = no limit)")
    net.add_argument("--concurrency", type=_positive_int, default=4, help="requests in flight (default 4)")
    net.add_argument("--user-agent", help="override the desktop-browser User-Agent")
    # The library's default too: the CLI and DiscuzClient(...) fetch the same pages.
    net.add_argument("--backend", choices=get_args(Backend), default="html",
                     help="where pages come from: desktop html (default), the mobile api, the archiver, "
                     "or auto (the first that answers)")

    outfile = argparse.ArgumentParser(add_help=False)
    outfile.add_argument("-o", "--output", help="output file (default: stdout)")

    thread = _command(commands, "thread", "every post of a thread as JSON lines", [net, outfile])
    thread.add_argument("url", help="any thread or post URL of the forum")
    thread.add_argument("--format", choices=("jsonl", "json"), default="jsonl",
                        help="jsonl: one post per line (default); json: the whole thread")
    thread.add_argument("--pages", type=_positive_int, help="only the first N pages")
    thread.set_defaults(handler=_cmd_thread)

    detect = _command(commands, "detect", "is this a Discuz! forum, and what does it offer", [net])
    detect.add_argument("url", help="the forum's address")
    detect.set_defaults(handler=_cmd_detect)

    forum = _command(commands, "forum", "the forum index as JSON", [net, outfile])
    forum.add_argument("url", help="the forum's address")
    forum.set_defaults(handler=_cmd_forum)

    board = _command(commands, "board", "a board's thread rows (or posts with --with-posts) as JSON lines",
                     [net, outfile])
    board.add_argument("url", help="any board URL of the forum")
    board.add_argument("--pages", type=_page_range, help="N (first N pages) or A-B (pages A to B)")
    board.add_argument("--with-posts", action="store_true", help="fetch every listed thread, write its posts")
    board.set_defaults(handler=_cmd_board)

    user = _command(commands, "user", "a member's profile as JSON", [net, outfile])
    user.add_argument("url", help="a profile URL (space-uid-N.html, home.php?mod=space&uid=N)")
    user.set_defaults(handler=_cmd_user)

    crawl = _command(commands, "crawl", "crawl a forum or a board into a SQLite database: resumable, "
                     "incremental (run it again to fetch only what changed)", [net])
    crawl.add_argument("url", help="the forum's address (whole forum) or a board URL (that board)")
    crawl.add_argument("--db", required=True, help="the SQLite file (created if missing)")
    crawl.add_argument("--stop-after", type=_positive_int, metavar="N",
                       help="end a board's list walk after N unchanged threads in a row")
    crawl.add_argument("--retry-failed", action="store_true",
                       help="fetch only what the database's failures table lists")
    crawl.add_argument("--pages", type=_page_range, help="board URL only: N or A-B list pages")
    crawl.add_argument("--no-posts", action="store_true", help="thread lists only, no thread pages")
    crawl.add_argument("--since", type=_since, metavar="DATE",
                       help="only threads last active at or after DATE (2026-11-20, 2026-11-20T08:00, "
                       "+08:00 unless an offset is given); each board's walk ends at the first older row")
    crawl.add_argument("--parse-workers", type=_non_negative_int, default=0, metavar="N",
                       help="parse pages in N worker processes (default 0: in the crawl's own; for fast "
                       "crawls with --rate 0 on a machine with cores to spare)")
    crawl.set_defaults(handler=_cmd_crawl)

    exporter = _command(commands, "export", "write stored items as JSONL, JSON, CSV or Parquet", [chatty])
    exporter.add_argument("--db", required=True, help="a database written by 'crawl'")
    exporter.add_argument("--format", choices=get_args(ExportFormat), required=True,
                          help="parquet needs the 'parquet' extra (pyarrow)")
    exporter.add_argument("-o", "--output", required=True, help="the file to write")
    exporter.add_argument("--what", choices=get_args(ItemKind), default="posts", help="default: posts")
    exporter.set_defaults(handler=_cmd_export)

    media = _command(commands, "media", "download the stored posts' images and attachments", [net])
    media.add_argument("--db", required=True, help="a database written by 'crawl'")
    media.add_argument("-o", "--output", required=True, help="the folder (a media.jsonl sidecar links files)")
    media.add_argument("--max-size", type=_positive_int, default=DEFAULT_MAX_SIZE,
                       help=f"skip files larger than this many bytes (default {DEFAULT_MAX_SIZE})")
    media.add_argument("--site-only", action="store_true",
                       help="only files on the forum's own host, not images linked from other hosts")
    media.set_defaults(handler=_cmd_media)

    schema = _command(commands, "schema", "the JSON Schema of every model, as one JSON object", [outfile])
    schema.set_defaults(handler=_cmd_schema, quiet=False, verbose=False)

    demo = _command(commands, "demo", "crawl the bundled offline demo forum (loopback only)", [chatty])
    demo.add_argument("-o", "--output", default="demo-output", help="output folder (default: demo-output)")
    demo.set_defaults(handler=_cmd_demo)
    return parser


def _setup_logging(args: argparse.Namespace) -> None:
    level = logging.DEBUG if args.verbose else logging.WARNING if args.quiet else logging.INFO
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    logger.setLevel(level)
    # httpx logs every request at INFO: that is debug detail here, the progress line says enough.
    logging.getLogger("httpx").setLevel(logging.DEBUG if args.verbose else logging.WARNING)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``discuz-scraper`` console script; returns the exit code."""
    args = _build_parser().parse_args(argv)
    _setup_logging(args)
    try:
        return int(args.handler(args))
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except DiscuzError as exc:
        print(f"error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return EXIT_SITE
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
