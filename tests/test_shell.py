"""Page classification (check_page) and shell facts (parse_shell) against the error fixtures."""

from __future__ import annotations

from pathlib import Path

import pytest

from discuz_scraper.errors import (
    AntiCrawlChallenge,
    DiscuzError,
    FetchError,
    LoginRequired,
    NotDiscuz,
    NotFound,
    PermissionDenied,
    RateLimited,
    ServerError,
    SiteClosed,
)
from discuz_scraper.parsers._dom import parse_html
from discuz_scraper.parsers.shell import check_page, is_login_url, message_error, parse_shell

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
X34 = "http://forum.test/"
X35 = "http://forum.test/bbs/"
GBK = "text/html; charset=gbk"
THREAD = X34 + "forum.php?mod=viewthread&tid=3"
BOARD = X34 + "forum.php?mod=forumdisplay&fid=7"

# file, url, status, content-type, error class, key, site_message, retry_after
CASES = [
    (
        "x34_thread_nonexistence.html",
        X34 + "forum.php?mod=viewthread&tid=9999",
        404,
        None,
        NotFound,
        "thread_nonexistence",
        "抱歉，指定的主题不存在或已被删除或正在被审核",
        None,
    ),
    (
        "x34_forum_nonexistence.html",
        X34 + "forum.php?mod=forumdisplay&fid=99",
        200,
        None,
        NotFound,
        "forum_nonexistence",
        "抱歉，指定的版块不存在",
        None,
    ),
    (
        "x34_viewperm_login_nopermission.html",
        BOARD,
        200,
        None,
        LoginRequired,
        "viewperm_login_nopermission",
        "抱歉，您尚未登录，没有权限访问该版块",
        None,
    ),
    (
        "x34_viewperm_none.html",
        BOARD,
        200,
        None,
        PermissionDenied,
        "viewperm_none",
        "抱歉，您没有权限访问该版块",
        None,
    ),
    (
        "x34_viewperm_upgrade.html",
        BOARD,
        200,
        None,
        PermissionDenied,
        "viewperm_upgrade",
        "抱歉，您需要升级您所在的用户组后才能访问该版块，详细请 点击这里查看。",
        None,
    ),
    (
        "x34_group_nopermission.html",
        THREAD,
        200,
        None,
        PermissionDenied,
        "group_nopermission",
        "抱歉，您所在的用户组(禁止发言)无法进行此操作",
        None,
    ),
    (
        "x34_thread_nopermission.html",
        THREAD,
        200,
        None,
        PermissionDenied,
        "thread_nopermission",
        "抱歉，本帖要求阅读权限高于 50 才能浏览",
        None,
    ),
    (
        "x34_forum_access_view_disallow.html",
        BOARD,
        200,
        None,
        PermissionDenied,
        "forum_access_view_disallow",
        "抱歉，您在本版没有权限进行此操作",
        None,
    ),
    (
        "x34_forum_nopermission.html",
        BOARD,
        200,
        None,
        PermissionDenied,
        "forum_nopermission",
        "本版块只有特定用户组可以访问",
        None,
    ),
    (
        "x34_forum_passwd.html",
        BOARD,
        200,
        None,
        PermissionDenied,
        "forum_passwd",
        "本版块需要密码，您必须在下面输入正确的密码才能浏览这个版块",
        None,
    ),
    (
        "x34_to_login.html",
        X34 + "home.php?mod=spacecp",
        200,
        None,
        LoginRequired,
        "to_login",
        "您需要先登录才能继续本操作",
        None,
    ),
    (
        "x34_board_closed.html",
        X34 + "forum.php",
        200,
        None,
        SiteClosed,
        "board_closed",
        "抱歉，本站点暂时关闭，详情请 联系管理员",
        None,
    ),
    (
        "x34_board_closed_custom.html",
        X34 + "forum.php",
        200,
        None,
        SiteClosed,
        "board_closed",
        "茶馆今夜盘点库存，明早八点照常开门:请各位茶友稍候",
        None,
    ),
    (
        "x34_user_banned.html",
        THREAD,
        200,
        None,
        SiteClosed,
        "user_banned",
        "抱歉，您的 IP 地址不在允许范围内，或您的账号被禁用，无法访问本站点",
        None,
    ),
    (
        "x34_search_ctrl.html",
        X34 + "search.php?mod=forum",
        200,
        None,
        RateLimited,
        "search_ctrl",
        "抱歉，您在 30 秒内只能进行一次搜索",
        30.0,
    ),
    (
        "x34_custom_board_message.html",
        BOARD,
        200,
        None,
        PermissionDenied,
        None,
        "本版只对参加过春茶品鉴会的茶友开放，请先到活动区报名",
        None,
    ),
    (
        "x34_no_permission_variant.html",
        THREAD,
        200,
        None,
        PermissionDenied,
        None,
        "您无权进行当前操作，这可能因以下原因之一造成：您的账号尚未激活，或所在用户组不允许访问本页",
        None,
    ),
    (
        "x34_success_notice.html",
        X34 + "forum.php?mod=post&action=reply&tid=3",
        200,
        None,
        NotDiscuz,
        None,
        "非常感谢，回复发布成功，现在将转入主题页，请稍候……[ 点击这里转入主题列表 ]",
        None,
    ),
    (
        "x34_login_page.html",
        X34 + "forum.php?mod=viewthread&tid=3&from=login",
        200,
        None,
        LoginRequired,
        None,
        None,
        None,
    ),
    (
        "x34_system_error.html",
        THREAD,
        503,
        None,
        ServerError,
        "request_tainting",
        "您当前的访问请求当中含有非法字符，已经被系统拒绝",
        None,
    ),
    (
        "x34_database_error.html",
        THREAD,
        503,
        None,
        ServerError,
        "db_connect",
        "(1040) Too many connections",
        3600.0,
    ),
    (
        "x34_cc_refresh.html",
        THREAD,
        200,
        GBK,
        AntiCrawlChallenge,
        "attackevasive_1",
        "频繁刷新限制 您访问本站速度过快或者刷新间隔时间小于两秒！请等待页面自动跳转 ...",
        None,
    ),
    (
        "x34_cc_proxy.html",
        THREAD,
        200,
        GBK,
        AntiCrawlChallenge,
        "attackevasive_2",
        "代理服务器访问限制 本站现在限制使用代理服务器访问，请去除您的代理设置，直接访问本站。",
        None,
    ),
    (
        "x34_cc_reload.html",
        THREAD,
        200,
        GBK,
        AntiCrawlChallenge,
        "attackevasive_4",
        "页面重载开启 欢迎光临本站，页面正在重新载入，请稍候 ...",
        None,
    ),
    ("x34_cc_question.html", THREAD, 200, GBK, AntiCrawlChallenge, "attackevasive_8", "7 + 13 + 2 = ?", None),
    ("x34_antitheft.html", THREAD, 200, GBK, AntiCrawlChallenge, "antitheft", None, None),
    (
        "x35_thread_nonexistence.html",
        X35 + "thread-9999-1-1.html",
        404,
        None,
        NotFound,
        "thread_nonexistence",
        "抱歉，指定的主题不存在或已被删除或正在被审核",
        None,
    ),
    (
        "x35_viewperm_login_nopermission.html",
        X35 + "forum-7-1.html",
        200,
        None,
        LoginRequired,
        "viewperm_login_nopermission",
        "抱歉，您尚未登录，没有权限访问该版块",
        None,
    ),
    (
        "x35_home_no_privilege.html",
        X35 + "home.php?mod=space&uid=2&do=profile",
        200,
        None,
        LoginRequired,
        "home_no_privilege",
        "抱歉，您需要登录后才能查看",
        None,
    ),
    (
        "x35_ajaxdata_json.json",
        X35 + "forum.php?mod=forumdisplay&fid=99&ajaxdata=json",
        200,
        None,
        NotFound,
        "forum_nonexistence",
        "抱歉，指定的版块不存在",
        None,
    ),
    (
        "x35_inajax_message.xml",
        X35 + "forum.php?mod=viewthread&tid=8&inajax=1",
        200,
        None,
        PermissionDenied,
        "thread_nopermission",
        "抱歉，本帖要求阅读权限高于 100 才能浏览",
        None,
    ),
    (
        "d72_thread_nonexistence.html",
        "http://forum.test/d72/viewthread.php?tid=9999",
        200,
        None,
        NotFound,
        "thread_nonexistence",
        "指定的主题不存在或已被删除或正在被审核，请返回。",
        None,
    ),
]


