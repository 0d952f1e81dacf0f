"""The clients end to end against the fixture forum: in-process (MockTransport) and on loopback."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

import httpx
import pytest

from discuz_scraper import (
    AntiCrawlChallenge,
    AsyncDiscuzClient,
    DiscuzClient,
    DiscuzError,
    LoginRequired,
    NotFound,
    RateLimited,
    ServerError,
    Thread,
)
from discuz_scraper.testing import Fault, FaultPlan, FixtureForum, LoopbackServer, default_forum

CST = timezone(timedelta(hours=8))
X34 = "http://forum.test/"
X35 = "http://forum.test/bbs/"

T1001_PIDS = list(range(3101, 3113))
T1001_AUTHORS = ["竹影清风", "老木匠", "青竹", "阿土"] * 3
T2001_PIDS = list(range(7101, 7114))


class Recorder:
    """A fake sleep that records the waits instead of waiting."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)

    async def async_sleep(self, seconds: float) -> None:
        self.waits.append(seconds)


def fetch_thread(
    mode: str, base: str, transport: Any, ref: int | str, sleep: Recorder | None = None, **options: Any
) -> Thread:
    """Fetch a thread with the sync or the async client (same options), returning the Thread."""
    sleep = sleep or Recorder()
    if mode == "sync":
        with DiscuzClient(base, transport=transport, sleep=sleep, **options) as client:
            return client.thread(ref)

    async def run() -> Thread:
        async with AsyncDiscuzClient(base, transport=transport, sleep=sleep.async_sleep, **options) as client:
            return await client.thread(ref)

    return asyncio.run(run())


def collect_posts(mode: str, base: str, transport: Any, ref: int | str, **kwargs: Any) -> list[int]:
    if mode == "sync":
        with DiscuzClient(base, transport=transport, rate=None) as client:
            return [post.pid for post in client.iter_posts(ref, **kwargs)]

    async def run() -> list[int]:
        async with AsyncDiscuzClient(base, transport=transport, rate=None) as client:
            return [post.pid async for post in client.iter_posts(ref, **kwargs)]

    return asyncio.run(run())


MODES = pytest.mark.parametrize("mode", ["sync", "async"])


def page_requests(forum: FixtureForum) -> list[str]:
    return [entry.target for entry in forum.request_log]


@MODES
def test_x34_gbk_thread_every_post_in_process(mode: str, forum: FixtureForum) -> None:
    thread = fetch_thread(mode, X34, forum.mock_transport(), 1001, rate=None)

    assert thread.tid == 1001
    assert thread.fid == 2
    assert thread.title == "自制竹编灯罩的全过程记录（附图纸）"
    assert (thread.views, thread.replies, thread.page_count) == (4567, 11, 3)
    assert [p.pid for p in thread.posts] == T1001_PIDS
    assert [p.floor for p in thread.posts] == list(range(1, 13))
    assert [p.page for p in thread.posts] == [1] * 5 + [2] * 5 + [3] * 2
    assert [p.author.name for p in thread.posts] == T1001_AUTHORS
    assert thread.posts[0].created_at == datetime(2026, 11, 2, 20, 14, 2, tzinfo=CST)
    assert thread.posts[-1].created_at == datetime(2026, 11, 25, 7, 45, 10, tzinfo=CST)
    assert thread.posts[0].text is not None
    assert thread.posts[0].text.startswith(
        "去年秋天砍了几根毛竹，晾了三个月，终于动手做灯罩了。\n材料：毛竹两根、砂纸、清漆。"
    )
    assert [i.url for i in thread.posts[0].images] == [
        "http://forum.test/data/attachment/forum/202611/02/201402bamboo301.jpg",
        "http://forum.test/data/attachment/forum/202611/02/201355night302.jpg",
    ]
    assert [a.filename for a in thread.posts[0].attachments] == [
        "灯罩骨架.jpg",
        "成品夜景.jpg",
        "灯罩图纸.zip",
    ]
    assert [i.url for i in thread.posts[1].images] == ["https://pic.example.net/bamboo/shade-02.jpg"]
    assert thread.author is not None and thread.author.uid == 5
    assert page_requests(forum) == [f"/forum.php?mod=viewthread&tid=1001&page={n}" for n in (1, 2, 3)]


