"""Cookies, board passwords, anti-collection, CC-defence pages, robots.txt and keeping secrets out
of logs, reprs and exports, against the fixture forum (sync and async)."""

from __future__ import annotations

import asyncio
import builtins
import json
import logging
import os
import stat
from pathlib import Path
from typing import Any

import httpx
import pytest

from discuz_scraper import AsyncDiscuzClient, DiscuzClient
from discuz_scraper.access import RobotsRules
from discuz_scraper.crawl import CrawlReport, CrawlSkip
from discuz_scraper.errors import AntiCrawlChallenge, LoginRequired, PermissionDenied
from discuz_scraper.export import export
from discuz_scraper.store import SQLiteStore
from discuz_scraper.testing import Fault, FaultPlan, FixtureForum, cookie_digest, fixtures_root

X34 = "http://forum.test/"
AUTH_NAME, AUTH = "Ab3x_2132_auth", "b3Rhd0F1dGhUb2tlbjU4OTI"
PASSWORD = "Oolong-Leaf-1987"
BOARD_PW = "Tieguanyin-77"
MODES = pytest.mark.parametrize("mode", ["sync", "async"])


def call(mode: str, forum: FixtureForum, action: str, *args: Any, **options: Any) -> Any:
    """``client.<action>(*args)`` on a fresh sync or async client built with ``options``."""
    options.setdefault("rate", None)
    if mode == "sync":
        with DiscuzClient(X34, transport=forum.mock_transport(), **options) as client:
            return getattr(client, action)(*args)

    async def main() -> Any:
        async with AsyncDiscuzClient(X34, transport=forum.mock_transport(), **options) as client:
            return await getattr(client, action)(*args)

    return asyncio.run(main())


# -- cookies ---------------------------------------------------------------------------------------


def cookie_sources(tmp_path: Path) -> dict[str, Any]:
    txt = tmp_path / "cookies.txt"
    line = "\t".join(["#HttpOnly_forum.test", "FALSE", "/", "FALSE", "0", AUTH_NAME, AUTH])
    txt.write_text(f"# Netscape HTTP Cookie File\n{line}\n")
    export_items = [
        {"name": AUTH_NAME, "value": AUTH, "domain": "forum.test", "path": "/", "hostOnly": True},
        {"name": "tracker", "value": "elsewhere-value", "domain": "other.test", "path": "/"},
    ]
    exported = tmp_path / "export.json"
    exported.write_text(json.dumps(export_items))
    return {
        "dict": {AUTH_NAME: AUTH},
        "header": f"{AUTH_NAME}={AUTH}; lang=zh",
        "cookies.txt": txt,
        "cookies.txt as str": str(txt),
        "json path": exported,
        "json string": json.dumps(export_items),
        "httpx.Cookies": httpx.Cookies({AUTH_NAME: AUTH}),
    }


@MODES
@pytest.mark.parametrize(
    "kind",
    ["dict", "header", "cookies.txt", "cookies.txt as str", "json path", "json string", "httpx.Cookies"],
)
def test_cookies_in_every_format_reach_the_members_board(
    mode: str, kind: str, forum: FixtureForum, tmp_path: Path
) -> None:
    source = cookie_sources(tmp_path)[kind]
    page = call(mode, forum, "board", 9, cookies=source)
    assert [row.tid for row in page.rows] == [1090]
    seen = forum.cookie_log[-1]
    assert seen.target == "/forum.php?mod=forumdisplay&fid=9&page=1"
    assert seen.member == "aming"
    expected = {AUTH_NAME: AUTH, "lang": "zh"} if kind == "header" else {AUTH_NAME: AUTH}
    assert seen.digest == cookie_digest(expected), "foreign-domain cookies are not sent"


def test_guest_gets_login_required(forum: FixtureForum) -> None:
    with pytest.raises(LoginRequired):
        call("sync", forum, "board", 9)


