"""The ``discuz-scraper`` command.

Results go to stdout or ``-o``; progress and errors go to stderr, one line each. Exit codes: 0 done,
1 the site or the network refused (a typed :class:`~discuz_scraper.errors.DiscuzError`), 2 bad usage.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

from . import __version__
from .client import DiscuzClient, PageSelection
from .crawl import CrawlEvent, CrawlReport
from .errors import DiscuzError
from .models import Board, Thread, ThreadPage, ThreadSummary
from .urls import normalize_base

__all__ = ["main"]

_EXAMPLES = """\
examples:
  discuz-scraper demo
  discuz-scraper detect "https://bbs.example.com/"
  discuz-scraper forum "https://bbs.example.com/forum.php"
  discuz-scraper board "https://bbs.example.com/forum-2-1.html" --pages 1-5 --with-posts -o board-2.jsonl
  discuz-scraper user "https://bbs.example.com/space-uid-5.html"
  discuz-scraper thread "https://bbs.example.com/thread-123-1-1.html" -o thread-123.jsonl
  discuz-scraper thread "https://bbs.example.com/forum.php?mod=viewthread&tid=123" --format json --pages 3
"""

# The sites of the bundled fixture forum the demo crawls (paths under the loopback server).
_DEMO_SITES = ("", "bbs/")


def _parse_cookie_header(value: str) -> dict[str, str]:
    """``name=value; name2=value2`` (a browser's Cookie header) as a dict."""
    cookies: dict[str, str] = {}
    for part in value.split(";"):
        name, sep, cookie_value = part.strip().partition("=")
        if not sep or not name:
            raise DiscuzError(
                f"--cookies expects 'name=value; name2=value2', got a part without '=': {name!r}"
            )
        cookies[name] = cookie_value
    return cookies


def _progress(stream: TextIO, message: str) -> None:
    stream.write(f"\r\033[K{message}" if stream.isatty() else f"{message}\n")
    stream.flush()


def _client_for(url: str, args: argparse.Namespace) -> DiscuzClient:
    return DiscuzClient(
        normalize_base(url),
        cookies=_parse_cookie_header(args.cookies) if args.cookies else None,
        rate=args.rate,
        concurrency=args.concurrency,
        user_agent=args.user_agent,
    )


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

    def report(page: ThreadPage) -> None:
        pids.update(post.pid for post in page.posts)
        if not quiet:
            total = page.page_count or "?"
            _progress(sys.stderr, f"thread {page.tid}: page {page.page}/{total}, {len(pids)} posts")

    return client.thread(ref, pages=pages, progress=report)


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


def _run_crawl(events: Iterator[CrawlEvent], out: TextIO, *, with_posts: bool, quiet: bool) -> CrawlReport:
    """Write each crawled model as a JSON line (posts when ``with_posts``, else thread rows);
    progress goes to stderr. Returns the final report."""
    boards = rows = posts = 0
    for event in events:
        if isinstance(event, CrawlReport):
            return event
        if isinstance(event, Board):
            boards += 1
        elif isinstance(event, ThreadSummary):
            rows += 1
            if not with_posts:
                out.write(event.model_dump_json() + "\n")
        else:
            posts += len(event.posts)
            for post in event.posts:
                out.write(post.model_dump_json() + "\n")
        if not quiet:
            _progress(sys.stderr, f"boards {boards}, threads {rows}, posts {posts}")
    raise DiscuzError("the crawl ended without its report")


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
        report = _run_crawl(events, out, with_posts=args.with_posts, quiet=args.quiet)
    _print_report(report, "board")
    return 1 if report.failures else 0


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


def _cmd_demo(args: argparse.Namespace) -> int:
    from .testing import default_forum

    out_dir = Path(args.output)
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / "posts.jsonl"
    forum = default_forum()
    failures = 0
    with forum.serve() as server, target.open("w", encoding="utf-8") as handle:
        print(f"demo forum serving on {server.base_url} (loopback only)", file=sys.stderr)
        for site_path in _DEMO_SITES:
            base = server.base_url + site_path
            with DiscuzClient(base, rate=None) as client:
                report = _run_crawl(client.crawl_forum(), handle, with_posts=True, quiet=args.quiet)
            failures += len(report.failures)
            print(
                f"  {base}: {report.boards} boards, {report.threads} threads, {report.posts} posts, "
                f"{len(report.failures)} failures, {len(report.skipped)} skipped"
            )
            for failure in sorted(report.failures, key=lambda f: f.url):
                print(f"    failed {failure.kind} {failure.url.removeprefix(base)}: {failure.error_type}")
    print(f"  -> {target}")
    print(
        f"  {failures} failures: the fixture forum's deliberate login wall, read permission, deleted thread"
    )
    return 0


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="discuz-scraper",
        description="Turn Discuz! forums into clean, typed data.",
        epilog=_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    net = argparse.ArgumentParser(add_help=False)
    net.add_argument("--cookies", help="a browser Cookie header: 'name=value; name2=value2'")
    net.add_argument("--rate", type=float, default=2.0, help="requests per second per host (default 2)")
    net.add_argument("--concurrency", type=int, default=4, help="requests in flight (default 4)")
    net.add_argument("--user-agent", help="override the desktop-browser User-Agent")
    net.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")

    thread = commands.add_parser(
        "thread",
        parents=[net],
        help="every post of a thread as JSON lines",
        epilog=_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    thread.add_argument("url", help="any thread or post URL of the forum")
    thread.add_argument("-o", "--output", help="output file (default: stdout)")
    thread.add_argument(
        "--format",
        choices=("jsonl", "json"),
        default="jsonl",
        help="jsonl: one post per line (default); json: the whole thread",
    )
    thread.add_argument("--pages", type=int, help="only the first N pages")
    thread.set_defaults(handler=_cmd_thread)

    outfile = argparse.ArgumentParser(add_help=False)
    outfile.add_argument("-o", "--output", help="output file (default: stdout)")

    detect = commands.add_parser(
        "detect", parents=[net], help="is this a Discuz! forum, and what does it offer"
    )
    detect.add_argument("url", help="the forum's address")
    detect.set_defaults(handler=_cmd_detect)

    forum = commands.add_parser("forum", parents=[net, outfile], help="the forum index as JSON")
    forum.add_argument("url", help="the forum's address")
    forum.set_defaults(handler=_cmd_forum)

    board = commands.add_parser(
        "board",
        parents=[net, outfile],
        help="a board's thread rows (or every post with --with-posts) as JSON lines",
    )
    board.add_argument("url", help="any board URL of the forum")
    board.add_argument("--pages", type=_page_range, help="N (first N pages) or A-B (pages A to B)")
    board.add_argument("--with-posts", action="store_true", help="fetch every listed thread, write its posts")
    board.set_defaults(handler=_cmd_board)

    user = commands.add_parser("user", parents=[net, outfile], help="a member's profile as JSON")
    user.add_argument("url", help="a profile URL (space-uid-N.html, home.php?mod=space&uid=N)")
    user.set_defaults(handler=_cmd_user)

    demo = commands.add_parser("demo", help="crawl the bundled offline demo forum (loopback only)")
    demo.add_argument("-o", "--output", default="demo-output", help="output folder (default: demo-output)")
    demo.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")
    demo.set_defaults(handler=_cmd_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``discuz-scraper`` console script."""
    args = _build_parser().parse_args(argv)
    try:
        return int(args.handler(args))
    except DiscuzError as exc:
        print(f"error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