@MODES
def test_x35_subpath_thread_over_loopback(mode: str, forum: FixtureForum, loopback: LoopbackServer) -> None:
    base = loopback.site_url("x35")
    thread = fetch_thread(mode, base, None, 2001, rate=None)

    assert [p.pid for p in thread.posts] == T2001_PIDS, "the hot and sticky replies count once"
    assert [p.floor for p in thread.posts] == list(range(1, 14))
    assert [p.pid for p in thread.posts if p.is_hot] == [7107]
    assert [p.pid for p in thread.posts if p.is_sticky] == [7112]
    assert thread.closed is True
    assert (thread.views, thread.replies) == (9876, 12)
    assert thread.posts[6].created_at == datetime(2026, 11, 21, 17, 29, 20, tzinfo=CST)
    # Absolute links in the pages now point at the loopback server, as on a real site.
    assert thread.posts[0].permalink is not None
    assert thread.posts[0].permalink.startswith(base)
    assert thread.url.startswith(base)


@MODES
def test_x34_images_and_attachments_over_loopback(mode: str, loopback: LoopbackServer) -> None:
    base = loopback.site_url("x34")
    thread = fetch_thread(mode, base, None, 1001, rate=None)
    first = thread.posts[0]
    assert [i.url for i in first.images] == [
        f"{base}data/attachment/forum/202611/02/201402bamboo301.jpg",
        f"{base}data/attachment/forum/202611/02/201355night302.jpg",
    ]
    zipped = first.attachments[-1]
    assert (zipped.filename, zipped.price, zipped.price_unit, zipped.is_image) == (
        "灯罩图纸.zip",
        2,
        "金钱",
        False,
    )
    assert zipped.url.startswith(f"{base}forum.php?mod=attachment&aid=")


@MODES
def test_iter_posts_streams_the_same_posts(mode: str, forum: FixtureForum) -> None:
    assert collect_posts(mode, X35, forum.mock_transport(), 2001) == T2001_PIDS
    assert collect_posts(mode, X35, forum.mock_transport(), 2001, pages=1) == [*range(7101, 7106), 7107, 7112]


def test_page_selection_fetches_only_what_is_asked(forum: FixtureForum) -> None:
    with DiscuzClient(X34, transport=forum.mock_transport(), rate=None) as client:
        thread = client.thread(1001, pages=1)
        assert [p.pid for p in thread.posts] == T1001_PIDS[:5]
        forum.clear_log()
        thread = client.thread(1001, pages=[2, 3, 9])
        assert [p.pid for p in thread.posts] == T1001_PIDS[5:]
        assert thread.views is None, "counters are only on page 1"
    assert page_requests(forum) == [
        "/forum.php?mod=viewthread&tid=1001&page=2",
        "/forum.php?mod=viewthread&tid=1001&page=3",
    ]


def test_never_asks_past_the_last_page(forum: FixtureForum) -> None:
    with DiscuzClient(X34, transport=forum.mock_transport(), rate=None) as client:
        thread = client.thread(1001, pages=50)
    assert len(thread.posts) == 12
    assert len(page_requests(forum)) == 3


@pytest.mark.parametrize(
    "ref",
    [
        "http://forum.test/thread-1001-2-1.html",
        "http://forum.test/forum.php?mod=viewthread&tid=1001&extra=page%3D1&page=3",
        "http://forum.test/forum.php?mod=redirect&goto=findpost&ptid=1001&pid=3107",
        "1001",
    ],
)
def test_any_pasted_url_form_gives_the_whole_thread(forum: FixtureForum, ref: str) -> None:
    thread = fetch_thread("sync", X34, forum.mock_transport(), ref, rate=None)
    assert [p.pid for p in thread.posts] == T1001_PIDS


def test_findpost_without_thread_id_follows_the_redirect(forum: FixtureForum) -> None:
    with DiscuzClient(X34, transport=forum.mock_transport(), rate=None) as client:
        page = client.thread_page("http://forum.test/forum.php?mod=redirect&goto=findpost&pid=3107")
    assert page.tid == 1001
    assert page_requests(forum)[0] == "/forum.php?mod=redirect&goto=findpost&pid=3107"


