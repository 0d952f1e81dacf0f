"""A board's thread list (``forumdisplay``): the board header, its sub-boards, thread types and
one :class:`ThreadSummary` per row (reference §4, §17 for the X3.5 icons, §15 for X2.x).

Rows are ``tbody#stickthread_TID`` / ``tbody#normalthread_TID``; the announcement row (no id)
and the ``tbody#separatorline`` rows are not threads. The tid comes from the title link, never
from the tbody id: a moved thread keeps its old id on the tbody and links to the new tid.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Literal

from ..errors import ParseError
from ..models import Author, BoardPage, ThreadSummary, ThreadType
from ..urls import parse_url
from ._dom import Node, Tree, attr, first_tag, number, text, to_int
from .dates import DEFAULT_TZ, parse_time_node
from .index import (
    labelled_count,
    labelled_names,
    link_target,
    parse_board_rows,
    query_int,
)
from .pagination import parse_pagination
from .shell import check_page, page_timezone, parse_breadcrumb

__all__ = ["parse_board_page"]

Special = Literal["poll", "trade", "reward", "activity", "debate"]

_TABLE_FID = re.compile(r"forum_(\d+)")
_ROW_PREFIXES = ("stickthread_", "normalthread_")
_PIN = re.compile(r"pin_(\d)\.")
_TPIN = re.compile(r"\btpin(\d)\b")
_DIGEST = re.compile(r"digest_(\d)\.")
# The icon link's title names the sticky level even when a lock or special icon hides the pin.
_STICKY_TITLES = (("全局置顶", 3), ("分类置顶", 2), ("本版置顶", 1))
# Icon file names of the special thread kinds (X3.x default style), then their alt texts.
_SPECIAL_ICONS: tuple[tuple[str, Special], ...] = (
    ("pollsmall", "poll"), ("tradesmall", "trade"), ("rewardsmall", "reward"),
    ("activitysmall", "activity"), ("debatesmall", "debate"),
)
_SPECIAL_ALTS: dict[str, Special] = {
    "投票": "poll", "商品": "trade", "悬赏": "reward", "活动": "activity", "辩论": "debate",
}
_READ_PERM = re.compile(r"\[阅读权限\s*(\d+)\s*\]")
_PRICE = re.compile(r"\[售价\s*(\d+)")
_REWARD = re.compile(r"\[悬赏\s*(\d+)")


@dataclass(frozen=True)
class _Context:
    fid: int
    base: str
    tz: tzinfo
    now: datetime | None
    # X3.5 rows show the new/hot state instead of a lock, so "no lock icon" proves nothing there.
    lock_always_shown: bool


def parse_board_page(
    html: str | bytes,
    url: str,
    *,
    status: int = 200,
    now: datetime | None = None,
    default_tz: tzinfo = DEFAULT_TZ,
) -> BoardPage:
    """Read one page of a board's thread list.

    ``page`` is the page Discuz shows and ``requested_page`` the one ``url`` asks for; Discuz
    answers a page past the end with page 1, which sets ``past_the_end``. Raises
    :class:`ParseError` when the page has no thread list table (e.g. a thread page).
    """
    tree, shell = check_page(html, url, status=status)
    table = tree.css_first("table#threadlisttableid") or tree.css_first('table[summary^="forum_"]')
    if table is None:
        raise ParseError(
            "not a board page: no thread list table (table#threadlisttableid or table[summary^=forum_])",
            url=url,
        )
    base = shell.base_url
    fid = _board_fid(tree, table, base, url)
    ctx = _Context(
        fid=fid,
        base=base,
        tz=page_timezone(shell, default_tz),
        now=now,
        lock_always_shown=not (shell.version or "").startswith("X3.5"),
    )
    header = tree.css_first("h1.xs2")
    header_text = text(header)
    page, page_count = _pages(tree)
    requested = parse_url(url).page or 1
    sub_board_box = tree.css_first(f"#subforum_{fid}")
    board_box = tree.css_first("div.bml")
    return BoardPage(
        fid=fid,
        name=text(header.css_first("a")) if header is not None else None,
        url=url,
        page=page,
        requested_page=requested,
        past_the_end=requested > 1 and page == 1,
        page_count=page_count,
        filter_type_id=query_int(attr(tree.css_first("#thread_types li.a a"), "href"), "typeid"),
        today_posts=labelled_count(header_text, "今日"),
        thread_count=labelled_count(header_text, "主题"),
        moderators=labelled_names(board_box.css("div") if board_box is not None else [], "版主"),
        rules_html=_rules(tree),
        sub_boards=[] if sub_board_box is None else parse_board_rows(sub_board_box, base, ctx.tz, now=now),
        thread_types=_thread_types(tree),
        breadcrumb=parse_breadcrumb(tree, base),
        rows=[_row(tbody, ctx) for tbody in table.css("tbody") if _is_thread_row(tbody)],
    )


def _board_fid(tree: Tree, table: Node, base: str, url: str) -> int:
    m = _TABLE_FID.fullmatch(attr(table, "summary") or "")
    if m:
        return int(m.group(1))
    heading = link_target(base, tree.css_first("h1.xs2 a"))
    for found in (heading[1] if heading is not None else None, parse_url(url)):
        if found is not None and found.fid is not None:
            return found.fid
    raise ParseError(
        "board page without a fid (no table summary=forum_FID, board heading or fid URL)", url=url
    )


def _pages(tree: Tree) -> tuple[int, int]:
    pager = parse_pagination(tree.css_first("#fd_page_top") or tree)
    auto = tree.css_first("a#autopbn")
    current = pager.current if pager.present else to_int(attr(auto, "curpage")) or 1
    total = to_int(attr(auto, "totalpage")) or pager.total
    return current, max(total, current)


def _rules(tree: Tree) -> str | None:
    box = tree.css_first('div[id^="forum_rules_"]')
    if box is None:
        return None
    inner = box.css_first("div.ptn") or box
    return (inner.inner_html or "").strip() or None


def _thread_types(tree: Tree) -> list[ThreadType]:
    types: list[ThreadType] = []
    for link in tree.css('#thread_types li a[href*="typeid="]'):
        type_id = query_int(attr(link, "href"), "typeid")
        name = text(link, deep=False) or attr(link.css_first("img"), "alt")
        if type_id is not None and name:
            types.append(ThreadType(id=type_id, name=name, count=number(link.css_first("span.num"))))
    return types


def _is_thread_row(tbody: Node) -> bool:
    return (attr(tbody, "id") or "").startswith(_ROW_PREFIXES)


def _row(tbody: Node, ctx: _Context) -> ThreadSummary:
    row_id = attr(tbody, "id")
    th = tbody.css_first("th")
    # X2/X3 mark the title link a.xst; Discuz 7.2 wraps it in span#thread_TID.
    link = None if th is None else th.css_first("a.xst") or th.css_first('span[id^="thread_"] > a')
    target = link_target(ctx.base, link)
    if th is None or target is None or target[1].tid is None:
        raise ParseError(f"thread row {row_id} has no title link with a tid (th a.xst)", url=ctx.base)
    href, found = target
    title = text(link)
    extras = text(th).replace(title, " ", 1)
    sticky = _sticky(tbody, row_id or "")
    by_cells = tbody.css("td.by")
    num = tbody.css_first("td.num")
    type_name, type_id = _thread_type(th)
    # One query for the row's icon images (their src/alt tests are plain string tests), and X3.5's
    # icon font (<i class="fico-...">) is looked for only in rows that hold an <i> at all.
    images = tbody.css("img")
    icons = tbody.css_first("i") is not None
    has_image = _has_image(tbody, images, icons)
    return ThreadSummary(
        tid=found.tid,
        # Category and global stickies may come from other boards; the row does not say which.
        fid=ctx.fid if sticky <= 1 else None,
        title=title,
        url=href,
        highlight=attr(link, "style"),
        type_name=type_name,
        type_id=type_id,
        sticky=sticky,
        digest=_digest(tbody, images),
        closed=_closed(tbody, images, icons, ctx),
        moved="移动" in th.text(deep=False),
        special=_special(tbody, icons),
        has_image=has_image,
        has_attachment=has_image or any(img.attrs.get("alt") == "attachment" for img in images),
        read_perm=_match_int(_READ_PERM, extras),
        price=_match_int(_PRICE, extras),
        reward=_match_int(_REWARD, extras),
        author=_author(by_cells[0] if by_cells else None, ctx.base),
        created_at=_cell_time(by_cells[0] if by_cells else None, ctx),
        replies=to_int(text(first_tag(num, "a"))) if num is not None else None,
        views=to_int(text(first_tag(num, "em"))) if num is not None else None,
        last_poster=text(by_cells[-1].css_first("cite a")) or None if len(by_cells) > 1 else None,
        last_post_at=_cell_time(by_cells[-1], ctx) if len(by_cells) > 1 else None,
        page_count=max((to_int(text(a)) or 1 for a in th.css("span.tps a")), default=1),
    )


def _sticky(tbody: Node, row_id: str) -> int:
    if not row_id.startswith("stickthread_"):
        return 0
    icon = tbody.css_first("td.icn")
    for img in icon.css("img") if icon is not None else []:
        m = _PIN.search(attr(img, "src") or "")
        if m:
            return int(m.group(1))
    pin = tbody.css_first("i.tpin")
    m = _TPIN.search(attr(pin, "class") or "")
    if m:
        return int(m.group(1))
    title = attr(icon.css_first("a[title]") if icon is not None else None, "title") or ""
    for words, level in _STICKY_TITLES:
        if words in title:
            return level
    return 1  # a sticky row whose level is not shown is at least a board sticky


def _thread_type(th: Node) -> tuple[str | None, int | None]:
    link = th.css_first('em > a[href*="typeid="]')
    if link is None:
        return None, None
    name = text(link) or attr(link.css_first("img"), "alt")
    return name, query_int(attr(link, "href"), "typeid")


def _digest(tbody: Node, images: list[Node]) -> int:
    for img in images:
        src = img.attrs.get("src") or ""
        m = _DIGEST.search(src.strip()) if "digest_" in src else None
        if m:
            return int(m.group(1))
    return to_int(text(tbody.css_first("span.tdigest"))) or 0


def _closed(tbody: Node, images: list[Node], icons: bool, ctx: _Context) -> bool | None:
    if any("folder_lock" in (img.attrs.get("src") or "") for img in images) or _icon(tbody, icons, "lock"):
        return True
    return False if ctx.lock_always_shown else None


def _special(tbody: Node, icons: bool) -> Special | None:
    if _icon(tbody, icons, "vote"):
        return "poll"
    # The icon cell shows at most one icon, and a special thread's icon takes the place of the pin.
    for img in tbody.css("td.icn img"):
        src = attr(img, "src") or ""
        for marker, kind in _SPECIAL_ICONS:
            if marker in src:
                return kind
        by_alt = _SPECIAL_ALTS.get(attr(img, "alt") or "")
        if by_alt is not None:
            return by_alt
    return None


def _has_image(tbody: Node, images: list[Node], icons: bool) -> bool:
    return any(img.attrs.get("alt") == "attach_img" for img in images) or _icon(tbody, icons, "image")


def _icon(tbody: Node, icons: bool, name: str) -> bool:
    return icons and tbody.css_first(f"i.fico-{name}") is not None


def _match_int(pattern: re.Pattern[str], value: str) -> int | None:
    m = pattern.search(value)
    return int(m.group(1)) if m else None


def _author(cell: Node | None, base: str) -> Author | None:
    if cell is None:
        return None
    link = cell.css_first("cite a")
    if link is not None:
        found = link_target(base, link)
        return Author(uid=found[1].uid if found is not None else None, name=text(link) or None)
    if text(cell.css_first("cite")):
        return Author(is_anonymous=True)  # the site's 匿名 text stands where the name link would be
    return None


def _cell_time(cell: Node | None, ctx: _Context) -> datetime | None:
    return parse_time_node(first_tag(cell, "em"), ctx.tz, now=ctx.now)
