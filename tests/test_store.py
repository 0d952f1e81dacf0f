"""SQLiteStore: real fixture-forum models saved, re-saved, edited, read back; crawl state; migrations."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from discuz_scraper.charset import decode_body
from discuz_scraper.client import DiscuzClient
from discuz_scraper.errors import NotFound, StoreError
from discuz_scraper.models import Board, BoardPage, Site, Thread, ThreadPage
from discuz_scraper.parsers.board import parse_board_page
from discuz_scraper.store import MIGRATIONS, Failure, PostImage, SQLiteStore, Store, ThreadState
from discuz_scraper.testing import default_forum, fixtures_root

FETCHED = datetime(2026, 11, 25, 12, 0, tzinfo=timezone.utc)
CST = timezone(timedelta(hours=8))
SITE_A = "http://forum.test/"
SITE_B = "http://forum.test/bbs/"


@dataclass(frozen=True)
class Fetched:
    site: Site
    thread: Thread
    pages: list[ThreadPage]


def _fetch(base: str, tid: int) -> Fetched:
    with DiscuzClient(base, transport=default_forum().mock_transport(), rate=None) as dz:
        site = dz.site()
        pages = list(dz.iter_pages(tid))
        thread = dz.thread(tid).model_copy(update={"fetched_at": FETCHED})
    return Fetched(site, thread, pages)


@pytest.fixture(scope="module")
def bamboo() -> Fetched:
    """Thread 1001 of http://forum.test/ (3 pages, 12 posts, 3 images, 3 attachments, 1 quote)."""
    return _fetch(SITE_A, 1001)


@pytest.fixture(scope="module")
def hike() -> Fetched:
    """Thread 2001 of http://forum.test/bbs/ (3 pages, 13 posts, 1 image)."""
    return _fetch(SITE_B, 2001)


@pytest.fixture(scope="module")
def board_page() -> BoardPage:
    html, _ = decode_body((fixtures_root() / "board/x34_forum2_p1.html").read_bytes(), "text/html")
    return parse_board_page(html, "http://forum.test/forum.php?mod=forumdisplay&fid=2&page=1", now=FETCHED)


@pytest.fixture
def store(tmp_path: Path):
    with SQLiteStore(tmp_path / "forum.db") as opened:
        yield opened


EMPTY = {
    "sites": 0, "boards": 0, "threads": 0, "posts": 0, "authors": 0, "images": 0, "attachments": 0,
    "quotes": 0, "crawl_state": 0, "failures": 0,
}


def test_open_sets_wal_foreign_keys_and_schema_version(store: SQLiteStore):
    db = sqlite3.connect(store.path)
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS) == 2
    assert store.schema_version == 2
    assert store._db.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert store.counts() == EMPTY
    assert isinstance(store, Store)


def test_two_threads_of_two_sites_read_back_equal(store: SQLiteStore, bamboo: Fetched, hike: Fetched):
    store.save_site(bamboo.site)
    store.save_site(hike.site)
    store.save_thread(bamboo.thread, bamboo.site)
    store.save_thread(hike.thread, SITE_B)

    assert store.counts() == {
        **EMPTY, "sites": 2, "threads": 2, "posts": 25, "authors": 8, "images": 4, "attachments": 3,
        "quotes": 1, "crawl_state": 6,
    }
    assert store.get_thread(SITE_A, 1001) == bamboo.thread
    assert store.get_thread(hike.site, 2001) == hike.thread
    assert store.get_site("http://forum.test") == bamboo.site
    assert [post.pid for post in store.iter_posts(SITE_B)] == list(range(7101, 7114))
    assert list(store.iter_posts(SITE_A, 1001)) == bamboo.thread.posts
    assert list(store.iter_threads()) == [
        bamboo.thread.model_copy(update={"posts": []}), hike.thread.model_copy(update={"posts": []})
    ]
    assert list(store.iter_threads(SITE_B, posts=True)) == [hike.thread]
    assert [(a.uid, a.name) for a in store.iter_authors(SITE_A)] == [
        (5, "竹影清风"), (7, "老木匠"), (9, "青竹"), (11, "阿土")
    ]
    assert [(a.uid, a.name) for a in store.iter_authors(SITE_B)] == [
        (21, "山猫"), (22, "行者无疆"), (23, "小雨"), (24, "背包客阿杰")
    ]
    images = list(store.iter_images())
    assert [(i.tid, i.pid, i.floor, i.position, i.image.url) for i in images] == [
        (1001, 3101, 1, 0, "http://forum.test/data/attachment/forum/202611/02/201402bamboo301.jpg"),
        (1001, 3101, 1, 1, "http://forum.test/data/attachment/forum/202611/02/201355night302.jpg"),
        (1001, 3102, 2, 0, "https://pic.example.net/bamboo/shade-02.jpg"),
        (2001, 7101, 1, 0, "https://pic.example.net/hike/qinglong-01.jpg"),
    ]
    opening_image = bamboo.thread.posts[0].images[0]
    assert images[0] == PostImage(tid=1001, pid=3101, floor=1, position=0, image=opening_image)


