"""A daily update: re-read a board's thread list and fetch only threads with new replies.

    python examples/incremental_update.py                   # the bundled fixture forum (offline)
    python examples/incremental_update.py https://bbs.example.com/forum-2-1.html --db forum.db

Run it from cron (``0 6 * * *``) against the same ``--db``. The store remembers each thread's reply
count and last-post time; a thread whose list row still shows the same values is skipped, a
changed one is fetched from the page holding its last stored floor on, and ``--stop-after N`` ends
the list walk after N unchanged threads in a row (lists are sorted by last post, so the rest is
older). Without a URL the script runs twice against board 2 of the fixture forum on 127.0.0.1:
a first full crawl, then an update run that finds nothing new.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from discuz_scraper import CrawlReport, DiscuzClient, SQLiteStore, Thread
from discuz_scraper.testing import default_forum
from discuz_scraper.urls import normalize_base


def update(url: str, db: Path, stop_after: int, rate: float | None = 2.0) -> CrawlReport:
    with DiscuzClient(normalize_base(url), rate=rate) as dz, SQLiteStore(db) as store:
        for event in dz.crawl_board(url, store=store, stop_after=stop_after):
            if isinstance(event, Thread):
                print(f"  updated thread {event.tid}: +{len(event.posts)} posts")
            elif isinstance(event, CrawlReport):
                return event
    raise RuntimeError("a crawl always ends with its report")


def describe(report: CrawlReport) -> str:
    return (
        f"{report.threads} threads fetched ({report.posts} posts), {report.unchanged} unchanged, "
        f"{report.requests} requests"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url", nargs="?", help="a board URL (default: the offline fixture forum)")
    parser.add_argument("--db", type=Path, default=Path("daily.db"), help="SQLite file (default: daily.db)")
    parser.add_argument(
        "--stop-after", type=int, default=5, help="unchanged threads in a row that end the walk",
    )
    args = parser.parse_args()

    if args.url:
        print("update:", describe(update(args.url, args.db, args.stop_after)))
        return

    args.db.unlink(missing_ok=True)  # the demo starts from an empty store every time
    with default_forum().serve() as server:
        url = server.site_url("x34") + "forum-2-1.html"
        print("day 1 (empty store):")
        # rate=None: the loopback fixture needs no politeness; keep the default 2/s for real forums.
        first = update(url, args.db, args.stop_after, rate=None)
        print("day 1:", describe(first))
        print("day 2 (nothing new on the forum):")
        second = update(url, args.db, args.stop_after, rate=None)
        print("day 2:", describe(second))
    # Day 1 fetches the 11 readable threads of board 2; day 2 reads list pages only and stops
    # after 5 unchanged rows instead of walking every page again.
    assert first.threads == 11 and first.posts == 40, first
    assert second.threads == 0 and second.posts == 0, second
    assert second.unchanged >= args.stop_after and second.requests < first.requests, second


if __name__ == "__main__":
    main()
