"""HTML and mobile API backends give the same posts for the same thread (tid 2001, X3.5).

The HTML side is ``fixtures/thread/x35/t2001-p1..p3.html`` (5 posts a page) merged with
``build_thread``; the API side is ``fixtures/api/x35_viewthread_t2001_ppp10_p1/p2.json`` merged the
same way. Every :class:`Post` field must be equal, except these, which one side does not carry:

- ``source``: ``"html"`` vs ``"api"`` by definition.
- ``page``: the page a post was read from depends on the page size (5 on the desktop, ``ppp`` in
  the API).
- ``content_html``: the API renders BBCode with the mobile plugin's own templates (``[img]`` becomes
  ``<div class="img"><img src>``, not the desktop's lazy ``img[file]``); ``text``, images, quotes and
  attachments read from it are equal, which is what the check below proves.
- ``author.avatar_url``, ``author.group``, ``author.stats`` / ``threads`` / ``replies`` / ``credits``,
  ``author.online``: the API's post list has no avatar, no group title, no stat box and no online
  state (only ``groupid``, which is compared as ``author.group_id``).

At the thread level (``Thread``, compared in ``tests/test_backends.py`` through the clients):
``board_name`` and ``breadcrumb`` (the API's ``thread`` row has neither), ``page_count`` and ``url``
(pages of ``ppp`` posts at an API URL), ``fetched_at`` and ``source``; the opening ``author`` is
compared like a post's author.

Board pages (``BoardPage``: ``board/x35_forum3_crawl_p1.html`` / ``x35_forum3_p2.html`` against
``api/x35_forumdisplay_fid3_tpp2_p1/p2.json``): ``today_posts``, ``moderators`` and ``breadcrumb``
(not in ``forumdisplay``), ``thread_types`` (the API lists the types without their thread counts),
``url`` and ``source``. Thread-list rows (``ThreadSummary``): ``created_at`` (the desktop list shows
the date only, the API the exact time), ``page_count`` (the desktop row's page links), ``closed``
(the desktop lock icon; the API row carries no closed flag), ``fid`` (the desktop leaves it out of
sticky rows from other boards), ``url`` (the desktop adds ``extra=page%3D1``) and ``source``.

Forum index (``ForumIndex``: ``index/x35_index.html`` against
``api/x35_forumindex_same_as_html.json``): ``site_name`` and ``stats`` (not in ``forumindex``),
``url``, ``source``; a category's ``moderators``; a board's ``last_post_*``/``last_poster`` and
``moderators``, ``source``, and its ``alias``/``url`` (plus ``fid``, which the desktop does not know)
when the desktop links it by its rewrite alias (``forum-share-1.html``).

Post order differs too: the API shows the hot reply at the top of page 1 *instead of* at its floor,
so the merge keeps its pinned copy and releases it last; posts are compared by pid.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from discuz_scraper.models import Thread
from discuz_scraper.parsers.api import parse_api_thread_page
from discuz_scraper.parsers.thread import build_thread, parse_thread_page

ROOT = Path(__file__).resolve().parent.parent / "fixtures"
POST_EXCEPTIONS = {"source", "page", "content_html"}
AUTHOR_EXCEPTIONS = {"avatar_url", "group", "stats", "threads", "replies", "credits", "online"}
THREAD_EXCEPTIONS = {"board_name", "breadcrumb", "page_count", "url", "fetched_at", "source"}
BOARD_EXCEPTIONS = {"today_posts", "moderators", "breadcrumb", "thread_types", "url", "source"}
ROW_EXCEPTIONS = {"created_at", "page_count", "closed", "fid", "url", "source"}
INDEX_EXCEPTIONS = {"site_name", "stats", "url", "source"}
CATEGORY_EXCEPTIONS = {"moderators"}
INDEX_BOARD_EXCEPTIONS = {
    "last_post_subject", "last_post_tid", "last_post_at", "last_poster", "moderators", "source"
}
ALIAS_BOARD_EXCEPTIONS = {"fid", "alias", "url"}


def html_thread() -> Thread:
    pages = []
    for number in (1, 2, 3):
        url = "http://forum.test/bbs/forum.php?mod=viewthread&tid=2001" + (
            f"&extra=&page={number}" if number > 1 else ""
        )
        pages.append(parse_thread_page((ROOT / "thread" / "x35" / f"t2001-p{number}.html").read_bytes(), url))
    return build_thread(pages)


def api_thread() -> Thread:
    url = "http://forum.test/bbs/api/mobile/index.php?version=4&module=viewthread&tid=2001&ppp=10&page="
    pages = [
        parse_api_thread_page(
            (ROOT / "api" / f"x35_viewthread_t2001_ppp10_p{number}.json").read_bytes(), url + str(number)
        )
        for number in (1, 2)
    ]
    return build_thread(pages)


def comparable(post: dict[str, Any]) -> dict[str, Any]:
    kept = {key: value for key, value in post.items() if key not in POST_EXCEPTIONS}
    kept["author"] = {key: value for key, value in post["author"].items() if key not in AUTHOR_EXCEPTIONS}
    return kept


def test_same_posts_field_by_field() -> None:
    html, api = html_thread(), api_thread()
    assert len(html.posts) == len(api.posts) == 13
    api_by_pid = {post.pid: post for post in api.posts}
    assert set(api_by_pid) == {post.pid for post in html.posts}
    for post in html.posts:
        assert comparable(api_by_pid[post.pid].model_dump()) == comparable(post.model_dump()), post.pid


def test_exceptions_really_differ_and_compared_fields_are_not_empty() -> None:
    """The exception list is not hiding equal fields, and the compared ones carry real values."""
    html = {post.pid: post for post in html_thread().posts}
    api = {post.pid: post for post in api_thread().posts}
    assert html[7101].content_html != api[7101].content_html
    assert (html[7106].page, api[7106].page) == (2, 1)
    assert (html[7101].author.credits, api[7101].author.credits) == (455, None)
    assert [(api[pid].floor, api[pid].floor_label) for pid in (7101, 7105, 7112)] == [
        (1, "楼主"),
        (5, "5#"),
        (12, "12#"),
    ]
    assert [pid for pid, post in api.items() if post.is_hot] == [7107]
    assert [pid for pid, post in api.items() if post.is_sticky] == [7112]
    assert api[7101].images[0].url == "https://pic.example.net/hike/qinglong-01.jpg"


@pytest.mark.parametrize("field", ["title", "fid", "tid", "views", "replies", "closed", "special"])
def test_same_thread_metadata(field: str) -> None:
    assert getattr(api_thread(), field) == getattr(html_thread(), field)


def test_one_page_of_fifty_gives_the_same_posts_as_two_pages_of_ten() -> None:
    url = "http://forum.test/bbs/api/mobile/index.php?version=4&module=viewthread&tid=2001&ppp=50"
    single = parse_api_thread_page((ROOT / "api" / "x35_viewthread_t2001_ppp50.json").read_bytes(), url)
    two = {post.pid: post for post in api_thread().posts}
    for post in single.posts:
        # page differs by construction; the sticky reply is only recognisable when out of range.
        assert post.model_dump(exclude={"page", "is_sticky"}) == two[post.pid].model_dump(
            exclude={"page", "is_sticky"}
        )
