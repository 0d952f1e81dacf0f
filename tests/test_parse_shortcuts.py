"""Edge cases of the board-row and mobile-API shortcuts (issue 7): each pins the exact answer the
per-field selectors and per-post URL building gave before."""

from __future__ import annotations

import json

import pytest

from discuz_scraper.errors import DiscuzError
from discuz_scraper.parsers.api import parse_api_thread_page
from discuz_scraper.parsers.board import parse_board_page
from discuz_scraper.urls import findpost_url

BOARD = "http://forum.test/forum-2-1.html"


def board(rows: str, *, doctype: str = "<!DOCTYPE html>") -> str:
    return (
        f"{doctype}<html><head><title>B - Site - Powered by Discuz!</title></head><body>"
        f'<table id="threadlisttableid" summary="forum_2">{rows}</table></body></html>'
    )


def row(tid: int, icons: str = "", th: str = "") -> str:
    return (
        f'<tbody id="normalthread_{tid}"><tr><td class="icn">{icons}</td>'
        f'<th><a href="thread-{tid}-1-1.html" class="s xst">T{tid}</a>{th}</th>'
        '<td class="by"><cite><a href="space-uid-3.html">amy</a></cite><em><span>2024-3-9</span></em></td>'
        '<td class="num"><a>4</a><em>50</em></td></tr></tbody>'
    )


def flags(html: str) -> list[tuple[int, bool, bool, bool | None, int, str | None]]:
    page = parse_board_page(html, BOARD)
    return [(r.tid, r.has_image, r.has_attachment, r.closed, r.digest, r.special) for r in page.rows]


def test_row_icons_from_image_attributes() -> None:
    html = board(
        row(1, '<img src="static/image/common/folder_lock.gif">')
        + row(2, th='<img src=" static/image/common/digest_2.gif " alt="attach_img">')
        + row(3, th='<img alt="attachment"><img alt="attach_img ">')
        + row(4, th='<img src="digest_x.gif"><img src="x/digest_3.gif">')
    )
    assert flags(html) == [
        (1, False, False, True, 0, None),
        (2, True, True, False, 2, None),
        (3, False, True, False, 0, None),
        (4, False, False, False, 3, None),
    ]


def test_row_icon_font_only_where_the_row_has_an_i_element() -> None:
    html = board(
        row(1, '<i class="fico-thread"></i>')
        + row(2, '<i class="fico-lock"></i><i class="fico-vote"></i>', th='<i class="fico-image"></i>')
        + row(3, th="<b>fico-image</b>")
    )
    assert flags(html) == [
        (1, False, False, False, 0, None),
        (2, True, True, True, 0, "poll"),
        (3, False, False, False, 0, None),
    ]


@pytest.mark.parametrize(
    ("doctype", "expected"), [("", (True, True, "poll")), ("<!DOCTYPE html>", (False, False, None))]
)
def test_row_icon_font_classes_in_quirks_mode(doctype: str, expected: tuple[bool, bool, str | None]) -> None:
    icons = row(1, '<i class="FICO-LOCK"></i><i class="Fico-Vote"></i>', th='<i class="fico-IMAGE"></i>')
    ((_, has_image, _, closed, _, special),) = flags(board(icons, doctype=doctype))
    assert (has_image, closed, special) == expected


def test_row_counters_from_the_first_a_and_em_of_the_cell() -> None:
    html = board(row(1).replace("<a>4</a><em>50</em>", "<span><a>7</a></span><em>8</em><a>9</a><em>10</em>"))
    (summary,) = parse_board_page(html, BOARD).rows
    assert (summary.replies, summary.views) == (7, 8)


API = "http://forum.test/bbs/api/mobile/index.php?version=4&module=viewthread&tid={tid}&ppp=50"


def api_page(tid: str, pids: list[str], first: str = "0") -> str:
    member = {"authorid": "3", "author": "amy", "username": "amy"}
    posts = [{"pid": pid, "first": first, "message": "hi", **member} for pid in pids]
    return json.dumps({"Variables": {"thread": {"tid": tid, "replies": "9"}, "postlist": posts, "ppp": "50"}})


def test_api_permalinks_are_findpost_urls() -> None:
    pids = ["1", "9", "10", "7107", "50061", "1234567890123"]
    page = parse_api_thread_page(api_page("2001", pids), API.format(tid=2001))
    base = "http://forum.test/bbs/"
    assert [post.permalink for post in page.posts] == [findpost_url(base, 2001, int(pid)) for pid in pids]
    assert page.posts[1].permalink == "http://forum.test/bbs/forum.php?mod=redirect&goto=findpost&ptid=2001&pid=9"


@pytest.mark.parametrize(("tid", "pid"), [("2001", "0"), ("2001", "-4"), ("-5", "7")])
def test_api_post_link_with_a_non_positive_id_is_a_discuz_error(tid: str, pid: str) -> None:
    with pytest.raises(DiscuzError, match="must be a positive integer"):
        parse_api_thread_page(api_page(tid, ["5", pid]), API.format(tid=2001))


def test_api_first_post_needs_no_findpost_link() -> None:
    page = parse_api_thread_page(api_page("-5", ["7"], first="1"), API.format(tid=2001))
    assert page.posts[0].permalink == "http://forum.test/bbs/forum.php?mod=viewthread&tid=-5"


@pytest.mark.parametrize(
    ("value", "expected"),
    [("12", 12), (" 12 ", 12), ("-3", -3), ("٣", 3), ("²", None), ("1.5", None), ("", None), ("12\n", 12)],
)
def test_api_integer_strings(value: str, expected: int | None) -> None:
    body = json.dumps({"Variables": {"thread": {"tid": "2001", "replies": value}, "ppp": "50",
                                     "postlist": [{"pid": "5", "first": "1", "message": "hi"}]}})
    assert parse_api_thread_page(body, API.format(tid=2001)).replies == expected