def test_resaving_updates_instead_of_duplicating(store: SQLiteStore, bamboo: Fetched):
    store.save_thread(bamboo.thread, SITE_A)
    first = store.counts()
    store.save_thread(bamboo.thread, SITE_A)
    for page in bamboo.pages:
        store.save_thread_page(page, SITE_A, fetched_at=FETCHED)
    assert store.counts() == first == {
        **EMPTY, "sites": 1, "threads": 1, "posts": 12, "authors": 4, "images": 3, "attachments": 3,
        "quotes": 1, "crawl_state": 3,
    }
    assert store.get_thread(SITE_A, 1001) == bamboo.thread


def test_thread_saved_page_by_page_equals_the_whole_thread(store: SQLiteStore, bamboo: Fetched):
    # Pages arrive out of order (a concurrent crawl): page 1 still sets the metadata.
    for page in (bamboo.pages[2], bamboo.pages[0], bamboo.pages[1]):
        store.save_thread_page(page, SITE_A, fetched_at=FETCHED)
    assert store.get_thread(SITE_A, 1001) == bamboo.thread


def test_edited_post_keeps_the_newest_content(store: SQLiteStore, bamboo: Fetched):
    store.save_thread(bamboo.thread, SITE_A)
    original = bamboo.thread.posts[0]
    assert original.edited_at == datetime(2026, 11, 3, 8, 30, tzinfo=CST)
    edited = original.model_copy(update={
        "text": "灯罩做好了，图纸更新到第二版。",
        "edited_at": datetime(2026, 11, 24, 21, 0, tzinfo=CST),
        "images": original.images[:1],
        "attachments": [],
    })
    newer = bamboo.thread.model_copy(update={"posts": [edited, *bamboo.thread.posts[1:]]})
    store.save_thread(newer, SITE_A)

    stored = next(store.iter_posts(SITE_A, 1001))
    assert stored == edited
    assert stored.text == "灯罩做好了，图纸更新到第二版。"
    assert store.counts()["posts"] == 12
    assert store.counts()["images"] == 2  # the post's images were replaced, not appended
    assert store.counts()["attachments"] == 0

    # A stale copy (fetched before the edit, e.g. a slow worker) does not overwrite the edit.
    store.save_thread(bamboo.thread, SITE_A)
    assert next(store.iter_posts(SITE_A, 1001)) == edited
    assert store.counts()["images"] == 2


def test_post_without_edit_time_is_replaced_by_the_latest_save(store: SQLiteStore, bamboo: Fetched):
    store.save_thread_page(bamboo.pages[0], SITE_A, fetched_at=FETCHED)
    reply = bamboo.pages[0].posts[1]
    changed = reply.model_copy(update={"text": "补充：竹篾泡两天。", "images": [], "edited_by": "老木匠",
                                       "edited_at": datetime(2026, 11, 25, 8, 0, tzinfo=CST)})
    page = bamboo.pages[0].model_copy(update={"posts": [bamboo.pages[0].posts[0], changed]})
    store.save_thread_page(page, SITE_A, fetched_at=FETCHED + timedelta(hours=1))
    posts = {post.pid: post for post in store.iter_posts(SITE_A, 1001)}
    assert posts[3102] == changed
    assert [image.pid for image in store.iter_images(SITE_A, 1001)] == [3101, 3101]


