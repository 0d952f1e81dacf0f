"""The Scrapy integration against the loopback fixture forum: one process, then two workers on Redis.

Scrapy runs in subprocesses (a Twisted reactor cannot be restarted within one process); the fixture
forum is served by this process, so its request log sees every request of every worker. The
reference is ``DiscuzClient.crawl_forum()`` on the same server.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from scrapy import Request
from scrapy.http import HtmlResponse
from scrapy.settings import Settings

from discuz_scraper import DiscuzClient, Thread
from discuz_scraper.contrib.scrapy import (
    AntiTheftMiddleware,
    DiscuzCookiesMiddleware,
    DiscuzSpider,
    SQLiteStorePipeline,
    apply_default_settings,
)
from discuz_scraper.crawl import CrawlFailure, CrawlReport, CrawlSkip
from discuz_scraper.errors import ConfigError
from discuz_scraper.http import DEFAULT_USER_AGENT
from discuz_scraper.models import Board, ThreadSummary
from discuz_scraper.store import SQLiteStore
from discuz_scraper.testing import FixtureForum, LoopbackServer, fixtures_root

X34_TIDS = {1001, 1003, 1010, 1013, 1014, 1015, 1016, 1030, 1031, 1040, 1050, 1077}
X35_TIDS = {2001, 2002, 2003, 2004, 2005, 2006}
SETTINGS_MODULE = "discuz_scraper.contrib.scrapy.settings"
# Quiet, port-free subprocesses: no telnet console or remote control listening during tests.
QUIET = ["-s", "TELNETCONSOLE_ENABLED=False", "-s", "REMOTE_CONTROL_ENABLED=False", "-s", "LOG_LEVEL=INFO"]


class Reference:
    """What ``DiscuzClient.crawl_forum()`` gets from a site, and the pages it asked for."""

    def __init__(self, events: list[Any], targets: list[str]) -> None:
        report = events[-1]
        assert isinstance(report, CrawlReport)
        self.threads = {e.tid: e for e in events if isinstance(e, Thread)}
        self.rows = {e.tid for e in events if isinstance(e, ThreadSummary)}
        self.boards = {e.fid for e in events if isinstance(e, Board)}
        self.failures = sorted((f.kind, f.url, f.error_type) for f in report.failures)
        self.skipped = report.skipped
        self.targets = targets


def reference(forum: FixtureForum, base: str) -> Reference:
    with DiscuzClient(base, rate=None) as client:
        events = list(client.crawl_forum())
    targets = [entry.target for entry in forum.request_log]
    forum.clear_log()
    return Reference(events, targets)


def scrapy_command(spider: str, *args: str) -> list[str]:
    return [sys.executable, "-m", "scrapy", "crawl", spider, *QUIET, *args]


def scrapy_env() -> dict[str, str]:
    return {**os.environ, "SCRAPY_SETTINGS_MODULE": SETTINGS_MODULE}


def post_view(thread: Thread) -> list[tuple[Any, ...]]:
    return [(p.pid, p.floor, p.author.name, p.text, p.is_hot, p.is_sticky) for p in thread.posts]


def stored(path: Path, base: str) -> tuple[dict[int, Thread], list[tuple[str, str, str]]]:
    with SQLiteStore(path) as store:
        threads = {t.tid: t for t in store.iter_threads(base, posts=True)}
        failures = sorted((f.kind, f.url, f.error_type) for f in store.failures(base))
    return threads, failures


def feed(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def kind_of(item: dict[str, Any]) -> str:
    """Which model a feed line came from (feeds hold plain JSON objects)."""
    if "error_type" in item:
        return "failure"
    if "reason" in item:
        return "skip"
    if isinstance(item.get("posts"), list):
        return "thread"
    if "sticky" in item:
        return "row"
    return "board"


# -- single machine ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("site", "tids"), [("x34", X34_TIDS), ("x35", X35_TIDS)])
def test_spider_equals_crawl_forum(
    site: str, tids: set[int], forum: FixtureForum, loopback: LoopbackServer, tmp_path: Path
) -> None:
    base = loopback.site_url(site)
    ref = reference(forum, base)
    assert set(ref.threads) == tids

    db, out = tmp_path / "forum.db", tmp_path / "items.jsonl"
    command = scrapy_command(
        "discuz",
        "-a", f"url={base}",
        "-s", f"DISCUZ_STORE={db}",
        "-s", "DOWNLOAD_DELAY=0",
        "-s", "AUTOTHROTTLE_ENABLED=False",
        "-O", str(out),
    )  # fmt: skip
    done = subprocess.run(command, env=scrapy_env(), cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-3000:]

    targets = [entry.target for entry in forum.request_log]
    assert len(targets) == len(set(targets)), "no page fetched twice"
    assert sorted(targets) == sorted(ref.targets), "the very pages the client fetched"

    threads, failures = stored(db, base)
    assert set(threads) == tids
    assert {p.pid for t in threads.values() for p in t.posts} == {
        p.pid for t in ref.threads.values() for p in t.posts
    }
    for tid, thread in threads.items():
        assert post_view(thread) == post_view(ref.threads[tid]), f"tid {tid}: same posts, same order"
        assert thread.model_dump(exclude={"fetched_at"}) == ref.threads[tid].model_dump(
            exclude={"fetched_at"}
        )
    assert failures == ref.failures

    items = feed(out)
    kinds = Counter(kind_of(item) for item in items)
    assert kinds == Counter(
        {
            "board": len(ref.boards),
            "row": len(ref.rows),
            "thread": len(tids),
            "failure": len(ref.failures),
            "skip": len(ref.skipped),
        }
    )
    assert sorted(item["tid"] for item in items if kind_of(item) == "row") == sorted(ref.rows)
    assert [CrawlSkip(**item) for item in items if kind_of(item) == "skip"] == ref.skipped
    assert (
        sorted(
            (item["kind"], item["url"], item["error_type"]) for item in items if kind_of(item) == "failure"
        )
        == ref.failures
    )


def test_spider_spot_checks_x34(forum: FixtureForum, loopback: LoopbackServer, tmp_path: Path) -> None:
    """A few posts by value, a board crawl without posts, and the page limits."""
    base = loopback.site_url("x34")
    db = tmp_path / "board.db"
    command = scrapy_command(
        "discuz",
        "-a", f"url={base}forum-2-1.html",
        "-a", "with_posts=false",
        "-a", "exclude_boards=6,9",
        "-s", f"DISCUZ_STORE={db}",
        "-s", "DOWNLOAD_DELAY=0",
    )  # fmt: skip
    done = subprocess.run(command, env=scrapy_env(), cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-3000:]
    assert sorted(entry.target for entry in forum.request_log) == [
        "/forum.php?mod=forumdisplay&fid=2&page=1",
        "/forum.php?mod=forumdisplay&fid=2&page=2",
        "/robots.txt",
    ], "sub-boards 6 and 9 excluded, no thread fetched"
    with DiscuzClient(base, rate=None) as client:
        listed = {row.tid for row in client.iter_threads(2)}
        expected = client.thread(1001)
    with SQLiteStore(db) as store:
        counts = store.counts()
    assert (counts["posts"], counts["threads"]) == (0, len(listed)), "rows saved, no thread fetched"
    forum.clear_log()
    db = tmp_path / "thread.db"
    command = scrapy_command(
        "discuz",
        "-a",
        f"url={base}thread-1001-1-1.html",
        "-s",
        f"DISCUZ_STORE={db}",
        "-s",
        "DOWNLOAD_DELAY=0",
    )
    done = subprocess.run(command, env=scrapy_env(), cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-3000:]
    assert [entry.target for entry in forum.request_log] == [
        "/robots.txt",
        *(f"/forum.php?mod=viewthread&tid=1001&page={n}" for n in (1, 2, 3)),
    ], "a thread's pages in order, each once"
    threads, _ = stored(db, base)
    assert list(threads) == [1001]
    got = threads[1001]
    assert [p.pid for p in got.posts] == list(range(3101, 3113)) == [p.pid for p in expected.posts]
    first = got.posts[0]
    assert (first.floor, first.is_first, first.author.name) == (1, True, expected.posts[0].author.name)
    assert [p.text for p in got.posts] == [p.text for p in expected.posts]
    assert got.page_count == 3


# -- spider in-process (no reactor): options, settings, middlewares, pipeline ----------------------


def test_spider_options_and_start_requests() -> None:
    spider = DiscuzSpider(url="http://forum.test/bbs/forum-3-2.html", boards="3, share", max_pages="2")
    assert (spider.include_boards, spider.max_pages, spider.with_posts) == (
        frozenset({"3", "share"}),
        2,
        True,
    )
    [request] = list(spider.start_requests())
    assert request.url == "http://forum.test/bbs/forum.php?mod=forumdisplay&fid=3&page=2"
    assert request.callback == spider.parse_board and request.meta["discuz_first"] is True
    [request] = list(DiscuzSpider(url="http://forum.test/thread-1001-2-1.html").start_requests())
    assert request.url == "http://forum.test/forum.php?mod=viewthread&tid=1001&page=1"
    [request] = list(DiscuzSpider(url="http://forum.test/bbs/", with_posts="no").start_requests())
    assert request.url == "http://forum.test/bbs/forum.php"
    with pytest.raises(ConfigError, match="max_pages"):
        DiscuzSpider(url="http://forum.test/", max_pages="0")
    with pytest.raises(ConfigError, match="start URL"):
        list(DiscuzSpider().start_requests())


def test_default_settings_sit_under_project_settings() -> None:
    settings = Settings(
        {"DOWNLOAD_DELAY": 2.0, "DOWNLOADER_MIDDLEWARES": {"my.Middleware": 10}}, priority="project"
    )
    apply_default_settings(settings)
    assert settings.getfloat("DOWNLOAD_DELAY") == 2.0, "the project's value wins"
    assert settings.get("USER_AGENT") == DEFAULT_USER_AGENT
    assert settings.getbool("AUTOTHROTTLE_ENABLED") is True
    assert settings.getfloat("AUTOTHROTTLE_START_DELAY") == 0.5
    assert settings.getint("CONCURRENT_REQUESTS_PER_DOMAIN") == 4
    assert 429 in settings.getlist("RETRY_HTTP_CODES")
    assert settings.getdict("DOWNLOADER_MIDDLEWARES") == {
        "my.Middleware": 10,
        "discuz_scraper.contrib.scrapy.middlewares.DiscuzCookiesMiddleware": 690,
        "discuz_scraper.contrib.scrapy.middlewares.AntiTheftMiddleware": 540,
    }


def test_antitheft_middleware_answers_the_dsign_script() -> None:
    page = (fixtures_root() / "errors" / "x34_antitheft.html").read_bytes()
    url = "http://forum.test/forum.php?mod=viewthread&tid=3"
    request = Request(url, meta={"discuz_kind": "thread"})
    response = HtmlResponse(
        url, body=page, headers={"Content-Type": "text/html; charset=gbk"}, request=request
    )
    middleware = AntiTheftMiddleware()
    retried = middleware.process_response(request, response)
    assert isinstance(retried, Request)
    assert retried.url == url + "&_dsign=4be07c1d"
    assert retried.dont_filter and retried.meta == {"discuz_kind": "thread", "discuz_dsign_solves": 1}
    # A second challenge is answered once more, a third goes to the spider (a reported failure).
    again = middleware.process_response(retried, response.replace(request=retried))
    assert isinstance(again, Request) and again.meta["discuz_dsign_solves"] == 2
    assert middleware.process_response(again, response) is response
    normal = HtmlResponse(url, body=b"<html><body>ok</body></html>", request=request)
    assert middleware.process_response(request, normal) is normal


def test_cookie_middleware_imports_matching_cookies(tmp_path: Path) -> None:
    cookie_file = tmp_path / "cookies.txt"
    cookie_file.write_text(
        "# Netscape HTTP Cookie File\n"
        "forum.test\tFALSE\t/\tFALSE\t0\tcdb_auth\tabc123\n"
        ".forum.test\tTRUE\t/bbs/\tFALSE\t0\tcdb_sid\tsid9\n"
        "other.test\tFALSE\t/\tFALSE\t0\tforeign\tnope\n",
        encoding="utf-8",
    )
    settings = Settings({"DISCUZ_COOKIES": str(cookie_file)})
    crawler = type("FakeCrawler", (), {"settings": settings})()
    middleware = DiscuzCookiesMiddleware.from_crawler(crawler)  # type: ignore[arg-type]
    request = Request("http://forum.test/bbs/forum.php", cookies={"own": "1"})
    middleware.process_request(request)
    assert sorted((c["name"], c["value"], c.get("domain")) for c in request.cookies) == [  # type: ignore[union-attr]
        ("cdb_auth", "abc123", None),
        ("cdb_sid", "sid9", ".forum.test"),
        ("own", "1", None),
    ]
    later = Request("http://forum.test/bbs/forum.php?mod=viewthread&tid=1")
    middleware.process_request(later)
    assert later.cookies == {}, "seeded once per host; Scrapy's jar carries them from there"


def test_pipeline_saves_failures_with_their_type(tmp_path: Path) -> None:
    pipeline = SQLiteStorePipeline(str(tmp_path / "s.db"))
    pipeline.open_spider()
    failure = CrawlFailure(
        url="http://forum.test/forum.php?mod=viewthread&tid=9&page=1",
        kind="thread",
        error_type="NotFound",
        message="gone",
    )
    timeout = failure.model_copy(update={"url": "http://forum.test/x", "error_type": "TimeoutError"})
    assert pipeline.process_item(failure) is failure
    pipeline.process_item(timeout)
    pipeline.close_spider()
    with SQLiteStore(tmp_path / "s.db") as store:
        assert sorted((f.url, f.error_type) for f in store.failures()) == [
            ("http://forum.test/forum.php?mod=viewthread&tid=9&page=1", "NotFound"),
            ("http://forum.test/x", "TimeoutError"),
        ]


# -- distributed: two workers sharing one Redis ---------------------------------------------------------


def stat(log: str, name: str) -> int:
    """A counter from the stats a Scrapy process dumps when it closes (0 when never counted)."""
    found = re.search(rf"'{re.escape(name)}': (\d+)", log)
    return int(found.group(1)) if found else 0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def redis_url(tmp_path: Path) -> Iterator[str]:
    """A throwaway redis-server on 127.0.0.1 (no persistence), stopped after the test."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.fail("redis-server is not installed: apt-get install redis-server (.ci/run does it)")
    port = free_port()
    server = subprocess.Popen(
        [
            binary,
            "--save",
            "",
            "--appendonly",
            "no",
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--dir",
            str(tmp_path),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                if redis.Redis.from_url(url).ping():
                    break
            except redis.ConnectionError:
                if time.monotonic() > deadline or server.poll() is not None:
                    pytest.fail(f"redis-server did not start on port {port}")
                time.sleep(0.05)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_two_redis_workers_fetch_each_page_once(
    forum: FixtureForum, loopback: LoopbackServer, redis_url: str, tmp_path: Path
) -> None:
    base = loopback.site_url("x34")
    ref = reference(forum, base)
    redis.Redis.from_url(redis_url).lpush("discuz_redis:start_urls", base)

    started = time.monotonic()
    workers = []
    for n in (1, 2):
        command = scrapy_command(
            "discuz_redis",
            "-s", f"REDIS_URL={redis_url}",
            "-s", f"DISCUZ_STORE={tmp_path / f'worker{n}.db'}",
            # One request at a time per worker, 0.5 s apart (the default politeness, without
            # AutoThrottle's drift): the shared queue keeps what a worker is not fetching, so the
            # second worker, which checks for work every 5 s while idle, gets its share.
            "-s", "CONCURRENT_REQUESTS=1",
            "-s", "AUTOTHROTTLE_ENABLED=False",
            "-s", "RANDOMIZE_DOWNLOAD_DELAY=False",
            "-s", "MAX_IDLE_TIME_BEFORE_CLOSE=2",
            "-s", "CLOSESPIDER_TIMEOUT=45",
            "-O", str(tmp_path / f"worker{n}.jsonl"),
        )  # fmt: skip
        workers.append(
            subprocess.Popen(
                command,
                env=scrapy_env(),
                cwd=tmp_path,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
        )
    logs = []
    for worker in workers:
        _, err = worker.communicate(timeout=55)
        assert worker.returncode == 0, err[-3000:]
        assert "'finish_reason': 'finished'" in err, "closed by idleness, not by the timeout"
        logs.append(err)
    assert time.monotonic() - started < 55

    # robots.txt is each worker's own business (Scrapy caches it per process); pages are shared.
    targets = [entry.target for entry in forum.request_log if entry.target != "/robots.txt"]
    assert len(targets) == len(set(targets)), "no page fetched twice by the two workers"
    assert sorted(targets) == sorted(t for t in ref.targets if t != "/robots.txt")
    assert [entry.target for entry in forum.request_log].count("/robots.txt") == 2
    pages = [stat(log, "scheduler/dequeued/redis") for log in logs]
    assert sum(pages) == len(targets) and min(pages) >= 1, f"both workers fetched pages: {pages}"

    union: dict[int, Thread] = {}
    failures: list[tuple[str, str, str]] = []
    for n in (1, 2):
        threads, failed = stored(tmp_path / f"worker{n}.db", base)
        assert not set(threads) & set(union), "each thread assembled by one worker"
        union.update(threads)
        failures += failed
    assert set(union) == X34_TIDS == set(ref.threads)
    for tid, thread in union.items():
        assert post_view(thread) == post_view(ref.threads[tid]), f"tid {tid}"
    assert sorted(failures) == ref.failures
    rows = {
        item["tid"] for n in (1, 2) for item in feed(tmp_path / f"worker{n}.jsonl") if kind_of(item) == "row"
    }
    assert rows == ref.rows
