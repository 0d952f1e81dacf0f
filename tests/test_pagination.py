"""The shared pager: X3 (with label), X2 (no label), 7.2 div.pages, a.last, single page."""

from __future__ import annotations

from discuz_scraper.parsers._dom import parse_html
from discuz_scraper.parsers.pagination import Pagination, parse_pagination

X3 = """<div id="pgt" class="pgs mbm cl"><div class="pg">
<a href="forum.php?mod=viewthread&amp;tid=3&amp;page=1" class="first">1 ...</a>
<a href="forum.php?mod=viewthread&amp;tid=3&amp;page=4" class="prev">&nbsp;&nbsp;</a>
<a href="forum.php?mod=viewthread&amp;tid=3&amp;page=3">3</a>
<a href="forum.php?mod=viewthread&amp;tid=3&amp;page=4">4</a>
<strong>5</strong><a href="forum.php?mod=viewthread&amp;tid=3&amp;page=6">6</a>
<a href="forum.php?mod=viewthread&amp;tid=3&amp;page=62" class="last">... 62</a>
<label><input type="text" name="custompage" class="px" size="2" title="输入页码，按回车快速跳转" value="5" />
<span title="共 62 页"> / 62 页</span></label>
<a href="forum.php?mod=viewthread&amp;tid=3&amp;page=6" class="nxt">下一页</a></div></div>"""


def test_x3_pager_with_label():
    assert parse_pagination(parse_html(X3)) == Pagination(current=5, total=62, present=True)


def test_x2_pager_without_label_uses_a_last():
    html = (
        '<div class="pg"><a href="?page=1">1</a><strong>2</strong><a href="?page=3">3</a>'
        '<a href="?page=40" class="last">... 40</a><a href="?page=3" class="nxt">下一页</a></div>'
    )
    assert parse_pagination(parse_html(html)) == Pagination(current=2, total=40, present=True)


def test_x2_pager_near_the_end_uses_the_largest_number():
    html = '<div class="pg"><a href="?page=1">1</a><a href="?page=2">2</a><strong>3</strong></div>'
    assert parse_pagination(parse_html(html)) == Pagination(current=3, total=3, present=True)


def test_d72_pages_ignores_the_record_count():
    html = (
        '<div class="pages"><em>&nbsp;1234&nbsp;</em><a href="forumdisplay.php?fid=4&amp;page=1">1</a>'
        '<strong>2</strong><a href="forumdisplay.php?fid=4&amp;page=3">3</a>'
        '<a href="forumdisplay.php?fid=4&amp;page=62" class="last">... 62</a>'
        '<a href="forumdisplay.php?fid=4&amp;page=3" class="next">下一页</a></div>'
    )
    assert parse_pagination(parse_html(html)) == Pagination(current=2, total=62, present=True)


def test_no_pager_is_one_page():
    assert parse_pagination(parse_html("<div id='postlist'></div>")) == Pagination(1, 1, False)


def test_comment_pager_inside_a_post_is_not_the_page_pager():
    html = (
        '<div id="postlist"><div id="comment_17" class="cm"><div class="pgs"><div class="pg">'
        '<strong>1</strong><a href="?page=2">2</a></div></div></div></div>'
    )
    assert parse_pagination(parse_html(html)) == Pagination(current=1, total=1, present=False)


def test_pager_under_a_node():
    tree = parse_html(X3 + '<div id="other"><div class="pg"><strong>2</strong><a>7</a></div></div>')
    assert parse_pagination(tree.css_first("#other")) == Pagination(current=2, total=7, present=True)