def _add_trigger(path: str, sql: str) -> None:
    db = sqlite3.connect(path)
    db.execute(sql)
    db.commit()
    db.close()


def test_failed_page_write_leaves_nothing_of_that_page(store: SQLiteStore, bamboo: Fetched):
    store.save_thread_page(bamboo.pages[1], SITE_A, fetched_at=FETCHED)
    before = store.counts()
    # The remote image of post 3102 (second post of page 1) fails mid-transaction, after the
    # thread row, the first post, its images and attachments were already written.
    _add_trigger(store.path, """CREATE TRIGGER boom BEFORE INSERT ON images
        WHEN NEW.url = 'https://pic.example.net/bamboo/shade-02.jpg'
        BEGIN SELECT RAISE(ABORT, 'disk on fire'); END""")
    with pytest.raises(StoreError, match="rolled back: disk on fire"):
        store.save_thread_page(bamboo.pages[0], SITE_A, fetched_at=FETCHED)

    assert store.counts() == before
    assert [post.page for post in store.iter_posts(SITE_A, 1001)] == [2] * 5
    assert store.is_done(SITE_A, "thread_page", (1001, 1)) is False
    assert store.thread_state(SITE_A, 1001).pages_done == (2,)
    # The store stays usable: the same page saves fine once the fault is gone.
    _add_trigger(store.path, "DROP TRIGGER boom")
    store.save_thread_page(bamboo.pages[0], SITE_A, fetched_at=FETCHED)
    assert store.counts()["posts"] == 10


_KILL_CHILD = textwrap.dedent("""
    import os, signal, sys
    from discuz_scraper.client import DiscuzClient
    from discuz_scraper.store import SQLiteStore
    from discuz_scraper.testing import default_forum

    with DiscuzClient("http://forum.test/", transport=default_forum().mock_transport(), rate=None) as dz:
        page = dz.thread_page(1001, 1)
    store = SQLiteStore(sys.argv[1])
    # SIGKILL the process from inside the page's transaction, at its first quote row.
    store._db.create_function("die", 0, lambda: os.kill(os.getpid(), signal.SIGKILL))
    store._db.execute("CREATE TEMP TRIGGER die BEFORE INSERT ON quotes BEGIN SELECT die(); END")
    store.save_thread_page(page, "http://forum.test/")
""")


def test_sigkill_mid_page_leaves_nothing_of_that_page(tmp_path: Path):
    path = tmp_path / "killed.db"
    child = subprocess.run([sys.executable, "-c", _KILL_CHILD, str(path)], capture_output=True, timeout=60)
    assert child.returncode == -signal.SIGKILL, child.stderr.decode()
    assert os.path.exists(str(path) + "-wal")  # the killed transaction's pages may sit in the WAL
    with SQLiteStore(path) as reopened:
        assert reopened.counts() == EMPTY
        assert reopened.is_done(SITE_A, "thread_page", (1001, 1)) is False


def test_board_page_saves_rows_sub_boards_and_marks_the_list_page(
    store: SQLiteStore, board_page: BoardPage, bamboo: Fetched
):
    store.save_thread(bamboo.thread, SITE_A)
    store.save_board(board_page, SITE_A)
    counts = store.counts()
    assert (counts["boards"], counts["threads"], counts["authors"]) == (2, 10, 7)  # uids 1 2 3 5 7 9 11
    assert store.is_done(SITE_A, "list_page", (2, 1)) is True
    assert store.is_done(SITE_A, "list_page", (2, 2)) is False
    assert list(store.iter_thread_summaries(SITE_A)) == sorted(board_page.rows, key=lambda row: row.tid)
    assert [(b.fid, b.name) for b in store.iter_boards()] == [(9, "新人报到")]
    # The list row's bare author (uid + name) never replaces the full author seen beside a post.
    authors = {author.uid: author for author in store.iter_authors(SITE_A)}
    assert authors[5] == bamboo.thread.posts[0].author
    assert (authors[1].name, authors[1].group) == ("admin", None)
    # The thread saved in full keeps its metadata; the list row is stored beside it.
    assert store.get_thread(SITE_A, 1001) == bamboo.thread

    board = Board(fid=2, name="手工艺分享", url="http://forum.test/forum-2-1.html", threads=32,
                  sub_boards=board_page.sub_boards)
    store.save_board(board, SITE_A)
    assert list(store.iter_boards(SITE_A)) == [board, board_page.sub_boards[0]]
    with pytest.raises(StoreError, match="no fid"):
        store.save_board(Board(alias="news", name="新闻", url="http://forum.test/forum-news-1.html"), SITE_A)


