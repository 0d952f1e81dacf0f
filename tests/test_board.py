"""Board pages (forumdisplay): header, sub-boards, types, paging traps and every row variant."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from discuz_scraper.errors import ParseError
from discuz_scraper.models import Author, Board, Breadcrumb, ThreadSummary, ThreadType
from discuz_scraper.parsers.board import parse_board_page
from discuz_scraper.urls import parse_url

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "board"
CST = timezone(timedelta(hours=8))
P1_URL = "http://forum.test/forum-2-1.html"
P2_URL = "http://forum.test/forum.php?mod=forumdisplay&fid=2&page=2"
P9_URL = "http://forum.test/forum.php?mod=forumdisplay&fid=2&page=9"
TYPE_URL = "http://forum.test/forum.php?mod=forumdisplay&fid=2&filter=typeid&typeid=1"
X35_URL = "http://forum.test/bbs/forum-3-1.html"


def _raw(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def _rows(name: str, url: str) -> dict[int, ThreadSummary]:
    return {row.tid: row for row in parse_board_page(_raw(name), url).rows}


def _thread(tid: int) -> str:
    return f"http://forum.test/forum.php?mod=viewthread&tid={tid}&extra=page%3D1"


def test_x34_board_header() -> None:
    page = parse_board_page(_raw("x34_forum2_p1.html"), P1_URL)
    assert (page.fid, page.name, page.url) == (2, "手工艺分享", P1_URL)
    assert (page.today_posts, page.thread_count) == (5, 32)
    assert page.moderators == ["版主甲", "版主乙"]
    assert page.rules_html == "请文明发言，<strong>禁止</strong>发布广告。"
    assert page.breadcrumb == [
        Breadcrumb(name="竹林茶社", url="http://forum.test/", kind="home"),
        Breadcrumb(name="论坛", url="http://forum.test/forum.php", kind="forum_index"),
        Breadcrumb(name="生活百科", url="http://forum.test/forum.php?gid=1", kind="category", id=1),
        Breadcrumb(
            name="手工艺分享", url="http://forum.test/forum.php?mod=forumdisplay&fid=2", kind="board", id=2
        ),
    ]
    assert page.thread_types == [
        ThreadType(id=1, name="讨论", count=20),
        ThreadType(id=2, name="求助", count=6),
        ThreadType(id=3, name="公告", count=2),
    ]
    assert page.filter_type_id is None


def test_x34_page_one_paging_from_autopbn() -> None:
    page = parse_board_page(_raw("x34_forum2_p1.html"), P1_URL)
    assert (page.page, page.requested_page, page.page_count, page.past_the_end) == (1, 1, 2, False)


def test_x34_sub_board_table_uses_the_index_row_parser() -> None:
    page = parse_board_page(_raw("x34_forum2_p1.html"), P1_URL)
    assert page.sub_boards == [
        Board(
            fid=9,
            name="新人报到",
            url="http://forum.test/forum.php?mod=forumdisplay&fid=9",
            description="新会员请来这里打个招呼",
            threads=15,
            posts=40,
            today_posts=0,
            last_post_subject="大家好，我是新来的",
            last_post_tid=1020,
            last_post_at=datetime(2026, 11, 24, 10, 2, tzinfo=CST),
            last_poster="新手小王",
        )
    ]


def test_x34_rows_skip_announcement_and_both_separators() -> None:
    page = parse_board_page(_raw("x34_forum2_p1.html"), P1_URL)
    assert [row.tid for row in page.rows] == [1050, 1003, 1001, 1010, 1077, 1012, 1013, 1014, 1015, 1016]


def test_global_sticky_from_another_board_with_highlight() -> None:
    assert _rows("x34_forum2_p1.html", P1_URL)[1050] == ThreadSummary(
        tid=1050,
        fid=None,
        title="全站通知：服务器迁移安排",
        url=_thread(1050),
        highlight="font-weight: bold;color: #EE1B2E;",
        sticky=3,
        closed=False,
        author=Author(uid=1, name="admin"),
        created_at=datetime(2026, 10, 1, tzinfo=CST),
        replies=12,
        views=3456,
        last_poster="竹影清风",
        last_post_at=datetime(2026, 11, 20, 9, 15, tzinfo=CST),
        page_count=1,
    )


def test_closed_board_sticky_reads_level_from_link_title_and_digest() -> None:
    row = _rows("x34_forum2_p1.html", P1_URL)[1003]
    assert (row.fid, row.sticky, row.closed, row.digest) == (2, 1, True, 2)
    assert (row.type_name, row.type_id, row.title) == ("公告", 3, "版规（发帖前请先阅读）")
    assert (row.replies, row.views) == (0, 2210)


def test_normal_row_tid_1001() -> None:
    assert _rows("x34_forum2_p1.html", P1_URL)[1001] == ThreadSummary(
        tid=1001,
        fid=2,
        title="自制竹编灯罩的全过程记录（附图纸）",
        url=_thread(1001),
        type_name="讨论",
        type_id=1,
        closed=False,
        has_image=True,
        has_attachment=True,
        author=Author(uid=5, name="竹影清风"),
        created_at=datetime(2026, 11, 25, tzinfo=CST),
        replies=11,
        views=4567,
        last_poster="版主甲",
        last_post_at=datetime(2026, 11, 25, 20, 35, tzinfo=CST),
        page_count=3,
    )


def test_poll_with_file_attachment_and_digest() -> None:
    row = _rows("x34_forum2_p1.html", P1_URL)[1010]
    assert (row.special, row.digest, row.has_attachment, row.has_image) == ("poll", 1, True, False)
    assert row.created_at == datetime(2026, 11, 22, tzinfo=CST)
    assert row.last_post_at == datetime(2026, 11, 24, 22, 10, tzinfo=CST)


def test_moved_thread_links_to_new_tid_with_unknown_counts() -> None:
    rows = _rows("x34_forum2_p1.html", P1_URL)
    assert 1011 not in rows
    row = rows[1077]
    assert (row.moved, row.closed, row.title, row.url) == (True, True, "旧帖已迁往站务公告", _thread(1077))
    assert (row.replies, row.views) == (None, None)
    assert row.author == Author(uid=7, name="老王")


def test_anonymous_author_read_perm_price_and_type_icon() -> None:
    row = _rows("x34_forum2_p1.html", P1_URL)[1012]
    assert row.author == Author(is_anonymous=True)
    assert (row.read_perm, row.price, row.reward) == (50, 5, None)
    assert (row.type_name, row.type_id, row.highlight) == ("求助", 2, "color: #2897C5;")
    assert row.title == "付费教程：路由器刷机全过程"


def test_special_thread_kinds_and_reward() -> None:
    rows = _rows("x34_forum2_p1.html", P1_URL)
    assert [(tid, rows[tid].special) for tid in (1013, 1014, 1015, 1016)] == [
        (1013, "reward"), (1014, "activity"), (1015, "trade"), (1016, "debate")
    ]
    assert (rows[1013].reward, rows[1013].price) == (20, None)
    assert (rows[1016].page_count, rows[1016].replies) == (9, 85)


def test_row_urls_parse_back_to_their_tid() -> None:
    page = parse_board_page(_raw("x34_forum2_p1.html"), P1_URL)
    assert all(parse_url(row.url).tid == row.tid for row in page.rows)
    assert parse_url(page.url).fid == page.fid


def test_gbk_bytes_and_decoded_text_give_the_same_page() -> None:
    raw = _raw("x34_forum2_p1.html")
    assert parse_board_page(raw, P1_URL) == parse_board_page(raw.decode("gb18030"), P1_URL)


def test_last_page_without_autopbn() -> None:
    page = parse_board_page(_raw("x34_forum2_p2.html"), P2_URL)
    assert (page.page, page.requested_page, page.page_count, page.past_the_end) == (2, 2, 2, False)
    assert [row.tid for row in page.rows] == [1030, 1031]
    assert page.sub_boards == []
    assert page.rows[1].author == Author(uid=60, name="新手小王")
    assert page.rows[0].last_post_at == datetime(2026, 9, 2, 7, 40, tzinfo=CST)


def test_past_the_end_request_is_answered_with_page_one() -> None:
    page = parse_board_page(_raw("x34_forum2_p9.html"), P9_URL)
    assert (page.page, page.requested_page, page.past_the_end) == (1, 9, True)
    assert [row.tid for row in page.rows] == [1050, 1001]


def test_type_filter_page() -> None:
    page = parse_board_page(_raw("x34_forum2_type1.html"), TYPE_URL)
    assert page.filter_type_id == 1
    assert (page.page, page.page_count, page.past_the_end) == (1, 1, False)
    assert [(row.tid, row.type_name) for row in page.rows] == [(1001, "讨论"), (1030, "讨论")]


def test_x2_markup_table_without_id_and_plain_xst_links() -> None:
    html = _raw("x34_forum2_p2.html").decode("gb18030")
    html = html.replace(' id="threadlisttableid"', "").replace('class="s xst"', 'class="xst"')
    assert "threadlisttableid" not in html
    page = parse_board_page(html, P2_URL)
    assert (page.fid, [(row.tid, row.title) for row in page.rows]) == (
        2, [(1030, "老帖：显示器推荐"), (1031, "第一次发帖，请多关照")]
    )


def test_x35_header_and_paging() -> None:
    page = parse_board_page(_raw("x35_forum3_p1.html"), X35_URL)
    assert (page.fid, page.name, page.today_posts, page.thread_count) == (3, "徒步路线", 7, 2345)
    assert (page.page, page.page_count, page.moderators) == (1, 118, ["阿明"])
    assert page.breadcrumb[-1] == Breadcrumb(
        name="徒步路线", url="http://forum.test/bbs/forum-3-1.html", kind="board", id=3
    )
    assert page.thread_types == [ThreadType(id=11, name="经验", count=40)]
    assert [row.tid for row in page.rows] == [2003, 2001, 2002]


def test_x35_icons() -> None:
    rows = _rows("x35_forum3_p1.html", X35_URL)
    sticky = rows[2003]
    assert (sticky.sticky, sticky.fid, sticky.digest, sticky.closed) == (2, None, 1, None)
    poll = rows[2002]
    assert (poll.special, poll.closed, poll.type_name, poll.type_id) == ("poll", True, "经验", 11)
    assert poll.created_at == datetime(2026, 11, 19, tzinfo=CST)
    assert poll.last_post_at == datetime(2026, 11, 19, 8, 5, tzinfo=CST)


def test_x35_row_tid_2001_closed_is_unknown_without_a_lock_icon() -> None:
    assert _rows("x35_forum3_p1.html", X35_URL)[2001] == ThreadSummary(
        tid=2001,
        fid=3,
        title="周末徒步：青龙峡环线实测",
        url="http://forum.test/bbs/forum.php?mod=viewthread&tid=2001&extra=page%3D1",
        closed=None,
        has_image=True,
        has_attachment=True,
        author=Author(uid=21, name="山猫"),
        created_at=datetime(2026, 11, 8, tzinfo=CST),
        replies=12,
        views=9876,
        last_poster="阿明",
        last_post_at=datetime(2026, 11, 25, 19, 48, tzinfo=CST),
        page_count=3,
    )


_THREAD_PAGE = """<!DOCTYPE html><html><head><meta charset="utf-8" />
<title>某帖 - 手工艺分享 - 竹林茶社 - Powered by Discuz!</title>
<meta name="generator" content="Discuz! X3.4" /><base href="http://forum.test/" /></head>
<body><div id="postlist" class="pl bm"><div id="post_1">
<table id="pid1"><tr><td>正文</td></tr></table></div></div>
<div id="ft"><p class="xs0">GMT+8, 2026-11-25 21:05</p></div></body></html>"""


def test_thread_page_given_to_board_parser_is_a_parse_error() -> None:
    with pytest.raises(ParseError, match=r"table#threadlisttableid") as info:
        parse_board_page(_THREAD_PAGE, "http://forum.test/thread-1001-1-1.html")
    assert info.value.url == "http://forum.test/thread-1001-1-1.html"


def test_row_without_title_link_is_a_parse_error_naming_the_row() -> None:
    html = _raw("x34_forum2_p1.html").decode("gb18030")
    html = html.replace('onclick="atarget(this)" class="s xst">版规', 'onclick="atarget(this)">版规')
    with pytest.raises(ParseError, match=r"stickthread_1003"):
        parse_board_page(html, P1_URL)
