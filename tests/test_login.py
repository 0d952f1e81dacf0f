"""Password login against the fixture forum: form and mobile API, sync and async, and every refusal."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from discuz_scraper import AsyncDiscuzClient, DiscuzClient
from discuz_scraper.access import LoggedInUser
from discuz_scraper.errors import CaptchaRequired, ConfigError, LoginFailed, LoginLocked, LoginRequired
from discuz_scraper.testing import FixtureForum, LoggedRequest, cookie_digest

X34 = "http://forum.test/"
PASSWORD = "Oolong-Leaf-1987"
AUTH = "b3Rhd0F1dGhUb2tlbjU4OTI"
MING = LoggedInUser(uid=5, name="茶客阿明")
MODES = pytest.mark.parametrize("mode", ["sync", "async"])


def run(mode: str, forum: FixtureForum, action: str, *args: Any, **kwargs: Any) -> Any:
    """Call ``client.<action>(...)`` on a fresh sync or async client; returns (result, cookie names)."""
    if mode == "sync":
        with DiscuzClient(X34, transport=forum.mock_transport(), rate=None) as client:
            return getattr(client, action)(*args, **kwargs), sorted(client.cookies.keys())

    async def main() -> Any:
        async with AsyncDiscuzClient(X34, transport=forum.mock_transport(), rate=None) as client:
            return await getattr(client, action)(*args, **kwargs), sorted(client.cookies.keys())

    return asyncio.run(main())


@MODES
def test_password_login_round_trip(mode: str, forum: FixtureForum) -> None:
    user, cookies = run(mode, forum, "login", "aming", PASSWORD)
    assert user == MING
    assert cookies == ["Ab3x_2132_auth", "Ab3x_2132_saltkey"]
    assert forum.request_log == [
        LoggedRequest("GET", "/member.php?mod=logging&action=login", 200),
        LoggedRequest("POST", "/member.php?mod=logging&action=login&loginsubmit=yes&loginhash=Lm2Qx", 200),
        LoggedRequest("GET", "/member.php?mod=logging&action=login", 200),
    ]
    # The confirming page went out with the auth cookie the login set, and with nothing else.
    confirm = forum.cookie_log[-1]
    assert confirm.member == "aming"
    assert confirm.digest == cookie_digest({"Ab3x_2132_auth": AUTH, "Ab3x_2132_saltkey": "Sk7Wq2Lm"})


def test_logged_in_client_reads_the_members_board_and_knows_who_it_is(forum: FixtureForum) -> None:
    with DiscuzClient(X34, transport=forum.mock_transport(), rate=None) as client:
        assert client.whoami() is None
        with pytest.raises(LoginRequired):
            client.board(9)
        client.login("aming", PASSWORD)
        assert client.whoami() == MING
        page = client.board(9)
        thread = client.thread(1090)
    assert [(row.tid, row.title) for row in page.rows] == [(1090, "会员专享：春茶品鉴笔记")]
    assert [post.pid for post in thread.posts] == [10901]


@MODES
def test_chinese_username_is_sent_in_the_gbk_site_charset(mode: str, forum: FixtureForum) -> None:
    # The fixture site reads the form bytes as GBK, as Discuz does: a UTF-8 body would not match.
    user, cookies = run(mode, forum, "login", "茶客老周", "Pu-erh-2020")
    assert user == LoggedInUser(uid=12, name="茶客老周")
    assert cookies == ["Ab3x_2132_auth", "Ab3x_2132_saltkey"]


def test_async_whoami_for_a_guest(forum: FixtureForum) -> None:
    assert run("async", forum, "whoami")[0] is None


@MODES
def test_wrong_password_then_captcha_then_success(mode: str, forum: FixtureForum) -> None:
    with pytest.raises(LoginFailed) as wrong:
        run(mode, forum, "login", "aming", "not-the-password")
    assert (wrong.value.key, wrong.value.tries_left) == ("login_invalid", 4)
    assert "not-the-password" not in str(wrong.value) + repr(wrong.value)
    # After one failure the fixture site puts a captcha on the login form.
    with pytest.raises(CaptchaRequired) as captcha:
        run(mode, forum, "login", "aming", PASSWORD)
    assert captcha.value.key == "seccode"
    assert captcha.value.captcha_url == (
        "http://forum.test/misc.php?mod=seccode&action=update&idhash=cS00&modid=member::logging"
    )
    with pytest.raises(CaptchaRequired) as bad_code:
        run(mode, forum, "login", "aming", PASSWORD, seccode="0000")
    assert bad_code.value.key == "submit_seccode_invalid"
    user, _ = run(mode, forum, "login", "aming", PASSWORD, seccode="k7PQ")
    assert user == MING


@MODES
def test_locked_account(mode: str, forum: FixtureForum) -> None:
    with pytest.raises(LoginLocked) as locked:
        run(mode, forum, "login", "locked", "Locked-Pass-1")
    assert (locked.value.key, locked.value.tries_left, locked.value.retry_after) == ("login_strike", 0, 900.0)


@MODES
def test_security_question(mode: str, forum: FixtureForum) -> None:
    with pytest.raises(LoginFailed) as missing:
        run(mode, forum, "login", "asker", "Asker-Pass-2")
    assert missing.value.key == "login_question_empty"
    user, _ = run(mode, forum, "login", "asker", "Asker-Pass-2", question_id=3, answer="jasmine")
    assert user == LoggedInUser(uid=8, name="asker")


@MODES
def test_login_through_the_mobile_api(mode: str, forum: FixtureForum) -> None:
    user, cookies = run(mode, forum, "login", "aming", PASSWORD, via="api")
    assert user == MING
    assert "Ab3x_2132_auth" in cookies
    assert [entry.target for entry in forum.request_log] == [
        "/api/mobile/index.php?version=4&module=login&loginsubmit=yes&loginfield=auto",
        "/member.php?mod=logging&action=login",
    ]
    with pytest.raises(LoginFailed) as wrong:
        run(mode, forum, "login", "aming", "nope-nope", via="api")
    assert (wrong.value.key, wrong.value.tries_left) == ("login_invalid", 2)
    with pytest.raises(LoginLocked):
        run(mode, forum, "login", "locked", "Locked-Pass-1", via="api")


@pytest.mark.parametrize(
    ("args", "kwargs", "message"),
    [
        (("", "pw"), {}, "username must be a non-empty string"),
        (("aming", ""), {}, "password must be a non-empty string"),
        (("aming", "pw"), {"question_id": 9}, "question_id must be an int from 0 (none) to 7"),
        (("aming", "pw"), {"via": "sms"}, "via must be 'form' or 'api', got 'sms'"),
    ],
)
def test_bad_login_input_is_refused_before_any_request(
    forum: FixtureForum, args: tuple[str, str], kwargs: dict[str, Any], message: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        run("sync", forum, "login", *args, **kwargs)
    assert caught.value.message == message
    assert forum.request_log == []
