"""The forum index (``forum.php``), category pages (``forum.php?gid=N``) and the board rows they
share with a board page's sub-board table (reference §5).

Two layouts exist for a category's boards: one board per ``table.fl_tb`` row, or, when the
category has ``forumcolumns`` set, one board per ``td.fl_g`` cell (``dl > dt/dd``).
:func:`parse_board_rows` reads either, so the board parser uses it for ``#subforum_FID`` too.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime, tzinfo
from typing import NamedTuple
from urllib.parse import unquote, urljoin, urlsplit

from ..errors import DiscuzError, ParseError
from ..models import Board, Category, ForumIndex, ForumStats
from ..urls import DiscuzURL, parse_url
from ._dom import Node, Tree, absolute, attr, number, text, to_int
from .dates import DEFAULT_TZ, parse_absolute, parse_time_node
from .shell import check_page, page_timezone

__all__ = [
    "labelled_count",
    "labelled_names",
    "link_target",
    "parse_board_rows",
    "parse_forum_index",
    "query_int",
]

# The board status icons (new posts / no new posts) stand in when a board has no icon of its own.
_STATUS_ICON = re.compile(r"/forum(?:_new)?\.(?:gif|png|svg)$")
_CHART_COUNTS = {"今日": "today_posts", "昨日": "yesterday_posts", "帖子": "posts", "会员": "members"}
_ONLINE_COUNTS = {
    "online_total": re.compile(r"总计\s*(\d+)"),
    "online_members": re.compile(r"(\d+)\s*会员"),
    "online_invisible": re.compile(r"(\d+)\s*隐身"),
    "online_guests": re.compile(r"(\d+)\s*位?游客"),
    "online_record": re.compile(r"最高记录是\s*(\d+)"),
}
_ONLINE_RECORD_DATE = re.compile(r"最高记录是\s*\d+\s*于\s*(\S+)")


class _LastPost(NamedTuple):
    subject: str | None = None
    tid: int | None = None
    at: datetime | None = None
    poster: str | None = None
    is_private: bool = False
    is_redirect: bool = False


def link_target(base: str, node: Node | None) -> tuple[str, DiscuzURL] | None:
    """The absolute ``href`` of ``node`` and what it points at; None for missing or odd links."""
    href = absolute(base, attr(node, "href"))
    if href is None:
        return None
    try:
        return href, parse_url(href)
    except DiscuzError:
        return None


def query_int(url: str | None, key: str) -> int | None:
    """An integer query parameter of ``url`` (``typeid``, ``gid``...), else None."""
    if not url:
        return None
    # parse_qs(query).get(key)[-1] without decoding every other name and value: parse_qs skips
    # fields without "=" and fields with an empty value, and keeps the last of repeated names.
    try:
        query = urlsplit(url).query
    except ValueError:  # "http://[bad": a malformed host (hostile pages) carries no usable id
        return None
    found = None
    for field in query.split("&"):
        name, _, value = field.partition("=")
        if value and unquote(name.replace("+", " ")) == key:
            found = value
    return None if found is None else to_int(unquote(found.replace("+", " ")))


def labelled_count(value: str, label: str) -> int | None:
    """The number after ``label:`` in a line of counters like ``今日: 5 | 主题: 32``."""
    m = re.search(re.escape(label) + r"\s*[:：]\s*(\d[\d,]*)", value)
    return to_int(m.group(1)) if m else None


def labelled_names(nodes: Iterable[Node], label: str) -> list[str]:
    """Link texts after ``label`` (``版主:``, ``分区版主:``) in the first node whose text starts with it.

    Moderator lists sit in a ``span.xi2`` when there is one; only its links count then, so a
    board's rules or description next to the label cannot leak in.
    """
    for node in nodes:
        if not text(node).startswith(label):
            continue
        holder = node.css_first("span.xi2") or node
        return [name for name in (text(a) for a in holder.css("a")) if name]
    return []


def parse_forum_index(
    html: str | bytes,
    url: str,
    *,
    status: int = 200,
    now: datetime | None = None,
    default_tz: tzinfo = DEFAULT_TZ,
) -> ForumIndex:
    """Read ``forum.php`` or a category page ``forum.php?gid=N`` into categories and boards.

    The members' favourite-board block (``#category_0``) and collection blocks (negative ids)
    are skipped. Raises :class:`ParseError` when the page holds no category at all.
    """
    tree, shell = check_page(html, url, status=status)
    tz = page_timezone(shell, default_tz)
    categories = [
        _category(gid, box, shell.base_url, tz, now) for gid, box in _category_boxes(tree)
    ]
    if not categories:
        raise ParseError("not a forum index: no category block (div#category_N) on the page", url=url)
    target = parse_url(url)
    return ForumIndex(
        url=url,
        site_name=shell.site_name,
        gid=target.gid if target.kind == "category" else None,
        categories=categories,
        stats=_stats(tree, tz),
    )


def _category_boxes(tree: Tree) -> list[tuple[int, Node]]:
    boxes: list[tuple[int, Node]] = []
    for node in tree.css('div[id^="category_"]'):
        suffix = (attr(node, "id") or "")[len("category_"):]
        # 0 is "my favourite boards" and negative ids are collections: not categories.
        if suffix.isdigit() and int(suffix) > 0:
            boxes.append((int(suffix), node))
    return boxes


def _category(gid: int, box: Node, base: str, tz: tzinfo, now: datetime | None) -> Category:
    frame = box.parent
    header = frame.css_first("div.bm_h") if frame is not None else None
    heading = header.css_first("h2") if header is not None else None
    link = heading.css_first("a") if heading is not None else None
    return Category(
        gid=gid,
        name=text(heading),
        url=absolute(base, attr(link, "href")) or urljoin(base, f"forum.php?gid={gid}"),
        moderators=labelled_names(header.css("span.y") if header is not None else [], "分区版主"),
        boards=parse_board_rows(box, base, tz, now=now),
    )


def parse_board_rows(container: Node, base: str, tz: tzinfo, *, now: datetime | None = None) -> list[Board]:
    """Every board listed under ``container`` (a ``#category_N`` or ``#subforum_FID`` block),
    in the row layout or the column layout."""
    cells = container.css("td.fl_g")
    if cells:
        return [_column_board(cell, base, tz, now) for cell in cells]
    rows = ((row, row.css_first("h2 a")) for row in container.css("tr"))
    return [_row_board(row, link, base, tz, now) for row, link in rows if link is not None]


def _row_board(row: Node, link: Node, base: str, tz: tzinfo, now: datetime | None) -> Board:
    counts = row.css_first("td.fl_i")
    return _board(
        link,
        base,
        today=row.css_first("h2 em"),
        icon=row.css_first("td.fl_icn img"),
        paragraphs=row.css("p"),
        threads=number(counts.css_first("span.xi2")) if counts is not None else None,
        posts=number(counts.css_first("span.xg1")) if counts is not None else None,
        last_post=_last_post(row.css_first("td.fl_by"), base, tz, now),
    )


def _column_board(cell: Node, base: str, tz: tzinfo, now: datetime | None) -> Board:
    counts = {text(em).split(":")[0].split("：")[0]: number(em) for em in cell.css("dd em")}
    details = cell.css("dd")
    return _board(
        cell.css_first("dt a"),
        base,
        today=cell.css_first("dt em"),
        icon=cell.css_first("div.fl_icn_g img"),
        paragraphs=[],
        threads=counts.get("主题"),
        posts=counts.get("帖数"),
        last_post=_last_post(details[-1] if details else None, base, tz, now),
    )


def _board(
    link: Node | None,
    base: str,
    *,
    today: Node | None,
    icon: Node | None,
    paragraphs: list[Node],
    threads: int | None,
    posts: int | None,
    last_post: _LastPost,
) -> Board:
    board = _board_link(link, base)
    description = next((text(p) for p in paragraphs if "xg2" in (attr(p, "class") or "")), None)
    icon_url = absolute(base, attr(icon, "src"))
    # Discuz prints the "(N)" today count only when it is above zero, and never for link-boards.
    today_posts = number(today) if today is not None else (None if last_post.is_redirect else 0)
    return board.model_copy(
        update={
            "description": description or None,
            "icon_url": None if icon_url is None or _STATUS_ICON.search(icon_url) else icon_url,
            "threads": threads,
            "posts": posts,
            "today_posts": today_posts,
            "moderators": labelled_names(paragraphs, "版主"),
            "last_post_subject": last_post.subject,
            "last_post_tid": last_post.tid,
            "last_post_at": last_post.at,
            "last_poster": last_post.poster,
            "sub_boards": [_board_link(a, base) for a in _sub_board_links(paragraphs)],
            "is_redirect": last_post.is_redirect,
            "is_private": last_post.is_private,
        }
    )


def _board_link(link: Node | None, base: str) -> Board:
    target = link_target(base, link)
    if link is None or target is None:
        raise ParseError("board row without a board link", url=base)
    href, found = target
    return Board(
        fid=found.fid if found.kind == "board" else None,
        alias=found.forum_alias if found.kind == "board" else None,
        name=text(link),
        url=href,
    )


def _sub_board_links(paragraphs: list[Node]) -> list[Node]:
    for p in paragraphs:
        if text(p).startswith("子版块"):
            return p.css("a")
    return []


def _last_post(box: Node | None, base: str, tz: tzinfo, now: datetime | None) -> _LastPost:
    if box is None:
        return _LastPost()
    label = text(box)
    if "私密版块" in label:
        return _LastPost(is_private=True)
    if "链接到外部地址" in label:
        return _LastPost(is_redirect=True)
    link = box.css_first('a[href*="goto=lastpost"]')
    target = link_target(base, link)
    if link is None or target is None:
        return _LastPost()  # "从未" (never posted) has no last-post link
    tid = target[1].tid
    cite = box.css_first("cite")
    if cite is None:
        # Three or more columns: the link reads "最后发表: TIME", no subject, no poster.
        return _LastPost(tid=tid, at=parse_time_node(link, tz, now=now))
    return _LastPost(
        subject=text(link) or None,
        tid=tid,
        at=parse_time_node(cite, tz, now=now),
        poster=text(cite.css_first("a")) or None,
    )


def _stats(tree: Tree, tz: tzinfo) -> ForumStats | None:
    chart = tree.css_first("#chart")
    online = tree.css_first("#online .bm_h") or tree.css_first("#online")
    if chart is None and online is None:
        return None
    chart_text = text(chart)
    values: dict[str, object] = {
        field: labelled_count(chart_text, label) for label, field in _CHART_COUNTS.items()
    }
    if chart is not None:
        values["newest_member"] = text(chart.css_first("em a")) or None
    online_text = text(online)
    for field, pattern in _ONLINE_COUNTS.items():
        m = pattern.search(online_text)
        if m:
            values[field] = int(m.group(1))
    record_date = _ONLINE_RECORD_DATE.search(online_text)
    if record_date:
        values["online_record_at"] = parse_absolute(record_date.group(1), tz)
    return ForumStats.model_validate(values)