def test_save_and_load_cookies_round_trip(forum: FixtureForum, tmp_path: Path) -> None:
    path = tmp_path / "jar.json"
    with DiscuzClient(X34, transport=forum.mock_transport(), rate=None) as client:
        client.login("aming", PASSWORD)
        client.save_cookies(path)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    with DiscuzClient(X34, transport=forum.mock_transport(), rate=None) as later:
        later.load_cookies(path)
        assert later.whoami() is not None
        assert [row.tid for row in later.board(9).rows] == [1090]


# -- board passwords -------------------------------------------------------------------------------


@MODES
def test_board_password_is_posted_once_and_kept(mode: str, forum: FixtureForum) -> None:
    page = call(mode, forum, "board", 7, board_password={7: BOARD_PW})
    assert [row.tid for row in page.rows] == [1091]
    assert [(e.method, e.target, e.status) for e in forum.request_log] == [
        ("GET", "/forum.php?mod=forumdisplay&fid=7&page=1", 200),
        ("POST", "/forum.php?mod=forumdisplay&fid=7&action=pwverify", 302),
        ("GET", "/forum.php?mod=forumdisplay&fid=7", 200),
        ("GET", "/forum.php?mod=forumdisplay&fid=7&page=1", 200),
    ]
    assert forum.cookie_log[-1].digest == cookie_digest({"Ab3x_2132_fidpw7": BOARD_PW})


@pytest.mark.parametrize("passwords", [None, {7: "wrong"}])
def test_board_without_the_right_password_is_refused(forum: FixtureForum, passwords: Any) -> None:
    with pytest.raises(PermissionDenied) as caught:
        call("sync", forum, "board", 7, board_password=passwords)
    assert caught.value.key == "forum_passwd"
    posts = [e for e in forum.request_log if e.method == "POST"]
    assert len(posts) == (0 if passwords is None else 1)


# -- anti-collection -------------------------------------------------------------------------------


def protected_forum(*tids: int) -> FixtureForum:
    root = fixtures_root()
    manifest = json.loads((root / "forum" / "routes.json").read_text(encoding="utf-8"))
    manifest["sites"]["x34"]["antitheft"] = {"authkey": "fixture-authkey", "tids": list(tids)}
    return FixtureForum(manifest, root)


@MODES
def test_anti_collection_is_solved_once_per_tid(mode: str) -> None:
    forum = protected_forum(1016, 1001)

    def read(client: Any) -> Any:
        return client.thread(1016), client.thread(1016), client.thread_page(1001)

    if mode == "sync":
        with DiscuzClient(X34, transport=forum.mock_transport(), rate=None) as client:
            first, again, other = read(client)
    else:
        async def main() -> Any:
            async with AsyncDiscuzClient(X34, transport=forum.mock_transport(), rate=None) as client:
                return (await client.thread(1016), await client.thread(1016), await client.thread_page(1001))

        first, again, other = asyncio.run(main())
    assert [p.pid for p in first.posts] == [p.pid for p in again.posts] == list(range(10161, 10168))
    assert other.tid == 1001
    page_one = [e.target for e in forum.request_log if "tid=1016&page=1" in e.target]
    assert page_one == [
        "/forum.php?mod=viewthread&tid=1016&page=1",  # the script page, solved
        "/forum.php?mod=viewthread&tid=1016&page=1&_dsign=3cb6e9fd",
        "/forum.php?mod=viewthread&tid=1016&page=1&_dsign=3cb6e9fd",  # cached for the session
    ]
    assert "/forum.php?mod=viewthread&tid=1016&page=2" in [e.target for e in forum.request_log]


def test_a_second_challenge_after_solving_gives_up() -> None:
    script = protected_forum(1016).handle("GET", X34 + "forum.php?mod=viewthread&tid=1016").body

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=script, headers={"Content-Type": "text/html; charset=gbk"})

    with (
        DiscuzClient(X34, transport=httpx.MockTransport(handler), rate=None) as client,
        pytest.raises(AntiCrawlChallenge) as caught,
    ):
        client.thread(1016)
    assert caught.value.message == "the anti-collection script came back after solving it once"