@pytest.mark.parametrize(
    ("name", "url", "status", "content_type", "error", "key", "site_message", "retry_after"),
    CASES,
    ids=[case[0] for case in CASES],
)
def test_error_fixture(name, url, status, content_type, error, key, site_message, retry_after):
    body = (FIXTURES / "errors" / name).read_bytes()
    with pytest.raises(DiscuzError) as info:
        check_page(body, url, status=status, retry_after=retry_after, content_type=content_type)
    exc = info.value
    assert type(exc) is error
    assert (exc.key, exc.site_message, exc.status_code, exc.url, exc.retry_after) == (
        key,
        site_message,
        status,
        url,
        retry_after,
    )


def test_every_error_fixture_is_listed_in_readme_and_tested():
    names = {p.name for p in (FIXTURES / "errors").iterdir() if p.name != "README.md"}
    readme = (FIXTURES / "errors" / "README.md").read_text(encoding="utf-8")
    assert names == {case[0] for case in CASES}
    assert all(f"`{name}`" in readme for name in names)


def test_login_redirect_target_is_login_required_whatever_the_body():
    url = X34 + "member.php?mod=logging&action=login&referer=http%3A%2F%2Fforum.test%2Fforum.php"
    with pytest.raises(LoginRequired) as info:
        check_page((FIXTURES / "errors" / "x34_login_page.html").read_bytes(), url)
    assert (info.value.url, info.value.status_code) == (url, 200)


def test_is_login_url():
    assert is_login_url("http://forum.test/member.php?mod=logging&action=login&referer=x")
    assert is_login_url("http://forum.test/d72/logging.php?action=login")
    assert not is_login_url("http://forum.test/member.php?mod=logging&action=logout&formhash=1")
    assert not is_login_url("http://forum.test/forum.php?action=login")


