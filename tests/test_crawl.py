"""Board and forum crawls over the fixture forum: sync and async, in-process and on loopback."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from datetime import datetime, timedelta, timezone
from typing import Any

import httpx
import pytest

from discuz_scraper import AsyncDiscuzClient, Board, DiscuzClient, Thread, ThreadSummary
from discuz_scraper.crawl import CrawlEvent, CrawlFailure, CrawlReport, CrawlSkip
from discuz_scraper.errors import ConfigError, DiscuzError
from discuz_scraper.testing import Fault, FaultPlan, FixtureForum, LoopbackServer, default_forum

X34 = "http://forum.test/"
X35 = "http://forum.test/bbs/"

X34_TIDS = {1001, 1003, 1010, 1013, 1014, 1015, 1016, 1030, 1031, 1040, 1050, 1077}
X34_ROWS = X34_TIDS | {1012, 1099}
X34_PIDS = (
    set(range(3101, 3113))
    | {3301, 10501, 10502, 10771, 10772, 10131, 10401}
    | {10101, 10102, 10103, 10104, 10141, 10142, 10143, 10151, 10152, 10153}
    | set(range(10161, 10168))
    | {10301, 10302, 10303, 10311, 10312}
)
X35_TIDS = {2001, 2002, 2003, 2004, 2005, 2006}
X35_PIDS = set(range(7101, 7114)) | {7201, 7202, 7301, 7302, 20041, 20042, 20051, 20052, 20053, 20061}
X34_FAILURES = [
    ("board", "http://forum.test/forum.php?mod=forumdisplay&fid=9&page=1", "LoginRequired"),
    ("thread", "http://forum.test/forum.php?mod=viewthread&tid=1012&page=1", "PermissionDenied"),
    ("thread", "http://forum.test/forum.php?mod=viewthread&tid=1099&page=1", "NotFound"),
]
X34_SKIPPED = [
    CrawlSkip(url="http://forum.test/forum.php?mod=forumdisplay&fid=5", name="内部讨论", reason="private"),
    CrawlSkip(url="http://forum.test/forum.php?mod=forumdisplay&fid=11", name="官方网站", reason="redirect"),
]
X34_PAGES = {
    "/robots.txt",  # crawls honour robots.txt by default: read once per client
    "/forum.php",
    "/forum.php?mod=forumdisplay&fid=2&page=1",
    "/forum.php?mod=forumdisplay&fid=2&page=2",
    "/forum.php?mod=forumdisplay&fid=6&page=1",
    "/forum.php?mod=forumdisplay&fid=9&page=1",
    "/forum.php?mod=viewthread&tid=1001&page=2",
    "/forum.php?mod=viewthread&tid=1001&page=3",
    "/forum.php?mod=viewthread&tid=1016&page=2",
    # fid 9 is guest-forbidden: 302 to the login form, which is the LoginRequired failure.
    "/member.php?mod=logging&action=login&referer=http%3A%2F%2Fforum.test%2Fforum.php%3Fmod%3Dforumdisplay%26fid%3D9%26page%3D1",
} | {f"/forum.php?mod=viewthread&tid={tid}&page=1" for tid in X34_ROWS}
X35_PAGES = {
    "/robots.txt",
    "/bbs/forum.php",
    "/bbs/forum.php?mod=forumdisplay&fid=3&page=1",
    "/bbs/forum.php?mod=forumdisplay&fid=3&page=2",
    "/bbs/forum.php?mod=forumdisplay&fid=7&page=1",
    "/bbs/forum.php?mod=forumdisplay&fid=share&page=1",
    "/bbs/forum.php?mod=viewthread&tid=2001&page=2",
    "/bbs/forum.php?mod=viewthread&tid=2001&page=3",
} | {f"/bbs/forum.php?mod=viewthread&tid={tid}&page=1" for tid in X35_TIDS}

MODES = pytest.mark.parametrize("mode", ["sync", "async"])


def crawl(mode: str, base: str, transport: Any, *, board: Any = None, **options: Any) -> list[CrawlEvent]:
    """Every event of a forum crawl (or of a board crawl when ``board`` is given)."""
    kwargs = {k: options.pop(k) for k in ("with_posts", "pages", "concurrency", "since") if k in options}
    if mode == "sync":
        with DiscuzClient(base, transport=transport, **options) as client:
            events = (
                client.crawl_board(board, **kwargs) if board is not None else client.crawl_forum(**kwargs)
            )
            return list(events)

    async def run() -> list[CrawlEvent]:
        async with AsyncDiscuzClient(base, transport=transport, **options) as client:
            events = (
                client.crawl_board(board, **kwargs) if board is not None else client.crawl_forum(**kwargs)
            )
            return [event async for event in events]

    return asyncio.run(run())


def split(events: list[CrawlEvent]) -> tuple[list[Board], list[ThreadSummary], list[Thread], CrawlReport]:
    report = events[-1]
    assert isinstance(report, CrawlReport)
    assert not any(isinstance(e, CrawlReport) for e in events[:-1])
    boards = [e for e in events if isinstance(e, Board)]
    rows = [e for e in events if isinstance(e, ThreadSummary)]
    threads = [e for e in events if isinstance(e, Thread)]
    return boards, rows, threads, report


def failures(report: CrawlReport) -> list[tuple[str, str, str]]:
    return sorted((f.kind, f.url, f.error_type) for f in report.failures)


def targets(forum: FixtureForum) -> list[str]:
    return [entry.target for entry in forum.request_log]


@MODES
def test_x34_forum_crawl_in_process(mode: str, forum: FixtureForum) -> None:
    boards, rows, threads, report = split(crawl(mode, X34, forum.mock_transport(), rate=None))

    assert sorted(b.fid for b in boards if b.fid is not None) == [2, 6]
    assert sorted(r.tid for r in rows) == sorted(X34_ROWS), "each row once: stickies, moved rows, globals"
    assert sorted(t.tid for t in threads) == sorted(X34_TIDS)
    pids = [p.pid for t in threads for p in t.posts]
    assert len(pids) == len(set(pids)) and set(pids) == X34_PIDS
    assert failures(report) == X34_FAILURES
    assert report.skipped == X34_SKIPPED
    assert (report.boards, report.thread_rows, report.threads, report.posts) == (2, 14, 12, 41)
    log = targets(forum)
    assert len(log) == len(set(log)) == report.requests == 24, "no page fetched twice"
    assert set(log) == X34_PAGES


@MODES
def test_x35_forum_crawl_over_loopback(mode: str, forum: FixtureForum, loopback: LoopbackServer) -> None:
    base = loopback.site_url("x35")
    boards, rows, threads, report = split(crawl(mode, base, None, rate=None, concurrency=3))

    assert sorted((b.fid, b.alias, b.name) for b in boards) == [
        (3, None, "徒步路线"),
        (7, None, "求助问答"),
        (8, "share", "资源分享"),
    ]
    assert sorted(r.tid for r in rows) == sorted(X35_TIDS)
    assert sorted(t.tid for t in threads) == sorted(X35_TIDS)
    assert {p.pid for t in threads for p in t.posts} == X35_PIDS
    assert sum(len(t.posts) for t in threads) == report.posts == 23
    assert all(t.url.startswith(base) for t in threads)
    assert report.failures == [] and report.skipped == []
    log = targets(forum)
    assert len(log) == len(set(log)) == 14
    assert set(log) == X35_PAGES


def test_sync_crawl_over_loopback_streams_and_counts(forum: FixtureForum, loopback: LoopbackServer) -> None:
    with DiscuzClient(loopback.site_url("x34"), rate=None) as client:
        events = client.crawl_forum()
        first = next(iter(events))
        rest = list(events)
        assert client.requests_sent == 24
    assert isinstance(first, Board | ThreadSummary)
    _, _, threads, report = split([first, *rest])
    assert sorted(t.tid for t in threads) == sorted(X34_TIDS)
    assert failures(report) == [
        (kind, url.replace(X34, loopback.site_url("x34")), error) for kind, url, error in X34_FAILURES
    ]


def test_closing_a_sync_crawl_early_stops_it(forum: FixtureForum) -> None:
    with DiscuzClient(X34, transport=forum.mock_transport(), rate=None, concurrency=1) as client:
        events = client.crawl_forum()
        for event in events:
            if isinstance(event, Thread):
                break
        events.close()  # type: ignore[attr-defined]
    sent = len(forum.request_log)
    time.sleep(0.05)
    assert len(forum.request_log) == sent < 23


@MODES
def test_board_crawl_without_posts_lists_rows_only(mode: str, forum: FixtureForum) -> None:
    boards, rows, threads, report = split(
        crawl(
            mode,
            X35,
            forum.mock_transport(),
            board="http://forum.test/bbs/forum-3-1.html",
            with_posts=False,
            rate=None,
        )
    )
    assert [b.fid for b in boards] == [3]
    assert sorted(r.tid for r in rows) == [2001, 2002, 2003, 2004], (
        "sticky 2003 repeats on page 2, listed once"
    )
    assert threads == []
    assert (report.boards, report.thread_rows, report.threads, report.posts) == (1, 4, 0, 0)
    assert sorted(targets(forum)) == [
        "/bbs/forum.php?mod=forumdisplay&fid=3&page=1",
        "/bbs/forum.php?mod=forumdisplay&fid=3&page=2",
        "/robots.txt",
    ]


@MODES
def test_moved_row_maps_to_the_new_tid(mode: str, forum: FixtureForum) -> None:
    _, rows, threads, _ = split(
        crawl(mode, X34, forum.mock_transport(), board="http://forum.test/forum-2-1.html", pages=1, rate=None)
    )
    moved = [r for r in rows if r.moved]
    assert [(r.tid, r.title) for r in moved] == [(1077, "旧帖已迁往站务公告")]
    assert {t.tid: t.fid for t in threads}[1077] == 6, "the thread now lives in fid 6"


def test_board_crawl_page_selection(forum: FixtureForum) -> None:
    boards, rows, threads, report = split(
        crawl("sync", X34, forum.mock_transport(), board=2, pages=[2], rate=None)
    )
    assert [b.fid for b in boards] == [2]
    assert sorted(r.tid for r in rows) == [1030, 1031]
    assert sorted(t.tid for t in threads) == [1030, 1031]
    assert report.failures == [], "sub-boards are listed on page 1 only, which was not asked for"
    assert sorted(targets(forum)) == [
        "/forum.php?mod=forumdisplay&fid=2&page=2",
        "/forum.php?mod=viewthread&tid=1030&page=1",
        "/forum.php?mod=viewthread&tid=1031&page=1",
        "/robots.txt",
    ]


def test_crawl_with_faults_still_completes() -> None:
    plan = FaultPlan(seed=3)
    plan.on("/forum.php?mod=forumdisplay&fid=2&page=2", Fault.server_error(502), first=2)
    plan.on("/forum.php?mod=viewthread&tid=1016&page=2", Fault.rate_limited(retry_after=1), first=1)
    plan.on("/forum.php?mod=viewthread&tid=1050&page=1", Fault.reset(), first=1)
    plan.on("/forum.php?mod=viewthread&tid=1001&page=3", Fault.truncated(), first=1)
    faulty = default_forum(faults=plan)
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    async def run() -> list[CrawlEvent]:
        async with AsyncDiscuzClient(
            X34, transport=faulty.mock_transport(), rate=None, sleep=sleep
        ) as client:
            return [event async for event in client.crawl_forum()]

    _, _, threads, report = split(asyncio.run(run()))
    assert sorted(t.tid for t in threads) == sorted(X34_TIDS)
    assert {p.pid for t in threads for p in t.posts} == X34_PIDS
    assert failures(report) == X34_FAILURES
    assert report.requests == 24 + 5
    assert sorted(kind.value for _, _, fault in plan.history for kind in [fault.kind]) == [
        "rate_limited",
        "reset",
        "server_error",
        "server_error",
        "truncated",
    ]
    assert 1 in waits, "Retry-After: 1 was honoured"


def test_crawl_respects_the_rate_limit(forum: FixtureForum) -> None:
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    async def run() -> CrawlReport:
        async with AsyncDiscuzClient(X35, transport=forum.mock_transport(), rate=4.0, sleep=sleep) as client:
            return split([event async for event in client.crawl_forum()])[3]

    report = asyncio.run(run())
    # The fake sleep does not advance the clock: slot k is booked k/4 s after the first request,
    # plus the clients' pacing jitter (up to 20% of each interval).
    assert report.requests == 14
    assert all(k / 4 <= w <= k * 1.2 / 4 + 1e-9 for k, w in enumerate(sorted(waits), 1))
    assert len(waits) == 13


def test_sync_crawl_rate_limit_measured_on_loopback(forum: FixtureForum, loopback: LoopbackServer) -> None:
    started = time.monotonic()
    with DiscuzClient(loopback.site_url("x35"), rate=40.0, concurrency=4) as client:
        report = split(list(client.crawl_forum()))[3]
    elapsed = time.monotonic() - started
    assert report.requests == 14
    assert elapsed >= 13 / 40 - 0.01, "14 requests at 40/s take at least 0.325 s"


def test_sync_only_transport_needs_an_async_transport(forum: FixtureForum) -> None:
    class SyncOnly(httpx.BaseTransport):
        def handle_request(self, request: httpx.Request) -> httpx.Response:
            return httpx.Response(404)

    with (
        DiscuzClient(X34, transport=SyncOnly(), rate=None) as client,
        pytest.raises(ConfigError, match="async_transport"),
    ):
        list(client.crawl_forum())
    with DiscuzClient(X34, transport=SyncOnly(), async_transport=forum.mock_transport(), rate=None) as client:
        report = split(list(client.crawl_board(6, with_posts=False)))[3]
    assert report.thread_rows == 4


def test_bad_board_reference_and_concurrency_are_refused(forum: FixtureForum) -> None:
    with DiscuzClient(X34, transport=forum.mock_transport(), rate=None) as client:
        with pytest.raises(DiscuzError, match="not a board URL"):
            list(client.crawl_board("http://forum.test/thread-1001-1-1.html"))
        with pytest.raises(ConfigError, match="concurrency"):
            list(client.crawl_forum(concurrency=0))
    assert forum.request_log == []


def test_failure_report_shape() -> None:
    failure = CrawlFailure(url="http://forum.test/x", kind="thread", error_type="NotFound", message="gone")
    assert CrawlReport(failures=[failure]).model_dump()["failures"] == [
        {"url": "http://forum.test/x", "kind": "thread", "error_type": "NotFound", "message": "gone"}
    ]
    assert Counter(type(e).__name__ for e in [failure]) == {"CrawlFailure": 1}


@MODES
def test_since_keeps_recent_threads_and_ends_each_walk_at_the_first_older_row(
    mode: str, forum: FixtureForum
) -> None:
    since = datetime(2026, 11, 20, tzinfo=timezone(timedelta(hours=8)))
    boards, rows, threads, report = split(
        crawl(mode, X34, forum.mock_transport(), board=2, rate=None, since=since)
    )
    # Page 1 of board 2 drops sticky 1003 (September: stickies do not end the walk), 1077 (moved,
    # November 3: the first older non-sticky row, so page 2 is not read) and 1015.
    recent = [1001, 1010, 1012, 1013, 1014, 1016, 1050]
    assert sorted(r.tid for r in rows) == recent
    assert sorted(t.tid for t in threads) == [tid for tid in recent if tid != 1012]
    assert failures(report) == X34_FAILURES[:2]  # sub-board 9's login wall, 1012's read permission
    assert [b.fid for b in boards] == [2]
    log = targets(forum)
    assert "/forum.php?mod=forumdisplay&fid=2&page=2" not in log
    assert "/forum.php?mod=forumdisplay&fid=2&page=1" in log
    with DiscuzClient(X34, transport=default_forum().mock_transport(), rate=None) as client:
        assert sorted(row.tid for row in client.iter_threads(2, since=since)) == recent


def test_since_must_be_timezone_aware() -> None:
    with pytest.raises(ConfigError) as info:
        crawl("async", X34, default_forum().mock_transport(), rate=None, since=datetime(2026, 11, 20))
    assert info.value.message == "since must be a timezone-aware datetime"
