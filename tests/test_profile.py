"""Profile pages (home.php?mod=space&do=profile / space-uid-N.html) and the guest login wall."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from discuz_scraper.errors import LoginRequired, ParseError
from discuz_scraper.models import UserProfile
from discuz_scraper.parsers.profile import parse_profile

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
CST = timezone(timedelta(hours=8))
X34_URL = "http://forum.test/home.php?mod=space&uid=5&do=profile"
X35_URL = "http://forum.test/bbs/space-uid-3.html"


def _raw(kind: str, name: str) -> bytes:
    return (FIXTURES / kind / name).read_bytes()


def test_x34_profile() -> None:
    assert parse_profile(_raw("profile", "x34_space_uid5.html"), X34_URL) == UserProfile(
        uid=5,
        name="竹影清风",
        url=X34_URL,
        group="中级会员",
        group_id=12,
        avatar_url="http://forum.test/uc_server/avatar.php?uid=5&size=small",
        credits=356,
        stats={
            "好友数": 3, "记录数": 0, "日志数": 2, "相册数": 1, "回帖数": 210, "主题数": 15, "分享数": 0,
            "积分": 356, "威望": 10, "金钱": 300, "贡献": 2,
        },
        online_hours=123,
        registered_at=datetime(2024, 3, 9, 21, 5, tzinfo=CST),
        last_visit_at=datetime(2026, 11, 25, 20, 40, tzinfo=CST),
        last_active_at=datetime(2026, 11, 25, 20, 41, tzinfo=CST),
        last_post_at=datetime(2026, 11, 25, 17, 58, tzinfo=CST),
        signature="竹子弯而不折。",
    )


def test_x35_profile_with_admin_group_and_relative_times() -> None:
    assert parse_profile(_raw("profile", "x35_space_uid3.html"), X35_URL) == UserProfile(
        uid=3,
        name="阿明",
        url=X35_URL,
        group="版主",
        group_id=3,
        admin_group="版主",
        avatar_url="http://forum.test/bbs/uc_server/data/avatar/000/00/00/03_avatar_small.jpg",
        credits=12870,
        stats={"好友数": 12, "回帖数": 1873, "主题数": 96, "积分": 12870, "威望": 88, "金钱": 5120},
        registered_at=datetime(2023, 5, 4, 10, 0, tzinfo=CST),
        last_visit_at=datetime(2026, 11, 25, 19, 50, tzinfo=CST),
        last_active_at=datetime(2026, 11, 25, 19, 52, tzinfo=CST),
    )


def test_gbk_bytes_and_decoded_text_give_the_same_profile() -> None:
    raw = _raw("profile", "x34_space_uid5.html")
    assert parse_profile(raw, X34_URL) == parse_profile(raw.decode("gb18030"), X34_URL)


def test_uid_falls_back_to_the_url_when_the_heading_lacks_it() -> None:
    html = _raw("profile", "x34_space_uid5.html").decode("gb18030").replace("(UID: 5\n)", "")
    assert "UID:" not in html
    profile = parse_profile(html, "http://forum.test/space-uid-5.html")
    assert (profile.uid, profile.name) == (5, "竹影清风")


def test_guest_gets_login_required() -> None:
    with pytest.raises(LoginRequired) as info:
        parse_profile(_raw("profile", "x34_login_required.html"), X34_URL)
    assert info.value.url == X34_URL
    assert info.value.site_message == "抱歉，您需要登录后才能查看此页面"


def test_board_page_given_to_profile_parser_is_a_parse_error() -> None:
    with pytest.raises(ParseError, match=r"div\.u_profile"):
        parse_profile(_raw("board", "x34_forum2_p2.html"), X34_URL)