def test_thread_state_for_incremental_crawls(store: SQLiteStore, bamboo: Fetched, board_page: BoardPage):
    assert store.thread_state(SITE_A, 1001) == ThreadState(None, None, None, ())
    store.save_board(board_page, SITE_A)
    # Known from a list row only: the list's reply count is not a stored thread's.
    assert store.thread_state(SITE_A, 1001) == ThreadState(None, None, None, ())

    store.save_thread_page(bamboo.pages[0], SITE_A, fetched_at=FETCHED)
    store.save_thread_page(bamboo.pages[1], SITE_A, fetched_at=FETCHED)
    assert store.thread_state(SITE_A, 1001) == ThreadState(
        stored_replies=11,
        stored_last_post_at=datetime(2026, 11, 24, 9, 0, tzinfo=CST),
        max_floor=10,
        pages_done=(1, 2),
    )
    row = next(row for row in board_page.rows if row.tid == 1001)
    store.mark_done(SITE_A, "thread", 1001, replies=row.replies, last_post_at=row.last_post_at)
    assert store.thread_state(SITE_A, 1001) == ThreadState(
        11, datetime(2026, 11, 25, 20, 35, tzinfo=CST), 10, (1, 2)
    )


def test_crawl_state_round_trip(store: SQLiteStore):
    start = datetime(2026, 11, 25, 10, 0, tzinfo=timezone.utc)
    store.mark_done(SITE_A, "list_page", (2, 1), fetched_at=start)
    store.mark_done(SITE_A, "thread_page", (1001, 3), fetched_at=start + timedelta(minutes=5))
    store.mark_done(SITE_B, "thread", 2001, fetched_at=start, replies=12)
    assert store.is_done(SITE_A, "list_page", (2, 1)) is True
    assert store.is_done(SITE_B, "list_page", (2, 1)) is False
    assert store.is_done(SITE_A, "thread_page", (1001, 3), since=start + timedelta(minutes=5)) is True
    assert store.is_done(SITE_A, "list_page", (2, 1), since=start + timedelta(seconds=1)) is False
    assert store.thread_state(SITE_B, 2001) == ThreadState(12, None, None, ())
    # Marking again moves the mark forward instead of adding a row.
    store.mark_done(SITE_A, "list_page", (2, 1), fetched_at=start + timedelta(hours=1))
    assert store.is_done(SITE_A, "list_page", (2, 1), since=start + timedelta(minutes=30)) is True
    assert store.counts()["crawl_state"] == 3


@pytest.mark.parametrize(
    ("kind", "key", "message"),
    [
        ("thread", (1001, 1), "must be a tid"),
        ("thread_page", 1001, r"must be \(tid, page\)"),
        ("list_page", (2, "1"), r"must be \(fid, page\)"),
        ("board", 2, "unknown crawl kind 'board'"),
    ],
)
def test_bad_crawl_keys_raise(store: SQLiteStore, kind, key, message):
    with pytest.raises(StoreError, match=message):
        store.mark_done(SITE_A, kind, key)
    with pytest.raises(StoreError, match=message):
        store.is_done(SITE_A, kind, key)


