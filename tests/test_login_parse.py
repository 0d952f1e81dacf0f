"""The login form and every login outcome (desktop page, inajax XML, mobile API)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from discuz_scraper.errors import CaptchaRequired, LoginFailed, LoginLocked, NotDiscuz, ParseError
from discuz_scraper.parsers.login import (
    LoginResult,
    parse_api_login_result,
    parse_login_form,
    parse_login_result,
)

LOGIN = Path(__file__).resolve().parent.parent / "fixtures" / "login"
FORM_URL = "http://forum.test/member.php?mod=logging&action=login"
POST_URL = "http://forum.test/member.php?mod=logging&action=login&loginsubmit=yes&loginhash=Lm2Qx"
API_URL = "http://forum.test/api/mobile/index.php?version=4&module=login&loginsubmit=yes"
REFERER = "http://forum.test/forum.php?mod=viewthread&tid=3"
WELCOME = "欢迎您回来，新手上路 茶客阿明，现在将转入登录前页面"


def _form(name: str):
    return parse_login_form((LOGIN / name).read_bytes(), FORM_URL)


def test_plain_form():
    form = _form("x34_login_form.html")
    assert form.action_url == "http://forum.test/member.php?mod=logging&action=login&loginsubmit=yes&loginhash=Lm2Qx"
    assert form.loginhash == "Lm2Qx"
    assert form.formhash == "9c1e7a2b"
    assert form.referer == REFERER
    assert form.hidden == {"formhash": "9c1e7a2b", "referer": REFERER}
    assert form.loginfield == "username"
    assert form.loginfield_options == ["username", "uid", "email"]
    assert form.has_question is True
    assert (form.seccode, form.seccode_idhash, form.seccode_url) == (False, None, None)
    assert (form.secqaa, form.secqaa_idhash, form.secqaa_url) == (False, None, None)
    assert form.cookietime == "2592000"


def test_payload_and_repr_hide_nothing_they_should_not_hold():
    form = _form("x34_login_form.html")
    assert form.payload("茶客阿明", "pw-Secret-1", questionid=2, answer="李") == {
        "formhash": "9c1e7a2b", "referer": REFERER, "username": "茶客阿明", "password": "pw-Secret-1",
        "questionid": "2", "answer": "李", "loginfield": "username", "loginsubmit": "true",
        "cookietime": "2592000",
    }
    assert "cookietime" not in form.payload("a", "b", remember=False)
    assert "pw-Secret-1" not in repr(form)


def test_autoidselect_form_sends_auto():
    form = _form("x34_login_form_autoid.html")
    assert (form.loginfield, form.loginfield_options, form.loginhash) == ("auto", [], "LaB7c")
    assert form.payload("u", "p")["loginfield"] == "auto"


def test_seccode_form():
    form = _form("x34_login_form_seccode.html")
    assert (form.seccode, form.seccode_idhash) == (True, "cS00")
    assert form.seccode_url == "http://forum.test/misc.php?mod=seccode&action=update&idhash=cS00&modid=member::logging"
    assert form.secqaa is False


def test_secqaa_form():
    form = _form("x34_login_form_secqaa.html")
    assert (form.secqaa, form.secqaa_idhash) == (True, "qS00")
    assert form.secqaa_url == "http://forum.test/misc.php?mod=secqaa&action=update&idhash=qS00&modid=member::logging"
    assert form.seccode is False


def test_page_without_login_form():
    page = (LOGIN / "x34_result_strike.html").read_bytes()
    with pytest.raises(ParseError, match="no login form"):
        parse_login_form(page, FORM_URL)


def _result(name: str):
    return parse_login_result((LOGIN / name).read_bytes(), POST_URL)


def test_location_login_succeed():
    assert _result("x34_result_location_succeed.html") == LoginResult(
        key="location_login_succeed", message=WELCOME, uid=5,
        username="茶客阿明", usergroup="新手上路", redirect_url=REFERER, formhash="9c1e7a2b",
    )


def test_login_succeed():
    assert _result("x34_result_succeed.html") == LoginResult(
        key="login_succeed", message=WELCOME, uid=5,
        username="茶客阿明", usergroup="新手上路", redirect_url="http://forum.test/forum.php",
        formhash="9c1e7a2b",
    )


def test_logged_in_page_without_message():
    page = (LOGIN / "x34_login_form.html").read_bytes().decode("gbk")
    page = page.replace("discuz_uid = '0'", "discuz_uid = '5'")
    member_bar = ('<div id="um"><p><strong class="vwmy"><a href="home.php?mod=space&amp;uid=5">茶客阿明</a>'
                  "</strong></p></div>")
    page = page.replace('<div id="ct"', member_bar + '<div id="ct"', 1)
    page = page.split('<form method="post" autocomplete="off" name="login"')[0] + "</div></body></html>"
    assert parse_login_result(page, "http://forum.test/forum.php") == LoginResult(
        key="logged_in", uid=5, username="茶客阿明", formhash="9c1e7a2b")


@pytest.mark.parametrize(
    ("name", "error", "key", "tries_left", "retry_after", "site_message"),
    [
        ("x34_result_invalid.html", LoginFailed, "login_invalid", 4, None, "登录失败，您还可以尝试 4 次"),
        ("x34_result_strike.html", LoginLocked, "login_strike", 0, 900.0,
         "密码错误次数过多，请 15 分钟后重新登录"),
        ("x34_result_question_empty.html", LoginFailed, "login_question_empty", 3, None,
         "请选择安全提问以及填写正确的答案"),
    ],
)
def test_failures(name, error, key, tries_left, retry_after, site_message):
    with pytest.raises(LoginFailed) as info:
        _result(name)
    assert type(info.value) is error
    assert (info.value.key, info.value.tries_left, info.value.retry_after) == (key, tries_left, retry_after)
    assert info.value.site_message == site_message
    assert info.value.url == POST_URL


def test_seccode_invalid_points_at_a_new_captcha():
    with pytest.raises(CaptchaRequired) as info:
        _result("x34_result_seccode_invalid.html")
    assert info.value.key == "submit_seccode_invalid"
    assert info.value.site_message == "抱歉，验证码填写错误"
    assert info.value.captcha_url == (
        "http://forum.test/misc.php?mod=seccode&action=update&idhash=cS00&modid=member::logging"
    )


def test_seccheck2_points_at_the_login_page_and_hides_its_auth_in_str():
    with pytest.raises(CaptchaRequired) as info:
        _result("x34_result_seccheck2.html")
    assert info.value.key == "login_seccheck2"
    assert info.value.captcha_url == (
        "http://forum.test/member.php?mod=logging&action=login&auth=QUFBQkJCQ0NDREREZmFrZQ%3D%3D"
        "&referer=http%3A%2F%2Fforum.test%2Fforum.php&cookietime=1"
    )
    assert "QUFBQkJCQ0NDREREZmFrZQ" not in str(info.value)
    assert "QUFBQkJCQ0NDREREZmFrZQ" not in repr(info.value)


def test_inajax_answers():
    tries = "登录失败，您还可以尝试 2 次"
    failed = ('<?xml version="1.0" encoding="gbk"?>\n<root><![CDATA[' + tries
              + "<script type=\"text/javascript\" reload=\"1\">if(typeof errorhandle_ls=='function') "
              "{errorhandle_ls('" + tries + "', {'loginperm':'2'});}</script>]]></root>")
    with pytest.raises(LoginFailed) as info:
        parse_login_result(failed.encode("gbk"), POST_URL, content_type="text/xml; charset=gbk")
    assert (info.value.key, info.value.tries_left) == ("login_invalid", 2)
    ok = ("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<root><![CDATA["
          "<script type=\"text/javascript\" reload=\"1\">if(typeof succeedhandle_ls=='function') "
          "{succeedhandle_ls('http://forum.test/forum.php', '" + WELCOME + "', "
          "{'username':'茶客阿明','usergroup':'新手上路','uid':'5'});}</script>]]></root>")
    assert parse_login_result(ok, POST_URL) == LoginResult(
        key="login_succeed", message=WELCOME,
        username="茶客阿明", usergroup="新手上路", redirect_url="http://forum.test/forum.php")


def test_login_form_again_and_unrelated_pages():
    with pytest.raises(LoginFailed, match="login form again"):
        parse_login_result((LOGIN / "x34_login_form.html").read_bytes(), POST_URL)
    with pytest.raises(NotDiscuz):
        parse_login_result("<html><body>nginx</body></html>", POST_URL)


def test_api_success_does_not_copy_auth():
    result = parse_api_login_result((LOGIN / "api_login_succeed.json").read_bytes(), API_URL)
    assert result == LoginResult(key="login_succeed", message=WELCOME,
                                 uid=5, username="茶客阿明", usergroup="新手上路", formhash="5d6e7f80")
    assert "ZmFrZS1hdXRoLXRva2Vu" not in repr(result) + result.model_dump_json()


def test_api_failures():
    with pytest.raises(LoginFailed) as info:
        parse_api_login_result((LOGIN / "api_login_invalid.json").read_bytes(), API_URL)
    assert (type(info.value), info.value.key, info.value.tries_left) == (LoginFailed, "login_invalid", 2)
    with pytest.raises(LoginLocked) as locked:
        parse_api_login_result(json.loads((LOGIN / "api_login_strike.json").read_text()), API_URL)
    assert (locked.value.key, locked.value.retry_after) == ("login_strike", 900.0)
    question = {"Variables": {"member_uid": "0"},
                "Message": {"messageval": "login_question_empty",
                            "messagestr": "请选择安全提问以及填写正确的答案"}}
    with pytest.raises(LoginFailed) as q:
        parse_api_login_result(question, API_URL)
    assert q.value.key == "login_question_empty"
    captcha = {"Message": {"messageval": "submit_seccode_invalid", "messagestr": "抱歉，验证码填写错误"}}
    with pytest.raises(CaptchaRequired):
        parse_api_login_result(captcha, API_URL)
    with pytest.raises(NotDiscuz, match="not JSON"):
        parse_api_login_result("<html>", API_URL)
    with pytest.raises(ParseError, match="no Message and no member"):
        parse_api_login_result({"Variables": {"member_uid": "0"}}, API_URL)
