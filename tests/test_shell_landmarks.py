"""The page shell reads its whole-tree lookups from a few landmarks (one ``[id]`` query, one marker
list, the ``#pt`` trails) instead of one query each: these pin the answers where that could
differ — first match in document order, nested and repeated anchors, quirks-mode case-insensitive
ids, variables outside ``<head>``."""

from __future__ import annotations

import pytest

from discuz_scraper.errors import PermissionDenied, ServerError
from discuz_scraper.parsers.shell import check_page, parse_breadcrumb, parse_shell

URL = "http://forum.test/forum.php"
STANDARDS = "<!DOCTYPE html>"
HEAD = "<title>T - Site - Powered by Discuz!</title>"


def page(body: str, *, doctype: str = STANDARDS, head: str = HEAD) -> str:
    return f"{doctype}<html><head>{head}</head><body>{body}</body></html>"


def test_footer_version_is_the_first_match_in_document_order() -> None:
    body = '<div id="copyright"><em>spoof</em></div><div id="ft"><div id="frt"><em>X3.4</em></div></div>'
    _, shell = check_page(page(body), URL)
    assert (shell.version, shell.evidence) == ("spoof", ["title", "footer"])


def test_footer_version_em_that_is_itself_an_anchor_counts_once() -> None:
    _, shell = check_page(page('<em id="frt"><em>inner</em></em>'), URL)
    assert shell.version == "inner"


@pytest.mark.parametrize(("doctype", "version"), [("", "X3.5"), (STANDARDS, None)])
def test_footer_ids_match_case_insensitively_in_quirks_mode_only(doctype: str, version: str | None) -> None:
    _, shell = check_page(page('<div id="FRT"><em>X3.5</em></div>', doctype=doctype), URL)
    assert shell.version == version


def test_footer_offset_is_the_first_paragraph_with_one_across_nested_and_repeated_anchors() -> None:
    body = (
        '<div id="ft"><p>Powered by</p><div id="ft"><p>GMT+9, 2024-3-9</p></div></div>'
        '<div id="footlinks"><p>GMT+5.5, 2024-3-9</p></div>'
    )
    _, shell = check_page(page(body), URL)
    assert shell.utc_offset_minutes == 540
    body = '<div id="footlinks"><p>GMT-5, x</p></div><div id="flk"><p>GMT+8, y</p></div>'
    _, shell = check_page(page(body), URL)
    assert shell.utc_offset_minutes == -300


@pytest.mark.parametrize(("doctype", "name"), [("", "eve"), (STANDARDS, None)])
def test_logged_in_name_in_quirks_mode(doctype: str, name: str | None) -> None:
    body = '<div id="UM"><span class="VWMY"><a>eve</a></span></div>'
    _, shell = check_page(page(body, doctype=doctype), URL)
    assert shell.logged_in_name == name


def test_logged_in_name_inside_nested_user_menus() -> None:
    body = (
        '<div id="um"><div id="um"><p class="vwmy"><a>inner</a></p></div>'
        '<p class="vwmy"><a>outer</a></p></div>'
    )
    _, shell = check_page(page(body), URL)
    assert shell.logged_in_name == "inner"


def test_breadcrumb_reads_every_trail_once_in_document_order() -> None:
    body = (
        '<div id="pt"><div class="z"><a href="./" class="nvhm">Home</a>'
        '<a href="forum-2-1.html">Board</a></div>'
        '<div id="pt"><div class="z"><a href="thread-5-1-1.html">Thread</a></div></div></div>'
        '<p>post</p><div id="pt"><div class="z"><a href="forum.php?gid=1">Cat</a></div></div>'
    )
    tree, shell = check_page(page(body), URL)
    crumbs = parse_breadcrumb(tree, shell.base_url)
    assert [(c.name, c.kind, c.id) for c in crumbs] == [
        ("Home", "home", None), ("Board", "board", 2), ("Thread", "thread", 5), ("Cat", "category", 1),
    ]


@pytest.mark.parametrize(("doctype", "names"), [("", ["Home", "Board"]), (STANDARDS, [])])
def test_breadcrumb_trail_id_in_quirks_mode(doctype: str, names: list[str]) -> None:
    body = '<div id="PT"><div class="Z"><a href="./">Home</a><a href="forum-2-1.html">Board</a></div></div>'
    tree, shell = check_page(page(body, doctype=doctype), URL)
    assert [c.name for c in parse_breadcrumb(tree, shell.base_url)] == names


def test_inline_variables_outside_head_are_still_read() -> None:
    _, shell = check_page(page("<script>var discuz_uid = '7', cookiepre = 'body_';</script>", head=""), URL)
    assert (shell.discuz_uid, shell.cookie_prefix, shell.evidence) == (7, "body_", ["inline_vars"])


def test_inline_variables_of_head_win_over_a_later_script() -> None:
    head = "<script>var cookiepre = 'head_', discuz_uid = '3';</script>"
    html = page("<script>var cookiepre = 'body_', discuz_uid = '9';</script>", head=head)
    tree, shell = check_page(html, URL)
    assert (shell.cookie_prefix, shell.discuz_uid) == ("head_", 3)
    assert parse_shell(tree, URL) == shell


@pytest.mark.parametrize(("doctype", "raises"), [("", True), (STANDARDS, False)])
def test_showmessage_id_in_quirks_mode(doctype: str, raises: bool) -> None:
    html = page('<div id="MessageText" class="alert_error"><p>您无权进行当前操作</p></div>', doctype=doctype)
    if raises:
        with pytest.raises(PermissionDenied, match="您无权进行当前操作"):
            check_page(html, URL)
    else:
        assert check_page(html, URL)[1].evidence == ["title"]


def test_system_error_in_an_upper_case_container_in_quirks_mode() -> None:
    body = '<div id="CONTAINER"><h1>Discuz! Database Error</h1><div class="info">Too many connections</div>'
    with pytest.raises(ServerError) as caught:
        check_page(page(body, doctype="", head=""), URL)
    assert (caught.value.key, caught.value.site_message) == ("db_connect", "Too many connections")


def test_password_form_and_formhash_are_told_apart_in_one_query() -> None:
    body = (
        '<input type="hidden" name="formhash" value="first"><div class="nfl"><h3>需要密码</h3></div>'
        '<form action="forum.php?mod=forumdisplay&amp;fid=2&amp;action=pwverify"><input name="pw"></form>'
    )
    with pytest.raises(PermissionDenied) as caught:
        check_page(page(body), URL)
    assert (caught.value.key, caught.value.site_message) == ("forum_passwd", "需要密码")
    body = '<input name="formhash" value="first"><input name="formhash" value="2nd">'
    _, shell = check_page(page(body), URL)
    assert shell.formhash == "first"
