"""One-thread variant pages: polls, masked bodies, author blocks, layouts, errors."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from discuz_scraper.errors import NotFound, ParseError, UnsupportedVersion
from discuz_scraper.models import Author, Comment, Poll, PollOption, RateEntry, ThreadPage
from discuz_scraper.parsers.thread import build_thread, parse_thread_page

ROOT = Path(__file__).resolve().parent.parent / "fixtures" / "thread"
CST = timezone(timedelta(hours=8))


def x34(name: str, tid: int) -> ThreadPage:
    return parse_thread_page((ROOT / "x34" / name).read_bytes(), f"http://forum.test/thread-{tid}-1-1.html")


def x35(name: str, tid: int) -> ThreadPage:
    raw = (ROOT / "x35" / name).read_bytes()
    return parse_thread_page(raw, f"http://forum.test/bbs/forum.php?mod=viewthread&tid={tid}")


def test_single_choice_poll_with_type_prefix() -> None:
    page = x34("t1002-poll.html", 1002)
    assert (page.tid, page.special, page.type_name, page.type_id) == (1002, "poll", "讨论", 7)
    assert (page.views, page.replies, page.page_count) == (321, 0, 1)
    assert page.poll == Poll(
        multiple=False,
        voters=21,
        closed=False,
        ends_in="2 天 3 小时 5 分钟",
        options=[
            PollOption(id=55, text="楠竹", votes=12, percent=57.14),
            PollOption(id=56, text="水竹", votes=6, percent=28.57),
            PollOption(id=57, text="慈竹", votes=3, percent=14.29),
        ],
    )
    assert page.posts[0].text == "大家投个票，说说你们常用的竹材。"


def test_multiple_choice_poll_results_hidden_and_ended() -> None:
    page = x34("t1003-poll-multi.html", 1003)
    assert page.poll == Poll(
        multiple=True,
        max_choices=2,
        voters=8,
        closed=True,
        results_visible=False,
        options=[
            PollOption(id=61, text="灯罩"),
            PollOption(id=62, text="果盘"),
            PollOption(id=63, text="凉席"),
        ],
    )


def test_image_poll_pending_thread_and_guestlite() -> None:
    page = x35("t2003-imagepoll-pending.html", 2003)
    assert (page.status_label, page.type_name, page.type_id, page.fid) == ("审核中", "露营", 12, 3)
    base = "http://forum.test/bbs/data/attachment/forum/202611/16/"
    assert page.poll == Poll(
        voters=5,
        options=[
            PollOption(id=91, text="湖边营地", votes=3, percent=60.0, image_url=base + "lake801.jpg"),
            PollOption(id=92, text="山脊营地", votes=2, percent=40.0, image_url=base + "ridge802.jpg"),
        ],
    )
    assert page.posts[1].author == Author(
        uid=22,
        name="行者无疆",
        online=False,
        avatar_url="http://forum.test/bbs/uc_server/avatar.php?uid=22&size=middle",
    )


def test_masked_bodies() -> None:
    page = x34("t1004-body-variants.html", 1004)
    rows = [(p.pid, p.floor, p.status, p.status_text, p.text) for p in page.posts]
    assert rows == [
        (3401, 1, "normal", None, "这里收集各种被屏蔽的帖子样例。"),
        (3402, 2, "banned", "提示: 作者被禁止或删除 内容自动屏蔽", None),
        (3403, 3, "blocked", "提示: 该帖被管理员或版主屏蔽", None),
        (3404, 4, "password", "本帖为密码帖 ，请输入密码", None),
        (3405, 5, "pending", "待审核", None),
        (3406, 6, "normal", None, "顶"),
        (3408, 8, "normal", None, "最后一楼正常。"),
    ]
    assert [p.pid for p in page.posts if p.content_html is None] == [3402, 3403, 3404, 3405]


def test_deleted_floor_placeholder_is_skipped() -> None:
    page = x34("t1004-body-variants.html", 1004)
    assert 3407 not in [p.pid for p in page.posts]
    assert [p.floor for p in page.posts][-2:] == [6, 8]


def test_auto_hidden_reply_with_subject_and_blocked_avatar() -> None:
    page = x34("t1004-body-variants.html", 1004)
    hidden = page.posts[5]
    assert (hidden.pid, hidden.auto_hidden, hidden.subject) == (3406, True, "回复：收集样例")
    assert [p.pid for p in page.posts if p.auto_hidden] == [3406]
    banned = page.posts[1].author
    assert (banned.uid, banned.name, banned.avatar_url, banned.group, banned.credits) == (
        13,
        "石头记",
        None,
        "禁止发言",
        -5,
    )


def test_pay_thread_keeps_free_part_and_author_only_replies() -> None:
    page = x34("t1005-pay.html", 1005)
    first, hidden, own = page.posts
    assert (first.status, first.status_text, first.text) == (
        "pay",
        "本主题需向作者支付 5 金钱 才能浏览",
        "免费部分：准备材料和工具清单。",
    )
    assert (hidden.status, hidden.status_text, hidden.text, hidden.author.uid) == (
        "author_only",
        "此帖仅作者可见",
        None,
        9,
    )
    assert (own.status, own.text, own.floor) == ("normal", "作者自己的回复谁都能看。", 3)


def test_author_variants() -> None:
    page = x34("t1006-authors.html", 1006)
    authors = [p.author for p in page.posts]
    assert authors[1] == Author(is_anonymous=True)
    assert authors[2] == Author(is_guest=True, guest_ip="203.0.113.x")
    assert authors[3] == Author(name="旧账号", is_deleted=True)
    assert (authors[4].uid, authors[4].avatar_url, authors[4].stats) == (
        13,
        None,
        {"主题": 2, "帖子": 19, "积分": -5},
    )
    assert [p.created_at for p in page.posts[1:4]] == [
        datetime(2026, 11, 12, 9, 10, tzinfo=CST),
        datetime(2026, 11, 12, 9, 20, tzinfo=CST),
        datetime(2026, 11, 12, 9, 30, tzinfo=CST),
    ]
    assert [p.from_mobile for p in page.posts] == [False, False, False, False, True]


def test_comments() -> None:
    post = x34("t1006-authors.html", 1006).posts[0]
    assert post.comments == [
        Comment(
            author=Author(
                uid=7, name="老木匠", avatar_url="http://forum.test/uc_server/avatar.php?uid=7&size=small"
            ),
            text="说得在理",
            created_at=datetime(2026, 11, 12, 10, 5, tzinfo=CST),
        ),
        Comment(
            author=Author(is_guest=True),
            text="路过支持",
            created_at=datetime(2026, 11, 24, 9, 30, tzinfo=CST),
        ),
    ]


def test_rating_list_layout() -> None:
    rating = x34("t1006-authors.html", 1006).posts[4].rating
    assert rating is not None
    assert (rating.participants, rating.totals) == (2, {})
    assert rating.entries == [
        RateEntry(uid=5, name="竹影清风", scores={"威望": 1, "金钱": 3}, reason="图很清楚"),
        RateEntry(uid=7, name="老木匠", scores={"金钱": -2}, reason="广告嫌疑"),
    ]


def test_close_leftinfo_layout() -> None:
    page = x35("t2002-close-leftinfo.html", 2002)
    first, reply = page.posts
    assert first.author == Author(
        uid=21, name="山猫", avatar_url="http://forum.test/bbs/uc_server/avatar.php?uid=21&size=small"
    )
    assert (reply.author.uid, reply.author.name, reply.author.group, reply.author.stats) == (
        23,
        "小雨",
        None,
        {},
    )
    assert (reply.subject, reply.from_mobile, reply.text) == (
        "回复：装备清单",
        True,
        "头灯一定要带备用电池。",
    )
    assert reply.created_at == datetime(2026, 11, 24, 22, 15, tzinfo=CST)
    assert first.subject is None


def test_discuz_72_is_unsupported() -> None:
    raw = (ROOT / "old" / "t901-d72.html").read_bytes()
    with pytest.raises(UnsupportedVersion, match=r"Discuz! 7\.2 thread pages are not supported") as caught:
        parse_thread_page(raw, "http://forum.test/viewthread.php?tid=901")
    assert caught.value.version == "7.2"


def _without_postlist() -> str:
    html = (ROOT / "x35" / "t2002-close-leftinfo.html").read_text(encoding="utf-8")
    start, end = html.index('<div id="postlist"'), html.index('<div id="postlistreply"')
    return html[:start] + '<div id="threadlist">' + html[end:]


def test_non_thread_page_names_what_is_missing() -> None:
    with pytest.raises(ParseError, match="no #postlist element") as caught:
        parse_thread_page(_without_postlist(), "http://forum.test/bbs/forum.php?mod=forumdisplay&fid=3")
    assert caught.value.url == "http://forum.test/bbs/forum.php?mod=forumdisplay&fid=3"


def test_page_without_posts_is_a_parse_error() -> None:
    html = (ROOT / "x35" / "t2002-close-leftinfo.html").read_text(encoding="utf-8")
    start, end = html.index('<div id="post_7201">'), html.index('<div id="postlistreply"')
    with pytest.raises(ParseError, match="holds no posts"):
        parse_thread_page(
            html[:start] + html[end:], "http://forum.test/bbs/forum.php?mod=viewthread&tid=2002"
        )


def test_missing_thread_showmessage_is_not_found() -> None:
    html = _without_postlist().replace(
        '<div id="threadlist">',
        '<div id="messagetext" class="alert_error"><p>抱歉，指定的主题不存在或已被删除或正在被审核</p></div>',
    )
    with pytest.raises(NotFound) as caught:
        parse_thread_page(html, "http://forum.test/bbs/forum.php?mod=viewthread&tid=2099")
    assert caught.value.key == "thread_nonexistence"


def test_build_thread_rejects_empty_and_mixed_pages() -> None:
    with pytest.raises(ParseError, match="at least one thread page"):
        build_thread([])
    with pytest.raises(ParseError, match=r"tids \[1005, 2002\]"):
        build_thread([x34("t1005-pay.html", 1005), x35("t2002-close-leftinfo.html", 2002)])
