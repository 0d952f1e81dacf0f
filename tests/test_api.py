"""Mobile API parsers (``parsers/api.py``) against the JSON fixtures in ``fixtures/api``."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from discuz_scraper.errors import (
    LoginRequired,
    NotDiscuz,
    NotFound,
    ParseError,
    PermissionDenied,
    SiteClosed,
)
from discuz_scraper.models import Attachment, Author, Comment, Image, Poll, PollOption, Quote, ThreadType
from discuz_scraper.parsers.api import (
    parse_api_board_page,
    parse_api_check,
    parse_api_forum_index,
    parse_api_profile,
    parse_api_thread_page,
)

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "api"
API = "http://forum.test/bbs/api/mobile/index.php?version=4&module="
CST = timezone(timedelta(hours=8))
T2001_50 = API + "viewthread&tid=2001&ppp=50"
T2006 = API + "viewthread&tid=2006"


def load(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


# --- check ----------------------------------------------------------------------------------


def test_check_x34_reports_the_hard_coded_version_and_gbk() -> None:
    check = parse_api_check(
        load("x34_check.json"), "http://forum.test/api/mobile/index.php?version=4&module=check"
    )
    assert check.available is True
    assert (check.discuz_version, check.reported_version) == ("X3.2", "X3.2")
    assert (check.charset, check.api_version, check.plugin_version) == ("gbk", "4", "1.4.8")
    assert check.site_name == "老驴户外"
    assert (check.total_posts, check.total_members) == (52310, 1873)  # an int and a string alike
    assert check.ucenter_url == "http://forum.test/uc_server"
    assert check.source == "api"


def test_check_x35_prefers_truediscuzversion() -> None:
    check = parse_api_check(load("x35_check.json"), API + "check")
    assert (check.discuz_version, check.reported_version) == ("X3.5", "X3.2")
    assert (check.charset, check.plugin_version, check.site_name) == ("utf-8", "1.4.9", "山间小站")
    assert (check.total_posts, check.total_members) == (130211, 2048)


def test_check_plugin_off_is_unavailable_not_an_error() -> None:
    off = parse_api_check(load("check_plugin_off.json"), API + "check")
    assert off.available is False
    assert (off.discuz_version, off.site_name, off.total_posts) == (None, None, None)
    html = parse_api_check(b"<!DOCTYPE html><html><body>forum home</body></html>", API + "check")
    assert html.available is False


def test_check_to_login_raises_login_required() -> None:
    with pytest.raises(LoginRequired) as info:
        parse_api_check(load("error_to_login.json"), API + "check")
    assert info.value.key == "to_login"
    assert info.value.url == API + "check"


# --- viewthread -----------------------------------------------------------------------------


def test_thread_ppp50_holds_the_whole_thread_on_one_page() -> None:
    page = parse_api_thread_page(load("x35_viewthread_t2001_ppp50.json"), T2001_50)
    assert (page.tid, page.fid, page.page, page.page_count) == (2001, 3, 1, 1)
    assert page.title == "周末徒步：青龙峡环线实测"
    assert (page.views, page.replies, page.closed, page.special, page.type_id) == (9876, 12, True, None, None)
    assert page.source == "api"
    # Page order as Discuz builds it: first post, sticky reply, hot reply, then the rest.
    assert [(p.pid, p.floor) for p in page.posts] == [
        (7101, 1),
        (7112, 12),
        (7107, 7),
        (7102, 2),
        (7103, 3),
        (7104, 4),
        (7105, 5),
        (7106, 6),
        (7108, 8),
        (7109, 9),
        (7110, 10),
        (7111, 11),
        (7113, 13),
    ]
    assert [p.pid for p in page.posts if p.is_hot] == [7107]
    # With every floor on page 1 a sticky reply is not out of place: nothing tells it apart.
    assert [p.pid for p in page.posts if p.is_sticky] == []
    assert {p.source for p in page.posts} == {"api"}


def test_thread_first_post_fields() -> None:
    first = parse_api_thread_page(load("x35_viewthread_t2001_ppp50.json"), T2001_50).posts[0]
    assert (first.pid, first.tid, first.floor, first.floor_label, first.is_first) == (
        7101,
        2001,
        1,
        "楼主",
        True,
    )
    assert first.author == Author(uid=21, name="山猫", group_id=12)
    assert first.created_at == datetime(2026, 11, 2, 20, 14, 2, tzinfo=CST)
    assert (
        first.text
        == "上周六走了一趟青龙峡环线，全程 14 公里，累计爬升 820 米。\n\n路况整体不错，最后两公里碎石较多。"
    )
    assert first.images == [Image(url="https://pic.example.net/hike/qinglong-01.jpg", kind="remote")]
    assert first.attachments == []
    assert first.permalink == "http://forum.test/bbs/forum.php?mod=viewthread&tid=2001"
    assert first.status == "normal" and first.page == 1


def test_thread_hot_reply_and_floor_labels() -> None:
    posts = {p.pid: p for p in parse_api_thread_page(load("x35_viewthread_t2001_ppp50.json"), T2001_50).posts}
    hot = posts[7107]
    assert (hot.floor, hot.floor_label, hot.is_hot, hot.is_sticky) == (7, "7#", True, False)
    assert hot.created_at == datetime(2026, 11, 21, 17, 29, 20, tzinfo=CST)
    assert hot.permalink == "http://forum.test/bbs/forum.php?mod=redirect&goto=findpost&ptid=2001&pid=7107"
    assert [posts[pid].floor_label for pid in (7102, 7103, 7104, 7105)] == ["沙发", "板凳", "地板", "5#"]


def test_thread_default_tz_changes_only_the_offset() -> None:
    utc = parse_api_thread_page(load("x35_viewthread_t2001_ppp50.json"), T2001_50, default_tz=timezone.utc)
    assert utc.posts[0].created_at == datetime(2026, 11, 2, 12, 14, 2, tzinfo=timezone.utc)


def test_thread_ppp10_two_pages_sticky_is_out_of_range() -> None:
    url = API + "viewthread&tid=2001&ppp=10&page="
    one = parse_api_thread_page(load("x35_viewthread_t2001_ppp10_p1.json"), url + "1")
    two = parse_api_thread_page(load("x35_viewthread_t2001_ppp10_p2.json"), url + "2")
    assert (one.page, one.page_count, two.page, two.page_count) == (1, 2, 2, 2)
    assert [p.pid for p in one.posts] == [7101, 7112, 7107, 7102, 7103, 7104, 7105, 7106, 7108, 7109, 7110]
    assert [(p.pid, p.is_sticky, p.is_hot) for p in one.posts[:3]] == [
        (7101, False, False),
        (7112, True, False),
        (7107, False, True),
    ]
    assert [(p.pid, p.floor, p.is_sticky, p.page) for p in two.posts] == [
        (7111, 11, False, 2),
        (7112, 12, False, 2),
        (7113, 13, False, 2),
    ]


def test_thread_page_past_the_end_is_clamped_to_the_last_page() -> None:
    page = parse_api_thread_page(
        load("x35_viewthread_t2001_ppp10_p2.json"), API + "viewthread&tid=2001&ppp=10&page=9"
    )
    assert (page.page, page.page_count) == (2, 2)
    assert {p.page for p in page.posts} == {2}


def test_thread_poll_attachments_quote_comments() -> None:
    page = parse_api_thread_page(load("x35_viewthread_t2006_poll.json"), T2006)
    assert (page.tid, page.special, page.type_id, page.closed, page.page_count) == (
        2006,
        "poll",
        11,
        False,
        1,
    )
    assert page.poll == Poll(
        multiple=False,
        voters=42,
        closed=False,
        results_visible=True,
        options=[
            PollOption(id=55, text="春季：桃花谷", votes=20, percent=47.62),
            PollOption(id=56, text="秋季：红叶谷", votes=22, percent=52.38),
        ],
    )
    first = page.posts[0]
    base = "http://forum.test/bbs/data/attachment/forum/202611/20/"
    assert first.images == [
        # Inline: the plugin removed it from the attachments map, so its aid is not known.
        Image(url=base + "090000route.jpg", thumb_url=base + "090000route.jpg.thumb.jpg", kind="attachment"),
        Image(
            url=base + "090001compare.jpg",
            thumb_url=base + "090001compare.jpg.thumb.jpg",
            aid=901,
            filename="路线对比.jpg",
            size_bytes=204800,
            width=1200,
            kind="attachment",
        ),
    ]
    assert first.attachments == [
        Attachment(
            aid=901,
            filename="路线对比.jpg",
            url=base + "090001compare.jpg",
            size_bytes=204800,
            downloads=35,
            is_image=True,
            uploaded_at=datetime(2026, 11, 20, 9, 0, tzinfo=CST),
        ),
        Attachment(
            aid=902,
            filename="gpx轨迹.zip",
            url=base + "090030track.zip",
            size_bytes=51200,
            downloads=17,
            price=2,
            read_perm=10,
            uploaded_at=datetime(2026, 11, 20, 9, 0, 30, tzinfo=CST),
        ),
        Attachment(
            aid=903,
            filename="装备清单.pdf",
            url="https://cdn.example.net/bbs/forum/202611/20/090100list.pdf",
            size_bytes=102400,
            downloads=4,
            uploaded_at=datetime(2026, 11, 20, 9, 1, tzinfo=CST),
        ),
    ]
    reply = page.posts[1]
    assert reply.text == "我投秋季，红叶季人少一点。"
    assert reply.quotes == [
        Quote(
            author="阿明",
            posted_at=datetime(2026, 11, 20, 9, 0, tzinfo=CST),
            text="两条线路选一条，投票截止前都可以改。",
        )
    ]
    assert reply.comments == [
        Comment(
            author=Author(
                uid=3, name="阿明", avatar_url="http://forum.test/bbs/uc_server/avatar.php?uid=3&size=small"
            ),
            text="秋季 +1",
            created_at=datetime(2026, 11, 20, 10, 30, tzinfo=CST),
        )
    ]


def test_thread_masked_anonymous_guest_and_deleted_posts() -> None:
    posts = {p.pid: p for p in parse_api_thread_page(load("x35_viewthread_t2006_poll.json"), T2006).posts}
    banned, blocked = posts[7603], posts[7604]
    assert (banned.status, banned.status_text) == ("banned", "提示: 作者被禁止或删除 内容自动屏蔽")
    assert (banned.text, banned.content_html, banned.images) == (None, None, [])
    assert banned.author == Author(uid=31, name="水军小号", group_id=4)
    assert (blocked.status, blocked.status_text, blocked.text) == (
        "blocked",
        "提示: 该帖被管理员或版主屏蔽",
        None,
    )
    assert posts[7605].author == Author(is_anonymous=True)
    assert posts[7605].text == "我也想去，不方便透露身份。"
    assert posts[7606].author == Author(is_guest=True)
    deleted = posts[7607]
    assert deleted.author == Author(name="老驴", is_deleted=True)
    assert deleted.status == "banned"


def test_thread_lenient_scalars_and_dropped_fields() -> None:
    raw = json.loads(load("x35_viewthread_t2001_ppp50.json"))
    post = raw["Variables"]["postlist"][0]
    post.update({"pid": 7101, "first": True, "position": 1, "dbdateline": int(post["dbdateline"])})
    for key in ("number", "groupid", "attachments", "imagelist", "dateline"):
        post.pop(key, None)
    raw["Variables"]["thread"]["replies"] = 12
    raw["Variables"]["thread"]["closed"] = ""  # format(false)
    raw["Variables"]["comments"] = []  # PHP's empty array
    raw["Variables"]["unknown_field"] = {"x": [1, 2]}
    page = parse_api_thread_page(raw, T2001_50)
    first = page.posts[0]
    assert (first.pid, first.floor, first.is_first, first.author.group_id) == (7101, 1, True, None)
    assert first.created_at == datetime(2026, 11, 2, 20, 14, 2, tzinfo=CST)
    assert (page.replies, page.closed) == (12, False)


@pytest.mark.parametrize(
    ("fixture", "error", "key", "site_message"),
    [
        (
            "x35_message_thread_nonexistence.json",
            NotFound,
            "thread_nonexistence",
            "抱歉，指定的主题不存在或已被删除或正在被审核",
        ),
        (
            "x35_message_login.json",
            LoginRequired,
            "viewperm_login_nopermission",
            "您尚未登录，没有权限访问该版块",
        ),
        # An edited text the HTML table does not know: the messageval key decides.
        ("x35_message_custom_text.json", NotFound, "thread_nonexistence", "这个帖子去山里了，找不到啦"),
        ("error_to_login.json", LoginRequired, "to_login", "to_login"),
        ("error_mobile_is_closed.json", PermissionDenied, "mobile_is_closed", "mobile_is_closed"),
        ("error_closed_reason.json", SiteClosed, "board_closed", "论坛升级中，预计今晚 22:00 恢复"),
    ],
)
def test_errors_map_to_the_html_error_types(fixture: str, error: type, key: str, site_message: str) -> None:
    url = API + "viewthread&tid=5"
    with pytest.raises(error) as info:
        parse_api_thread_page(load(fixture), url)
    assert type(info.value) is error
    assert (info.value.key, info.value.site_message, info.value.url) == (key, site_message, url)


@pytest.mark.parametrize(
    ("body", "error", "message"),
    [
        (b'{"Version":"4"', NotDiscuz, "the mobile API answer is not valid JSON"),
        (b"[1, 2]", NotDiscuz, "the mobile API answer is not a JSON object"),
        (b'{"Version":"4"}', ParseError, "mobile API answer without a Variables object"),
        (
            b'{"Variables":{"thread":{"tid":"5"}}}',
            ParseError,
            "viewthread answer without posts (Variables.postlist is empty)",
        ),
        (
            b'{"Variables":{"postlist":[{"pid":"1"}]}}',
            ParseError,
            "viewthread answer without Variables.thread (tid)",
        ),
        (
            b'{"Variables":{"thread":{"tid":"5"},"postlist":[{"message":"x"}]}}',
            ParseError,
            "viewthread post without a pid",
        ),
        # A <frameset> message replaces the document's body, and the message holder with it.
        (
            b'{"Variables":{"thread":{"tid":"5"},"postlist":[{"pid":"1","message":"<frameset>"}]}}',
            ParseError,
            "could not read a post message",
        ),
    ],
)
def test_bad_input_raises_typed_errors(body: bytes, error: type, message: str) -> None:
    with pytest.raises(error) as info:
        parse_api_thread_page(body, "http://forum.test/bbs/api/mobile/index.php?version=4&module=viewthread")
    assert info.value.message == message


def test_html_answer_raises_the_pages_own_error() -> None:
    notice = (
        '<html><head><meta name="generator" content="Discuz! X3.5" /></head><body>'
        '<div id="messagetext" class="alert_error"><p>抱歉，指定的主题不存在或已被删除或正在被审核</p></div>'
        "</body></html>"
    )
    with pytest.raises(NotFound) as info:
        parse_api_thread_page(notice.encode(), T2006)
    assert info.value.key == "thread_nonexistence"
    page = '<html><head><meta name="generator" content="Discuz! X3.5" /></head><body>index</body></html>'
    with pytest.raises(NotDiscuz) as other:
        parse_api_thread_page(page, T2006)
    assert other.value.message == "the mobile API answered with an HTML page (is the mobile plugin enabled?)"


# --- forumdisplay, forumindex, profile ------------------------------------------------------


def test_board_page_rows_sticky_types_and_counts() -> None:
    url = API + "forumdisplay&fid=3&page=1"
    board = parse_api_board_page(load("x35_forumdisplay_fid3.json"), url)
    assert (board.fid, board.name, board.page, board.page_count, board.thread_count) == (
        3,
        "徒步路线",
        1,
        118,
        2345,
    )
    assert (board.past_the_end, board.rules_html, board.source) == (
        False,
        "发帖请注明<strong>日期</strong>和路线。",
        "api",
    )
    assert board.thread_types == [ThreadType(id=11, name="经验"), ThreadType(id=12, name="轨迹")]
    assert [(b.fid, b.name, b.url, b.threads, b.posts, b.today_posts) for b in board.sub_boards] == [
        (8, "装备讨论", "http://forum.test/bbs/forum.php?mod=forumdisplay&fid=8", 120, 900, 0),
    ]
    assert [(r.tid, r.sticky, r.digest, r.special, r.type_name) for r in board.rows] == [
        (2003, 2, 1, None, None),
        (2008, 3, 0, None, None),
        (2001, 0, 0, None, None),
        (2002, 0, 0, "poll", "经验"),
        (2005, 0, 0, None, "轨迹"),
        (2007, 0, 0, "reward", None),
    ]
    hike = board.rows[2]
    assert hike.url == "http://forum.test/bbs/forum.php?mod=viewthread&tid=2001"
    assert (hike.has_image, hike.has_attachment, hike.replies, hike.views) == (True, True, 12, 9876)
    assert hike.author == Author(uid=21, name="山猫")
    assert hike.created_at == datetime(2026, 11, 8, 10, 0, tzinfo=CST)
    assert (hike.last_poster, hike.last_post_at) == ("阿明", datetime(2026, 11, 25, 19, 48, tzinfo=CST))
    paid, reward = board.rows[4], board.rows[5]
    assert (paid.price, paid.reward, paid.read_perm, paid.has_image, paid.has_attachment) == (
        5,
        None,
        20,
        False,
        True,
    )
    assert (reward.price, reward.reward, reward.author) == (None, 30, Author(is_anonymous=True))
    assert {r.source for r in board.rows} == {"api"}


def test_board_page_past_the_end_and_list_shaped_types() -> None:
    board = parse_api_board_page(
        load("x35_forumdisplay_fid3_past_end.json"), API + "forumdisplay&fid=3&page=9"
    )
    assert (board.page, board.requested_page, board.past_the_end) == (1, 9, True)
    assert board.thread_types == [ThreadType(id=11, name="经验"), ThreadType(id=12, name="轨迹")]
    assert [r.tid for r in board.rows] == [2001]


def test_board_page_without_forum_raises() -> None:
    with pytest.raises(ParseError) as info:
        parse_api_board_page(b'{"Variables":{"forum_threadlist":[]}}', API + "forumdisplay")
    assert info.value.message == "forumdisplay answer without Variables.forum (fid)"


def test_forum_index_categories_boards_and_sub_boards() -> None:
    index = parse_api_forum_index(load("x35_forumindex.json"), API + "forumindex")
    assert index.source == "api"
    assert [(c.gid, c.name, c.url, [b.fid for b in c.boards]) for c in index.categories] == [
        (2, "户外", "http://forum.test/bbs/forum.php?gid=2", [3, 7]),
        (4, "资源区", "http://forum.test/bbs/forum.php?gid=4", [5]),
    ]
    hike, ask = index.categories[0].boards
    assert (hike.name, hike.threads, hike.posts, hike.today_posts) == ("徒步路线", 2345, 123456, 7)
    assert [(s.fid, s.name, s.description, s.source) for s in hike.sub_boards] == [
        (8, "装备讨论", "鞋、包、杖", "api")
    ]
    assert ask.icon_url == "http://forum.test/bbs/data/attachment/common/8f/common_7_icon.png"
    assert index.categories[1].boards[0].description == "只分享自己拍的照片"


def test_profile() -> None:
    profile = parse_api_profile(load("x35_profile_uid21.json"), API + "profile&uid=21")
    assert (profile.uid, profile.name, profile.group, profile.group_id, profile.credits) == (
        21,
        "山猫",
        "中级会员",
        12,
        455,
    )
    assert profile.stats == {
        "好友数": 6,
        "回帖数": 104,
        "主题数": 8,
        "积分": 455,
        "威望": 12,
        "金钱": 380,
        "贡献": 0,
    }
    assert (profile.online_hours, profile.signature, profile.source) == (37, "走得慢，看得多。", "api")
    assert profile.registered_at == datetime(2024, 3, 5, 10, 20, tzinfo=CST)
    assert profile.last_post_at == datetime(2026, 11, 25, 15, 41, tzinfo=CST)


def test_profile_without_space_raises() -> None:
    with pytest.raises(ParseError) as info:
        parse_api_profile({"Variables": {"space": []}}, API + "profile&uid=99")
    assert info.value.message == "profile answer without Variables.space (uid, username)"
