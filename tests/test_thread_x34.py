"""Thread 1001 on the X3.4 GBK fixture site: three pages, 5 + 5 + 2 posts."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from discuz_scraper.models import Attachment, Breadcrumb, Image, Quote, RateEntry, ThreadPage
from discuz_scraper.parsers.thread import build_thread, parse_thread_page

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "thread" / "x34"
CST = timezone(timedelta(hours=8))
NOW = datetime(2026, 11, 25, 17, 30, tzinfo=CST)
ENC301 = "MzAxfGE0YjVjNmQ3fDE3OTMwMDAwMDB8MHwxMDAx"
ENC302 = "MzAyfGE0YjVjNmQ3fDE3OTMwMDAwMDB8MHwxMDAx"
ENC303 = "MzAzfGE0YjVjNmQ3fDE3OTMwMDAwMDB8MHwxMDAx"


def load(page: int) -> ThreadPage:
    raw = (FIXTURES / f"t1001-p{page}.html").read_bytes()
    return parse_thread_page(raw, f"http://forum.test/thread-1001-{page}-1.html", now=NOW)


@pytest.fixture(scope="module")
def pages() -> list[ThreadPage]:
    return [load(1), load(2), load(3)]


def test_fixture_is_gbk_on_disk() -> None:
    raw = (FIXTURES / "t1001-p1.html").read_bytes()
    assert "竹影清风".encode("gbk") in raw
    assert "竹影清风".encode() not in raw


def test_bytes_and_text_give_equal_pages() -> None:
    raw = (FIXTURES / "t1001-p1.html").read_bytes()
    url = "http://forum.test/thread-1001-1-1.html"
    assert parse_thread_page(raw, url, now=NOW) == parse_thread_page(raw.decode("gbk"), url, now=NOW)


def test_page_one_metadata(pages: list[ThreadPage]) -> None:
    p1 = pages[0]
    assert (p1.tid, p1.fid, p1.page, p1.page_count) == (1001, 2, 1, 3)
    assert p1.title == "自制竹编灯罩的全过程记录（附图纸）"
    assert p1.board_name == "手工艺分享"
    assert (p1.views, p1.replies) == (4567, 11)
    assert p1.closed is False
    assert p1.status_label is None
    assert (p1.type_name, p1.type_id, p1.special, p1.poll) == (None, None, None, None)
    assert p1.tags == ["竹编", "灯具"]
    assert p1.breadcrumb == [
        Breadcrumb(name="竹林茶社", url="http://forum.test/", kind="home"),
        Breadcrumb(name="论坛", url="http://forum.test/forum.php", kind="forum_index"),
        Breadcrumb(name="生活百科", url="http://forum.test/forum.php?gid=1", kind="category", id=1),
        Breadcrumb(name="手工艺分享", url="http://forum.test/forum-2-1.html", kind="board", id=2),
        Breadcrumb(
            name="自制竹编灯罩的全过程记录",
            url="http://forum.test/thread-1001-1-1.html",
            kind="thread",
            id=1001,
        ),
    ]


def test_later_pages_have_no_counters(pages: list[ThreadPage]) -> None:
    assert [(p.page, p.page_count, p.views, p.replies) for p in pages[1:]] == [
        (2, 3, None, None),
        (3, 3, None, None),
    ]
    assert [p.tags for p in pages[1:]] == [[], []]


def test_pids_floors_and_pages(pages: list[ThreadPage]) -> None:
    rows = [(p.pid, p.floor, p.floor_label, p.page) for page in pages for p in page.posts]
    assert rows == [
        (3101, 1, "楼主", 1),
        (3102, 2, "沙发", 1),
        (3103, 3, "板凳", 1),
        (3104, 4, "地板", 1),
        (3105, 5, "5#", 1),
        (3106, 6, "6#", 2),
        (3107, 7, "7#", 2),
        (3108, 8, "8#", 2),
        (3109, 9, "9#", 2),
        (3110, 10, "10#", 2),
        (3111, 11, "11#", 3),
        (3112, 12, "12#", 3),
    ]


def test_first_post(pages: list[ThreadPage]) -> None:
    post = pages[0].posts[0]
    assert post.is_first is True
    assert post.permalink == "http://forum.test/forum.php?mod=viewthread&tid=1001"
    assert post.created_at == datetime(2026, 11, 2, 20, 14, 2, tzinfo=CST)
    assert (post.edited_by, post.edited_at) == ("竹影清风", datetime(2026, 11, 3, 8, 30, tzinfo=CST))
    assert post.text == (
        "去年秋天砍了几根毛竹，晾了三个月，终于动手做灯罩了。\n材料：毛竹两根、砂纸、清漆。\n\n"
        "图纸在附件里，欢迎拍砖。"
    )
    assert "k9Zq2" not in (post.content_html or "")
    assert post.signature == "手上有茧，心里有竹。"
    assert post.status == "normal"
    author = post.author
    assert (author.uid, author.name, author.group, author.group_id) == (5, "竹影清风", "中级会员", 12)
    assert author.avatar_url == "http://forum.test/uc_server/avatar.php?uid=5&size=middle"
    assert author.stats == {"主题": 12, "帖子": 340, "积分": 1008}
    assert (author.threads, author.posts, author.replies, author.credits, author.online) == (
        12,
        340,
        None,
        1008,
        True,
    )


def test_first_post_images_and_attachments(pages: list[ThreadPage]) -> None:
    post = pages[0].posts[0]
    base = "http://forum.test/data/attachment/forum/202611/02/"
    assert post.images == [
        Image(
            url=base + "201402bamboo301.jpg",
            thumb_url=base + "201402bamboo301.jpg.thumb.jpg",
            aid=301,
            filename="灯罩骨架.jpg",
            size_bytes=251187,
            width=600,
            kind="attachment",
        ),
        Image(
            url=base + "201355night302.jpg",
            aid=302,
            filename="成品夜景.jpg",
            size_bytes=193126,
            width=600,
            kind="attachment",
        ),
    ]
    uploaded = datetime(2026, 11, 2, 20, 13, tzinfo=CST)
    assert post.attachments == [
        Attachment(
            aid=301,
            filename="灯罩骨架.jpg",
            url=f"http://forum.test/forum.php?mod=attachment&aid={ENC301}&nothumb=yes",
            size_bytes=251187,
            downloads=12,
            is_image=True,
            inline=True,
            uploaded_at=uploaded,
        ),
        Attachment(
            aid=302,
            filename="成品夜景.jpg",
            url=f"http://forum.test/forum.php?mod=attachment&aid={ENC302}&nothumb=yes",
            size_bytes=193126,
            downloads=9,
            is_image=True,
            uploaded_at=uploaded,
        ),
        Attachment(
            aid=303,
            filename="灯罩图纸.zip",
            url=f"http://forum.test/forum.php?mod=attachment&aid={ENC303}",
            size_bytes=1258291,
            downloads=30,
            price=2,
            price_unit="金钱",
            uploaded_at=datetime(2026, 11, 2, 20, 14, tzinfo=CST),
        ),
    ]


def test_first_post_rating(pages: list[ThreadPage]) -> None:
    rating = pages[0].posts[0].rating
    assert rating is not None
    assert (rating.participants, rating.totals) == (3, {"威望": 2, "金钱": 15})
    assert rating.entries == [
        RateEntry(uid=7, name="老木匠", scores={"威望": 1, "金钱": 10}, reason="做工扎实"),
        RateEntry(uid=9, name="青竹", scores={"威望": 1}, reason="很有用"),
        RateEntry(uid=11, name="阿土", scores={"金钱": 5}, reason=None),
    ]


def test_remote_image_relative_date_and_dnumber_stats(pages: list[ThreadPage]) -> None:
    post = pages[0].posts[1]
    assert post.created_at == datetime(2026, 11, 22, 9, 5, 31, tzinfo=CST)
    assert post.images == [Image(url="https://pic.example.net/bamboo/shade-02.jpg", kind="remote")]
    assert post.text == "好手艺！我以前做过类似的，参考一下：\n\n竹篾要泡水才好弯。"
    assert post.permalink == "http://forum.test/forum.php?mod=redirect&goto=findpost&ptid=1001&pid=3102"
    assert post.author.stats == {"主题": 45, "帖子": 12650, "积分": 23456}
    assert (post.author.credits, post.author.online) == (23456, False)
    assert post.is_first is False
    assert post.rating is None


def test_quote_and_code(pages: list[ThreadPage]) -> None:
    quoting, code = pages[0].posts[2], pages[0].posts[3]
    assert quoting.quotes == [
        Quote(
            pid=3101,
            tid=1001,
            author="竹影清风",
            posted_at=datetime(2026, 11, 2, 20, 14, tzinfo=CST),
            text="去年秋天砍了几根毛竹，晾了三个月，终于动手做灯罩了。",
        )
    ]
    assert quoting.text == "请问清漆刷几遍比较好？"
    assert (
        code.text
        == "按我的经验算了下篾条长度：\n周长 = 3.14 * 直径\n篾条数 = 周长 / 间距\n直径 30 厘米大概要 47 根。"
    )


def test_last_page_posts(pages: list[ThreadPage]) -> None:
    last = pages[2].posts[-1]
    assert (last.pid, last.author.uid, last.author.name, last.text) == (3112, 11, "阿土", "期待成品")
    assert last.created_at == datetime(2026, 11, 25, 7, 45, 10, tzinfo=CST)


def test_build_thread(pages: list[ThreadPage]) -> None:
    fetched = datetime(2026, 11, 25, 9, 30, tzinfo=timezone.utc)
    thread = build_thread(pages, fetched_at=fetched)
    assert [p.pid for p in thread.posts] == list(range(3101, 3113))
    assert [p.floor for p in thread.posts] == list(range(1, 13))
    assert (thread.tid, thread.fid, thread.views, thread.replies, thread.page_count) == (1001, 2, 4567, 11, 3)
    assert thread.author is not None and (thread.author.uid, thread.author.name) == (5, "竹影清风")
    assert thread.url == "http://forum.test/thread-1001-1-1.html"
    assert thread.fetched_at == fetched
    assert thread.tags == ["竹编", "灯具"]


def test_build_thread_without_page_one_has_no_counters(pages: list[ThreadPage]) -> None:
    thread = build_thread(pages[1:])
    assert (thread.views, thread.replies, thread.author) == (None, None, None)
    assert [p.pid for p in thread.posts] == list(range(3106, 3113))