def test_without_the_js_extra_the_challenge_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    real_import = builtins.__import__

    def no_engine(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "py_mini_racer":
            raise ImportError("not installed")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_engine)
    monkeypatch.setattr("importlib.import_module", lambda name: no_engine(name))
    with (
        DiscuzClient(X34, transport=protected_forum(1016).mock_transport(), rate=None) as client,
        pytest.raises(AntiCrawlChallenge) as caught,
    ):
        client.thread(1016)
    assert 'pip install "discuz-scraper[js]"' in caught.value.message


# -- CC defence ------------------------------------------------------------------------------------

THREAD = "/forum.php?mod=viewthread&tid=1040"


@MODES
@pytest.mark.parametrize(("kind", "first", "waits"), [("refresh", 2, 2), ("reload", None, 1)])
def test_cc_reload_pages_are_waited_out(mode: str, kind: str, first: int | None, waits: int) -> None:
    plan = FaultPlan().on(THREAD, Fault.cc_page(kind), first=first)
    forum = FixtureForum(json.loads((fixtures_root() / "forum" / "routes.json").read_text()), fixtures_root(),
                         faults=plan)
    slept: list[float] = []
    if mode == "sync":
        with DiscuzClient(X34, transport=forum.mock_transport(), rate=None, sleep=slept.append) as client:
            thread = client.thread(1040)
    else:
        async def sleep(seconds: float) -> None:
            slept.append(seconds)

        async def main() -> Any:
            async with AsyncDiscuzClient(X34, transport=forum.mock_transport(), rate=None, sleep=sleep) as c:
                return await c.thread(1040)

        thread = asyncio.run(main())
    assert [p.pid for p in thread.posts] == [10401]
    assert len(slept) == waits and all(s >= 1.0 for s in slept)
    assert len(forum.request_log) == waits + 1
    if kind == "reload":
        assert forum.cookie_log[-1].names == ("Ab3x_2132_lastrequest",), "the reload cookie was kept"


@MODES
def test_cc_question_is_answered(mode: str) -> None:
    plan = FaultPlan().on(THREAD, Fault.cc_page("question"))
    forum = FixtureForum(json.loads((fixtures_root() / "forum" / "routes.json").read_text()), fixtures_root(),
                         faults=plan)
    thread = call(mode, forum, "thread", 1040)
    assert [p.pid for p in thread.posts] == [10401]
    assert [(e.method, e.status) for e in forum.request_log] == [("GET", 200), ("POST", 302), ("GET", 200)]


@pytest.mark.parametrize(
    ("fault", "message"),
    [
        (Fault.cc_page("proxy"), "the site refuses requests that look proxied"),
        (Fault.cc_page("refresh"), "the site's CC defence still answers after 3 retries"),
    ],
)
def test_cc_pages_that_cannot_be_passed(fault: Fault, message: str) -> None:
    forum = FixtureForum(json.loads((fixtures_root() / "forum" / "routes.json").read_text()), fixtures_root(),
                         faults=FaultPlan().on(THREAD, fault))
    slept: list[float] = []
    with (
        DiscuzClient(X34, transport=forum.mock_transport(), rate=None, sleep=slept.append) as client,
        pytest.raises(AntiCrawlChallenge) as caught,
    ):
        client.thread(1040)
    assert caught.value.message.startswith(message)
    assert len(slept) == (0 if fault.cc == "proxy" else 3)


# -- robots.txt ------------------------------------------------------------------------------------

ROBOTS_UA = "Mozilla/5.0 (X11; Linux x86_64) FixtureCrawlerTest/1.0"


