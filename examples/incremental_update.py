"""A daily update: re-read a board's thread list and fetch only the threads that changed.

    python examples/incremental_update.py                   # the bundled fixture forum (offline)
    python examples/incremental_update.py https://bbs.example.com/forum-2-1.html --db forum.db

Run it from cron (``0 6 * * *``) against the same ``--db``. The store remembers each thread's reply
count and last-post time; a thread whose list row still shows the same values is skipped, a
changed one is fetched from the page holding its last stored floor on (that page may hold new
replies and edits), and ``--stop-after N`` ends the list walk after N unchanged threads in a row
(lists are sorted by last post, so the rest is older).

Without a URL the script crawls board 3 of the fixture forum on 127.0.0.1 three times: day 1 into
an empty store; day 8, when the forum has a new thread and new replies (the fixture forum swaps
in the pages of ``fixtures/forum/incremental/``); day 9, when nothing changed.
"""

from __future__ import annotations

import argparse
import copy
import json
from pathlib import Path
from typing import Any

from discuz_scraper import CrawlReport, DiscuzClient, SQLiteStore, Thread
from discuz_scraper.testing import FixtureForum, ForumResponse, fixtures_root
from discuz_scraper.urls import normalize_base


def update(url: str, db: Path, stop_after: int, rate: float | None = 2.0) -> CrawlReport:
    with DiscuzClient(normalize_base(url), rate=rate) as dz, SQLiteStore(db) as store:
        for event in dz.crawl_board(url, store=store, stop_after=stop_after):
            if isinstance(event, Thread):
                print(f"  thread {event.tid}: {len(event.posts)} posts fetched  {event.title}")
            elif isinstance(event, CrawlReport):
                return event
    raise RuntimeError("a crawl always ends with its report")


def describe(report: CrawlReport) -> str:
    return (
        f"{report.threads} threads fetched ({report.posts} posts), {report.unchanged} unchanged, "
        f"{report.requests} requests"
    )


# --- the offline demo: a fixture forum that changes between two runs -----------------------------


class ForumAWeekLater(FixtureForum):
    """The fixture forum, until :meth:`advance` swaps in the pages of ``forum/incremental/``.

    One server for every run: the store keys a site by its address, port included.
    """

    def __init__(self) -> None:
        root = fixtures_root()
        routes: dict[str, Any] = json.loads((root / "forum" / "routes.json").read_text("utf-8"))
        super().__init__(routes, root)
        later = copy.deepcopy(routes)
        for thread in later["threads"]:
            if (thread["site"], thread["tid"]) == ("x35", 2001):  # two new replies, an edit, a page 4
                thread["pages"] = [f"forum/incremental/t2001-p{n}.html" for n in (1, 2, 3, 4)]
        later["threads"].append({"site": "x35", "tid": 2007, "pages": ["forum/incremental/t2007-p1.html"]})
        for board in later["boards"]:
            if (board["site"], board["fid"]) == ("x35", 3):  # the list showing both changes
                board["pages"][0] = "forum/incremental/x35_forum3_p1.html"
        self._later = FixtureForum(later, root)
        self._advanced = False

    def advance(self) -> None:
        self._advanced = True

    def handle(self, method: str, url: str, headers: Any = None, body: bytes = b"") -> ForumResponse:
        if self._advanced:
            return self._later.handle(method, url, headers, body)
        return super().handle(method, url, headers, body)


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
    forum = ForumAWeekLater()
    with forum.serve() as server:
        url = server.site_url("x35") + "forum-3-1.html"
        reports = []
        for day in (1, 8, 9):
            if day == 8:
                forum.advance()
            print(f"day {day}:")
            # rate=None: the loopback fixture needs no politeness; keep the default 2/s for real forums.
            reports.append(update(url, args.db, args.stop_after, rate=None))
            print(f"day {day}: {describe(reports[-1])}")
        with SQLiteStore(args.db) as store:
            thread = store.get_thread(server.site_url("x35"), 2001)
    edited = next(post for post in thread.posts if post.pid == 7112)
    print(f"store: thread 2001 has {len(thread.posts)} posts; #{edited.floor} edited by {edited.edited_by}")

    first, week, again = reports
    # Day 1: board 3's 4 threads (19 posts). Day 8: new thread 2007 and thread 2001 from its page 3
    # on (2 new replies, 1 edited, a new page 4: 7 posts), the 3 others untouched. Day 9: lists only.
    assert (first.threads, first.posts, first.unchanged) == (4, 19, 0), first
    assert (week.threads, week.posts, week.unchanged) == (2, 7, 3), week
    assert (again.threads, again.posts, again.unchanged) == (0, 0, 5), again
    assert len(thread.posts) == 16 and edited.edited_by == "行者无疆", thread


if __name__ == "__main__":
    main()