def test_url_of_another_site_is_refused(forum: FixtureForum) -> None:
    with (
        DiscuzClient(X34, transport=forum.mock_transport(), rate=None) as client,
        pytest.raises(DiscuzError, match="not on this client's site"),
    ):
        client.thread("https://other.example/thread-5-1-1.html")
    assert forum.request_log == []


@MODES
def test_missing_thread_raises_not_found_with_the_site_text(mode: str, forum: FixtureForum) -> None:
    with pytest.raises(NotFound) as caught:
        fetch_thread(mode, X34, forum.mock_transport(), 1098, rate=None)
    assert caught.value.key == "thread_nonexistence"
    assert caught.value.status_code == 404
    assert caught.value.site_message == "抱歉，指定的主题不存在或已被删除或正在被审核"
    assert caught.value.url == "http://forum.test/forum.php?mod=viewthread&tid=1098&page=1"


def test_guest_forbidden_area_raises_login_required() -> None:
    forum = default_forum()
    with (
        DiscuzClient(X34, transport=forum.mock_transport(), rate=None) as client,
        pytest.raises(LoginRequired) as caught,
    ):
        client.thread(1090)
    assert caught.value.url is not None
    assert "member.php?mod=logging&action=login" in caught.value.url


def test_retries_transient_faults_and_honours_retry_after(forum: FixtureForum) -> None:
    plan = FaultPlan(seed=7)
    plan.on("/forum.php?mod=viewthread&tid=1001&page=2", Fault.server_error(503), first=2)
    plan.on("/forum.php?mod=viewthread&tid=1001&page=3", Fault.rate_limited(retry_after=3), first=1)
    plan.on("/forum.php?mod=viewthread&tid=1001&page=1", Fault.reset(), first=1)
    faulty = default_forum(faults=plan)
    sleep = Recorder()
    thread = fetch_thread("sync", X34, faulty.mock_transport(), 1001, sleep=sleep, rate=None)
    assert [p.pid for p in thread.posts] == T1001_PIDS
    # reset on page 1 (backoff 1 s), two 503s on page 2 (1 s, 2 s), one 429 on page 3 (Retry-After: 3).
    assert [round(w) for w in sleep.waits] == [1, 1, 2, 3]
    statuses = [(e.target.rsplit("=", 1)[-1], e.status) for e in faulty.request_log]
    assert statuses[-2:] == [("3", 429), ("3", 200)]


@MODES
def test_persistent_system_error_raises_server_error(mode: str) -> None:
    plan = FaultPlan(seed=1).on(
        "/forum.php?mod=viewthread&tid=1001&page=1", Fault.server_error(503, discuz_page=True, retry_after=2)
    )
    faulty = default_forum(faults=plan)
    with pytest.raises(ServerError) as caught:
        fetch_thread(mode, X34, faulty.mock_transport(), 1001, rate=None, retries=2)
    assert caught.value.status_code == 503
    assert caught.value.retry_after == 2
    assert caught.value.site_message is not None
    assert "非法字符" in caught.value.site_message
    assert len(faulty.request_log) == 3


def test_long_retry_after_is_not_slept_through() -> None:
    plan = FaultPlan(seed=1).on(
        "/forum.php?mod=viewthread&tid=1001&page=1", Fault.rate_limited(retry_after=3600)
    )
    sleep = Recorder()
    with pytest.raises(RateLimited) as caught:
        fetch_thread("sync", X34, default_forum(faults=plan).mock_transport(), 1001, sleep=sleep, rate=None)
    assert caught.value.retry_after == 3600
    assert sleep.waits == []


def test_anti_collection_page_raises_a_clear_challenge() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        body = (default_forum().root / "errors" / "x34_antitheft.html").read_bytes()
        return httpx.Response(200, content=body, headers={"Content-Type": "text/html; charset=gbk"})

    with (
        DiscuzClient(X34, transport=httpx.MockTransport(handler), rate=None) as client,
        pytest.raises(AntiCrawlChallenge) as caught,
    ):
        client.thread(1001)
    assert caught.value.key == "antitheft"


