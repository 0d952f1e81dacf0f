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
from ._dom import Node, Tree, attr, first_tag, has_class, number, text, to_int
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


_Attributes = dict[str, str | None]
# The elements a row's descendant selectors (td.icn img, span.tps a, cite a) need above an element.
_ICN, _TPS, _CITE = 1, 2, 4


class _Document:
    """Selector tests of one document answered in Python, as lexbor answers them."""

    def __init__(self, node: Node) -> None:
        self._node = node
        self._marks: dict[int, int] = {}

    def has_class(self, value: str | None, name: str) -> bool:
        """Whether an element of this document with class attribute ``value`` matches ``.name``."""
        return has_class(self._node, value, name)

    def inside(self, node: Node | None, mark: int) -> bool:
        """Whether ``node`` or one of its ancestors is the element of ``mark`` (``_ICN``: a
        ``td.icn``, ``_TPS``: a ``span.tps``, ``_CITE``: a ``cite``).

        Descendant selectors look above the node they are run from, up to the document. The
        nearest ancestors usually answer; a climb that finds nothing keeps what it learned, as
        the rows of a page share their ancestors.
        """
        chain: list[tuple[int, int]] = []
        found = 0
        while node is not None:
            key = node.mem_id
            known = self._marks.get(key)
            if known is not None:
                found = known
                break
            tag = node.tag
            own = 0
            if tag == "td":
                own = _ICN if self.has_class(node.attributes.get("class"), "icn") else 0
            elif tag == "span":
                own = _TPS if self.has_class(node.attributes.get("class"), "tps") else 0
            elif tag == "cite":
                own = _CITE
            if own & mark:
                return True
            chain.append((key, own))
            node = node.parent
        for key, own in reversed(chain):
            found |= own
            self._marks[key] = found
        return bool(found & mark)


@dataclass(frozen=True)
class _Context:
    fid: int
    base: str
    tz: tzinfo
    now: datetime | None
    # X3.5 rows show the new/hot state instead of a lock, so "no lock icon" proves nothing there.
    lock_always_shown: bool
    doc: _Document


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
        doc=_Document(table),
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
    """One thread row, read from one walk of the row and of its title and counter cells.

    Each lookup answers what the selector it replaces (named in the comments) answered: about a
    dozen ``css()`` calls a row, each compiling its selector again (~2-4 µs), cost more than
    walking the row's ~30 elements in Python.
    """
    doc = ctx.doc
    row_id = attr(tbody, "id")
    th = icon = num = digest_span = None
    by_cells: list[Node] = []
    images: list[tuple[Node, _Attributes]] = []
    fonts: list[str | None] = []  # the class of each <i> (X3.5 icon font)
    for el in tbody.traverse():
        tag = el.tag
        if tag == "td":
            value = el.attributes.get("class")
            if value:
                if icon is None and doc.has_class(value, "icn"):  # td.icn
                    icon = el
                if doc.has_class(value, "by"):  # td.by
                    by_cells.append(el)
                if num is None and doc.has_class(value, "num"):  # td.num
                    num = el
        elif tag == "th":
            if th is None:
                th = el
        elif tag == "img":
            images.append((el, el.attributes))
        elif tag == "i":
            fonts.append(el.attributes.get("class"))
        elif tag == "span" and digest_span is None and doc.has_class(el.attributes.get("class"), "tdigest"):
            digest_span = el
    if th is None:
        raise ParseError(f"thread row {row_id} has no title link with a tid (th a.xst)", url=ctx.base)
    title_row = _TitleCell(th, doc)
    link = title_row.link
    target = link_target(ctx.base, link)
    if target is None or target[1].tid is None:
        raise ParseError(f"thread row {row_id} has no title link with a tid (th a.xst)", url=ctx.base)
    href, found = target
    title = text(link)
    extras = text(th).replace(title, " ", 1)
    sticky = _sticky(row_id or "", icon, fonts, doc)
    first = _ByCell(by_cells[0], doc) if by_cells else None
    last = _ByCell(by_cells[-1], doc) if len(by_cells) > 1 else None
    type_name, type_id = title_row.thread_type()
    has_image = any(a.get("alt") == "attach_img" for _, a in images) or _icon(fonts, "image", doc)
    replies, views = _counters(num)
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
        digest=_digest(images, digest_span),
        closed=_closed(images, fonts, ctx),
        moved="移动" in th.text(deep=False),
        special=_special(images, fonts, doc),
        has_image=has_image,
        has_attachment=has_image or any(a.get("alt") == "attachment" for _, a in images),
        read_perm=_match_int(_READ_PERM, extras),
        price=_match_int(_PRICE, extras),
        reward=_match_int(_REWARD, extras),
        author=first.author(ctx.base) if first is not None else None,
        created_at=first.time(ctx) if first is not None else None,
        replies=replies,
        views=views,
        last_poster=text(last.link) or None if last is not None else None,
        last_post_at=last.time(ctx) if last is not None else None,
        page_count=title_row.page_count(),
    )


