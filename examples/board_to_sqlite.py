"""Crawl a whole board into SQLite, survive an interruption, and resume without duplicates.

    python examples/board_to_sqlite.py                      # the bundled fixture forum (offline)
    python examples/board_to_sqlite.py https://bbs.example.com/forum-2-1.html --db forum.db

The store saves every page as it arrives and marks it done, so running the same crawl again after
a crash (or Ctrl-C) fetches only what is missing. Without a URL the script crawls board 2 of the
fixture forum on 127.0.0.1, stops on purpose after 3 threads, resumes, and checks the result.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from discuz_scraper import CrawlReport, DiscuzClient, SQLiteStore, Thread
from discuz_scraper.testing import default_forum
from discuz_scraper.urls import normalize_base


def crawl(
    url: str, db: Path, *, interrupt_after: int | None = None, rate: float | None = 2.0
) -> CrawlReport | None:
    """One crawl run; with ``interrupt_after`` it walks away after that many threads, like a crash."""
    threads = 0
    with DiscuzClient(normalize_base(url), rate=rate) as dz, SQLiteStore(db) as store:
        for event in dz.crawl_board(url, store=store):
            if isinstance(event, Thread):
                threads += 1
                print(f"  thread {event.tid}: {len(event.posts)} posts  {event.title}")
                if threads == interrupt_after:
                    return None  # leaving the loop stops the crawl; the store keeps what is done
            elif isinstance(event, CrawlReport):
                return event
    return None


def summary(report: CrawlReport) -> str:
    failed = ", ".join(f"{f.error_type} {f.url}" for f in report.failures) or "none"
    return (
        f"{report.threads} threads fetched, {report.unchanged} already stored, "
        f"{report.posts} posts, {report.requests} requests; failures: {failed}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url", nargs="?", help="a board URL (default: the offline fixture forum)")
    parser.add_argument("--db", type=Path, default=Path("board.db"), help="SQLite file (default: board.db)")
    args = parser.parse_args()

    if args.url:
        report = crawl(args.url, args.db)
        if report is not None:
            print(summary(report))
        return

    args.db.unlink(missing_ok=True)  # the demo starts from an empty store every time
    with default_forum().serve() as server:
        url = server.site_url("x34") + "forum-2-1.html"
        print("run 1 (interrupted after 3 threads):")
        # rate=None: the loopback fixture needs no politeness; keep the default 2/s for real forums.
        crawl(url, args.db, interrupt_after=3, rate=None)
        print("run 2 (resumed):")
        report = crawl(url, args.db, rate=None)
    assert report is not None
    print("resumed:", summary(report))
    with SQLiteStore(args.db) as store:
        counts = store.counts()
        posts = sum(1 for _ in store.iter_posts())
    print(f"store: {counts['threads']} threads, {posts} posts, {counts['failures']} failures recorded")
    # Board 2 lists 12 threads holding 40 readable posts; the interruption must not lose or
    # duplicate any. Thread 1012 needs a higher read permission and sub-board 9 needs a login:
    # both are recorded as failures instead of stopping the crawl.
    assert report.threads + report.unchanged == 11, report
    assert posts == 40 and counts["threads"] == 12, counts
    assert {f.error_type for f in report.failures} == {"PermissionDenied", "LoginRequired"}, report


if __name__ == "__main__":
    main()
