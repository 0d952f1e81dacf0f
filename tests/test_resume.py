"""Crash and resume: ``discuz-scraper crawl`` killed with SIGKILL mid-crawl, then run again, ends
with the database a clean run writes (same threads, posts and contents), without fetching again
the thread pages that were already stored."""

from __future__ import annotations

import os
import random
import re
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from discuz_scraper.cli import main
from discuz_scraper.testing import FixtureForum, LoggedRequest, fixtures_root

LOOPBACK = re.compile(r"http://127\.0\.0\.1:\d+")
# The x35 site: index, boards 3 (2 pages), 7, share; threads 2001 (3 pages) to 2006.
# SIGKILL after this many answered requests: early (index/boards), mid-thread, late, and one more
# drawn per run (of the 14 requests a clean crawl sends) from a seed printed in pytest's summary;
# DISCUZ_RESUME_SEED=N replays it.
RESUME_SEED = int(os.environ.get("DISCUZ_RESUME_SEED") or random.SystemRandom().randrange(2**32))
KILL_POINTS = (3, 7, 11, random.Random(RESUME_SEED).randint(1, 13))
RELIABILITY_SEEDS = {
    "crash-resume (SIGKILL after N answered requests)": KILL_POINTS,
    "crash-resume (seed of the last kill point, replay with DISCUZ_RESUME_SEED)": (RESUME_SEED,),
}
CLEAN_THREAD_PAGES = {(2001, 1), (2001, 2), (2001, 3)} | {(tid, 1) for tid in range(2002, 2007)}


class GatedForum(FixtureForum):
    """The fixture forum, holding every request after the first ``limit`` until :attr:`release`."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.limit: int | None = None
        self.arrived = 0
        self.release = threading.Event()
        self._count_lock = threading.Lock()

    def handle(self, method: str, url: str, headers: Any = None, body: bytes = b"") -> Any:
        with self._count_lock:
            self.arrived += 1
            held = self.limit is not None and self.arrived > self.limit
        if held:
            self.release.wait(30)
        return super().handle(method, url, headers, body)


def gated_forum() -> GatedForum:
    root = fixtures_root()
    return GatedForum.from_file(root / "forum" / "routes.json", root=root)


def crawl_args(base: str, db: Path) -> list[str]:
    return ["crawl", base, "--db", str(db), "--rate", "0", "--backend", "html", "-q"]


def crawl_command(base: str, db: Path) -> list[str]:
    return [sys.executable, "-m", "discuz_scraper.cli", *crawl_args(base, db)]


Snapshot = tuple[list[int], dict[int, str], list[tuple[str, str]]]


def snapshot(db: Path) -> Snapshot:
    """Stored thread ids, every post's full JSON by pid, and the list pages marked done."""
    with sqlite3.connect(db) as conn:
        tids = [row[0] for row in conn.execute("SELECT tid FROM threads WHERE json IS NOT NULL ORDER BY tid")]
        # Each test serves on its own port: compare the contents with the origin taken out.
        posts = {pid: LOOPBACK.sub("http://forum.test", text)
                 for pid, text in conn.execute("SELECT pid, json FROM posts")}
        marks = "SELECT kind, key FROM crawl_state WHERE kind != 'thread_page'"
        lists = sorted(conn.execute(marks).fetchall())
    return tids, posts, lists


def done_pages(db: Path) -> set[tuple[int, int]]:
    with sqlite3.connect(db) as conn:
        keys = conn.execute("SELECT key FROM crawl_state WHERE kind = 'thread_page'").fetchall()
    return {(int(tid), int(page)) for tid, page in (key.split(":") for (key,) in keys)}


def thread_pages(log: list[LoggedRequest]) -> list[tuple[int, int]]:
    pages = []
    for entry in log:
        if "mod=viewthread" in entry.target:
            query = dict(part.split("=") for part in entry.target.split("?", 1)[1].split("&"))
            pages.append((int(query["tid"]), int(query["page"])))
    return pages


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> Snapshot:
    """A clean, uninterrupted crawl's database (on its own server: only the contents matter)."""
    forum = gated_forum()
    db = tmp_path_factory.mktemp("clean") / "clean.db"
    with forum.serve() as server:
        assert main(crawl_args(server.site_url("x35"), db)) == 0
    assert sorted(thread_pages(forum.request_log)) == sorted(CLEAN_THREAD_PAGES)
    return snapshot(db)


@pytest.mark.parametrize("kill_after", KILL_POINTS)
def test_sigkill_then_resume_equals_a_clean_crawl(
    kill_after: int, clean: Snapshot, tmp_path: Path
) -> None:
    tids, posts, marks = clean
    assert tids == [2001, 2002, 2003, 2004, 2005, 2006]
    assert sorted(posts) == sorted([*range(7101, 7114), 7201, 7202, 7301, 7302, 20041, 20042, 20051, 20052,
                                    20053, 20061])
    assert marks == sorted(
        [("list_page", key) for key in ("3:1", "3:2", "7:1", "8:1")]
        + [("thread", str(tid)) for tid in range(2001, 2007)]
    )
    forum = gated_forum()
    forum.limit = kill_after
    db = tmp_path / "crawl.db"
    with forum.serve() as server:
        base = server.site_url("x35")
        process = subprocess.Popen(crawl_command(base, db), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 30
        while forum.arrived <= kill_after and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.002)
        # Request kill_after + 1 is being held: the crawl is mid-flight, with requests outstanding.
        os.kill(process.pid, signal.SIGKILL)
        process.communicate(timeout=30)
        assert process.returncode == -signal.SIGKILL
        assert len(forum.request_log) == kill_after
        stored_before = done_pages(db) if db.exists() else set()
        forum.limit = None
        forum.release.set()
        # The held requests of the dead process are answered (into a closed socket) and logged.
        while len(forum.request_log) < forum.arrived and time.monotonic() < deadline:
            time.sleep(0.002)
        forum.clear_log()
        resumed = subprocess.run(crawl_command(base, db), capture_output=True, text=True, timeout=60)
        assert resumed.returncode == 0, resumed.stderr
        fetched_again = thread_pages(forum.request_log)

    assert snapshot(db) == clean
    assert not stored_before & set(fetched_again), "pages stored before the kill are not fetched again"
    assert sorted(fetched_again) == sorted(CLEAN_THREAD_PAGES - stored_before)
    assert len(fetched_again) == len(set(fetched_again))
