"""The archiver (``archiver/``, ``archiver/?fid-F.html``, ``archiver/?tid-T.html``; reference §8).

A last-resort backend: plain pages with far fewer facts. Every model read here has
``source="archiver"``, and what the archiver does not print is ``None`` (or empty), never guessed:

- posts have no pid (:attr:`Post.pid` is ``None``), no uid, no floor, no attachments, no images
  (``[img]`` URLs stay as text) and no cleaned HTML beyond the escaped text Discuz prints;
  ``is_first`` is set for the first post of page 1 only, which the archiver always lists first;
- a post whose body the archiver leaves out (banned author or blocked post: the two are not told
  apart) has ``status="masked"``; ``[hide]`` content is replaced by a marker, read as
  ``hidden_content``; a password post is printed empty (``text=""``);
- thread-list rows carry a tid, a title and a reply count only (``sticky``/``digest`` keep their
  model defaults of 0: the archiver does not show them);
- index categories are bare headings, without gid or link.

X3.4 archiver pages have no ``<meta charset>``: pass the HTTP ``Content-Type`` as
``content_type`` when giving bytes (X3.5 pages declare it).
"""

from __future__ import annotations

import re
from datetime import datetime, tzinfo

from ..errors import DiscuzError, NotDiscuz, ParseError
from ..models import (
    Author,
    Board,
    BoardPage,
    Category,
    ForumIndex,
    Post,
    PostStatus,
    ThreadPage,
    ThreadSummary,
)
from ..urls import UrlKind, parse_url
from ._dom import Node, Tree, absolute, attr, parse_html, text, to_int
from .content import parse_message
from .dates import DEFAULT_TZ, parse_time_node, tz_from_minutes
from .shell import check_page, message_error

__all__ = ["parse_archiver_board_page", "parse_archiver_index", "parse_archiver_thread_page"]

_ARCHIVER_MARK = "Archiver"
_HEADER_SUFFIX = re.compile(r"\s*'s Archiver\s*$")
_ITEM_LINK = re.compile(r"\?(tid|fid)-(\d+)\.html")
_REPLIES = re.compile(r"\((\d+)\s*[^)\d]*\)\s*$")
_HIDDEN_MARK = "**** Hidden Message *****"
_ANONYMOUS = "Anonymous"


def parse_archiver_thread_page(
    html: str | bytes,
    url: str,
    *,
    status: int = 200,
    content_type: str | None = None,
    now: datetime | None = None,
    default_tz: tzinfo = DEFAULT_TZ,
) -> ThreadPage:
    """Read an archiver thread page (``archiver/?tid-T.html[&page=P]``) into a :class:`ThreadPage`.

    Posts are split on ``p.author``; times come from a ``span[title]`` or the text (relative
    texts need ``now``). A page without posts is the archiver's error notice and raises the typed
    error its text stands for; a non-archiver page raises :class:`NotDiscuz`.
    """
    tree, content, tz = _archiver_content(html, url, status, content_type, default_tz)
    markers = [node for node in content.iter() if _is_author_line(node)]
    if not markers:
        raise _content_error(content, url, status)
    tid = _item_from_links(tree, url, "thread")
    page, page_count = _pages(content)
    board_link = tree.css_first('#nav a[href*="?fid-"]')
    base_url = _base(tree, url)
    posts = [
        _post(marker, tid=tid, page=page, first=page == 1 and index == 0, tz=tz, now=now, base_url=base_url)
        for index, marker in enumerate(markers)
    ]
    return ThreadPage(
        tid=tid,
        fid=_item_id(attr(board_link, "href"), "fid"),
        page=page,
        page_count=page_count,
        board_name=text(board_link) or None,
        title=text(tree.css_first("#end a strong")) or _nav_tail(tree) or None,
        posts=posts,
        url=url,
        source="archiver",
    )