def test_rate_limit_spaces_requests_per_host(forum: FixtureForum) -> None:
    sleep = Recorder()
    with DiscuzClient(X34, transport=forum.mock_transport(), sleep=sleep, rate=2.0) as client:
        client.thread(1001)
    # The fake sleep does not advance the clock, so the slots reserved 0.5 s apart (plus up to
    # 20% pacing jitter) show up as waits of about 0.5 s and 1.0 s from the first request.
    assert len(sleep.waits) == 2
    assert 0.4 < sleep.waits[0] <= 0.6
    assert 0.9 < sleep.waits[1] <= 1.2


def test_site_reports_what_the_forum_says(forum: FixtureForum) -> None:
    with DiscuzClient(X35, transport=forum.mock_transport(), rate=None) as client:
        site = client.site()
    assert site.is_discuz is True
    assert site.version == "X3.5"
    assert site.charset == "utf-8"
    assert site.utc_offset_minutes == 480
    assert "generator" in site.evidence


def test_progress_callback_sees_every_page(forum: FixtureForum) -> None:
    seen: list[tuple[int, int | None]] = []
    progress: Callable[[Any], None] = lambda page: seen.append((page.page, page.page_count))  # noqa: E731
    with DiscuzClient(X34, transport=forum.mock_transport(), rate=None) as client:
        client.thread(1001, progress=progress)
    assert seen == [(1, 3), (2, 3), (3, 3)]


def site_of(mode: str, base: str, transport: Any) -> Any:
    if mode == "sync":
        with DiscuzClient(base, transport=transport, rate=None) as client:
            return client.site()

    async def run() -> Any:
        async with AsyncDiscuzClient(base, transport=transport, rate=None) as client:
            return await client.site()

    return asyncio.run(run())


@MODES
def test_site_detection_on_every_fixture_site(mode: str, forum: FixtureForum) -> None:
    x34 = site_of(mode, X34, forum.mock_transport())
    assert (x34.is_discuz, x34.version, x34.charset, x34.utc_offset_minutes) == (True, "X3.4", "gbk", 480)
    assert x34.evidence == ["generator", "title", "footer", "inline_vars"]
    assert (x34.name, x34.cookie_prefix, x34.rewrite) == ("竹林茶社", "Ab3x_2132_", ["forum"])
    assert (x34.archiver, x34.mobile_api) == (True, False)
    assert (x34.logged_in_uid, x34.logged_in_name) == (5, "竹影清风")

    x35 = site_of(mode, X35, forum.mock_transport())
    assert (x35.version, x35.archiver, x35.mobile_api, x35.logged_in_uid) == ("X3.5", True, True, None)

    lite = site_of(mode, "http://forum.test/lite/", forum.mock_transport())
    assert lite.is_discuz is True, "no generator meta, no footer: still Discuz"
    assert lite.evidence == ["title", "inline_vars", "cookies", "api_to_login"]
    assert (lite.version, lite.utc_offset_minutes) == (None, None)
    assert (lite.mobile_api, lite.archiver) == (True, False)
    assert lite.rewrite == ["forum", "thread", "space"]

    plain = site_of(mode, "http://forum.test/plain/", forum.mock_transport())
    assert (plain.is_discuz, plain.evidence, plain.mobile_api) == (False, [], None)
    assert page_requests(forum)[-1] == "/plain/forum.php", "no probes once the site is not Discuz"


def test_site_over_loopback_reads_the_set_cookie(loopback: LoopbackServer) -> None:
    lite = site_of("sync", loopback.base_url + "lite/", None)
    assert "cookies" in lite.evidence


@MODES
def test_board_forum_index_and_user(mode: str, forum: FixtureForum) -> None:
    async def run_async() -> tuple[Any, ...]:
        async with AsyncDiscuzClient(X34, transport=forum.mock_transport(), rate=None) as client:
            return (
                await client.board("http://forum.test/forum.php?mod=forumdisplay&fid=2&page=2"),
                await client.forum_index(),
                await client.user("http://forum.test/space-uid-5.html"),
            )

    if mode == "sync":
        with DiscuzClient(X34, transport=forum.mock_transport(), rate=None) as client:
            page, index, user = (
                client.board("http://forum.test/forum.php?mod=forumdisplay&fid=2&page=2"),
                client.forum_index(),
                client.user("http://forum.test/space-uid-5.html"),
            )
    else:
        page, index, user = asyncio.run(run_async())
    assert (page.fid, page.page, [r.tid for r in page.rows]) == (2, 2, [1030, 1031])
    assert [c.gid for c in index.categories] == [1, 4]
    assert (user.uid, user.name) == (5, "竹影清风")
    assert page_requests(forum) == [
        "/forum.php?mod=forumdisplay&fid=2&page=2",
        "/forum.php",
        "/home.php?mod=space&uid=5&do=profile",
    ]