def test_gbk_error_page_decodes_from_raw_bytes_without_a_header():
    raw = (FIXTURES / "errors" / "x34_thread_nonexistence.html").read_bytes()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    with pytest.raises(NotFound) as info:
        check_page(raw, THREAD, status=404)
    assert info.value.site_message == "抱歉，指定的主题不存在或已被删除或正在被审核"


def test_antitheft_fixture_is_a_bare_script_of_about_two_and_a_half_kb():
    body = (FIXTURES / "errors" / "x34_antitheft.html").read_bytes()
    assert 2300 <= len(body) <= 2600
    assert body.startswith(b"<script") and body.endswith(b"</script>")
    assert b"<html" not in body and b"function getName(){var caller=getName.caller;" in body


def test_thread_page_quoting_messagetext_and_antitheft_code_is_normal():
    tree, shell = check_page((FIXTURES / "pages" / "x34_thread_tricky.html").read_bytes(), THREAD)
    assert tree.css_first("#postlist #messagetext") is not None
    assert shell.model_dump() == {
        "url": THREAD,
        "base_url": "http://forum.test/",
        "title": "关于采集与防采集的讨论 - 青石茶话 - Powered by Discuz!",
        "site_name": "青石茶话",
        "generator": "Discuz! X3.4",
        "version": "X3.4",
        "charset": "gbk",
        "utc_offset_minutes": 480,
        "discuz_uid": 5,
        "cookie_prefix": "Ab3x_2132_",
        "logged_in_name": "林间煮雪",
        "evidence": ["generator", "title", "footer", "inline_vars"],
    }
    assert shell.formhash == "9c1e7a2b"
    assert "9c1e7a2b" not in repr(shell) and "9c1e7a2b" not in shell.model_dump_json()


def test_antitheft_markers_inside_a_small_html_page_are_not_a_challenge():
    page = "<html><body><script>function getName(){var caller=getName.caller;}</script></body></html>"
    with pytest.raises(NotDiscuz) as info:
        check_page(page, THREAD)
    assert info.value.key is None


@pytest.mark.parametrize(
    ("name", "url", "offset", "version", "base", "charset", "cookie_prefix", "site_name"),
    [
        ("x35_index_gmt55.html", X35 + "forum.php", 330, "X3.5", X35, "utf-8", "Kq7m_2132_", "山城旧事"),
        ("x35_index_gmt0.html", X35, 0, "X3.5", X35, "utf-8", "Kq7m_2132_", "山城旧事"),
    ],
)
def test_x35_shell_facts(name, url, offset, version, base, charset, cookie_prefix, site_name):
    _, shell = check_page((FIXTURES / "pages" / name).read_bytes(), url)
    assert (
        shell.utc_offset_minutes,
        shell.version,
        shell.base_url,
        shell.charset,
        shell.cookie_prefix,
        shell.site_name,
        shell.discuz_uid,
        shell.logged_in_name,
        shell.formhash,
    ) == (offset, version, base, charset, cookie_prefix, site_name, 0, None, None)


def test_d72_shell_reads_unquoted_uid_and_footer_version():
    raw = (FIXTURES / "errors" / "d72_thread_nonexistence.html").read_bytes()
    shell = parse_shell(parse_html(raw.decode("gb18030")), "http://forum.test/d72/viewthread.php?tid=9999")
    assert (
        shell.version,
        shell.discuz_uid,
        shell.cookie_prefix,
        shell.utc_offset_minutes,
        shell.base_url,
        shell.evidence,
    ) == ("7.2", 0, None, 480, "http://forum.test/d72/", ["generator", "title", "footer", "inline_vars"])


def test_not_discuz_page():
    url = "http://shop.test/"
    with pytest.raises(NotDiscuz) as info:
        check_page((FIXTURES / "pages" / "not_discuz.html").read_bytes(), url)
    assert (info.value.url, info.value.status_code, info.value.key) == (url, 200, None)


@pytest.mark.parametrize(
    ("status", "error"),
    [(404, NotFound), (410, NotFound), (429, RateLimited), (502, ServerError), (403, FetchError)],
)
def test_plain_error_statuses(status, error):
    with pytest.raises(DiscuzError) as info:
        check_page("<html><body>nginx</body></html>", THREAD, status=status, retry_after=7.0)
    assert type(info.value) is error
    assert info.value.status_code == status


def test_rate_limited_keeps_retry_after():
    with pytest.raises(RateLimited) as info:
        check_page("<html><body>slow down</body></html>", THREAD, status=429, retry_after=12.0)
    assert info.value.retry_after == 12.0


def test_invalid_json_body_is_not_discuz():
    with pytest.raises(NotDiscuz) as info:
        check_page('{"message": ', THREAD)
    assert str(info.value).startswith("a JSON body that is not valid JSON")


def test_message_error_on_unknown_text_at_board_url_is_plain_permission_denied():
    exc = message_error("闭馆整理", BOARD, css_class="alert_info", login_box=True)
    assert (type(exc), exc.key, exc.site_message) == (PermissionDenied, None, "闭馆整理")
