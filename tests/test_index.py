"""Forum index and category pages: both board layouts, stats, online counts, skipped blocks."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from discuz_scraper.errors import LoginRequired, NotDiscuz, ParseError
from discuz_scraper.models import Board, ForumStats
from discuz_scraper.parsers.index import parse_forum_index, query_int
from discuz_scraper.urls import parse_url

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
CST = timezone(timedelta(hours=8))
X34_INDEX = "http://forum.test/forum.php"
X35_INDEX = "http://forum.test/bbs/forum.php"


def _raw(kind: str, name: str) -> bytes:
    return (FIXTURES / kind / name).read_bytes()


def _gbk(kind: str, name: str) -> str:
    return _raw(kind, name).decode("gb18030")


def _boards(index_boards: list[Board]) -> dict[int | str | None, Board]:
    return {board.fid if board.fid is not None else board.alias: board for board in index_boards}


def test_x34_row_layout_categories_skip_favourites_and_collections() -> None:
    index = parse_forum_index(_raw("index", "x34_index.html"), X34_INDEX)
    assert index.site_name == "竹林茶社"
    assert index.gid is None
    assert [(c.gid, c.name, c.url) for c in index.categories] == [
        (1, "生活百科", "http://forum.test/forum.php?gid=1"),
        (4, "友情链接", "http://forum.test/forum.php?gid=4"),
    ]
    assert index.categories[0].moderators == ["admin"]
    assert index.categories[1].moderators == []
    assert [b.fid for b in index.categories[0].boards] == [2, 5, 6]


def test_x34_board_row_with_subboard_moderators_and_dnumber_posts() -> None:
    board = parse_forum_index(_raw("index", "x34_index.html"), X34_INDEX).categories[0].boards[0]
    assert board == Board(
        fid=2,
        name="手工艺分享",
        url="http://forum.test/forum.php?mod=forumdisplay&fid=2",
        description="竹编、木作、布艺，动手做点什么",
        icon_url=None,
        threads=32,
        posts=12345,
        today_posts=5,
        moderators=["版主甲", "版主乙"],
        last_post_subject="自制竹编灯罩的全过程记录（附图纸）",
        last_post_tid=1001,
        last_post_at=datetime(2026, 11, 25, 20, 35, tzinfo=CST),
        last_poster="版主甲",
        sub_boards=[Board(fid=9, name="新人报到", url="http://forum.test/forum.php?mod=forumdisplay&fid=9")],
    )


def test_x34_private_never_posted_and_redirect_boards() -> None:
    index = parse_forum_index(_raw("index", "x34_index.html"), X34_INDEX)
    boards = _boards(index.categories[0].boards + index.categories[1].boards)
    private = boards[5]
    assert (private.name, private.is_private, private.threads, private.posts) == ("内部讨论", True, 88, 410)
    assert (private.last_post_tid, private.last_post_at, private.today_posts) == (None, None, 0)
    never = boards[6]
    assert never.url == "http://forum.test/forum-6-1.html"
    assert never.icon_url == "http://forum.test/data/attachment/common/c8/common_6_icon.png"
    assert (never.threads, never.posts, never.last_post_subject, never.last_poster) == (0, 0, None, None)
    assert (never.is_private, never.is_redirect) == (False, False)
    redirect = boards[11]
    assert (redirect.name, redirect.is_redirect, redirect.description) == ("官方网站", True, "跳转到项目主页")
    assert (redirect.threads, redirect.posts, redirect.today_posts) == (None, None, None)


def test_x34_stats_and_online_with_invisible_members() -> None:
    index = parse_forum_index(_raw("index", "x34_index.html"), X34_INDEX)
    assert index.stats == ForumStats(
        today_posts=12,
        yesterday_posts=30,
        posts=56789,
        members=4321,
        newest_member="新手小王",
        online_total=321,
        online_members=21,
        online_guests=300,
        online_invisible=2,
        online_record=4567,
        online_record_at=datetime(2023, 1, 2, tzinfo=CST),
    )


def test_gbk_bytes_and_decoded_text_give_the_same_index() -> None:
    assert parse_forum_index(_raw("index", "x34_index.html"), X34_INDEX) == parse_forum_index(
        _gbk("index", "x34_index.html"), X34_INDEX
    )


def test_x35_column_layout() -> None:
    index = parse_forum_index(_raw("index", "x35_index.html"), X35_INDEX)
    assert index.site_name == "山间小站"
    assert [(c.gid, c.name, c.moderators) for c in index.categories] == [
        (2, "户外", []),
        (4, "资源区", ["阿明"]),
    ]
    boards = _boards(index.categories[0].boards + index.categories[1].boards)
    assert boards[3] == Board(
        fid=3,
        name="徒步路线",
        url="http://forum.test/bbs/forum.php?mod=forumdisplay&fid=3",
        threads=2345,
        posts=123456,
        today_posts=7,
        last_post_subject="周末徒步：青龙峡环线实测",
        last_post_tid=2001,
        last_post_at=datetime(2026, 11, 25, 19, 48, tzinfo=CST),
        last_poster="阿明",
    )
    never = boards[7]
    assert never.icon_url == "http://forum.test/bbs/data/attachment/common/8f/common_7_icon.png"
    assert (never.threads, never.posts, never.today_posts, never.last_post_tid) == (0, 0, 0, None)


def test_x35_alias_board_in_three_column_mode_has_time_but_no_subject() -> None:
    index = parse_forum_index(_raw("index", "x35_index.html"), X35_INDEX)
    board = _boards(index.categories[1].boards)["share"]
    assert (board.fid, board.alias, board.url) == (None, "share", "http://forum.test/bbs/forum-share-1.html")
    assert (board.threads, board.posts, board.today_posts) == (10240, 98765, 2)
    assert (board.last_post_tid, board.last_post_subject, board.last_poster) == (2005, None, None)
    assert board.last_post_at == datetime(2026, 11, 24, 18, 20, tzinfo=CST)


def test_x35_online_without_invisible_count() -> None:
    stats = parse_forum_index(_raw("index", "x35_index.html"), X35_INDEX).stats
    assert stats is not None
    assert (stats.today_posts, stats.yesterday_posts, stats.posts, stats.members) == (7, 19, 130211, 2048)
    assert (stats.newest_member, stats.online_total, stats.online_members, stats.online_guests) == (
        "阿树", 58, 6, 52
    )
    assert (stats.online_invisible, stats.online_record) == (None, 880)
    assert stats.online_record_at == datetime(2025, 6, 18, tzinfo=CST)


def test_category_page_has_one_category_and_no_stats() -> None:
    url = "http://forum.test/forum.php?gid=1"
    index = parse_forum_index(_raw("index", "x34_category_gid1.html"), url)
    assert index.gid == 1
    assert [(c.gid, c.name) for c in index.categories] == [(1, "生活百科")]
    assert [(b.fid, b.name) for b in index.categories[0].boards] == [
        (2, "手工艺分享"), (5, "内部讨论"), (6, "站务公告")
    ]
    assert index.stats is None


def test_board_urls_are_absolute_and_parse_back_to_their_fid() -> None:
    index = parse_forum_index(_raw("index", "x34_index.html"), X34_INDEX)
    boards = [b for c in index.categories for b in c.boards]
    boards += [s for b in boards for s in b.sub_boards]
    assert [(parse_url(b.url).kind, parse_url(b.url).fid) for b in boards] == [
        ("board", 2), ("board", 5), ("board", 6), ("board", 11), ("board", 9)
    ]


def test_relative_time_without_title_uses_now() -> None:
    titled = '<span title="2026-11-25 20:35">半小时前</span>'
    html = _gbk("index", "x34_index.html").replace(titled, "半小时前")
    now = datetime(2026, 11, 25, 14, 0, tzinfo=timezone.utc)  # 22:00 on the page's GMT+8 clock
    board = parse_forum_index(html, X34_INDEX, now=now).categories[0].boards[0]
    assert board.last_post_at == datetime(2026, 11, 25, 21, 30, tzinfo=CST)


def test_page_without_footer_offset_uses_default_tz() -> None:
    html = _gbk("index", "x34_index.html").replace("GMT+8, 2026-11-25 21:05", "2026-11-25 21:05")
    board = parse_forum_index(html, X34_INDEX, default_tz=timezone.utc).categories[0].boards[0]
    assert board.last_post_at == datetime(2026, 11, 25, 20, 35, tzinfo=timezone.utc)


def test_board_page_given_to_index_parser_is_a_parse_error() -> None:
    with pytest.raises(ParseError, match=r"div#category_N"):
        parse_forum_index(_raw("board", "x34_forum2_p2.html"), "http://forum.test/forum.php?mod=forumdisplay&fid=2")


def test_non_discuz_page_is_rejected() -> None:
    with pytest.raises(NotDiscuz):
        parse_forum_index("<html><head><title>Hello</title></head><body><p>hi</p></body></html>", X34_INDEX)


def test_login_notice_raises_login_required() -> None:
    with pytest.raises(LoginRequired) as info:
        parse_forum_index(_raw("profile", "x34_login_required.html"), X34_INDEX)
    assert info.value.url == X34_INDEX


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("forum.php?mod=forumdisplay&fid=2&filter=typeid&typeid=7", 7),
        ("forum.php?typeid=1&typeid=9", 9),  # the last of repeated names, as parse_qs keeps it
        ("forum.php?typeid=&x=1", None),
        ("forum.php?type%69d=4", 4),
        ("http://[bad/forum.php?typeid=3", None),  # malformed host: no usable id, not a ValueError
        (None, None),
    ],
)
def test_query_int(url: str | None, expected: int | None) -> None:
    assert query_int(url, "typeid") == expected
