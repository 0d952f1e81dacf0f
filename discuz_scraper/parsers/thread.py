"""The thread page (``forum.php?mod=viewthread``) of Discuz! X3.4 / X3.5 desktop templates.

:func:`parse_thread_page` reads one page into a :class:`~discuz_scraper.models.ThreadPage`;
:func:`build_thread` merges the pages of one thread into a :class:`~discuz_scraper.models.Thread`.
Message bodies are read by :mod:`.content`; this module reads everything around them: the thread
header, each post's floor, author block, status notices, ratings and comments (reference §2).

Deleted-floor placeholders (``table#pidN`` without ``plhin``, "无效楼层") are skipped: their
number is not a real pid, and a :class:`Post` needs one, so emitting them would invent ids that
could collide with real posts when pages are merged.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from typing import TypeVar
from urllib.parse import parse_qs, urlsplit

from ..errors import DiscuzError, ParseError, UnsupportedVersion
from ..models import (
    Attachment,
    Author,
    Breadcrumb,
    Comment,
    Image,
    Poll,
    PollOption,
    Post,
    PostStatus,
    RateEntry,
    Rating,
    Thread,
    ThreadPage,
)
from ..urls import parse_url
from ._dom import (
    Node,
    Tree,
    absolute,
    attr,
    first_tag,
    has_class,
    has_id,
    number,
    parse_html,
    text,
    to_int,
)
from .content import MessageContent, parse_attachment_list, parse_message
from .dates import DEFAULT_TZ, parse_time_node
from .pagination import parse_pagination
from .shell import check_page, page_timezone, parse_breadcrumb

__all__ = ["PostMerger", "build_thread", "parse_thread_page"]

_IDS_SCRIPT = re.compile(r"var\s+fid\s*=\s*parseInt\('(\d+)'\)\s*,\s*tid\s*=\s*parseInt\('(\d+)'\)")
_UID = re.compile(r"(?:[?&]uid=|space-uid-)(\d+)")
_GID = re.compile(r"[?&]gid=(\d+)")
# At most 18 digits: a pid is a MySQL int; a 5,000-digit one made int() raise (hostile input).
_POST_DIV = re.compile(r"^post_(\d{1,18})$")
_STICKY_FROM = re.compile(r"(\d+)\s*#")
_STATUS_LABEL = re.compile(r"\((审核中|已忽略|草稿)\)")
_MAX_CHOICES = re.compile(r"最多可选\s*(\d+)\s*项")
_VOTERS = re.compile(r"共有\s*(\d+)\s*人")
_PERCENT = re.compile(r"(\d+(?:\.\d+)?)\s*%")
_VOTES_IN_PARENS = re.compile(r"\((\d+)\)")
_OPTION_NUMBER = re.compile(r"^\d+\.\s*")
_RATE_ID = re.compile(r"^rate_\d+_(\d+)$")
_TIP_SCORE = re.compile(r"(?P<name>[^\s+\-\d]+)\s*(?P<sign>[+-])?\s*(?P<n>\d+)")

# Default floor labels (the `postno` setting); sites may rename them, numbers in <em> always work.
_FLOOR_LABELS = {"楼主": 1, "沙发": 2, "板凳": 3, "地板": 4}
_HOT_LABEL = "推荐"
# div.locked notices standing in for a post's content (lang forum/lang_template.php), in order.
_LOCKED_STATUS: tuple[tuple[str, PostStatus], ...] = (
    ("作者被禁止或删除", "banned"),
    ("管理员或版主屏蔽", "blocked"),
    ("仅作者可见", "author_only"),
    ("密码帖", "password"),
    ("需向作者支付", "pay"),
)
_PENDING_TEXT = "待审核"
_DELETED_FLOOR_TEXT = "无效楼层"
_MEMBER_DELETED = "该用户已被删除"
_AVATAR_BLOCKED = "头像被屏蔽"
_POLL_ENDED = "已经结束"
_POLL_COUNTDOWN = "距结束"
# Versions whose thread markup differs enough (reference §15) that reading them as X3 would lie.
_UNSUPPORTED_PREFIXES = ("7.", "6.", "X1", "X2")

_File = TypeVar("_File", Attachment, Image)


@dataclass(frozen=True)
class _Context:
    """What every post on a page is read against."""

    tid: int
    base_url: str
    tz: tzinfo
    now: datetime | None
    page: int


def parse_thread_page(
    html: str | bytes,
    url: str,
    *,
    status: int = 200,
    now: datetime | None = None,
    default_tz: tzinfo = DEFAULT_TZ,
) -> ThreadPage:
    """Read one desktop viewthread page (X3.4 / X3.5) into a :class:`ThreadPage`.

    ``url`` is the final URL of the page, ``status`` its HTTP status; ``now`` (aware) lets
    relative times without an absolute ``title`` be read; ``default_tz`` is used when the footer
    does not print the page's ``GMT±H`` offset. Error pages raise the typed errors of
    :func:`~.shell.check_page`; older Discuz versions raise :class:`UnsupportedVersion`; a page
    without posts raises :class:`ParseError`.
    """
    tree, shell = check_page(html, url, status=status)
    version = shell.version or ""
    if version.startswith(_UNSUPPORTED_PREFIXES):
        raise UnsupportedVersion(
            f"Discuz! {version} thread pages are not supported (X3.x only)", version=version, url=url
        )
    postlist = tree.css_first("#postlist")
    if postlist is None:
        raise ParseError("not a thread page: no #postlist element", url=url)
    tz = page_timezone(shell, default_tz)
    breadcrumb = parse_breadcrumb(tree, shell.base_url)
    fid, tid = _ids(tree, breadcrumb, url)
    pagination = parse_pagination(tree.css_first("#pgt") or tree)
    ctx = _Context(tid=tid, base_url=shell.base_url, tz=tz, now=now, page=pagination.current)
    posts = [post for div in _post_divs(postlist) if (post := _post(div, ctx)) is not None]
    if not posts:
        raise ParseError("thread page holds no posts (no div#post_PID with a table#pidPID)", url=url)
    header = _header_cell(postlist)
    views, replies = _counters(postlist)
    type_name, type_id = _thread_type(header)
    board = next((b for b in reversed(breadcrumb) if b.kind == "board"), None)
    poll_form = tree.css_first("form#poll")
    return ThreadPage(
        tid=tid,
        fid=fid if fid is not None else (board.id if board else None),
        page=pagination.current,
        page_count=pagination.total,
        board_name=board.name if board else None,
        breadcrumb=breadcrumb,
        title=text(tree.css_first("#thread_subject")) or None,
        type_name=type_name,
        type_id=type_id,
        views=views,
        replies=replies,
        closed=_closed(header),
        status_label=_status_label(header),
        special="poll" if poll_form is not None else None,
        poll=_poll(poll_form, shell.base_url) if poll_form is not None else None,
        tags=[text(a) for a in postlist.css("div.ptg a") if text(a)],
        posts=posts,
        url=url,
    )


def build_thread(pages: Sequence[ThreadPage], *, fetched_at: datetime | None = None) -> Thread:
    """Merge the pages of one thread: metadata from page 1, posts in page order, each pid once.

    A hot or sticky reply shown at the top of page 1 and again at its real place is kept once,
    at its real place with its real floor, still flagged ``is_hot`` / ``is_sticky``.
    """
    if not pages:
        raise ParseError("build_thread needs at least one thread page")
    tids = {page.tid for page in pages}
    if len(tids) > 1:
        raise ParseError(f"pages of different threads cannot be merged: tids {sorted(tids)}")
    first = next((page for page in pages if page.page == 1), pages[0])
    on_page_one = first.page == 1
    merger = PostMerger()
    posts = [post for page in pages for post in merger.feed(page.posts)] + merger.finish()
    opening = next((post for post in posts if post.is_first), None)
    counts = [page.page_count for page in pages if page.page_count is not None]
    return Thread(
        tid=first.tid,
        fid=first.fid,
        board_name=first.board_name,
        breadcrumb=first.breadcrumb,
        title=first.title,
        type_name=first.type_name,
        type_id=first.type_id,
        views=first.views if on_page_one else None,
        replies=first.replies if on_page_one else None,
        page_count=max(counts) if counts else None,
        closed=first.closed,
        status_label=first.status_label,
        special=first.special,
        poll=first.poll,
        tags=first.tags,
        author=opening.author if opening else None,
        posts=posts,
        url=first.url,
        fetched_at=fetched_at,
        source=first.source,
    )


# --- page level -----------------------------------------------------------------------------


def _ids(tree: Tree, breadcrumb: list[Breadcrumb], url: str) -> tuple[int | None, int]:
    """(fid, tid): the inline script first, then the canonical link, the breadcrumb, the URL."""
    for script in tree.css("script"):
        m = _IDS_SCRIPT.search(script.text(deep=True))
        if m:
            return int(m.group(1)), int(m.group(2))
    candidates = [attr(tree.css_first('link[rel="canonical"]'), "href")]
    candidates += [crumb.url for crumb in breadcrumb if crumb.kind == "thread"]
    candidates.append(url)
    for candidate in candidates:
        tid = _tid_of(candidate)
        if tid is not None:
            return None, tid
    raise ParseError("thread page without a tid (no inline fid/tid script, canonical link or thread link)",
                     url=url)


def _tid_of(url: str | None) -> int | None:
    if not url:
        return None
    try:
        found = parse_url(url)
    except DiscuzError:
        return None
    return found.tid if found.kind == "thread" else None


def _header_cell(postlist: Node) -> Node | None:
    """The ``td.plc`` holding the title, status line and lock icon (before the first post)."""
    for child in postlist.iter():
        if child.tag == "table":
            return child.css_first("td.plc") or child
        if child.tag == "div" and _POST_DIV.match(attr(child, "id") or ""):
            return None
    return None


def _counters(postlist: Node) -> tuple[int | None, int | None]:
    """查看 / 回复 from the page-1 ``.hm`` block; ``(None, None)`` on later pages (``#tath``)."""
    for child in postlist.iter():
        if child.tag != "table":
            continue
        values = [number(span) for span in child.css("td.pls div.hm span.xi1")]
        if len(values) >= 2:
            return values[0], values[1]
        return None, None
    return None, None


def _thread_type(header: Node | None) -> tuple[str | None, int | None]:
    link = header.css_first('h1 a[href*="typeid="]') if header is not None else None
    if link is None:
        return None, None
    name = text(link).strip("[]【】 ") or None
    query = parse_qs(urlsplit(attr(link, "href") or "").query)
    return name, to_int(query.get("typeid", [None])[0])


def _closed(header: Node | None) -> bool | None:
    if header is None:
        return None
    return header.css_first('img[src$="locked.gif"], i.fico-lock') is not None


def _status_label(header: Node | None) -> str | None:
    if header is None:
        return None
    m = _STATUS_LABEL.search(text(header))
    return m.group(1) if m else None


# --- poll -----------------------------------------------------------------------------------


def _poll(form: Node, base_url: str) -> Poll:
    info = text(form.css_first("div.pinf"))
    max_choices = _MAX_CHOICES.search(info)
    voters = _VOTERS.search(info)
    image_cells = form.css('td[id^="polloption_"]')
    options = [_image_option(cell, base_url) for cell in image_cells] if image_cells else _text_options(form)
    closed, ends_in = _poll_end(form.css_first("p.ptmr"))
    return Poll(
        multiple="多选" in text(form.css_first("div.pinf strong")),
        max_choices=int(max_choices.group(1)) if max_choices else None,
        voters=int(voters.group(1)) if voters else None,
        closed=closed,
        ends_in=ends_in,
        results_visible=any(option.votes is not None for option in options),
        options=options,
    )


def _poll_end(line: Node | None) -> tuple[bool | None, str | None]:
    if line is None:
        return None, None
    value = text(line.css_first("strong"))
    if _POLL_ENDED in value:
        return True, None
    if _POLL_COUNTDOWN in text(line):
        return False, value or None
    return None, None


def _text_options(form: Node) -> list[PollOption]:
    """Rows with ``td.pvt`` (the option), each optionally followed by a result row."""
    rows = form.css("div.pcht tr")
    options: list[PollOption] = []
    for index, row in enumerate(rows):
        label = row.css_first("td.pvt")
        if label is None:
            continue
        result = rows[index + 1] if index + 1 < len(rows) else None
        if result is not None and result.css_first("div.pbg") is None:
            result = None
        votes, percent = _option_result(text(result.css("td")[-1]) if result is not None else "")
        options.append(
            PollOption(
                id=to_int(attr(row.css_first('input[name="pollanswers[]"]'), "value")),
                text=_OPTION_NUMBER.sub("", text(label)),
                votes=votes,
                percent=percent,
            )
        )
    return options


def _option_result(value: str) -> tuple[int | None, float | None]:
    votes = _VOTES_IN_PARENS.search(value)
    percent = _PERCENT.search(value)
    return (int(votes.group(1)) if votes else None), (float(percent.group(1)) if percent else None)


def _image_option(cell: Node, base_url: str) -> PollOption:
    img = cell.css_first("img")
    image_url = absolute(base_url, attr(img, "zoomfile") or attr(img, "src"))
    votes = to_int(text(cell.css_first("p.imgfc span.z")))
    percent = _PERCENT.search(text(cell.css_first("p.imgfc span.y")))
    return PollOption(
        id=to_int((attr(cell, "id") or "").removeprefix("polloption_")),
        text=text(cell.css_first("p.mtn")),
        votes=votes,
        percent=float(percent.group(1)) if percent else None,
        image_url=image_url,
    )


# --- posts ----------------------------------------------------------------------------------


def _post_divs(postlist: Node) -> list[Node]:
    return [div for div in postlist.css("div[id^='post_']") if _POST_DIV.match(attr(div, "id") or "")]


def _post(div: Node, ctx: _Context) -> Post | None:
    pid = int(_POST_DIV.match(attr(div, "id") or "").group(1))  # type: ignore[union-attr]
    table = _post_table(div, pid)
    if table is None or _is_deleted_floor(table):
        return None
    parts = _post_parts(table, pid)
    postnum = parts.postnum
    floor, label, is_hot, is_sticky = _floor(postnum)
    pcb = parts.pcb
    message_node = parts.message
    status, status_text = _body_status(pcb, message_node)
    content = _content(message_node, ctx) if message_node is not None and status != "pending" else None
    attachments, images = _merged_files(parts.attachment_list, content, ctx)
    is_first = postnum is not None and "goto=findpost" not in (attr(postnum, "href") or "") and not is_hot
    return Post(
        pid=pid,
        tid=ctx.tid,
        floor=floor,
        floor_label=label,
        author=_author(table, pid, parts.favatar, ctx.base_url),
        created_at=parse_time_node(parts.posted, ctx.tz, now=ctx.now),
        edited_at=content.edited_at if content else None,
        edited_by=content.edited_by if content else None,
        subject=_reply_subject(pcb) if not is_first else None,
        content_html=content.content_html if content else None,
        text=content.text if content else None,
        images=images,
        attachments=attachments,
        quotes=content.quotes if content else [],
        is_first=is_first,
        status=status,
        status_text=status_text,
        hidden_content=content.hidden_content if content else False,
        auto_hidden="display:none" in (attr(div, "style") or "").replace(" ", ""),
        is_hot=is_hot,
        is_sticky=is_sticky,
        from_mobile=any(text(span).startswith("来自") for span in parts.mobile_marks),
        signature=text(parts.sign) or None,
        rating=_rating(parts.ratelog),
        comments=_comments(parts.comment_items, ctx),
        permalink=absolute(ctx.base_url, attr(postnum, "href")),
        page=ctx.page,
    )


def _post_table(div: Node, pid: int) -> Node | None:
    """``table#pidPID``, which Discuz prints as the post div's first element.

    The first element child is the first descendant in document order, so when it is the table
    it is also what ``css_first`` would return; anything else takes the (slower) selector.
    """
    first = next(div.iter(), None)
    if first is not None and first.tag == "table" and first.id == f"pid{pid}":
        return first
    return div.css_first(f"table#pid{pid}")


def _is_deleted_floor(table: Node) -> bool:
    classes = (attr(table, "class") or "").split()
    return "plhin" not in classes and _DELETED_FLOOR_TEXT in text(table.css_first("div.pct"))


@dataclass
class _PostParts:
    """The elements of a post table the post is read from (see :func:`_post_parts`)."""

    postnum: Node | None = None
    posted: Node | None = None
    ratelog: Node | None = None
    favatar: Node | None = None
    message: Node | None = None
    pcb: Node | None = None
    sign: Node | None = None
    attachment_list: Node | None = None
    comment_items: list[Node] = field(default_factory=list)
    mobile_marks: list[Node] = field(default_factory=list)


# The id'd elements of a post table, by the id's prefix before the pid: field and required tag.
_PART_IDS: dict[str, tuple[str, str | None]] = {
    "postnum": ("postnum", "a"),
    "authorposton": ("posted", "em"),
    "ratelog_": ("ratelog", "dl"),
    "comment_": ("comment", "div"),
    "favatar": ("favatar", None),
    "postmessage_": ("message", None),
}
# The divs of a post table found by class: the first of the first two, all of the others.
_PART_CLASSES = ("pcb", "sign", "pattl", "pstl")
# The content cell's "来自手机" marks: the only alternative of the list below naming a span.
_MOBILE_MARKS = "td.plc div.authi span.xg1"


def _post_parts(table: Node, pid: int) -> _PostParts:
    """What the post's lookups on its table find, from one selector list.

    The lookups were ``a#postnumPID``, ``em#authorpostonPID``, ``dl#ratelog_PID``,
    ``div#comment_PID``, ``#favatarPID``, ``#postmessage_PID``, ``div.pcb``, ``div.sign``, the
    mobile marks, then ``div.pattl`` in the ``div.pcb`` and ``div.pstl`` in the comment box. Each
    ``css()`` call compiles its selector (~2 µs) and lexbor matches every alternative against
    every element (~2 µs for a post table): one list, and one alternative for all six ids,
    cost a third of that. The six ids all end with the pid, and digits have no case, so
    ``[id$=PID]`` finds every element they match (and a few more, e.g. ``#userinfoPID``).

    The list gives every node in document order, once per alternative it matches (one listing
    right after the other). Each field gets its lookup's first match (all of them for the lists),
    told apart as lexbor tells them: by tag, id (``has_id``: case-insensitive in quirks mode) and,
    for a ``div``, class (``has_class``). Only the mobile marks are taken on lexbor's word, as
    their ancestors were not looked at: a span is one when listed for no id, or listed twice.
    """
    suffix = str(pid)
    found = table.css(f'[id$="{suffix}"], div.pcb, div.sign, div.pattl, div.pstl, {_MOBILE_MARKS}')
    first: dict[str, Node] = {}
    classed: dict[str, list[Node]] = {"pattl": [], "pstl": [], "mobile": []}
    last = None
    filed = False
    for node in found:
        key = node.mem_id
        if key == last:
            # Listed again: besides its id, it matched a class or mark alternative.
            if not filed:
                _file_by_class(node, first, classed)
                filed = True
            continue
        last = key
        value = node.id
        if value is None or not value.endswith(suffix):
            _file_by_class(node, first, classed)
            filed = True
            continue
        filed = False
        prefix = value[: -len(suffix)].lower()
        part = _PART_IDS.get(prefix)
        if (
            part is not None
            and part[0] not in first
            and part[1] in (None, node.tag)
            and has_id(node, value, prefix + suffix)
        ):
            first[part[0]] = node
    pcb = first.get("pcb")
    comment = first.get("comment")
    return _PostParts(
        postnum=first.get("postnum"),
        posted=first.get("posted"),
        ratelog=first.get("ratelog"),
        favatar=first.get("favatar"),
        message=first.get("message"),
        pcb=pcb,
        sign=first.get("sign"),
        attachment_list=next((node for node in classed["pattl"] if _within(node, pcb, table)), None),
        comment_items=[node for node in classed["pstl"] if _within(node, comment, table)],
        mobile_marks=classed["mobile"],
    )


def _file_by_class(node: Node, first: dict[str, Node], classed: dict[str, list[Node]]) -> None:
    """File a node listed for a class or mark alternative: a span is a mobile mark, a div has
    one or more of the classes."""
    if node.tag == "span":
        classed["mobile"].append(node)
        return
    value = node.attributes.get("class")
    # Most are class="pcb" or class="sign": that one token, whatever the document's mode.
    names = (value,) if value in _PART_CLASSES else _PART_CLASSES
    for name in names:
        if has_class(node, value, name):
            if name in classed:
                classed[name].append(node)
            else:
                first.setdefault(name, node)


def _within(node: Node, box: Node | None, root: Node) -> bool:
    """Whether ``node`` (under ``root``) is ``box`` or lies inside it: what ``box.css()`` finds."""
    if box is None:
        return False
    target = box.mem_id
    while node is not None:
        key = node.mem_id
        if key == target:
            return True
        if key == root.mem_id:
            return False
        node = node.parent
    return False


def _floor(postnum: Node | None) -> tuple[int | None, str | None, bool, bool]:
    """(floor, label as shown, is_hot, is_sticky) from ``a#postnumPID``."""
    if postnum is None:
        return None, None, False, False
    label = text(postnum)
    # The link holds a few elements: one walk finds the sticky marks (``em.replystick``, else
    # ``img[src*="settop"]``) and the number's ``em``, instead of selector calls.
    number_node = sticky_em = sticky_img = None
    for node in postnum.traverse():
        tag = node.tag
        if tag == "em":
            number_node = number_node or node
            if sticky_em is None and has_class(node, node.attributes.get("class"), "replystick"):
                sticky_em = node
        elif tag == "img" and sticky_img is None and "settop" in (node.attributes.get("src") or ""):
            sticky_img = node
    sticky_mark = sticky_em or sticky_img
    if sticky_mark is not None:
        label = label.removeprefix(text(sticky_mark)).strip()
        found = _STICKY_FROM.search(label)
        return (int(found.group(1)) if found else None), label, False, True
    if label == _HOT_LABEL:
        return None, label, True, False
    if number_node is not None:
        return to_int(text(number_node)), label, False, False
    return _FLOOR_LABELS.get(label), label or None, False, False


def _body_status(pcb: Node | None, message: Node | None) -> tuple[PostStatus, str | None]:
    """The notice standing in for the content (reference §2.5), read outside the message only."""
    if pcb is not None:
        for child in pcb.iter():
            if child.tag != "div" or "locked" not in (attr(child, "class") or "").split():
                continue
            notice = _notice_text(child)
            for needle, status in _LOCKED_STATUS:
                if needle in notice:
                    return status, notice
    # The folded text can only be the notice if the raw text holds it (it has no white space):
    # checked first, it spares folding the whole message.
    if (
        message is not None
        and _PENDING_TEXT in message.text(deep=True)
        and text(message) == _PENDING_TEXT
        and message.css_first("span.xg1") is not None
    ):
        return "pending", _PENDING_TEXT
    return "normal", None


def _notice_text(node: Node) -> str:
    """A notice's words without its buttons and links (购买主题, 记录, 提交)."""
    parts: list[str] = []
    for child in node.iter(include_text=True):
        if child.is_text_node:
            parts.append(child.text_content or "")
        elif child.tag not in ("a", "button", "input"):
            parts.append(_notice_text(child))
    return " ".join("".join(parts).split())


def _content(message: Node, ctx: _Context) -> MessageContent:
    return parse_message(message, base_url=ctx.base_url, tz=ctx.tz, tid=ctx.tid, now=ctx.now)


def _merged_files(
    listing: Node | None, content: MessageContent | None, ctx: _Context
) -> tuple[list[Attachment], list[Image]]:
    """Inline files first, then the ``div.pattl`` list, each aid once."""
    attachments = list(content.attachments) if content else []
    images = list(content.images) if content else []
    if listing is None:
        return attachments, images
    listed, listed_images = parse_attachment_list(listing, base_url=ctx.base_url, tz=ctx.tz, now=ctx.now)
    return _extend_unique(attachments, listed), _extend_unique(images, listed_images)


def _extend_unique(kept: list[_File], extra: list[_File]) -> list[_File]:
    seen = {item.aid for item in kept if item.aid is not None}
    merged = list(kept)
    for item in extra:
        if item.aid is not None and item.aid in seen:
            continue
        merged.append(item)
    return merged


def _reply_subject(pcb: Node | None) -> str | None:
    if pcb is None:
        return None
    for child in pcb.iter():
        if child.tag == "h2":
            return text(child) or None
    return None


# --- author ---------------------------------------------------------------------------------


def _uid(href: str | None) -> int | None:
    m = _UID.search(href or "")
    return int(m.group(1)) if m else None


def _author(table: Node, pid: int, favatar: Node | None, base_url: str) -> Author:
    """The author block: ``#favatarPID`` on the left, or only ``td.plc .authi`` (close_leftinfo)."""
    card = _card(favatar, pid) if favatar is not None else None
    link = _author_link(card, pid, table)
    if link is None:
        return _nameless_author(favatar)
    profile = _profile(card, favatar) if card is not None and favatar is not None else {}
    return Author(
        uid=_uid(attr(link, "href")),
        name=text(link) or None,
        avatar_url=_avatar(card, table, base_url),
        **profile,
    )


@dataclass
class _Card:
    """The elements of the left author column the author is read from (see :func:`_card`)."""

    link: Node | None = None
    group_link: Node | None = None
    stat_cells: list[Node] = field(default_factory=list)
    online: Node | None = None
    avatar: Node | None = None


def _card(favatar: Node, pid: int) -> _Card:
    """What five lookups on ``#favatarPID`` find, from one selector list (see :func:`_post_parts`).

    ``:is(th, td)`` lists each stat cell once, as the two selectors it replaces did. Only the two
    link alternatives share a tag: a link listed twice matched both, a link listed
    once matched the one its ``href`` says (``[href*=…]`` compares case-sensitively in every
    mode, as ``in`` does).
    """
    found = favatar.css(
        f'div.authi a.xw1[href*="uid"], a[href*="ac=usergroup"], div.tns :is(th, td), #userinfo{pid} em, '
        "div.avatar"
    )
    card = _Card()
    last = None
    for node in found:
        key = node.mem_id
        tag = node.tag
        if key == last:
            card.link = card.link or node  # a link listed again: it matched both
            continue
        last = key
        if tag == "a":
            if "ac=usergroup" not in (node.attributes.get("href") or ""):
                card.link = card.link or node
            elif card.group_link is None:
                card.group_link = node
        elif tag in ("th", "td"):
            card.stat_cells.append(node)
        elif tag == "em":
            card.online = card.online or node
        elif tag == "div":
            card.avatar = card.avatar or node
    return card


def _right_authi(table: Node) -> Node | None:
    """The ``div.authi`` of the content cell: only needed without a left author column."""
    return table.css_first("td.plc div.authi")


def _author_link(card: _Card | None, pid: int, table: Node) -> Node | None:
    # Tried in order and only until one is found: each selector call costs a few µs.
    link = card.link if card is not None else None
    if link is None:
        authi = _right_authi(table)
        if authi is not None:
            link = authi.css_first('a.xi2[href*="uid"]:not(.avt)')
    if link is None:
        link = table.css_first(f'#userinfo{pid} strong a[href*="uid"]')
    return link


def _nameless_author(favatar: Node | None) -> Author:
    """Guest (masked IP), deleted member, or anonymous post: no profile link."""
    box = favatar.css_first("div.pi") if favatar is not None else None
    if box is not None:
        ip = box.css_first("a[href^='javascript'] em")
        if ip is not None:
            return Author(is_guest=True, guest_ip=text(ip))
        marker = box.css_first("em")
        if marker is not None and text(marker) == _MEMBER_DELETED:
            return Author(name=text(box).removesuffix(_MEMBER_DELETED).strip() or None, is_deleted=True)
    return Author(is_anonymous=True)


def _avatar(card: _Card | None, table: Node, base_url: str) -> str | None:
    if card is not None:
        box = card.avatar
        # The notice has no white space: in the raw text exactly when in the folded one.
        if box is None or _AVATAR_BLOCKED in box.text(deep=True):
            return None
        return absolute(base_url, attr(first_tag(box, "img"), "src"))
    authi = _right_authi(table)
    img = authi.css_first("a.avt img") if authi is not None else None
    return absolute(base_url, attr(img, "src"))


def _profile(card: _Card, favatar: Node) -> dict[str, object]:
    """Group, stat box, credits and online state; empty under ``threadguestlite``."""
    stats = _stats(card.stat_cells)
    group_link = card.group_link
    gid = _GID.search(attr(group_link, "href") or "")
    credits = stats.get("积分")
    if credits is None:
        credits = _pil_value(favatar, "积分")
    return {
        "group": text(group_link) or None,
        "group_id": int(gid.group(1)) if gid else None,
        "stats": stats,
        "threads": stats.get("主题"),
        "posts": stats.get("帖子"),
        "replies": stats.get("回帖"),
        "credits": credits,
        "online": _online(card.online),
    }


def _stats(cells: list[Node]) -> dict[str, int]:
    stats: dict[str, int] = {}
    for cell in cells:
        value_node = first_tag(cell, "p")
        value = number(value_node)
        label = text(cell).removeprefix(text(value_node)).strip()
        if value is not None and label:
            stats[label] = value
    return stats


def _pil_value(favatar: Node, label: str) -> int | None:
    for term in favatar.css("dl.pil dt"):
        if text(term) == label:
            definition = term.next
            while definition is not None and definition.tag != "dd":
                definition = definition.next
            return number(definition)
    return None


def _online(marker: Node | None) -> bool | None:
    value = text(marker)
    if "离线" in value:
        return False
    if "在线" in value:
        return True
    return None


# --- ratings and comments -------------------------------------------------------------------


def _rating(box: Node | None) -> Rating | None:
    if box is None:
        return None
    table = box.css_first("table.ratl")
    if table is not None:
        return _rating_table(table)
    return _rating_list(box)


def _rating_table(table: Node) -> Rating:
    """``ratelogon=1``: a header row of totals per credit, one row per rater."""
    headers = table.css("tr")[0].css("th") if table.css("tr") else []
    participants = to_int(text(headers[0].css_first("span.xi1"))) if headers else None
    credits = [h for h in headers[1:] if "xw1" in (attr(h, "class") or "").split()]
    names = [text(h).removesuffix(text(h.css_first("i"))).strip() for h in credits]
    totals = {
        name: to_int(text(h.css_first("i")).replace(" ", "")) for name, h in zip(names, credits, strict=True)
    }
    entries = [_rate_row(row, names) for row in table.css("tbody.ratl_l tr")]
    return Rating(
        participants=participants,
        totals={k: v for k, v in totals.items() if v is not None},
        entries=entries,
    )


def _rate_row(row: Node, names: list[str]) -> RateEntry:
    cells = row.css("td")
    rater = next((a for a in cells[0].css("a") if text(a)), None) if cells else None
    scores: dict[str, int] = {}
    for name, cell in zip(names, cells[1:], strict=False):
        value = to_int(text(cell).replace(" ", ""))
        if value is not None:
            scores[name] = value
    reason = text(cells[len(names) + 1]) if len(cells) > len(names) + 1 else ""
    return RateEntry(uid=_uid(attr(rater, "href")), name=text(rater) or None, scores=scores,
                     reason=reason or None)


def _rating_list(box: Node) -> Rating:
    """``ratelogon=0``: a count in ``dt``, raters as avatars whose ``tip`` holds reason and scores."""
    entries: list[RateEntry] = []
    for item in box.css("dd ul li"):
        tipped = item.css_first("p[tip]")
        rater_id = _RATE_ID.match(attr(tipped, "id") or "")
        tip = parse_html(f"<div>{tipped.attributes.get('tip') or ''}</div>") if tipped is not None else None
        reason = text(tip.css_first("strong")) if tip is not None else ""
        scores = {}
        for piece in tip.css("em, span") if tip is not None else []:
            m = _TIP_SCORE.search(text(piece))
            if m:
                scores[m["name"]] = -int(m["n"]) if m["sign"] == "-" else int(m["n"])
        name_link = next((a for a in item.css("a") if text(a)), None)
        entries.append(RateEntry(
            uid=int(rater_id.group(1)) if rater_id else _uid(attr(name_link, "href")),
            name=text(name_link) or None,
            scores=scores,
            reason=reason or None,
        ))
    return Rating(participants=to_int(text(box.css_first("dt strong"))), entries=entries)


def _comments(items: list[Node], ctx: _Context) -> list[Comment]:
    """The ``div.pstl`` items of the comment box."""
    comments: list[Comment] = []
    for item in items:
        head = item.css_first("div.psta")
        body = item.css_first("div.psti")
        if head is None or body is None:
            continue  # the "N 条点评" total line
        link = head.css_first("a.xw1")
        author = (
            Author(uid=_uid(attr(link, "href")), name=text(link) or None,
                   avatar_url=absolute(ctx.base_url, attr(head.css_first("img"), "src")))
            if link is not None
            else Author(is_guest=True)
        )
        stamp = body.css_first("span.xg1")
        comments.append(Comment(
            author=author,
            text=_own_text(body),
            created_at=parse_time_node(stamp, ctx.tz, now=ctx.now),
        ))
    return comments


def _own_text(body: Node) -> str:
    """A comment's words without its date line and its 详情 / 回复 links."""
    parts: list[str] = []
    for child in body.iter(include_text=True):
        if child.is_text_node:
            parts.append(child.text_content or "")
        elif child.tag not in ("a", "span"):
            parts.append(child.text(deep=True))
    return " ".join("".join(parts).split())


# --- merging --------------------------------------------------------------------------------


class PostMerger:
    """Each pid once, page after page, at its real place.

    Hot and sticky replies are pinned to the top of page 1 and shown again at their real place; a
    pinned copy is held back until its real copy arrives (which then keeps the ``is_hot`` /
    ``is_sticky`` flags), and :meth:`finish` releases the pinned copies whose real place was never
    seen. Streaming and whole-thread merges both use it, so they agree post for post.
    """

    def __init__(self) -> None:
        self._emitted: set[int] = set()
        self._pinned: dict[int, Post] = {}

    def feed(self, posts: Iterable[Post]) -> list[Post]:
        """The posts of the next page that are new, in page order."""
        fresh: list[Post] = []
        for post in posts:
            if post.pid is None:
                # Archiver posts carry no pid and are never repeated: nothing to de-duplicate.
                fresh.append(post)
                continue
            if post.pid in self._emitted:
                continue
            if post.is_hot or post.is_sticky:
                self._pinned.setdefault(post.pid, post)
                continue
            held = self._pinned.pop(post.pid, None)
            if held is not None:
                post = post.model_copy(update={"is_hot": held.is_hot, "is_sticky": held.is_sticky})
            self._emitted.add(post.pid)
            fresh.append(post)
        return fresh

    def finish(self) -> list[Post]:
        """Pinned copies whose real place was not among the pages fed."""
        rest = list(self._pinned.values())
        self._emitted.update(self._pinned)
        self._pinned.clear()
        return rest
