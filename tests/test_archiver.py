"""Archiver parsers (``parsers/archiver.py``) against ``fixtures/archiver``."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from discuz_scraper.errors import NotDiscuz, NotFound
from discuz_scraper.models import Author, Board
from discuz_scraper.parsers.archiver import (
    parse_archiver_board_page,
    parse_archiver_index,
    parse_archiver_thread_page,
)
from discuz_scraper.parsers.thread import build_thread

ROOT = Path(__file__).resolve().parent.parent / "fixtures"
FIXTURES = ROOT / "archiver"
CST = timezone(timedelta(hours=8))
ARCH35 = "http://forum.test/bbs/archiver/"


def load(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def test_thread_page_one_x35() -> None:
    page = parse_archiver_thread_page(load("x35_tid2001_p1.html"), ARCH35 + "?tid-2001.html")
    assert (page.tid, page.fid, page.board_name, page.title) == (
        2001,
        3,
        "徒步路线",
        "周末徒步：青龙峡环线实测",
    )
    assert (page.page, page.page_count, page.source) == (1, 3, "archiver")
    assert (page.views, page.replies, page.closed) == (None, None, None)
    assert [(p.author.name, p.created_at) for p in page.posts] == [
        ("山猫", datetime(2026, 11, 2, 20, 14, 2, tzinfo=CST)),
        ("行者无疆", datetime(2026, 11, 3, 7, 55, 40, tzinfo=CST)),
        ("背包客阿杰", datetime(2026, 11, 3, 9, 12, 5, tzinfo=CST)),
        ("小雨", datetime(2026, 11, 4, 21, 48, 30, tzinfo=CST)),
        ("山猫", datetime(2026, 11, 5, 8, 3, 17, tzinfo=CST)),
    ]
    first = page.posts[0]
    # No pid, uid, floor, images or attachments in the archiver: absent, not guessed.
    assert (first.pid, first.author.uid, first.floor, first.floor_label) == (None, None, None, None)
    assert (first.images, first.attachments, first.permalink) == ([], [], None)
    assert first.text == (
        "上周六走了一趟青龙峡环线，全程 14 公里，累计爬升 820 米。\n"
        "https://pic.example.net/hike/qinglong-01.jpg\n"
        "路况整体不错，最后两公里碎石较多。"
    )
    assert [p.is_first for p in page.posts] == [True, False, False, False, False]
    assert {(p.source, p.page, p.status) for p in page.posts} == {("archiver", 1, "normal")}


def test_thread_last_page_reads_span_titles() -> None:
    page = parse_archiver_thread_page(load("x35_tid2001_p3.html"), ARCH35 + "?tid-2001.html&page=3")
    assert (page.page, page.page_count) == (3, 3)
    assert [(p.author.name, p.created_at, p.text, p.is_first) for p in page.posts] == [
        ("小雨", datetime(2026, 11, 24, 8, 0, tzinfo=CST), "谢谢大家，下周去试试。", False),
        (
            "行者无疆",
            datetime(2026, 11, 24, 19, 2, 11, tzinfo=CST),
            "【版主提示】景区自 12 月起冬季封山，出发前请查看公告。",
            False,
        ),
        ("山猫", datetime(2026, 11, 25, 15, 41, 27, tzinfo=CST), "帖子已关闭，有问题请私信。", False),
    ]


def test_thread_x34_gbk_header_only_charset_and_body_variants() -> None:
    raw = load("x34_tid1004.html")
    assert b"charset" not in raw.split(b"</head>")[0]
    page = parse_archiver_thread_page(
        raw, "http://forum.test/archiver/?tid-1004.html", content_type="text/html; charset=gbk"
    )
    assert (page.tid, page.fid, page.board_name, page.title) == (1004, 2, "手工艺分享", "被屏蔽帖子样例合集")
    assert (page.page, page.page_count) == (1, 1)
    assert [(p.author.name, p.status, p.text, p.subject, p.hidden_content) for p in page.posts] == [
        ("竹影清风", "normal", "这里收集各种被屏蔽的帖子样例。", None, True),
        ("石头记", "masked", None, None, False),  # banned author: the archiver prints no body
        ("老木匠", "masked", None, None, False),  # blocked post: same, indistinguishable
        ("青竹", "normal", "", None, False),  # password post: printed empty
        ("老木匠", "normal", "顶", "回复：收集样例", False),
        (None, "normal", "不方便留名，<支持>一下 & 顶", None, False),
        ("青竹", "normal", "最后一楼正常。", None, False),
    ]
    assert page.posts[5].author == Author(is_anonymous=True)
    assert page.posts[1].created_at == datetime(2026, 11, 10, 9, 0, tzinfo=CST)


def test_build_thread_keeps_every_pidless_post() -> None:
    first = parse_archiver_thread_page(load("x35_tid2001_p1.html"), ARCH35 + "?tid-2001.html")
    last = parse_archiver_thread_page(load("x35_tid2001_p3.html"), ARCH35 + "?tid-2001.html&page=3")
    thread = build_thread([first, last])
    assert len(thread.posts) == 8
    assert [p.author.name for p in thread.posts][-3:] == ["小雨", "行者无疆", "山猫"]
    assert (thread.title, thread.page_count, thread.author) == (
        "周末徒步：青龙峡环线实测",
        3,
        Author(name="山猫"),
    )


def test_board_page() -> None:
    board = parse_archiver_board_page(load("x35_fid3.html"), ARCH35 + "?fid-3.html")
    assert (board.fid, board.name, board.page, board.page_count, board.past_the_end) == (
        3,
        "徒步路线",
        1,
        118,
        False,
    )
    assert (board.thread_count, board.today_posts, board.source) == (None, None, "archiver")
    assert board.sub_boards == [Board(fid=8, name="装备讨论", url=ARCH35 + "?fid-8.html", source="archiver")]
    assert [(r.tid, r.title, r.replies, r.url) for r in board.rows] == [
        (2003, "分区公告：出行安全须知", 3, ARCH35 + "?tid-2003.html"),
        (2008, "全站置顶：冬季封山时间表", 0, ARCH35 + "?tid-2008.html"),
        (2001, "周末徒步：青龙峡环线实测", 12, ARCH35 + "?tid-2001.html"),
        (2002, "你最喜欢的徒步季节是？", 9, ARCH35 + "?tid-2002.html"),
        (2005, "高清轨迹合集（售价帖）", 4, ARCH35 + "?tid-2005.html"),
    ]
    row = board.rows[2]
    assert (row.fid, row.author, row.created_at, row.views, row.source) == (3, None, None, None, "archiver")


def test_board_page_asked_past_the_end() -> None:
    board = parse_archiver_board_page(load("x35_fid3.html"), ARCH35 + "?fid-3.html&page=200")
    assert (board.page, board.requested_page, board.past_the_end) == (1, 200, True)


def test_index() -> None:
    index = parse_archiver_index(load("x35_index.html"), ARCH35)
    assert (index.site_name, index.source, index.stats) == ("山间小站", "archiver", None)
    assert [(c.gid, c.name, c.url, [(b.fid, b.name, b.url) for b in c.boards]) for c in index.categories] == [
        (
            None,
            "户外",
            None,
            [(3, "徒步路线", ARCH35 + "?fid-3.html"), (7, "求助问答", ARCH35 + "?fid-7.html")],
        ),
        (None, "资源区", None, [(5, "资源分享", ARCH35 + "?fid-5.html")]),
    ]


def test_error_notice_raises_its_typed_error() -> None:
    url = ARCH35 + "?tid-9999.html"
    with pytest.raises(NotFound) as info:
        parse_archiver_thread_page(load("x35_tid9999_missing.html"), url)
    assert (info.value.key, info.value.site_message, info.value.url) == (
        "thread_nonexistence",
        "抱歉，指定的主题不存在或已被删除或正在被审核",
        url,
    )


def test_a_desktop_page_is_not_an_archiver_page() -> None:
    desktop = (ROOT / "thread" / "x35" / "t2001-p1.html").read_bytes()
    with pytest.raises(NotDiscuz) as info:
        parse_archiver_thread_page(desktop, ARCH35 + "?tid-2001.html")
    assert info.value.message == "not an archiver page (no 'Archiver' in the title or header)"
