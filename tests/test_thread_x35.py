"""Thread 2001 on the X3.5 UTF-8 fixture site under /bbs/: closed, hot and sticky replies."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from discuz_scraper.models import Image, ThreadPage
from discuz_scraper.parsers.thread import build_thread, parse_thread_page

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "thread" / "x35"
CST = timezone(timedelta(hours=8))
BASE = "http://forum.test/bbs/"


def load(page: int) -> ThreadPage:
    html = (FIXTURES / f"t2001-p{page}.html").read_text(encoding="utf-8")
    return parse_thread_page(html, f"{BASE}forum.php?mod=viewthread&tid=2001&extra=&page={page}")


@pytest.fixture(scope="module")
def pages() -> list[ThreadPage]:
    return [load(1), load(2), load(3)]


def test_page_one_metadata(pages: list[ThreadPage]) -> None:
    p1 = pages[0]
    assert (p1.tid, p1.fid, p1.page, p1.page_count) == (2001, 3, 1, 3)
    assert (p1.title, p1.board_name) == ("周末徒步：青龙峡环线实测", "徒步路线")
    assert (p1.views, p1.replies, p1.closed) == (9876, 12, True)
    assert [(c.kind, c.id, c.url) for c in p1.breadcrumb] == [
        ("home", None, BASE),
        ("forum_index", None, BASE + "forum.php"),
        ("category", 2, BASE + "forum.php?gid=2"),
        ("board", 3, BASE + "forum.php?mod=forumdisplay&fid=3"),
        ("thread", 2001, BASE + "forum.php?mod=viewthread&tid=2001"),
    ]


def test_later_pages(pages: list[ThreadPage]) -> None:
    assert [(p.page, p.page_count, p.views, p.replies, p.closed) for p in pages[1:]] == [
        (2, 3, None, None, True),
        (3, 3, None, None, True),
    ]


def test_page_one_order_with_hot_and_sticky(pages: list[ThreadPage]) -> None:
    rows = [(p.pid, p.floor, p.floor_label, p.is_hot, p.is_sticky, p.is_first) for p in pages[0].posts]
    assert rows == [
        (7101, 1, "楼主", False, False, True),
        (7107, None, "推荐", True, False, False),
        (7112, 12, "来自 12#", False, True, False),
        (7102, 2, "沙发", False, False, False),
        (7103, 3, "板凳", False, False, False),
        (7104, 4, "地板", False, False, False),
        (7105, 5, "5#", False, False, False),
    ]


def test_first_post(pages: list[ThreadPage]) -> None:
    post = pages[0].posts[0]
    assert post.created_at == datetime(2026, 11, 2, 20, 14, 2, tzinfo=CST)
    assert post.images == [Image(url="https://pic.example.net/hike/qinglong-01.jpg", kind="remote")]
    assert (
        post.text
        == "上周六走了一趟青龙峡环线，全程 14 公里，累计爬升 820 米。\n\n路况整体不错，最后两公里碎石较多。"
    )
    author = post.author
    assert (author.uid, author.name, author.group, author.group_id) == (21, "山猫", "中级会员", 12)
    assert author.avatar_url == BASE + "uc_server/avatar.php?uid=21&size=middle"
    assert author.stats == {"主题": 8, "回帖": 96, "积分": 455}
    assert (author.threads, author.posts, author.replies, author.credits) == (8, None, 96, 455)


def test_span_titled_times_and_dnumber(pages: list[ThreadPage]) -> None:
    hot = pages[0].posts[1]
    assert hot.created_at == datetime(2026, 11, 21, 17, 29, 20, tzinfo=CST)
    assert (hot.author.uid, hot.author.name) == (23, "小雨")
    sticky = pages[0].posts[2]
    assert sticky.created_at == datetime(2026, 11, 24, 19, 2, 11, tzinfo=CST)
    assert sticky.author.stats == {"主题": 31, "回帖": 10240, "积分": 30517}
    assert sticky.permalink == BASE + "forum.php?mod=redirect&goto=findpost&ptid=2001&pid=7112"
    last = pages[2].posts[-1]
    assert last.created_at == datetime(2026, 11, 25, 15, 41, 27, tzinfo=CST)


def test_build_thread_dedupes_hot_and_sticky(pages: list[ThreadPage]) -> None:
    thread = build_thread(pages)
    assert [p.pid for p in thread.posts] == list(range(7101, 7114))
    assert len(thread.posts) == 13
    assert [p.floor for p in thread.posts] == list(range(1, 14))
    flagged = {p.pid: (p.is_hot, p.is_sticky, p.page) for p in thread.posts if p.is_hot or p.is_sticky}
    assert flagged == {7107: (True, False, 2), 7112: (False, True, 3)}
    assert (thread.views, thread.replies, thread.page_count, thread.closed) == (9876, 12, 3, True)
    assert thread.author is not None and thread.author.uid == 21


def test_build_thread_page_one_alone_keeps_pinned_copies_last(pages: list[ThreadPage]) -> None:
    # The real places of the hot (7107) and sticky (7112) replies are on pages not given, so their
    # pinned copies are kept, after the posts of the pages that were merged.
    thread = build_thread(pages[:1])
    assert [p.pid for p in thread.posts] == [7101, 7102, 7103, 7104, 7105, 7107, 7112]
    assert thread.posts[5].floor is None and thread.posts[5].is_hot
    assert thread.posts[6].floor == 12 and thread.posts[6].is_sticky


def test_relative_time_without_title_uses_now() -> None:
    html = (FIXTURES / "t2001-p3.html").read_text(encoding="utf-8")
    html = html.replace('<span title="2026-11-25 15:41:27">1&nbsp;小时前</span>', "1&nbsp;小时前")
    now = datetime(2026, 11, 25, 16, 41, 27, tzinfo=CST)
    page = parse_thread_page(html, BASE + "forum.php?mod=viewthread&tid=2001&page=3", now=now)
    assert page.posts[-1].created_at == datetime(2026, 11, 25, 15, 41, 27, tzinfo=CST)
    no_now = parse_thread_page(html, BASE + "forum.php?mod=viewthread&tid=2001&page=3")
    assert no_now.posts[-1].created_at is None


def test_default_tz_applies_without_footer_offset() -> None:
    html = (FIXTURES / "t2001-p2.html").read_text(encoding="utf-8").replace("GMT+8, ", "")
    utc = timezone.utc
    page = parse_thread_page(html, BASE + "forum.php?mod=viewthread&tid=2001&page=2", default_tz=utc)
    assert page.posts[0].created_at == datetime(2026, 11, 6, 12, 30, tzinfo=utc)
