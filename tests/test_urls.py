"""URL recognition (parse_url) and the canonical URL builders."""

from __future__ import annotations

from urllib.parse import parse_qs

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from discuz_scraper.errors import DiscuzError
from discuz_scraper.urls import (
    _query_values,
    api_url,
    archiver_thread_url,
    board_url,
    findpost_url,
    index_url,
    normalize_base,
    parse_url,
    site_base,
    thread_url,
    user_url,
)

B = "http://forum.test/bbs/"


def ids(url: str, **kw):
    u = parse_url(url, **kw)
    return (
        u.kind,
        u.base_url,
        u.tid,
        u.pid,
        u.fid,
        u.forum_alias,
        u.gid,
        u.uid,
        u.username,
        u.page,
        u.archiver,
    )


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            B + "forum.php?mod=viewthread&tid=3&extra=page%3D2&page=4",
            ("thread", B, 3, None, None, None, None, None, None, 4, False),
        ),
        (B + "thread-3-4-2.html", ("thread", B, 3, None, None, None, None, None, None, 4, False)),
        (
            "http://forum.test/thread-12-1-1.html",
            ("thread", "http://forum.test/", 12, None, None, None, None, None, None, 1, False),
        ),
        (
            B + "forum.php?mod=viewthread&action=printable&tid=3",
            ("thread", B, 3, None, None, None, None, None, None, None, False),
        ),
        (
            B + "forum.php?mod=redirect&tid=3&goto=lastpost#lastpost",
            ("thread", B, 3, None, None, None, None, None, None, None, False),
        ),
        (
            B + "forum.php?mod=redirect&goto=findpost&ptid=3&pid=19",
            ("post", B, 3, 19, None, None, None, None, None, None, False),
        ),
        (B + "m/?a=viewthread&tid=8", ("thread", B, 8, None, None, None, None, None, None, None, False)),
        (B + "archiver/?tid-3.html", ("thread", B, 3, None, None, None, None, None, None, None, True)),
        (B + "archiver/?tid-3.html&page=2", ("thread", B, 3, None, None, None, None, None, None, 2, True)),
        (B + "archiver/tid-3.html", ("thread", B, 3, None, None, None, None, None, None, None, True)),
        (B + "archiver/?fid-2.html", ("board", B, None, None, 2, None, None, None, None, None, True)),
        (B + "archiver/", ("index", B, None, None, None, None, None, None, None, None, True)),
        (
            B + "forum.php?mod=forumdisplay&fid=2&page=3",
            ("board", B, None, None, 2, None, None, None, None, 3, False),
        ),
        (B + "forum-2-3.html", ("board", B, None, None, 2, None, None, None, None, 3, False)),
        (B + "forum-tea-1.html", ("board", B, None, None, None, "tea", None, None, None, 1, False)),
        (
            B + "forum.php?mod=forumdisplay&fid=tea",
            ("board", B, None, None, None, "tea", None, None, None, None, False),
        ),
        (
            B + "forum.php?mod=group&fid=40&page=2",
            ("board", B, None, None, 40, None, None, None, None, 2, False),
        ),
        (B + "group-40-1.html", ("board", B, None, None, 40, None, None, None, None, 1, False)),
        (B + "forum.php?gid=1", ("category", B, None, None, None, None, 1, None, None, None, False)),
        (
            B + "home.php?mod=space&uid=5&do=profile",
            ("user", B, None, None, None, None, None, 5, None, None, False),
        ),
        (B + "space-uid-5.html", ("user", B, None, None, None, None, None, 5, None, None, False)),
        (
            B + "home.php?mod=space&username=%E5%BC%A0%E4%B8%89",
            ("user", B, None, None, None, None, None, None, "张三", None, False),
        ),
        (B + "forum.php", ("index", B, None, None, None, None, None, None, None, None, False)),
        (B, ("index", B, None, None, None, None, None, None, None, None, False)),
        (B + "index.php", ("index", B, None, None, None, None, None, None, None, None, False)),
        (B + "misc.php?mod=faq", ("other", B, None, None, None, None, None, None, None, None, False)),
        (
            "http://forum.test/d72/viewthread.php?tid=5&extra=page%3D1&page=2",
            ("thread", "http://forum.test/d72/", 5, None, None, None, None, None, None, 2, False),
        ),
        (
            "http://forum.test/d72/forumdisplay.php?fid=4&page=6",
            ("board", "http://forum.test/d72/", None, None, 4, None, None, None, None, 6, False),
        ),
        (
            "http://forum.test/d72/redirect.php?goto=findpost&pid=88&ptid=5",
            ("post", "http://forum.test/d72/", 5, 88, None, None, None, None, None, None, False),
        ),
        (
            "http://forum.test/d72/redirect.php?tid=5&goto=lastpost",
            ("thread", "http://forum.test/d72/", 5, None, None, None, None, None, None, None, False),
        ),
        (
            "http://forum.test/d72/space.php?uid=9",
            ("user", "http://forum.test/d72/", None, None, None, None, None, 9, None, None, False),
        ),
        (
            "  http://forum.test/bbs/forum.php?mod=viewthread&tid=3  ",
            ("thread", B, 3, None, None, None, None, None, None, None, False),
        ),
    ],
)
def test_parse_url(url, expected):
    assert ids(url) == expected