def threads_of(mode: str, base: str, transport: Any, ref: Any, **kwargs: Any) -> list[int]:
    if mode == "sync":
        with DiscuzClient(base, transport=transport, rate=None) as client:
            return [row.tid for row in client.iter_threads(ref, **kwargs)]

    async def run() -> list[int]:
        async with AsyncDiscuzClient(base, transport=transport, rate=None) as client:
            return [row.tid async for row in client.iter_threads(ref, **kwargs)]

    return asyncio.run(run())


X34_FID2 = [1050, 1003, 1001, 1010, 1077, 1012, 1013, 1014, 1015, 1016, 1030, 1031]


@MODES
def test_iter_threads_walks_every_page_once(mode: str, forum: FixtureForum) -> None:
    assert threads_of(mode, X34, forum.mock_transport(), 2) == X34_FID2
    assert threads_of(mode, X35, forum.mock_transport(), "share") == [2005, 2006]
    assert threads_of(mode, X35, forum.mock_transport(), "http://forum.test/bbs/forum-3-1.html") == [
        2003, 2001, 2002, 2004,
    ], "the sticky repeated on page 2 comes once"
    assert page_requests(forum) == [
        "/forum.php?mod=forumdisplay&fid=2&page=1",
        "/forum.php?mod=forumdisplay&fid=2&page=2",
        "/bbs/forum.php?mod=forumdisplay&fid=share&page=1",
        "/bbs/forum.php?mod=forumdisplay&fid=3&page=1",
        "/bbs/forum.php?mod=forumdisplay&fid=3&page=2",
    ]


def test_iter_threads_page_selection_and_past_the_end(forum: FixtureForum) -> None:
    assert threads_of("sync", X34, forum.mock_transport(), 2, pages=1) == X34_FID2[:10]
    assert threads_of("sync", X34, forum.mock_transport(), 2, pages=[2, 3, 9]) == [1030, 1031]
    # Page 9 is past the end: Discuz answers with page 1, which must stop the walk.
    assert threads_of("sync", X34, forum.mock_transport(), 2, pages=[9]) == []
    assert page_requests(forum) == [
        "/forum.php?mod=forumdisplay&fid=2&page=1",
        "/forum.php?mod=forumdisplay&fid=2&page=2",
        "/forum.php?mod=forumdisplay&fid=2&page=9",
    ]


@MODES
def test_iter_threads_since_stops_at_older_rows(mode: str, forum: FixtureForum) -> None:
    since = datetime(2026, 11, 15, tzinfo=CST)
    # Sticky 1003 (last post in Sep) is left out without stopping the walk; 1077 (Nov 3) is the
    # first older normal row: the rest of its page is still read, page 2 is not asked for.
    assert threads_of(mode, X34, forum.mock_transport(), 2, since=since) == [
        1050, 1001, 1010, 1012, 1013, 1014, 1015, 1016,
    ]
    assert page_requests(forum) == ["/forum.php?mod=forumdisplay&fid=2&page=1"]


def test_bad_board_and_user_references_are_refused(forum: FixtureForum) -> None:
    with DiscuzClient(X34, transport=forum.mock_transport(), rate=None) as client:
        with pytest.raises(DiscuzError, match="not a board id, alias or URL"):
            client.board("forum 2")
        with pytest.raises(DiscuzError, match="not on this client's site"):
            client.board("https://other.example/forum-2-1.html")
        with pytest.raises(DiscuzError, match="not a user URL"):
            client.user("http://forum.test/forum-2-1.html")
        with pytest.raises(DiscuzError, match="timezone-aware"):
            list(client.iter_threads(2, since=datetime(2026, 1, 1)))
    assert forum.request_log == []
