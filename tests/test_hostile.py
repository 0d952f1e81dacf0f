"""Hostile input: a page that pretends to be Discuz and tries to smuggle markup, script and
absurd sizes through the parsers.

Redirect loops, off-site redirects, gzip bombs and cookies for other domains are covered in
``test_http.py``; this file adds the brotli bomb (httpx decodes ``br`` here) and everything at
the parser level.
"""

from __future__ import annotations

import sys
from datetime import timedelta, timezone
from pathlib import Path

import brotli
import httpx
import pytest
from selectolax.lexbor import LexborHTMLParser

from discuz_scraper.errors import FetchError, ParseError
from discuz_scraper.http import FetchConfig, Fetcher
from discuz_scraper.parsers._dom import parse_html
from discuz_scraper.parsers.board import parse_board_page
from discuz_scraper.parsers.content import parse_message
from discuz_scraper.parsers.thread import parse_thread_page

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
from generate import load_template, thread_page

TZ = timezone(timedelta(hours=8))
TEMPLATE = load_template("x35")
URL = TEMPLATE.url
SCRIPT = "<script>alert(document.cookie)</script>"


def _page(posts: int = 3) -> str:
    return thread_page(TEMPLATE, posts)


def _scripted_page() -> str:
    html = _page()
    # The thread title: a raw element (only a hostile site sends one) and an escaped one (what
    # Discuz prints when a member types "<script>" into a subject).
    html = html.replace('<span id="thread_subject">', f'<span id="thread_subject">{SCRIPT}&lt;i&gt;', 1)
    # Author names: the link text of every author link of the first post.
    html = html.replace(">山猫</a>", f">山猫{SCRIPT}&lt;b onclick=x&gt;</a>")
    message = '<td class="t_f" id="postmessage_100001">'
    payload = (
        f'{SCRIPT}<img src="x.png" onerror="alert(1)" onload="alert(2)">'
        '<a href="javascript:alert(3)" onmouseover="alert(4)">link</a>'
        '<a href=" JaVa&#x09;ScRiPt:alert(5)">tabbed</a>'
        '<a href="vbscript:msgbox(6)">vb</a>'
        '<iframe src="javascript:alert(7)"></iframe>'
        '<div style="color:red" ONCLICK="alert(8)">styled</div>'
        '<svg><script>alert(9)</script></svg>'
        "正文 &lt;script&gt;escaped&lt;/script&gt;"
    )
    assert message in html
    return html.replace(message, message + payload, 1)


def test_script_in_title_author_and_message_is_text_not_markup() -> None:
    page = parse_thread_page(_scripted_page(), URL)
    first = page.posts[0]
    # Text only: the raw element's tags are gone, the escaped tag is kept as the literal text it is.
    assert page.title == "alert(document.cookie)<i>周末徒步：青龙峡环线实测"
    # Markup-free text: the raw element's source is plain text, the escaped tag a literal.
    assert first.author.name == "山猫alert(document.cookie)<b onclick=x>"
    assert first.text is not None
    assert "alert" not in first.text
    assert "正文 <script>escaped</script>" in first.text  # escaped markup is plain text, kept
    html = first.content_html or ""
    tree = LexborHTMLParser(f"<div>{html}</div>")
    assert tree.css("script") == []
    for el in tree.css("*"):
        assert not [name for name in el.attributes if name.lower().startswith("on")], el.html
        for name in ("href", "src"):
            value = (el.attributes.get(name) or "").replace("\t", "").strip().lower()
            assert not value.startswith(("javascript:", "vbscript:")), el.html
    assert 'style="color:red"' in html and ">styled</div>" in html  # harmless attributes stay
    assert "&lt;script&gt;escaped&lt;/script&gt;" in html
    assert [a.text(deep=True) for a in tree.css("a")] == ["link", "tabbed", "vb"]
    assert [a.attributes.get("href") for a in tree.css("a")] == [None, None, None]
    assert first.images[0].url == "http://forum.test/bbs/x.png"


def test_message_helper_drops_handlers_on_its_own() -> None:
    node = parse_html(
        '<div id="postmessage_1"><p onclick="steal()">hi<script>x()</script></p>'
        '<img src="javascript:alert(1)" file="a.jpg"></div>'
    ).css_first("#postmessage_1")
    msg = parse_message(node, base_url="http://forum.test/", tz=TZ)
    # The javascript: src is dropped first, so the image falls back on its real file.
    assert msg.content_html == '<p>hi</p><img file="http://forum.test/a.jpg" src="http://forum.test/a.jpg">'
    assert msg.text == "hi"


def test_absurdly_long_title_and_name_are_kept_whole() -> None:
    title = "长" * 200_000
    name = "名" * 50_000
    html = _page().replace('<span id="thread_subject">', f'<span id="thread_subject">{title}', 1)
    html = html.replace(">山猫</a>", f">{name}</a>")
    page = parse_thread_page(html, URL)
    assert page.title == title + "周末徒步：青龙峡环线实测"
    assert page.posts[0].author.name == name


