"""Backend selection (``backend=``): the mobile API, HTML and the archiver through both clients.

The fixture forum's X3.5 site (``/bbs/``) has the mobile API on and an archiver; the X3.4 site
(``/``) answers ``module=check`` with ``{"testcookie":null}`` (plugin off). Every scenario runs
with the sync and the async client (``MODES``) through one helper, :func:`run`.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from test_parity import (
    ALIAS_BOARD_EXCEPTIONS,
    BOARD_EXCEPTIONS,
    CATEGORY_EXCEPTIONS,
    INDEX_BOARD_EXCEPTIONS,
    INDEX_EXCEPTIONS,
    ROW_EXCEPTIONS,
    THREAD_EXCEPTIONS,
    comparable,
)

from discuz_scraper import AsyncDiscuzClient, DiscuzClient
from discuz_scraper.backends import (
    MAX_API_PPP,
    Attempts,
    BackendRequest,
    BackendSelector,
    falls_back,
)
from discuz_scraper.errors import (
    BackendUnavailable,
    ConfigError,
    LoginRequired,
    NotFound,
    ParseError,
    PermissionDenied,
    SiteClosed,
)
from discuz_scraper.models import BoardPage, ForumIndex, Thread
from discuz_scraper.testing import FixtureForum, default_forum

X34 = "http://forum.test/"
X35 = "http://forum.test/bbs/"
API = "/bbs/api/mobile/index.php?version=4&module="
MODES = pytest.mark.parametrize("mode", ["sync", "async"])

Op = Callable[[Any], Any]


@pytest.fixture
def forum() -> FixtureForum:
    return default_forum()


def run(mode: str, base: str, transport: httpx.MockTransport, ops: list[Op], **options: Any) -> list[Any]:
    """Call ``ops`` in order on one client (sync, or async with each result awaited)."""
    if mode == "sync":
        with DiscuzClient(base, transport=transport, rate=None, **options) as client:
            return [op(client) for op in ops]

    async def go() -> list[Any]:
        async with AsyncDiscuzClient(base, transport=transport, rate=None, **options) as client:
            return [await op(client) for op in ops]

    return asyncio.run(go())


def targets(forum: FixtureForum) -> list[str]:
    return [entry.target for entry in forum.request_log]


@MODES
def test_auto_probes_once_then_uses_the_api(mode: str, forum: FixtureForum) -> None:
    thread, board, index = run(
        mode,
        X35,
        forum.mock_transport(),
        [lambda c: c.thread(2001), lambda c: c.board(3), lambda c: c.forum_index()],
        backend="auto",
    )
    assert targets(forum) == [
        API + "check",
        API + "viewthread&tid=2001&page=1&ppp=50",
        API + "forumdisplay&fid=3&page=1",
        API + "forumindex",
    ]
    assert (thread.source, board.source, index.source) == ("api", "api", "api")
    # One page of 50 answers the whole thread in the API's order: the sticky reply 7112 lies within
    # the page's range, so it is not recognisable as pulled up; the hot 7107 is held back and
    # released last (its real place is on the same page, which the API shows once).
    assert [post.pid for post in thread.posts] == [7101, 7112, 7102, 7103, 7104, 7105, 7106, 7108, 7109,
                                                   7110, 7111, 7113, 7107]
    assert {post.source for post in thread.posts} == {"api"}
    assert [row.tid for row in board.rows] == [2003, 2001, 2002]
    assert [(c.gid, c.name) for c in index.categories] == [(2, "户外"), (4, "资源区")]


@MODES
def test_auto_on_a_site_without_the_api_uses_html(mode: str, forum: FixtureForum) -> None:
    (thread,) = run(mode, X34, forum.mock_transport(), [lambda c: c.thread(1001)], backend="auto")
    assert targets(forum) == [
        "/api/mobile/index.php?version=4&module=check",
        "/forum.php?mod=viewthread&tid=1001&page=1",
        "/forum.php?mod=viewthread&tid=1001&page=2",
        "/forum.php?mod=viewthread&tid=1001&page=3",
    ]
    assert (thread.source, thread.page_count) == ("html", 3)


@MODES
def test_auto_gives_the_html_models_except_the_documented_fields(mode: str, forum: FixtureForum) -> None:
    # ppp=10: the sticky reply (floor 12) is recognisable only when it lies beyond page 1's range.
    (api,) = run(mode, X35, forum.mock_transport(), [lambda c: c.thread(2001)], backend="auto", api_ppp=10)
    (html,) = run(mode, X35, forum.mock_transport(), [lambda c: c.thread(2001)])
    assert (api.source, html.source) == ("api", "html")
    assert thread_fields(api) == thread_fields(html)
    by_pid = {post.pid: post for post in api.posts}
    assert sorted(by_pid) == sorted(post.pid for post in html.posts)
    for post in html.posts:
        assert comparable(by_pid[post.pid].model_dump()) == comparable(post.model_dump()), post.pid
    # The exceptions are real differences, not hidden equal fields.
    assert (api.page_count, html.page_count, api.board_name, html.board_name) == (2, 3, None, "徒步路线")


def thread_fields(thread: Thread) -> dict[str, Any]:
    dumped = thread.model_dump(exclude={"posts", *THREAD_EXCEPTIONS})
    dumped["author"] = comparable({"author": dumped["author"]})["author"]
    return dumped


def board_fields(page: BoardPage) -> dict[str, Any]:
    dumped = page.model_dump(exclude={"rows", *BOARD_EXCEPTIONS})
    dumped["rows"] = [row.model_dump(exclude=ROW_EXCEPTIONS) for row in page.rows]
    return dumped


def index_fields(index: ForumIndex, alias_boards: set[str]) -> dict[str, Any]:
    """The compared fields; ``alias_boards`` (names) are the boards the desktop links by alias."""
    dumped = index.model_dump(exclude={"categories", *INDEX_EXCEPTIONS})

    def excluded(name: str) -> set[str]:
        return INDEX_BOARD_EXCEPTIONS | (ALIAS_BOARD_EXCEPTIONS if name in alias_boards else set())

    dumped["categories"] = [
        {
            **category.model_dump(exclude={"boards", *CATEGORY_EXCEPTIONS}),
            "boards": [
                board.model_dump(exclude=excluded(board.name)) for board in category.boards
            ],
        }
        for category in index.categories
    ]
    return dumped


@MODES
def test_auto_board_and_index_equal_html_except_the_documented_fields(mode: str, forum: FixtureForum) -> None:
    ops: list[Op] = [lambda c: c.board(3), lambda c: c.board(3, 2), lambda c: c.forum_index()]
    api = run(mode, X35, forum.mock_transport(), ops, backend="auto")
    html = run(mode, X35, forum.mock_transport(), ops)
    assert [model.source for model in api] == ["api"] * 3
    assert [model.source for model in html] == ["html"] * 3
    for api_page, html_page in zip(api[:2], html[:2], strict=True):
        assert board_fields(api_page) == board_fields(html_page)
    assert [[row.tid for row in page.rows] for page in api[:2]] == [[2003, 2001, 2002], [2003, 2004]]
    alias = {"资源分享"}
    assert index_fields(api[2], alias) == index_fields(html[2], alias)
    # The exceptions are real differences.
    assert (api[0].today_posts, html[0].today_posts) == (None, 7)
    assert (api[0].rows[0].fid, html[0].rows[0].fid) == (3, None)
    share = (api[2].categories[1].boards[0], html[2].categories[1].boards[0])
    assert [(board.fid, board.alias) for board in share] == [(8, None), (None, "share")]


@MODES
def test_auto_falls_back_to_html_per_request(mode: str, forum: FixtureForum) -> None:
    closed, opened = run(
        mode,
        X35,
        forum.mock_transport(),
        [lambda c: c.thread(2002), lambda c: c.thread(2001)],
        backend="auto",
    )
    assert targets(forum) == [
        API + "check",
        API + "viewthread&tid=2002&page=1&ppp=50",  # {"error": "mobile_is_closed"}
        "/bbs/forum.php?mod=viewthread&tid=2002&page=1",
        API + "viewthread&tid=2001&page=1&ppp=50",  # the next request tries the API again
    ]
    assert (closed.source, closed.tid, opened.source) == ("html", 2002, "api")


def test_a_crawl_shares_the_probe_and_picks_the_backend_per_thread(forum: FixtureForum) -> None:
    with DiscuzClient(X35, transport=forum.mock_transport(), rate=None, backend="auto") as client:
        events = list(client.crawl_board(3, pages=1))
    assert sorted(targets(forum)) == [
        API + "check",  # once, shared with the crawl's async twin
        API + "forumdisplay&fid=3&page=1",
        API + "viewthread&tid=2001&page=1&ppp=50",
        API + "viewthread&tid=2002&page=1&ppp=50",  # mobile_is_closed
        API + "viewthread&tid=2003&page=1&ppp=50",  # HTTP 404: no API answer for it
        "/bbs/forum.php?mod=viewthread&tid=2002&page=1",
        "/bbs/forum.php?mod=viewthread&tid=2003&page=1",
        "/robots.txt",
    ]
    assert sorted((e.tid, e.source) for e in events if isinstance(e, Thread)) == [
        (2001, "api"),
        (2002, "html"),
        (2003, "html"),
    ]


@MODES
def test_not_found_from_the_api_is_final(mode: str, forum: FixtureForum) -> None:
    with pytest.raises(NotFound) as caught:
        run(mode, X35, forum.mock_transport(), [lambda c: c.thread(9999)], backend="auto")
    assert caught.value.key == "thread_nonexistence"
    assert targets(forum) == [API + "check", API + "viewthread&tid=9999&page=1&ppp=50"]


@MODES
def test_a_chosen_page_number_is_a_desktop_page_even_in_auto(mode: str, forum: FixtureForum) -> None:
    (page,) = run(mode, X35, forum.mock_transport(), [lambda c: c.thread_page(2001, 2)], backend="auto")
    assert targets(forum) == ["/bbs/forum.php?mod=viewthread&tid=2001&page=2"], "no probe needed"
    assert (page.source, [post.pid for post in page.posts]) == ("html", [7106, 7107, 7108, 7109, 7110])


@MODES
def test_explicit_api_pages_of_ppp_posts(mode: str, forum: FixtureForum) -> None:
    thread, profile = run(
        mode,
        X35,
        forum.mock_transport(),
        [lambda c: c.thread(2001), lambda c: c.user(21)],
        backend="api",
        api_ppp=10,
    )
    assert targets(forum) == [
        API + "check",
        API + "viewthread&tid=2001&page=1&ppp=10",
        API + "viewthread&tid=2001&page=2&ppp=10",
        API + "profile&uid=21",
    ]
    assert (thread.source, thread.page_count, len(thread.posts)) == ("api", 2, 13)
    assert [post.pid for post in thread.posts if post.is_hot] == [7107]
    assert (profile.source, profile.uid) == ("api", 21)


@MODES
def test_explicit_api_on_a_site_without_it_is_a_typed_error(mode: str, forum: FixtureForum) -> None:
    with pytest.raises(BackendUnavailable, match=r"backend='api' but the site has no usable mobile API"):
        run(mode, X34, forum.mock_transport(), [lambda c: c.thread(1001)], backend="api")
    assert targets(forum) == ["/api/mobile/index.php?version=4&module=check"]


@MODES
def test_explicit_archiver_marks_its_models_and_leaves_missing_fields_none(
    mode: str, forum: FixtureForum
) -> None:
    thread, board, index = run(
        mode,
        X35,
        forum.mock_transport(),
        [lambda c: c.thread(2001), lambda c: c.board(3), lambda c: c.forum_index()],
        backend="archiver",
    )
    assert targets(forum) == [
        "/bbs/archiver/?tid-2001.html",
        "/bbs/archiver/?tid-2001.html&page=2",
        "/bbs/archiver/?tid-2001.html&page=3",
        "/bbs/archiver/?fid-3.html",
        "/bbs/archiver/",
    ]
    assert (thread.source, board.source, index.source) == ("archiver", "archiver", "archiver")
    assert (thread.title, thread.fid, thread.board_name, thread.page_count) == (
        "周末徒步：青龙峡环线实测",
        3,
        "徒步路线",
        3,
    )
    assert (thread.views, thread.replies, thread.closed, thread.author and thread.author.uid) == (
        None,
        None,
        None,
        None,
    )
    assert len(thread.posts) == 13
    assert {(p.pid, p.floor, p.author.uid, p.permalink, p.source) for p in thread.posts} == {
        (None, None, None, None, "archiver")
    }
    assert thread.posts[5].text == "新手建议反穿，先走缓坡。"
    assert {(row.views, row.last_post_at, row.source) for row in board.rows} == {(None, None, "archiver")}
    assert {category.gid for category in index.categories} == {None}


@MODES
def test_a_board_alias_stays_on_html_in_auto(mode: str, forum: FixtureForum) -> None:
    (board,) = run(mode, X35, forum.mock_transport(), [lambda c: c.board("share")], backend="auto")
    assert targets(forum) == ["/bbs/forum.php?mod=forumdisplay&fid=share&page=1"]
    assert board.source == "html"


# --- a 120-post thread through the API --------------------------------------------------------


def long_thread_transport(sent: list[str], posts: int = 120) -> httpx.MockTransport:
    """``module=check`` and ``module=viewthread`` for tid 3001 with ``posts`` posts (pids 50001…),
    honouring ``ppp``/``page``; page 1 also shows post 50061 as a hot reply (``number`` -1)."""

    def post(pid: int, number: int) -> dict[str, str]:
        floor = pid - 50000
        return {
            "pid": str(pid), "tid": "3001", "first": "1" if floor == 1 else "0", "author": f"user{floor % 7}",
            "authorid": str(100 + floor % 7), "username": f"user{floor % 7}", "groupid": "10",
            "dbdateline": str(1_790_000_000 + floor * 60), "message": f"reply number {floor}",
            "number": str(number), "position": str(floor),
        }

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request.url.params["module"])
        query = {key: values[-1] for key, values in parse_qs(urlsplit(str(request.url)).query).items()}
        if query["module"] == "check":
            return httpx.Response(200, json={"discuzversion": "X3.2", "version": "4", "charset": "utf-8"})
        ppp, page = int(query["ppp"]), int(query["page"])
        floors = range((page - 1) * ppp + 1, min(page * ppp, posts) + 1)
        postlist = [post(50000 + floor, floor) for floor in floors]
        if page == 1:
            postlist.insert(1, post(50061, -1))
        variables = {
            "thread": {"tid": "3001", "fid": "3", "subject": "long", "replies": str(posts - 1)},
            "postlist": postlist,
            "ppp": str(ppp),
        }
        return httpx.Response(200, text=json.dumps({"Version": "4", "Variables": variables}))

    return httpx.MockTransport(handler)


@MODES
@pytest.mark.parametrize(("ppp", "requests"), [(50, 3), (100, 2), (7, 18)])
def test_a_120_post_thread_takes_ceil_120_over_ppp_requests(mode: str, ppp: int, requests: int) -> None:
    sent: list[str] = []
    (thread,) = run(mode, X35, long_thread_transport(sent), [lambda c: c.thread(3001)], backend="auto",
                    api_ppp=ppp)
    assert sent == ["check"] + ["viewthread"] * requests
    assert [post.pid for post in thread.posts] == list(range(50001, 50121)), "the hot copy is merged"
    assert [post.pid for post in thread.posts if post.is_hot] == [50061]
    assert (thread.page_count, thread.source) == (requests, "api")


# --- the pure decisions -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"backend": "mobile"}, "backend must be one of auto, html, api, archiver, not 'mobile'"),
        ({"api_ppp": 0}, f"api_ppp must be an integer from 1 to {MAX_API_PPP}, not 0"),
        ({"api_ppp": MAX_API_PPP + 1}, f"api_ppp must be an integer from 1 to {MAX_API_PPP}, not 101"),
    ],
)
def test_bad_options_are_config_errors(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        DiscuzClient(X35, **options)


@pytest.mark.parametrize(
    ("source", "error", "expected"),
    [
        ("api", PermissionDenied("x", key="mobile_is_closed"), True),
        ("api", LoginRequired("x", key="to_login"), True),
        ("api", ParseError("x"), True),
        ("api", NotFound("x", key="module_not_exists"), True),
        ("api", NotFound("x", key="thread_nonexistence"), False),
        ("api", SiteClosed("x", key="board_closed"), False),
        ("html", ParseError("x"), True),
        ("html", PermissionDenied("x"), False),
        ("archiver", ParseError("x"), False),
    ],
)
def test_which_errors_fall_back(source: Any, error: Any, expected: bool) -> None:
    assert falls_back(source, error) is expected


def test_attempts_raise_the_html_error_when_every_backend_failed() -> None:
    attempts = Attempts(("api", "html", "archiver"))
    html_error, archiver_error = ParseError("modified template"), ParseError("archiver off")
    assert attempts.next_source() == "api"
    attempts.failed(PermissionDenied("closed", key="mobile_is_closed"))
    assert attempts.next_source() == "html"
    attempts.failed(html_error)
    assert attempts.next_source() == "archiver"
    with pytest.raises(ParseError) as caught:
        attempts.failed(archiver_error)
    assert caught.value is html_error
    assert caught.value.__cause__ is archiver_error


def test_attempts_raise_an_error_that_does_not_fall_back_at_once() -> None:
    attempts = Attempts(("api", "html", "archiver"))
    missing = NotFound("gone", key="thread_nonexistence")
    assert attempts.next_source() == "api"
    with pytest.raises(NotFound) as caught:
        attempts.failed(missing)
    assert caught.value is missing


def test_selector_order_per_request_kind() -> None:
    selector = BackendSelector("auto")
    thread = BackendRequest("thread", 1, 1, lambda response, source: None)
    chosen = BackendRequest("thread_page", 1, 2, lambda response, source: None)
    assert selector.wants_probe(thread) and not selector.wants_probe(chosen)
    assert selector.sources(chosen) == ("html", "archiver")
    selector.learn(None)  # the probe could not be fetched: no API
    assert not selector.wants_probe(thread)
    assert selector.sources(thread) == ("html", "archiver")
    assert BackendSelector("archiver").sources(BackendRequest("user", 5, 1, lambda r, s: None)) == ("html",)
