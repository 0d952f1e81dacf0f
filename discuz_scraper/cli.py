"""The ``discuz-scraper`` command.

Results go to stdout or ``-o``; progress and errors go to stderr, one line each. Exit codes: 0 done,
1 the site or the network refused (a typed :class:`~discuz_scraper.errors.DiscuzError`), 2 bad usage.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

from . import __version__
from .client import DiscuzClient
from .errors import DiscuzError
from .models import Thread, ThreadPage
from .urls import normalize_base

__all__ = ["main"]

_EXAMPLES = """\
examples:
  discuz-scraper demo
  discuz-scraper thread "https://bbs.example.com/thread-123-1-1.html" -o thread-123.jsonl
  discuz-scraper thread "https://bbs.example.com/forum.php?mod=viewthread&tid=123" --format json --pages 3
"""

# The threads the demo scrapes from the bundled fixture forum: (site path, tid).
_DEMO_THREADS = (("", 1001), ("bbs/", 2001))


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


def _summary(thread: Thread) -> str:
    authors = Counter(p.author.name or "(anonymous)" for p in thread.posts)
    images = sum(len(p.images) for p in thread.posts)
    attachments = sum(len(p.attachments) for p in thread.posts)
    top = ", ".join(f"{name} ({n})" for name, n in authors.most_common(3))
    return (
        f"  tid {thread.tid} «{thread.title}»: {len(thread.posts)} posts on {thread.page_count} pages, "
        f"{len(authors)} authors (top: {top}), images: {images}, attachments: {attachments}"
    )


def _cmd_demo(args: argparse.Namespace) -> int:
    from .testing import default_forum

    out_dir = Path(args.output)
    out_dir.mkdir(parents=True, exist_ok=True)
    forum = default_forum()
    with forum.serve() as server:
        print(f"demo forum serving on {server.base_url} (loopback only)", file=sys.stderr)
        for site_path, tid in _DEMO_THREADS:
            with DiscuzClient(server.base_url + site_path, rate=None) as client:
                thread = _scrape_thread(client, tid, None, args.quiet)
            target = out_dir / f"thread-{tid}.jsonl"
            with target.open("w", encoding="utf-8") as handle:
                for post in thread.posts:
                    handle.write(post.model_dump_json() + "\n")
            print(_summary(thread))
            print(f"  -> {target}")
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

    demo = commands.add_parser("demo", help="scrape the bundled offline demo forum (loopback only)")
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