def parse_archiver_board_page(
    html: str | bytes,
    url: str,
    *,
    status: int = 200,
    content_type: str | None = None,
) -> BoardPage:
    """Read an archiver board page (``archiver/?fid-F.html[&page=P]``) into a :class:`BoardPage`.

    Rows are ``ul[type=1] > li`` (tid, title, ``(N篇回复)``); sub-boards the plain ``ul`` before it.
    """
    tree, content, _ = _archiver_content(html, url, status, content_type, DEFAULT_TZ)
    listing = content.css_first('ul[type="1"]')
    if listing is None:
        raise _content_error(content, url, status)
    fid = _item_from_links(tree, url, "board")
    base = _base(tree, url)
    page, page_count = _pages(content)
    requested = _requested_page(url)
    sub_list = next((ul for ul in content.css("ul") if attr(ul, "type") != "1"), None)
    return BoardPage(
        fid=fid,
        name=_nav_tail(tree) or text(tree.css_first("#end a strong")) or None,
        url=url,
        page=page,
        requested_page=requested,
        past_the_end=requested > page,
        page_count=page_count,
        sub_boards=_board_links(sub_list, base) if sub_list is not None else [],
        rows=[row for item in listing.css("li") if (row := _row(item, fid, base)) is not None],
        source="archiver",
    )


def parse_archiver_index(
    html: str | bytes,
    url: str,
    *,
    status: int = 200,
    content_type: str | None = None,
) -> ForumIndex:
    """Read the archiver index (``archiver/``): ``h3`` category headings, each followed by a ``ul``
    of board links."""
    tree, content, _ = _archiver_content(html, url, status, content_type, DEFAULT_TZ)
    base = _base(tree, url)
    categories: list[Category] = []
    for child in content.iter():
        if child.tag == "h3":
            categories.append(Category(gid=None, name=text(child), url=None))
        elif child.tag == "ul" and categories:
            categories[-1].boards.extend(_board_links(child, base))
    if not categories:
        raise _content_error(content, url, status)
    header = text(tree.css_first("#header h2"))
    return ForumIndex(
        url=url,
        site_name=_HEADER_SUFFIX.sub("", header) or None,
        categories=categories,
        source="archiver",
    )


# --- page level -----------------------------------------------------------------------------


def _archiver_content(
    html: str | bytes, url: str, status: int, content_type: str | None, default_tz: tzinfo
) -> tuple[Tree, Node, tzinfo]:
    """The tree and its ``div#content`` after the shared checks (notices, challenges, non-Discuz)."""
    tree, shell = check_page(html, url, status=status, content_type=content_type)
    title = text(tree.css_first("title"))
    if _ARCHIVER_MARK not in title and _ARCHIVER_MARK not in text(tree.css_first("#header h2")):
        raise NotDiscuz("not an archiver page (no 'Archiver' in the title or header)", url=url)
    content = tree.css_first("div#content")
    if content is None:
        raise ParseError("archiver page without div#content", url=url)
    tz = tz_from_minutes(shell.utc_offset_minutes) if shell.utc_offset_minutes is not None else default_tz
    return tree, content, tz


def _content_error(content: Node, url: str, status: int) -> DiscuzError:
    """An archiver page without its listing is a notice (permission, missing item, archiver off)."""
    message = text(content)
    if not message:
        return ParseError("archiver page with an empty div#content", url=url)
    return message_error(message, url, status=status)


def _base(tree: Tree, url: str) -> str:
    # Archiver links are relative to archiver/ (<base href="SITE/archiver/">).
    return attr(tree.css_first("base[href]"), "href") or url


def _item_id(href: str | None, kind: str) -> int | None:
    m = _ITEM_LINK.search(href or "")
    return int(m.group(2)) if m and m.group(1) == kind else None


def _item_from_links(tree: Tree, url: str, kind: UrlKind) -> int:
    """The tid or fid: from the page URL, else from the "full version" link in ``div#end``."""
    for candidate in (url, absolute(url, attr(tree.css_first("#end a"), "href"))):
        try:
            found = parse_url(candidate) if candidate else None
        except DiscuzError:
            found = None
        if found is not None and found.kind == kind:
            ident = found.tid if kind == "thread" else found.fid
            if ident is not None:
                return ident
    what = "tid" if kind == "thread" else "fid"
    raise ParseError(f"archiver {kind} page without a {what} in its URL or full-version link", url=url)


