"""The fixture forum: routing, Discuz behaviours, loopback server, fault injection, request log."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from pathlib import Path

import httpx
import pytest

from discuz_scraper.testing import (
    Fault,
    FaultKind,
    FaultPlan,
    FixtureForum,
    LoggedRequest,
    default_forum,
    fixtures_root,
)

ROOT = fixtures_root()
X34 = "http://forum.test/"
X35 = "http://forum.test/bbs/"


def page(path: str) -> bytes:
    return (ROOT / path).read_bytes()


def t1001(n: int) -> bytes:
    return page(f"thread/x34/t1001-p{n}.html")


def t2001(n: int) -> bytes:
    return page(f"thread/x35/t2001-p{n}.html")


def test_fixtures_root_is_the_repo_directory_in_an_editable_install():
    assert Path(__file__).resolve().parent.parent / "fixtures" == ROOT
    assert (ROOT / "forum" / "routes.json").is_file()


def test_every_registered_file_exists():
    assert default_forum().missing_files == ()


def test_site_urls(forum):
    assert forum.site_url("x34") == X34
    assert forum.site_url("x35") == X35


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (X34 + "forum.php?mod=viewthread&tid=1001", t1001(1)),
        (X34 + "forum.php?mod=viewthread&tid=1001&page=2", t1001(2)),
        (X34 + "forum.php?mod=viewthread&tid=1001&extra=page%3D1&page=3&mobile=no", t1001(3)),
        (X34 + "thread-1001-2-1.html", t1001(2)),
        (X34 + "thread-1001-3-4.html", t1001(3)),
        (X34 + "viewthread.php?tid=1001&page=2", t1001(2)),
        (X34 + "forum.php?mod=viewthread&tid=1001&page=99", t1001(3)),
        (X34 + "thread-1001-99-1.html", t1001(3)),
        (X34 + "forum.php?mod=viewthread&tid=1001&page=0", t1001(1)),
        (X35 + "forum.php?mod=viewthread&tid=2001&extra=&page=2", t2001(2)),
        (X35 + "thread-2001-3-1.html", t2001(3)),
        (X35 + "forum.php?mod=viewthread&tid=2001&page=99", t2001(3)),
    ],
)
def test_thread_url_forms_serve_the_declared_page(forum, url, expected):
    response = forum.handle("GET", url)
    assert response.status == 200
    assert response.body == expected


@pytest.mark.parametrize(
    ("url", "file"),
    [
        (X34, "index/x34_index.html"),
        (X34 + "forum.php?mobile=no", "index/x34_index.html"),
        (X35 + "forum.php", "index/x35_index.html"),
        (X34 + "forum.php?gid=1", "index/x34_category_gid1.html"),
        (X34 + "forum-2-1.html", "board/x34_forum2_p1.html"),
        (X34 + "forum.php?mod=forumdisplay&fid=2&page=2", "board/x34_forum2_p2.html"),
        (X34 + "forum.php?mod=forumdisplay&fid=2&page=9", "board/x34_forum2_p9.html"),
        (X34 + "forum.php?mod=forumdisplay&fid=2&page=5", "board/x34_forum2_p1.html"),
        (X34 + "forum.php?mod=forumdisplay&fid=2&filter=typeid&typeid=1", "board/x34_forum2_type1.html"),
        (X34 + "forum.php?mod=forumdisplay&fid=404", "errors/x34_forum_nonexistence.html"),
        (X35 + "forum-3-1.html", "board/x35_forum3_crawl_p1.html"),
        (X34 + "space-uid-5.html", "profile/x34_space_uid5.html"),
        (X34 + "home.php?mod=space&uid=5&do=profile", "profile/x34_space_uid5.html"),
        (X35 + "home.php?mod=space&uid=3", "profile/x35_space_uid3.html"),
        (X34 + "thread-1004-1-1.html", "thread/x34/t1004-body-variants.html"),
        (X35 + "forum.php?mod=viewthread&tid=2003&page=4", "thread/x35/t2003-imagepoll-pending.html"),
    ],
)
def test_index_board_profile_and_variant_routes(forum, url, file):
    response = forum.handle("GET", url)
    assert (response.status, response.body) == (200, page(file))


def test_content_type_carries_the_site_charset(forum):
    gbk = forum.handle("GET", X34 + "thread-1001-1-1.html")
    utf8 = forum.handle("GET", X35 + "thread-2001-1-1.html")
    assert gbk.headers["Content-Type"] == "text/html; charset=gbk"
    assert utf8.headers["Content-Type"] == "text/html; charset=utf-8"


def test_unknown_tid_is_a_404_showmessage_of_that_site(forum):
    missing34 = forum.handle("GET", X34 + "forum.php?mod=viewthread&tid=999999")
    assert missing34.status == 404
    assert missing34.body == page("errors/x34_thread_nonexistence.html")
    assert "抱歉，指定的主题不存在或已被删除或正在被审核" in missing34.body.decode("gb18030")
    # tid 1001 lives on the X3.4 site only: under /bbs/ it does not exist.
    missing35 = forum.handle("GET", X35 + "thread-1001-1-1.html")
    assert missing35.status == 404
    assert missing35.body == page("errors/x35_thread_nonexistence.html")
    assert missing35.headers["Content-Type"] == "text/html; charset=utf-8"


def test_findpost_redirects_to_the_page_holding_the_pid(forum):
    found = forum.handle("GET", X34 + "forum.php?mod=redirect&goto=findpost&ptid=1001&pid=3107")
    assert found.status == 302
    assert found.headers["Location"] == X34 + "forum.php?mod=viewthread&tid=1001&page=2#pid3107"
    # 7107 is also shown as a hot reply on page 1; its own page is 2.
    hot = forum.handle("GET", X35 + "forum.php?mod=redirect&goto=findpost&ptid=2001&pid=7107")
    assert hot.headers["Location"] == X35 + "forum.php?mod=viewthread&tid=2001&page=2#pid7107"
    last = forum.handle("GET", X34 + "forum.php?mod=redirect&tid=1001&goto=lastpost")
    assert last.headers["Location"] == X34 + "forum.php?mod=viewthread&tid=1001&page=3#pid3112"
    unknown = forum.handle("GET", X34 + "forum.php?mod=redirect&goto=findpost&ptid=1001&pid=1")
    assert unknown.status == 404


def test_guest_forbidden_board_redirects_to_login(forum):
    response = forum.handle("GET", X34 + "forum-9-2.html")
    assert response.status == 302
    assert response.headers["Location"] == (
        X34 + "member.php?mod=logging&action=login&referer=http%3A%2F%2Fforum.test%2Fforum-9-2.html"
    )
    login = forum.handle("GET", response.headers["Location"])
    assert (login.status, login.body) == (200, page("errors/x34_login_page.html"))
    bbs = forum.handle("GET", X35 + "forum.php?mod=forumdisplay&fid=8")
    assert bbs.headers["Location"].startswith(X35 + "member.php?mod=logging&action=login&referer=")


def test_unknown_paths_and_content_changing_params_are_plain_404(forum):
    for url in (X34 + "nothing.php", X34 + "forum.php?mod=viewthread&tid=1001&authorid=5"):
        response = forum.handle("GET", url)
        assert response.status == 404
        assert response.headers["Content-Type"] == "text/plain; charset=utf-8"


def test_mock_transport_follows_findpost_with_httpx(mock_transport):
    with httpx.Client(transport=mock_transport, follow_redirects=True) as client:
        response = client.get(X34 + "forum.php?mod=redirect&goto=findpost&ptid=1001&pid=3108")
    assert response.content == t1001(2)
    assert [r.status_code for r in response.history] == [302]
    assert response.url == X34 + "forum.php?mod=viewthread&tid=1001&page=2#pid3108"


def test_mock_transport_refuses_other_hosts(mock_transport):
    with httpx.Client(transport=mock_transport) as client, pytest.raises(httpx.ConnectError):
        client.get("http://elsewhere.test/forum.php")


@pytest.mark.anyio
async def test_mock_transport_with_async_client_and_async_sleep():
    slept: list[float] = []

    async def fake_sleep(delay: float) -> None:
        slept.append(delay)

    plan = FaultPlan().on("/bbs/thread-2001-2-1.html", Fault.slow(0.25))
    forum = default_forum(faults=plan, sleep=fake_sleep)
    async with httpx.AsyncClient(transport=forum.mock_transport()) as client:
        slow = await client.get(X35 + "forum.php?mod=viewthread&tid=2001&page=2")
        fast = await client.get(X35 + "forum.php?mod=viewthread&tid=2001&page=3")
    assert (slow.content, fast.content) == (t2001(2), t2001(3))
    assert slept == [0.25]


def test_loopback_rewrites_the_host_in_bodies_and_locations(forum, loopback):
    origin = loopback.base_url.rstrip("/")
    assert loopback.base_url == f"http://127.0.0.1:{loopback.port}/"
    assert loopback.site_url("x35") == origin + "/bbs/"
    with httpx.Client() as client:
        body = client.get(loopback.base_url + "thread-1001-1-1.html").content
        moved = client.get(
            loopback.site_url("x35") + "forum.php?mod=redirect&goto=findpost&ptid=2001&pid=7111"
        )
        login = client.get(loopback.base_url + "forum-9-1.html")
    assert body == t1001(1).replace(b"http://forum.test", origin.encode())
    assert b"forum.test" not in body
    assert moved.status_code == 302
    assert moved.headers["location"] == origin + "/bbs/forum.php?mod=viewthread&tid=2001&page=3#pid7111"
    encoded = origin.replace(":", "%3A").replace("/", "%2F")
    assert login.headers["location"] == (
        f"{origin}/member.php?mod=logging&action=login&referer={encoded}%2Fforum-9-1.html"
    )
    assert forum.request_log == [
        LoggedRequest("GET", "/thread-1001-1-1.html", 200),
        LoggedRequest("GET", "/bbs/forum.php?mod=redirect&goto=findpost&ptid=2001&pid=7111", 302),
        LoggedRequest("GET", "/forum-9-1.html", 302),
    ]


def test_request_log_is_shared_by_both_transports(forum, loopback):
    with httpx.Client(transport=forum.mock_transport()) as client:
        client.get(X34 + "forum.php?mod=viewthread&tid=1001&page=2")
    with httpx.Client() as client:
        client.get(loopback.site_url("x35") + "nothing.php")
    assert forum.request_log == [
        ("GET", "/forum.php?mod=viewthread&tid=1001&page=2", 200, None),
        ("GET", "/bbs/nothing.php", 404, None),
    ]
    forum.clear_log()
    assert forum.request_log == []


def test_loopback_handles_concurrent_clients(forum, loopback):
    def fetch(n: int) -> None:
        with httpx.Client() as client:
            assert client.get(f"{loopback.base_url}thread-1001-{n}-1.html").status_code == 200

    workers = [threading.Thread(target=fetch, args=(n % 3 + 1,)) for n in range(12)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert sorted(entry.target for entry in forum.request_log) == sorted(
        f"/thread-1001-{n % 3 + 1}-1.html" for n in range(12)
    )


def test_server_stops_even_with_an_open_keep_alive_connection():
    before = {t.ident for t in threading.enumerate()}
    forum = default_forum()
    client = httpx.Client()
    with forum.serve() as server:
        assert client.get(server.base_url + "thread-1001-1-1.html").status_code == 200
        port = server.port
        started = time.monotonic()
    assert time.monotonic() - started < 2
    client.close()
    assert not server.running
    assert {t.ident for t in threading.enumerate()} == before
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", port)) != 0


# -- faults ------------------------------------------------------------------------------------------

PAGE2 = "/forum.php?mod=viewthread&tid=1001&page=2"


def fetch_through(transport: str, forum: FixtureForum, url_path: str, **kwargs: object) -> httpx.Response:
    """GET ``url_path`` on the X3.4 site in-process or over a loopback server, as a client sees it."""
    if transport == "mock":
        with httpx.Client(transport=forum.mock_transport()) as client:
            return client.get(X34.rstrip("/") + url_path, **kwargs)  # type: ignore[arg-type]
    with forum.serve() as server, httpx.Client() as client:
        return client.get(server.base_url.rstrip("/") + url_path, **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize("transport", ["mock", "loopback"])
def test_server_error_and_rate_limit_faults(transport):
    plan = (
        FaultPlan()
        .on(PAGE2, Fault.rate_limited(retry_after=3), first=2)
        .on("/thread-1001-3-1.html", Fault.server_error(502), nth=1)
        .on("/thread-1001-3-1.html", Fault.server_error(503, discuz_page=True, retry_after=3600), nth=2)
    )
    forum = default_forum(faults=plan)
    first = fetch_through(transport, forum, "/thread-1001-2-1.html")
    second = fetch_through(transport, forum, PAGE2 + "&extra=page%3D1")
    third = fetch_through(transport, forum, PAGE2)
    bad_gateway = fetch_through(transport, forum, "/thread-1001-3-1.html")
    system_error = fetch_through(transport, forum, "/forum.php?mod=viewthread&tid=1001&page=3")
    assert (first.status_code, first.headers["retry-after"]) == (429, "3")
    assert (second.status_code, second.headers["retry-after"]) == (429, "3")
    assert third.status_code == 200
    assert b'id="post_3107"' in third.content
    assert (bad_gateway.status_code, bad_gateway.headers["content-type"]) == (
        502,
        "text/plain; charset=utf-8",
    )
    assert system_error.status_code == 503
    assert system_error.headers["retry-after"] == "3600"
    assert system_error.headers["content-type"] == "text/html; charset=gbk"
    assert b"System Error" in system_error.content
    assert [(n, kind.kind) for n, _, kind in plan.history] == [
        (1, FaultKind.RATE_LIMITED),
        (2, FaultKind.RATE_LIMITED),
        (4, FaultKind.SERVER_ERROR),
        (5, FaultKind.SERVER_ERROR),
    ]
    assert [entry.status for entry in forum.request_log] == [429, 429, 200, 502, 503]


@pytest.mark.parametrize("transport", ["mock", "loopback"])
def test_connection_faults_raise_httpx_errors(transport):
    plan = FaultPlan().on(PAGE2, Fault.reset(), nth=1).on(PAGE2, Fault.truncated(), nth=2)
    forum = default_forum(faults=plan)
    with pytest.raises(httpx.ReadError):
        fetch_through(transport, forum, PAGE2)
    with pytest.raises(httpx.RemoteProtocolError):
        fetch_through(transport, forum, PAGE2)
    assert fetch_through(transport, forum, PAGE2).status_code == 200
    assert forum.request_log == [
        ("GET", PAGE2, None, FaultKind.RESET),
        ("GET", PAGE2, 200, FaultKind.TRUNCATED),
        ("GET", PAGE2, 200, None),
    ]


@pytest.mark.parametrize("transport", ["mock", "loopback"])
def test_wrong_charset_fault_mislabels_the_page(transport):
    forum = default_forum(faults=FaultPlan().on(PAGE2, Fault.wrong_charset()))
    response = fetch_through(transport, forum, PAGE2)
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    # The bytes are still GBK: decoding by the (wrong) header garbles them.
    assert "自制竹编灯罩的全过程记录" in response.content.decode("gb18030")
    assert "自制竹编灯罩" not in response.text
    assert "\ufffd" in response.text


def test_slow_fault_times_out_a_loopback_client():
    forum = default_forum(faults=FaultPlan().on(PAGE2, Fault.slow(0.5), nth=1))
    with pytest.raises(httpx.ReadTimeout):
        fetch_through("loopback", forum, PAGE2, timeout=httpx.Timeout(2, read=0.1))
    assert forum.request_log == [("GET", PAGE2, 200, FaultKind.SLOW)]


def test_slow_fault_uses_the_injected_sleep_in_process():
    slept: list[float] = []
    forum = default_forum(faults=FaultPlan().on(None, Fault.slow(1.5), nth=[2]), sleep=slept.append)
    started = time.monotonic()
    assert fetch_through("mock", forum, PAGE2).content == t1001(2)
    assert fetch_through("mock", forum, PAGE2).content == t1001(2)
    assert time.monotonic() - started < 1
    assert slept == [1.5]


def random_faults(seed: int) -> list[tuple[int, str, Fault]]:
    plan = FaultPlan(
        seed=seed, rates={FaultKind.SERVER_ERROR: 0.2, Fault.rate_limited(7): 0.1, Fault.reset(): 0.1}
    )
    forum = default_forum(faults=plan)
    with httpx.Client(transport=forum.mock_transport()) as client:
        for n in range(60):
            with contextlib.suppress(httpx.ReadError):
                client.get(f"{X34}thread-1001-{n % 3 + 1}-1.html")
    return plan.history


def test_seeded_random_faults_are_reproducible():
    first, again, other = random_faults(1234), random_faults(1234), random_faults(4321)
    assert first == again
    assert first != other
    kinds = {fault.kind for _, _, fault in first}
    assert kinds == {FaultKind.SERVER_ERROR, FaultKind.RATE_LIMITED, FaultKind.RESET}
    # Rates 0.4 in total over 60 requests: neither none nor all of them fail.
    assert 10 < len(first) < 40


def test_fault_plan_records_a_chosen_seed_and_rejects_bad_rates(capsys):
    plan = FaultPlan(rates={FaultKind.TRUNCATED: 0.5})
    assert isinstance(plan.seed, int)
    assert f"FaultPlan seed={plan.seed}" in capsys.readouterr().err
    with pytest.raises(ValueError):
        FaultPlan(seed=1, rates={FaultKind.RESET: 0.6, FaultKind.SLOW: 0.6})
    with pytest.raises(ValueError):
        Fault.server_error(404)


# -- manifests of your own ---------------------------------------------------------------------------


def write_manifest(tmp_path: Path, manifest: dict[str, object]) -> FixtureForum:
    (tmp_path / "forum").mkdir()
    path = tmp_path / "forum" / "routes.json"
    path.write_text(json.dumps(manifest), encoding="utf-8")
    return FixtureForum.from_file(path)


def test_boards_explicit_routes_archiver_and_missing_files(tmp_path):
    for name in ("f5-p1", "f5-p2", "gone", "arch", "only", "nofid"):
        (tmp_path / f"{name}.html").write_bytes(f"<p>{name}</p>".encode())
    manifest = {
        "sites": {
            "main": {
                "prefix": "/",
                "charset": "big5",
                "thread_missing": "gone.html",
                "board_missing": "nofid.html",
                "index": "only.html",
            }
        },
        "boards": [{"site": "main", "fid": 5, "pages": ["f5-p1.html", "f5-p2.html"]}],
        "routes": [
            {"site": "main", "path": "archiver/", "query": {"tid-5.html": ""}, "file": "arch.html"},
            {"site": "main", "path": "forum.php", "query": {"gid": "1"}, "redirect": "forum-5-1.html"},
            {
                "site": "main",
                "path": "home.php",
                "query": {"mod": "space", "uid": "3"},
                "file": "absent.html",
                "status": 200,
                "headers": {"X-Note": "profile"},
            },
        ],
    }
    with pytest.warns(UserWarning, match="absent.html"):
        forum = write_manifest(tmp_path, manifest)
    assert forum.missing_files == ("absent.html",)

    def body(url: str) -> tuple[int, bytes]:
        response = forum.handle("GET", "http://forum.test" + url)
        return response.status, response.body

    assert body("/forum-5-2.html") == (200, b"<p>f5-p2</p>")
    # A board page past the end resets to page 1 (unlike threads).
    assert body("/forum.php?mod=forumdisplay&fid=5&page=7") == (200, b"<p>f5-p1</p>")
    assert body("/forum.php?mod=forumdisplay&fid=6") == (200, b"<p>nofid</p>")
    assert body("/archiver/tid-5.html") == (200, b"<p>arch</p>")
    assert body("/archiver/?tid-5.html") == (200, b"<p>arch</p>")
    assert body("/forum.php") == (200, b"<p>only</p>")
    assert body("/") == (200, b"<p>only</p>")
    assert body("/space-uid-3.html") == (500, b"fixture file missing: absent.html")
    category = forum.handle("GET", "http://forum.test/forum.php?gid=1")
    assert (category.status, category.headers["Location"]) == (302, "http://forum.test/forum-5-1.html")
    assert forum.handle("GET", "http://forum.test/forum-5-1.html").headers["Content-Type"] == (
        "text/html; charset=big5"
    )