class _TitleCell:
    """The row's first ``th``: its links, walked once."""

    def __init__(self, th: Node, doc: _Document) -> None:
        self._th = th
        self._doc = doc
        self._links: list[tuple[Node, _Attributes]] = []
        self._has_pages = False  # a span.tps inside
        for el in th.traverse():
            tag = el.tag
            if tag == "a":
                self._links.append((el, el.attributes))
            elif tag == "span" and not self._has_pages:
                self._has_pages = doc.has_class(el.attributes.get("class"), "tps")

    @property
    def link(self) -> Node | None:
        """``th a.xst``, else (Discuz 7.2) ``th span[id^="thread_"] > a``."""
        for el, attributes in self._links:
            if self._doc.has_class(attributes.get("class"), "xst"):
                return el
        for el, _ in self._links:
            parent = el.parent
            if parent is not None and parent.tag == "span" and _is_thread_span(parent):
                return el
        return None

    def thread_type(self) -> tuple[str | None, int | None]:
        """Name and id of ``th em > a[href*="typeid="]``."""
        for el, attributes in self._links:
            href = attributes.get("href")
            parent = el.parent
            if href is not None and "typeid=" in href and parent is not None and parent.tag == "em":
                name = text(el) or attr(first_tag(el, "img"), "alt")
                return name, query_int(attr(el, "href"), "typeid")
        return None, None

    def page_count(self) -> int:
        """The highest of the ``th span.tps a`` page links (a span.tps above the th counts too)."""
        doc = self._doc
        if not self._has_pages and not doc.inside(self._th, _TPS):
            return 1
        pages = (el for el, _ in self._links if doc.inside(el.parent, _TPS))
        return max((to_int(text(a)) or 1 for a in pages), default=1)


def _is_thread_span(span: Node) -> bool:
    return (span.attributes.get("id") or "").startswith("thread_")  # span[id^="thread_"]


class _ByCell:
    """An author or last-post cell (``td.by``): its ``cite a``, ``cite`` and ``em``, walked once."""

    def __init__(self, cell: Node, doc: _Document) -> None:
        self.link: Node | None = None
        self._cite: Node | None = None
        self._em: Node | None = None
        for el in cell.traverse():
            tag = el.tag
            if tag == "a" and self.link is None and doc.inside(el.parent, _CITE):
                self.link = el
            elif tag == "cite" and self._cite is None:
                self._cite = el
            elif tag == "em" and self._em is None:
                self._em = el

    def author(self, base: str) -> Author | None:
        if self.link is not None:
            found = link_target(base, self.link)
            return Author(uid=found[1].uid if found is not None else None, name=text(self.link) or None)
        if text(self._cite):
            return Author(is_anonymous=True)  # the site's 匿名 text stands where the name link would be
        return None

    def time(self, ctx: _Context) -> datetime | None:
        return parse_time_node(self._em, ctx.tz, now=ctx.now)


def _counters(num: Node | None) -> tuple[int | None, int | None]:
    """Replies and views: the first ``a`` and the first ``em`` of ``td.num``."""
    if num is None:
        return None, None
    replies = views = None
    for el in num.traverse():
        tag = el.tag
        if tag == "a" and replies is None:
            replies = el
        elif tag == "em" and views is None:
            views = el
    return to_int(text(replies)), to_int(text(views))


def _sticky(row_id: str, icon: Node | None, fonts: list[str | None], doc: _Document) -> int:
    if not row_id.startswith("stickthread_"):
        return 0
    titled = None  # td.icn a[title]
    for el in icon.traverse() if icon is not None else ():
        tag = el.tag
        if tag == "img":
            m = _PIN.search(attr(el, "src") or "")
            if m:
                return int(m.group(1))
        elif tag == "a" and titled is None and "title" in el.attributes:
            titled = el
    # i.tpin: the first <i> of that class
    pin = next((value for value in fonts if doc.has_class(value, "tpin")), None)
    m = _TPIN.search((pin or "").strip())
    if m:
        return int(m.group(1))
    title = attr(titled, "title") or ""
    for words, level in _STICKY_TITLES:
        if words in title:
            return level
    return 1  # a sticky row whose level is not shown is at least a board sticky


def _digest(images: list[tuple[Node, _Attributes]], digest_span: Node | None) -> int:
    for _, attributes in images:
        src = attributes.get("src") or ""
        m = _DIGEST.search(src.strip()) if "digest_" in src else None
        if m:
            return int(m.group(1))
    return to_int(text(digest_span)) or 0


def _closed(images: list[tuple[Node, _Attributes]], fonts: list[str | None], ctx: _Context) -> bool | None:
    if any("folder_lock" in (a.get("src") or "") for _, a in images) or _icon(fonts, "lock", ctx.doc):
        return True
    return False if ctx.lock_always_shown else None


def _special(
    images: list[tuple[Node, _Attributes]], fonts: list[str | None], doc: _Document
) -> Special | None:
    if _icon(fonts, "vote", doc):
        return "poll"
    # The icon cell shows at most one icon, and a special thread's icon takes the place of the pin.
    for img, attributes in images:
        if not doc.inside(img.parent, _ICN):  # td.icn img
            continue
        src = (attributes.get("src") or "").strip()
        for marker, kind in _SPECIAL_ICONS:
            if marker in src:
                return kind
        by_alt = _SPECIAL_ALTS.get((attributes.get("alt") or "").strip())
        if by_alt is not None:
            return by_alt
    return None


def _icon(fonts: list[str | None], name: str, doc: _Document) -> bool:
    """Whether the row holds an ``i.fico-NAME``."""
    return any(doc.has_class(value, f"fico-{name}") for value in fonts)


def _match_int(pattern: re.Pattern[str], value: str) -> int | None:
    m = pattern.search(value)
    return int(m.group(1)) if m else None