def test_robots_rules() -> None:
    text = (fixtures_root() / "forum" / "pages" / "robots.txt").read_text()
    anyone = RobotsRules.parse(text, "Mozilla/5.0 Chrome/131")
    ours = RobotsRules.parse(text, ROBOTS_UA)
    assert not anyone.allowed("http://forum.test/forum.php?mod=redirect&goto=findpost&pid=1")
    assert not anyone.allowed("http://forum.test/search.php?mod=forum")
    assert anyone.allowed("http://forum.test/forum.php?mod=viewthread&tid=1016&page=1")
    # The specific group replaces "*"; the longer Allow wins over the shorter Disallow.
    assert ours.allowed("http://forum.test/search.php")
    assert not ours.allowed("http://forum.test/forum.php?mod=viewthread&tid=1016&page=1")
    assert ours.allowed("http://forum.test/forum.php?mod=viewthread&tid=1016&page=2")
    assert RobotsRules.parse("User-agent: *\nDisallow: /*.php$\n", "x").allowed("http://h/a.php?x=1")
    assert not RobotsRules.parse("User-agent: *\nDisallow: /*.php$\n", "x").allowed("http://h/a.php")


@MODES
def test_crawls_honour_robots_txt(mode: str, forum: FixtureForum) -> None:
    if mode == "sync":
        with DiscuzClient(X34, transport=forum.mock_transport(), rate=None, user_agent=ROBOTS_UA) as client:
            events = list(client.crawl_forum())
    else:
        async def main() -> list[Any]:
            async with AsyncDiscuzClient(X34, transport=forum.mock_transport(), rate=None,
                                         user_agent=ROBOTS_UA) as client:
                return [event async for event in client.crawl_forum()]

        events = asyncio.run(main())
    report = events[-1]
    assert isinstance(report, CrawlReport)
    robots = [skip for skip in report.skipped if skip.reason == "robots_txt"]
    assert robots == [
        CrawlSkip(url=X34 + "forum.php?mod=forumdisplay&fid=6&page=1", name="", reason="robots_txt"),
        CrawlSkip(url=X34 + "forum.php?mod=viewthread&tid=1016&page=1", name="", reason="robots_txt"),
    ]
    sent = [e.target for e in forum.request_log]
    assert sent.count("/robots.txt") == 1
    assert not any("fid=6" in t or "tid=1016" in t for t in sent)


def test_explicit_requests_ignore_robots_unless_asked(forum: FixtureForum) -> None:
    assert call("sync", forum, "board", 6, user_agent=ROBOTS_UA).fid == 6
    assert "/robots.txt" not in [e.target for e in forum.request_log]
    with pytest.raises(PermissionDenied) as caught:
        call("sync", forum, "board", 6, user_agent=ROBOTS_UA, respect_robots=True)
    assert caught.value.key == "robots_txt"


# -- secrets ---------------------------------------------------------------------------------------


def test_no_secret_in_logs_reprs_exports_or_store(
    forum: FixtureForum, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store_path = tmp_path / "crawl.sqlite"
    jsonl = tmp_path / "posts.jsonl"
    texts: list[str] = []
    caplog.set_level(logging.DEBUG, logger="discuz_scraper")
    with (
        DiscuzClient(
            X34, transport=forum.mock_transport(), rate=None, board_password={7: BOARD_PW}
        ) as client,
        SQLiteStore(store_path) as store,
    ):
        client.login("aming", PASSWORD)
        events = list(client.crawl_board(9, store=store))
        client.board(7)
        with pytest.raises(LoginRequired) as refused:
            DiscuzClient(X34, transport=forum.mock_transport(), rate=None).board(9)
        export(store, jsonl, format="jsonl", what="posts")
        texts += [repr(client), repr(client._fetcher), repr(client._access)]
        texts += [repr(refused.value), str(refused.value)]
        texts += [repr(event) for event in events]
        jar = {c.name: c.value or "" for c in client.cookies.jar}
        assert {p.pid for p in store.iter_posts()} == {10901}
    secrets = [PASSWORD, BOARD_PW, *(v for v in jar.values() if len(v) >= 6)]
    assert AUTH in secrets and "Sk7Wq2Lm" in secrets
    texts.append(caplog.text)
    texts.append(jsonl.read_text(encoding="utf-8"))
    database = store_path.read_bytes().decode("utf-8", "replace")
    assert "10901" in database or "春茶" in database
    texts.append(database)
    assert "logged in as uid 5" in caplog.text, "debug logging really was captured"
    for secret in secrets:
        assert all(secret not in text for text in texts), "a secret leaked"
