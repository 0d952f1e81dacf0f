"""Incremental crawls: between two runs into the same store the fixture forum changes (board 3
gains thread 2007, thread 2001's page 3 gains replies and an edit, a page 4 appears); the second
run fetches only what changed and the store ends equal to a clean crawl of the new forum."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from discuz_scraper import DiscuzClient
from discuz_scraper.cli import main
from discuz_scraper.crawl import CrawlReport
from discuz_scraper.models import Post
from discuz_scraper.store import SQLiteStore
from discuz_scraper.testing import FixtureForum, fixtures_root

X35 = "http://forum.test/bbs/"
BOARD_PAGE = "/bbs/forum.php?mod=forumdisplay&fid=3&page={}"
THREAD_PAGE = "/bbs/forum.php?mod=viewthread&tid={}&page={}"
OLD_PIDS = {*range(7101, 7114), 7201, 7202, 7301, 7302, 20041, 20042}
NEW_PIDS = OLD_PIDS | {7114, 7115, 7116, 20071}


def manifest(*, changed: bool) -> dict[str, Any]:
    """The fixture forum's routes, or (``changed``) the forum a week later: the files under
    ``fixtures/forum/incremental/`` replace board 3's first page and thread 2001, and add 2007."""
    routes: dict[str, Any] = json.loads((fixtures_root() / "forum" / "routes.json").read_text("utf-8"))
    if not changed:
        return routes
    routes = copy.deepcopy(routes)
    later = "forum/incremental/"
    for thread in routes["threads"]:
        if (thread["site"], thread["tid"]) == ("x35", 2001):
            thread["pages"] = [f"{later}t2001-p{n}.html" for n in (1, 2, 3, 4)]
    routes["threads"].append({"site": "x35", "tid": 2007, "pages": [f"{later}t2007-p1.html"]})
    for board in routes["boards"]:
        if (board["site"], board["fid"]) == ("x35", 3):
            board["pages"][0] = f"{later}x35_forum3_p1.html"
    return routes


def fixture_forum(*, changed: bool) -> FixtureForum:
    return FixtureForum(manifest(changed=changed), fixtures_root())


def crawl_board_3(forum: FixtureForum, store: SQLiteStore, stop_after: int | None = None) -> CrawlReport:
    """Crawl board 3 into ``store``; one worker, so the request log has a fixed order."""
    transport = forum.mock_transport()
    with DiscuzClient(X35, transport=transport, rate=None, backend="html", concurrency=1) as client:
        events = list(client.crawl_board(3, store=store, stop_after=stop_after))
    report = events[-1]
    assert isinstance(report, CrawlReport)
    return report


def posts_by_pid(store: SQLiteStore) -> dict[int, Post]:
    posts = list(store.iter_posts(X35))
    by_pid = {post.pid: post for post in posts if post.pid is not None}
    assert len(by_pid) == len(posts), "no post stored twice"
    return by_pid


def test_second_run_fetches_only_what_changed(tmp_path: Path) -> None:
    with SQLiteStore(tmp_path / "crawl.db") as store:
        first = crawl_board_3(fixture_forum(changed=False), store)
        assert (first.threads, first.unchanged) == (4, 0)
        assert set(posts_by_pid(store)) == OLD_PIDS

        later = fixture_forum(changed=True)
        report = crawl_board_3(later, store)
        assert [entry.target for entry in later.request_log] == [
            "/robots.txt",
            BOARD_PAGE.format(1),
            BOARD_PAGE.format(2),
            THREAD_PAGE.format(2007, 1),  # new thread
            THREAD_PAGE.format(2001, 3),  # the page of the last stored floor: new replies and an edit
            THREAD_PAGE.format(2001, 4),  # the page that appeared
        ]
        assert (report.thread_rows, report.threads, report.posts, report.unchanged) == (5, 2, 7, 3)

        stored = posts_by_pid(store)
        assert set(stored) == NEW_PIDS
        edited = stored[7112]
        assert edited.text == "【版主提示】景区自 12 月 5 日起冬季封山，出发前请查看公告。"
        assert edited.edited_at is not None and edited.edited_at.isoformat() == "2026-11-26T09:30:00+08:00"
        assert edited.edited_by == "行者无疆"
        assert [(stored[pid].floor, stored[pid].page) for pid in (7114, 7115, 7116, 20071)] == [
            (14, 3), (15, 3), (16, 4), (1, 1)
        ]
        assert store.thread_state(X35, 2001).stored_replies == 15, "the new list row is the next baseline"
        # Page 1, whose header holds the counts, was not read again: the new list row's counts stand.
        thread = next(t for t in store.iter_threads(X35) if t.tid == 2001)
        assert (thread.replies, thread.page_count, thread.views) == (15, 4, 9876)
        assert store.stored_pages(X35, 2001).page_count == 4

    with SQLiteStore(tmp_path / "clean.db") as clean:
        crawl_board_3(fixture_forum(changed=True), clean)
        assert posts_by_pid(clean) == stored, "the same posts as a clean crawl of the changed forum"


def test_a_third_run_fetches_nothing_but_the_lists(tmp_path: Path) -> None:
    with SQLiteStore(tmp_path / "crawl.db") as store:
        crawl_board_3(fixture_forum(changed=False), store)
        crawl_board_3(fixture_forum(changed=True), store)
        again = fixture_forum(changed=True)
        report = crawl_board_3(again, store)
    assert [entry.target for entry in again.request_log] == [
        "/robots.txt", BOARD_PAGE.format(1), BOARD_PAGE.format(2)
    ]
    assert (report.threads, report.unchanged) == (0, 5)


class ChangingForum(FixtureForum):
    """The unchanged fixture forum until :meth:`change`, then the changed one, on one server (the
    store keys a site by its URL, port included, so both runs must talk to the same server)."""

    def __init__(self) -> None:
        super().__init__(manifest(changed=False), fixtures_root())
        self.later: FixtureForum | None = None

    def change(self) -> FixtureForum:
        self.later = fixture_forum(changed=True)
        return self.later

    def handle(self, method: str, url: str, headers: Any = None, body: bytes = b"") -> Any:
        if self.later is not None:
            return self.later.handle(method, url, headers, body)
        return super().handle(method, url, headers, body)


def test_cli_stop_after_ends_the_list_walk_early(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    forum = ChangingForum()
    db = str(tmp_path / "crawl.db")
    with forum.serve() as server:
        argv = ["crawl", server.site_url("x35") + "forum-3-1.html", "--db", db, "--rate", "0",
                "--concurrency", "1", "-q"]
        assert main(argv) == 0
        later = forum.change()
        assert main([*argv, "--stop-after", "1"]) == 0
    # Page 1, by last post: sticky 2003 (not counted), 2007 new, 2001 changed, 2002 unchanged: one
    # unchanged row in a row ends the walk before page 2.
    assert [entry.target for entry in later.request_log] == [
        "/robots.txt",
        BOARD_PAGE.format(1),
        THREAD_PAGE.format(2007, 1),
        THREAD_PAGE.format(2001, 3),
        THREAD_PAGE.format(2001, 4),
    ]
    err = capsys.readouterr().err.splitlines()
    assert "  2 threads unchanged since the last crawl" in err
    with SQLiteStore(db) as store:
        assert {post.pid for post in store.iter_posts()} == NEW_PIDS