def test_failures_round_trip_redacted(store: SQLiteStore):
    url = "http://forum.test/forum.php?mod=viewthread&tid=1999&formhash=5f3e2a1b"
    first = datetime(2026, 11, 25, 10, 0, tzinfo=timezone.utc)
    said = "抱歉，指定的主题不存在或已被删除或正在被审核"
    error = NotFound("thread does not exist", url=url, site_message=said)
    store.record_failure(SITE_A, "thread", url, error, seen_at=first)
    again = store.record_failure(SITE_A, "thread", url, error, seen_at=first + timedelta(minutes=10))
    store.record_failure(SITE_B, "list_page", "http://forum.test/bbs/forum-3-9.html",
                         TimeoutError("timed out"), seen_at=first + timedelta(minutes=1))
    redacted = "http://forum.test/forum.php?mod=viewthread&tid=1999&formhash=***"
    expected = Failure(
        site=SITE_A, url=redacted, kind="thread", error_type="NotFound",
        message=f"thread does not exist | site said: {said} | url: {redacted}",
        attempts=2, first_seen=first, last_seen=first + timedelta(minutes=10),
    )
    assert again == expected
    assert store.failures(SITE_A) == [expected]
    listed = store.failures(kind="list_page")
    assert [(f.site, f.kind, f.error_type, f.message, f.attempts) for f in listed] == [
        (SITE_B, "list_page", "TimeoutError", "timed out", 1)
    ]
    assert len(store.failures()) == 2
    assert "5f3e2a1b" not in Path(store.path).read_bytes().decode("utf-8", "replace")
    assert store.clear_failure(SITE_A, url) is True
    assert store.clear_failure(SITE_A, url) is False
    assert [f.site for f in store.failures()] == [SITE_B]
    with pytest.raises(StoreError, match="needs a kind and a URL"):
        store.record_failure(SITE_A, "thread", "", error)


def test_missing_items_and_bad_sites_raise(store: SQLiteStore, board_page: BoardPage):
    with pytest.raises(StoreError, match=r"thread 1001 of http://forum\.test/ is stored not at all"):
        store.get_thread(SITE_A, 1001)
    store.save_board(board_page, SITE_A)
    with pytest.raises(StoreError, match="stored only as a list row"):
        store.get_thread(SITE_A, 1001)
    with pytest.raises(StoreError, match="never saved with save_site"):
        store.get_site(SITE_A)
    with pytest.raises(StoreError, match=r"not a site base URL: 'ftp://forum\.test/'"):
        store.mark_done("ftp://forum.test/", "thread", 1)


def test_migrates_a_v0_file_and_keeps_foreign_tables(tmp_path: Path):
    path = tmp_path / "v0.db"
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE notes (body TEXT)")
    db.execute("INSERT INTO notes VALUES ('mine')")
    db.commit()
    db.close()
    with SQLiteStore(path) as store:
        assert store.schema_version == 2
        assert store.counts() == EMPTY
        assert store._db.execute("SELECT body FROM notes").fetchall() == [("mine",)]


def test_migrates_a_v1_file_in_order_keeping_its_data(tmp_path: Path, bamboo: Fetched):
    path = tmp_path / "v1.db"
    db = sqlite3.connect(path)
    db.executescript(MIGRATIONS[0])
    db.execute("INSERT INTO sites(site, name, json, saved_at) VALUES (?, ?, ?, ?)",
               (SITE_A, "竹林茶社", bamboo.site.model_dump_json(), "2026-11-01T00:00:00.000000+00:00"))
    db.execute("PRAGMA user_version = 1")
    db.commit()
    db.close()
    with SQLiteStore(path) as store:
        assert store.schema_version == 2
        assert store.get_site(SITE_A) == bamboo.site
        store.mark_done(SITE_A, "thread", 1001)  # the table migration 2 added
        assert store.counts() == {**EMPTY, "sites": 1, "crawl_state": 1}


def test_newer_or_foreign_files_are_refused(tmp_path: Path):
    newer = tmp_path / "newer.db"
    db = sqlite3.connect(newer)
    db.execute("PRAGMA user_version = 99")
    db.close()
    with pytest.raises(StoreError, match="schema version 99, newer than this discuz-scraper knows"):
        SQLiteStore(newer)
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not a database file at all" * 100)
    with pytest.raises(StoreError, match="cannot open store"):
        SQLiteStore(junk)