def test_huge_post_ids_and_floors() -> None:
    """A 100,000-post thread: pids and floors far beyond the fixtures' own, read exactly."""
    html = thread_page(TEMPLATE, 5, page=5000, pages=5000, per_page=20)
    html = html.replace('id="post_1', 'id="post_9999999').replace('pid1', 'pid9999999')
    html = html.replace("postmessage_1", "postmessage_9999999").replace("postnum1", "postnum9999999")
    html = html.replace("favatar1", "favatar9999999").replace("authorposton1", "authorposton9999999")
    page = parse_thread_page(html, URL.replace("-1-1.html", "-5000-1.html"))
    # Generated pids are 100000 + floor; "1" became "9999999": 9999999 followed by the floor.
    assert [p.pid for p in page.posts] == [int(f"9999999{floor}") for floor in range(99_981, 99_986)]
    assert [p.floor for p in page.posts] == list(range(99_981, 99_986))
    assert (page.page, page.page_count) == (5000, 5000)


def test_pid_with_thousands_of_digits_is_skipped_not_a_crash() -> None:
    # int() refuses 4,300+ digit strings (ValueError); such a block is not a post.
    html = _page(3).replace("100002", "9" * 5000)
    page = parse_thread_page(html, URL)
    assert [p.pid for p in page.posts] == [100001, 100003]
    only = thread_page(TEMPLATE, 1).replace("100001", "9" * 5000)
    with pytest.raises(ParseError, match="holds no posts"):
        parse_thread_page(only, URL)


def test_quotes_nested_1000_deep() -> None:
    nest = '<div class="quote"><blockquote>' * 1000 + "最里层" + "</blockquote></div>" * 1000
    node = parse_html(f'<div id="postmessage_1">{nest}回复正文</div>').css_first("#postmessage_1")
    msg = parse_message(node, base_url="http://forum.test/", tz=TZ)
    assert msg.text == "回复正文"
    # Only the outer 16 levels are returned as separate quotes; each carries the innermost text.
    assert len(msg.quotes) == 16
    assert all(q.text == "最里层" for q in msg.quotes)


def test_board_row_titles_keep_escaped_markup_as_text() -> None:
    from discuz_scraper.charset import decode_body

    raw = (Path(__file__).resolve().parent.parent / "fixtures/board/x35_forum3_p1.html").read_bytes()
    html = decode_body(raw, None)[0]
    row_title = parse_board_page(html, "http://forum.test/bbs/forum-3-1.html").rows[0].title
    escaped = "&lt;script&gt;alert(1)&lt;/script&gt;"
    hostile = html.replace(row_title, f"{row_title}{escaped}", 1)
    rows = parse_board_page(hostile, "http://forum.test/bbs/forum-3-1.html").rows
    assert rows[0].title == row_title + "<script>alert(1)</script>"


def test_brotli_bomb_is_stopped_by_the_decompressed_size() -> None:
    bomb = brotli.compress(b"\0" * 5_000_000)
    assert len(bomb) < 1_000

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=bomb, headers={"Content-Encoding": "br"})

    fetcher = Fetcher(FetchConfig(max_bytes=100_000, rate=None), transport=httpx.MockTransport(handler))
    try:
        with pytest.raises(FetchError, match="response larger than 100000 bytes"):
            fetcher.get("https://bbs.example.com/forum.php")
    finally:
        fetcher.close()


def test_links_with_a_malformed_host_lead_nowhere_instead_of_raising() -> None:
    # urljoin raises ValueError("Invalid IPv6 URL") on "http://[..."; such a link is no link.
    from discuz_scraper.charset import decode_body

    bad = "http://[bad/home.php?mod=space&amp;uid=9"
    raw = (Path(__file__).resolve().parent.parent / "fixtures/board/x35_forum3_p1.html").read_bytes()
    html = decode_body(raw, None)[0]
    clean = parse_board_page(html, "http://forum.test/bbs/forum-3-1.html").rows[0]
    assert clean.author is not None and clean.author.uid is not None
    link = f'home.php?mod=space&amp;uid={clean.author.uid}"'
    assert link in html
    row = parse_board_page(html.replace(link, bad + '"', 1), "http://forum.test/bbs/forum-3-1.html").rows[0]
    assert (row.tid, row.author) == (clean.tid, clean.author.model_copy(update={"uid": None}))

    message = '<td class="t_f" id="postmessage_100001">'
    page = _page(1).replace(message, f'{message}<img src="http://[bad/x.png"><a href="{bad}">见</a>', 1)
    post = parse_thread_page(page, URL).posts[0]
    assert post.text is not None and post.text.startswith("见")
    assert [image.url for image in post.images] == ["https://pic.example.net/hike/qinglong-01.jpg"]
    # Nothing to resolve: the link stays as written.
    assert post.content_html is not None and f'<a href="{bad}">见</a>' in post.content_html