def _requested_page(url: str) -> int:
    try:
        return max(parse_url(url).page or 1, 1)
    except DiscuzError:
        return 1


def _nav_tail(tree: Tree) -> str:
    """The text after the last ``›`` of ``div#nav`` (the current board or thread, unlinked)."""
    nav = tree.css_first("#nav")
    if nav is None:
        return ""
    tail = ""
    for child in nav.iter(include_text=True):
        if child.is_text_node:
            tail = (child.text_content or "").split("\u203a")[-1]
        elif child.tag == "a":
            tail = ""
    return " ".join(tail.split())


def _pages(content: Node) -> tuple[int, int]:
    """``arch_multi``: ``页:`` then page numbers, the current one as ``<strong>[n]</strong>``."""
    pager = content.css_first("div.page")
    if pager is None:
        return 1, 1
    current = to_int(text(pager.css_first("strong"))) or 1
    numbers = [to_int(text(link)) for link in pager.css("a")]
    return current, max([n for n in numbers if n is not None] + [current])


# --- posts ----------------------------------------------------------------------------------


def _is_author_line(node: Node) -> bool:
    return node.tag == "p" and "author" in (attr(node, "class") or "").split()


def _post(
    marker: Node, *, tid: int, page: int, first: bool, tz: tzinfo, now: datetime | None, base_url: str
) -> Post:
    """One post: ``p.author``, then (unless masked) ``h3`` (subject) and the message up to the next
    ``p.author`` or the pager."""
    subject: Node | None = None
    body: list[str] = []
    node = marker.next
    while node is not None and not _is_author_line(node) and not _is_pager(node):
        if node.tag == "h3" and subject is None:
            subject = node
        elif subject is not None:
            body.append(node.html or "")
        node = node.next
    status: PostStatus = "normal" if subject is not None else "masked"
    content_html: str | None = None
    message: str | None = None
    hidden = False
    if subject is not None:
        raw = "".join(body)
        hidden = _HIDDEN_MARK in raw
        holder = parse_html(f"<div>{raw.replace(f'<b>{_HIDDEN_MARK}</b>', '')}</div>").css_first("body > div")
        if holder is None:  # pragma: no cover - the wrapper always parses
            raise ParseError("could not read an archiver post", url=base_url)
        content = parse_message(holder, base_url=base_url, tz=tz, tid=tid, now=now)
        content_html, message = content.content_html, content.text
    name_node = marker.css_first("strong")
    # Anonymous posts print <strong><i>Anonymous</i></strong> (untranslated) instead of the name.
    italic = name_node.css_first("i") if name_node is not None else None
    anonymous = italic is not None and text(name_node) == _ANONYMOUS
    return Post(
        pid=None,
        tid=tid,
        author=Author(is_anonymous=True) if anonymous else Author(name=text(name_node) or None),
        created_at=parse_time_node(marker, tz, now=now),
        subject=(text(subject) or None) if subject is not None and not first else None,
        content_html=content_html,
        text=message,
        is_first=first,
        status=status,
        hidden_content=hidden,
        page=page,
        source="archiver",
    )


def _is_pager(node: Node) -> bool:
    return node.tag == "div" and "page" in (attr(node, "class") or "").split()


# --- lists ----------------------------------------------------------------------------------


def _row(item: Node, fid: int, base: str) -> ThreadSummary | None:
    link = item.css_first('a[href*="?tid-"]')
    tid = _item_id(attr(link, "href"), "tid")
    url = absolute(base, attr(link, "href"))
    if tid is None or url is None:
        return None
    replies = _REPLIES.search(text(item))
    return ThreadSummary(
        tid=tid,
        fid=fid,
        title=text(link),
        url=url,
        replies=int(replies.group(1)) if replies else None,
        source="archiver",
    )


def _board_links(listing: Node, base: str) -> list[Board]:
    boards: list[Board] = []
    for link in listing.css('li > a[href*="?fid-"]'):
        url = absolute(base, attr(link, "href"))
        fid = _item_id(attr(link, "href"), "fid")
        if url is not None and fid is not None:
            boards.append(Board(fid=fid, name=text(link), url=url, source="archiver"))
    return boards