def test_gbk_usernames_in_query_and_rewrite():
    assert (
        parse_url("http://forum.test/home.php?mod=space&username=%D5%C5%C8%FD", charset="gbk").username
        == "张三"
    )
    assert parse_url("http://forum.test/space-username-%D5%C5%C8%FD.html", charset="gbk").username == "张三"


@pytest.mark.parametrize(
    "junk", ["", "hello", "forum.test/forum.php", "ftp://forum.test/", "http://", "javascript:x"]
)
def test_junk_url_raises(junk):
    with pytest.raises(DiscuzError) as info:
        parse_url(junk)
    assert "not an absolute http(s) URL" in str(info.value)


def test_non_string_url_raises():
    with pytest.raises(DiscuzError, match="must be a string, not int"):
        parse_url(123)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("given", "base"),
    [
        ("forum.test", "https://forum.test/"),
        ("http://forum.test/bbs", "http://forum.test/bbs/"),
        ("http://forum.test/bbs/forum.php?mod=index", "http://forum.test/bbs/"),
        ("https://forum.test/bbs/archiver/?tid-1.html", "https://forum.test/bbs/"),
        (" http://forum.test/bbs/api/mobile/index.php?version=4 ", "http://forum.test/bbs/"),
    ],
)
def test_normalize_base(given, base):
    assert normalize_base(given) == base


@pytest.mark.parametrize("junk", ["", "   ", "ftp://forum.test/"])
def test_normalize_base_rejects(junk):
    with pytest.raises(DiscuzError):
        normalize_base(junk)


def test_site_base_of_sub_apps():
    assert site_base(B + "m/?a=index") == B
    assert site_base(B + "thread-1-1-1.html") == B


def test_builders():
    assert thread_url(B, 3) == B + "forum.php?mod=viewthread&tid=3&page=1"
    assert thread_url(B, 3, 2, legacy=True) == B + "viewthread.php?tid=3&page=2"
    assert board_url(B, 2, 5) == B + "forum.php?mod=forumdisplay&fid=2&page=5"
    assert board_url(B, "tea") == B + "forum.php?mod=forumdisplay&fid=tea&page=1"
    assert board_url(B, 4, legacy=True) == B + "forumdisplay.php?fid=4&page=1"
    assert user_url(B, 5) == B + "home.php?mod=space&uid=5&do=profile"
    assert user_url(B, 5, profile=False) == B + "home.php?mod=space&uid=5"
    assert findpost_url(B, 3, 19) == B + "forum.php?mod=redirect&goto=findpost&ptid=3&pid=19"
    assert index_url(B) == B + "forum.php"
    assert archiver_thread_url(B, 3) == B + "archiver/?tid-3.html"
    assert archiver_thread_url(B, 3, 2) == B + "archiver/?tid-3.html&page=2"
    assert api_url(B, "viewthread", tid=3, page=2) == (
        B + "api/mobile/index.php?version=4&module=viewthread&tid=3&page=2"
    )
    assert thread_url("http://forum.test/bbs", 1) == B + "forum.php?mod=viewthread&tid=1&page=1"


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: thread_url("forum.test", 1), "absolute http(s) URL"),
        (lambda: thread_url(B, 0), "tid must be a positive integer, got 0"),
        (lambda: thread_url(B, 1, page=-1), "page must be a positive integer, got -1"),
        (lambda: board_url(B, "a b"), "not a board id or alias: 'a b'"),
        (lambda: user_url(B, True), "uid must be a positive integer, got True"),
        (lambda: findpost_url(B, 3, 0), "pid must be a positive integer"),
        (lambda: index_url("/relative/"), "absolute http(s) URL"),
    ],
)
def test_builders_reject_bad_input(call, message):
    with pytest.raises(DiscuzError, match=message.replace("(", r"\(").replace(")", r"\)")):
        call()


_QUERY_PARTS = st.sampled_from(
    ["mod", "tid", "a", "=", "&", "+", "%", "%2F", "%3D", "%E4%B8%AD", "%D5%C5", "%Z", "%4", "é", "中", " ",
     ";"]
)


@settings(max_examples=500, deadline=None)
@given(st.lists(_QUERY_PARTS, max_size=14).map("".join), st.sampled_from(["utf-8", "gb18030", "big5hkscs"]))
def test_query_values_equal_parse_qs_last_values(query: str, codec: str) -> None:
    expected = {k: v[-1] for k, v in parse_qs(query, keep_blank_values=True, encoding=codec).items()}
    found = _query_values(query, codec)
    assert found == expected
    assert list(found) == list(expected)
