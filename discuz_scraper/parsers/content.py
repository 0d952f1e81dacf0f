"""One post's message body (``[id^=postmessage_]``) turned into clean content.

Works on the desktop renderings of X3.x/X2.x (``td.t_f`` / ``div.t_f``), Discuz 7.2
(``td.t_msgfont``) and the mobile API's own message HTML (``div.reply_wrap`` quotes,
``div.img > img[file]`` images), so the HTML and API backends share one implementation.

Text conventions (stable, downstream code relies on them):

- ``<br>`` ends a line; block elements (div, p, li, blockquote, table rows, hr) start a new one;
  spaces (``&nbsp;`` included) are folded inside a line; never more than one blank line in a row.
- Code blocks keep one source line per line with their indentation.
- ``[table]`` rows are lines whose cells are joined by ``" | "`` (readable, and unlike a tab it
  survives any later whitespace folding by consumers).
- Quotes, the edit marker and site chrome (jammer noise, tips, ads, hidden-content notices) are
  not part of the text; quotes are returned separately.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import TypeVar
from urllib.parse import unquote, urlsplit

from ..errors import ParseError
from ..models import Attachment, Image, Quote
from ._dom import Node, absolute, attr, parse_html, text, to_int
from .dates import parse_absolute, parse_time_node

__all__ = ["MessageContent", "aid_from_url", "parse_attachment_list", "parse_message"]


@dataclass(frozen=True)
class MessageContent:
    """Everything read from one message element."""

    content_html: str
    text: str
    images: list[Image]
    attachments: list[Attachment]
    quotes: list[Quote]
    edited_by: str | None
    edited_at: datetime | None
    hidden_content: bool


# Site chrome inside a message; removed before text and content_html are taken.
_NOISE = ", ".join(
    [
        "font.jammer",
        'span[style*="display:none"]',
        'span[style*="display: none"]',
        "div.tip",
        "script",
        "style",
        "div.attach_nopermission",
        "div.a_pr",
        "div.a_pt",
        "div.a_pb",
        "div.blockcode > em",  # X3 copy button
        "div.blockcode span.headactions",  # 7.2 copy button
        "div.showhide > h4",  # "本帖隐藏的内容" label of revealed [hide]
        'div.guestviewthumb > a[href*="logging"]',  # "登录/注册后可看大图"
    ]
)
_QUOTES = "div.quote, div.reply_wrap"
_QUOTE_CLASSES = frozenset({"quote", "reply_wrap"})
# Quotes nested deeper than this are not returned separately (see _too_deep); real threads
# nest a handful of levels at most.
_MAX_QUOTE_DEPTH = 16
_TIP = frozenset({"tip"})
_NONE_GIF = "none.gif"
# Site-owned pictures that are UI, not content: smilies, file-type icons, 7.2 quote arrows.
_UI_IMAGE = re.compile(
    r"(?:^|/)(?:static/image/(?:smiley|common|filetype)|images/(?:common|smilies|attachicons))/"
)
_BLOCK_TAGS = frozenset(
    {
        "address", "article", "aside", "blockquote", "center", "dd", "div", "dl", "dt",
        "fieldset", "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "header",
        "hr", "li", "ol", "p", "pre", "section", "table", "tbody", "thead", "tfoot", "ul",
    }
)
_SPACE_RUN = re.compile(r"[ \t\r\n\f\u00a0\u3000]+")

_EDIT = re.compile(r"本帖最后由\s*(?P<who>.+?)\s*于\s*(?P<when>.+?)\s*编辑")
_EDIT_BRACKETED = re.compile(r"\[\s*本帖最后由\s*(?P<who>.+?)\s*于\s*(?P<when>.+?)\s*编辑\s*\]")
_QUOTE_HEADER = re.compile(r"^(?P<who>.+?)\s*发表于\s*(?P<when>.+)$")
_REVEALED_CREDITS = "以下内容"

_SIZE = re.compile(r"(?P<n>\d+(?:\.\d+)?)\s*(?P<unit>Bytes|KB|MB|GB|TB)\b", re.IGNORECASE)
_UNIT_POWER = {"bytes": 0, "kb": 1, "mb": 2, "gb": 3, "tb": 4}
_DOWNLOADS = re.compile(r"下载次数\s*[:：]\s*(\d+)")
_PRICE = re.compile(r"售价\s*[:：]\s*(?P<n>\d+)\s*(?P<unit>[^\s\[\]()（）]+)?")
_READ_PERM = re.compile(r"阅读权限\s*[:：]\s*(\d+)")
_PID = re.compile(r"[?&]pid=(\d+)")
_PTID = re.compile(r"[?&]ptid=(\d+)")
_AID_ID = re.compile(r"^(?:aid|attach_)(\d+)$")


_T = TypeVar("_T", Image, Attachment)


@dataclass(frozen=True)
class _FileMeta:
    """What a tip box or attachment-list item says about one file."""

    filename: str | None = None
    size_bytes: int | None = None
    downloads: int | None = None
    uploaded_at: datetime | None = None
    download_url: str | None = None


def parse_message(
    node: Node,
    *,
    base_url: str,
    tz: tzinfo,
    tid: int | None = None,
    now: datetime | None = None,
) -> MessageContent:
    """Read a message element into cleaned HTML, text, images, attachments and quotes.

    ``base_url`` is the page's base (``<base href>`` or site root) every URL is resolved
    against; ``tz`` the page's timezone for the edit marker, quote headers and upload times;
    ``tid`` fills a quote's thread id when its link omits ``ptid``; ``now`` (aware) lets
    relative upload times be read. The caller's tree is not modified.
    """
    _require_base(base_url)
    root = _copy(node)
    images, attachments = _media(root, base_url, tz, now)
    hidden = _strip_locked_notices(root)
    _decompose(root.css(_NOISE))
    edited_by, edited_at = _pop_edit_marker(root, tz)
    # Reading quotes and rewriting attributes leave the quote boxes in place: one query serves both.
    boxes = root.css(_QUOTES)
    quotes = [_quote(box, base_url, tz, tid) for box in boxes if not _too_deep(box)]
    _neutralise_and_fix_urls(root, base_url)
    content_html = (root.inner_html or "").strip()
    for box in boxes:
        # The line break after a quote only separated it from the reply; without it, a blank line.
        _drop_with_trailing_breaks(box, limit=1)
    _decompose(root.css('span[id^="attach_"] em.xg1'))
    return MessageContent(
        content_html=content_html,
        text=_render_text(root),
        images=images,
        attachments=attachments,
        quotes=quotes,
        edited_by=edited_by,
        edited_at=edited_at,
        hidden_content=hidden,
    )


def parse_attachment_list(
    node: Node,
    *,
    base_url: str,
    tz: tzinfo,
    now: datetime | None = None,
) -> tuple[list[Attachment], list[Image]]:
    """The files of a ``div.pattl`` attachment list, and the images among them.

    Download URLs are kept exactly as given (made absolute): their ``aid`` token is bound to the
    viewer and expires, so fetch them with the same session soon after. ``node`` is not modified.
    """
    _require_base(base_url)
    if node is None or not node.is_element_node:
        raise ParseError("attachment list: expected a div.pattl element")
    attachments: list[Attachment] = []
    images: list[Image] = []
    for item in node.css("dl.tattl"):
        found = _list_item(item, base_url, tz, now)
        if found is None:
            continue
        attachment, image = found
        attachments.append(attachment)
        if image is not None:
            images.append(image)
    return attachments, images


# --- copying and cleaning -------------------------------------------------------------------


def _require_base(base_url: str) -> None:
    parts = urlsplit(base_url or "")
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ParseError(f"base_url must be an absolute http(s) URL, got {base_url!r}")


# Message elements whose content is raw text (hostile pages only): their inner HTML is not
# escaped, so the copy has always read that text as markup, by re-parsing it; a clone would keep
# it as text, and its root would itself match the ``script``/``style`` noise selectors.
_RAW_TEXT_TAGS = frozenset(
    {"script", "style", "xmp", "iframe", "noembed", "noframes", "noscript", "plaintext"}
)


def _copy(node: Node) -> Node:
    """A detached copy of the element's content that we may freely edit.

    Usually a deep clone: re-parsing every message cost about as much as parsing the page. The
    clone's own attributes are dropped so that its root, which ``css()`` matches too, is as
    inert as a bare wrapper: it never matches a class or attribute selector (noise, quotes,
    ``[src]``…); only its content is read. Raw-text elements and content holding a
    ``template`` (whose content ``clone()`` leaves out) are re-parsed as before, so that every
    message reads the same either way.
    """
    if node is None or not node.is_element_node:
        raise ParseError("message: expected a message element ([id^=postmessage_])")
    if node.tag in _RAW_TEXT_TAGS or node.css_first("template") is not None:
        return _reparsed(node)
    root = node.clone()
    for name in list(root.attrs.keys()):
        del root.attrs[name]
    return root


def _reparsed(node: Node) -> Node:
    """The element's inner HTML re-parsed inside a ``div`` (the inner HTML, not the element: a
    bare ``<td>`` outside a table would be dropped by the HTML parser)."""
    root = parse_html(f"<div>{node.inner_html or ''}</div>").css_first("body > div")
    if root is None:  # pragma: no cover - the wrapper always parses
        raise ParseError("message: could not copy the message element")
    return root


def _decompose(nodes: Iterable[Node]) -> None:
    for found in list(nodes):
        found.decompose()


def _strip_locked_notices(root: Node) -> bool:
    """Drop ``[hide]`` notices; True when part of the message is hidden from this viewer.

    ``div.locked`` in a message is either the hidden-content notice ("…如果您要查看本帖隐藏内容请
    回复", "本帖隐藏的内容需要积分高于 N 才可浏览") or, once revealed, the credit-gate banner
    "以下内容需要积分高于 N 才可浏览" followed by the real content.
    """
    hidden = False
    for notice in list(root.css("div.locked")):
        if _REVEALED_CREDITS not in text(notice):
            hidden = True
        notice.decompose()
    return hidden


def _pop_edit_marker(root: Node, tz: tzinfo) -> tuple[str | None, datetime | None]:
    """Remove the "本帖最后由 X 于 DATE 编辑" marker and return its editor and time."""
    for marker in root.css("i.pstatus"):
        m = _EDIT.search(text(marker))
        if m is None or _in_quote(marker):
            continue
        _drop_with_trailing_breaks(marker)
        return m["who"], parse_absolute(m["when"], tz)
    # The walk below visits every node in Python; the whole text holds the marker whenever one
    # of its text nodes does, and (in C) that is far cheaper to check first.
    if "本帖最后由" not in root.text(deep=True):
        return None, None
    for piece in root.traverse(include_text=True):
        if not piece.is_text_node or "本帖最后由" not in (piece.text_content or ""):
            continue
        m = _EDIT_BRACKETED.search(piece.text_content or "")
        if m is None or _in_quote(piece):
            continue
        rest = (piece.text_content or "")[: m.start()] + (piece.text_content or "")[m.end():]
        follower = piece.next
        if rest.strip():
            piece.replace_with(rest)
        else:
            piece.decompose()
        _drop_breaks(follower)
        return m["who"], parse_absolute(m["when"], tz)
    return None, None


def _drop_with_trailing_breaks(node: Node, *, limit: int = 2) -> None:
    follower = node.next
    node.decompose()
    _drop_breaks(follower, limit=limit)


def _drop_breaks(node: Node | None, *, limit: int = 2) -> None:
    """Remove up to ``limit`` ``<br />`` after a removed block (the edit marker is followed by
    two), with the blank text between them."""
    removed = 0
    while node is not None and removed < limit:
        following = node.next
        if node.tag == "br":
            removed += 1
        elif not (node.is_text_node and not (node.text_content or "").strip()):
            return
        node.decompose()
        node = following


def _has_class_ancestor(node: Node, classes: frozenset[str], *, stop_at: str | None = None) -> bool:
    """Whether an ancestor (below the nearest ``stop_at`` element) has one of ``classes``."""
    parent = node.parent
    while parent is not None and parent.tag != stop_at:
        if classes.intersection((parent.attributes.get("class") or "").split()):
            return True
        parent = parent.parent
    return False


def _too_deep(box: Node) -> bool:
    """Whether a quote sits inside :data:`_MAX_QUOTE_DEPTH` other quotes.

    Each quote is read from a copy of its whole content, so quotes nested N deep cost O(N²): a
    hostile 2,000-deep nest took ~50 s. Deeper quotes stay part of their outer quotes' text; the
    walk up stops as soon as the limit is reached, keeping the check O(limit) per quote.
    """
    depth = 0
    parent = box.parent
    while parent is not None:
        if _QUOTE_CLASSES.intersection((parent.attributes.get("class") or "").split()):
            depth += 1
            if depth >= _MAX_QUOTE_DEPTH:
                return True
        parent = parent.parent
    return False


def _in_quote(node: Node) -> bool:
    return _has_class_ancestor(node, _QUOTE_CLASSES)


_SCRIPT_SCHEME = re.compile(r"^(?:javascript|vbscript):", re.IGNORECASE)
_URL_NOISE = re.compile(r"[\x00-\x20]+")
# Attributes a renderer loads or follows as URLs (Discuz's own lazy-image ones included).
_URL_ATTRIBUTES = frozenset({
    "href", "src", "file", "zoomfile", "action", "formaction", "data", "poster", "background",
    "lowsrc", "dynsrc", "xlink:href", "srcset",
})


def _neutralise_and_fix_urls(root: Node, base_url: str) -> None:
    """Make every element safe to render, then make its links absolute, in one pass.

    Safe: event handlers (``on*``) and ``javascript:``/``vbscript:`` URLs are dropped.
    ``content_html`` is rendered by downstream tools (notebooks, web views); Discuz's own
    handlers (``onclick="zoom(…)"``) do nothing there and a hostile site's do harm. ``script``
    elements are already gone with the noise. Browsers ignore control characters and spaces
    inside a scheme (``java\tscript:``), so they are ignored here too.

    Absolute: ``src``/``href``/``file``/``zoomfile`` are resolved, and placeholder/lazy images
    get their real ``src`` (offline rendering): the displayed file (``file``, possibly a
    thumbnail) like Discuz's own script would load, falling back to ``zoomfile``. Dropping a
    ``javascript:`` src first lets such an image get its real file.

    Both only touch the element at hand, so one walk (one attribute read per element) does both.
    """
    for el in root.css("*"):
        attributes = el.attributes
        for name in [key for key in attributes if key]:
            lowered = name.lower()
            value = attributes[name] or ""
            if lowered.startswith("on") or (
                lowered in _URL_ATTRIBUTES and _SCRIPT_SCHEME.match(_URL_NOISE.sub("", value))
            ):
                del el.attrs[name]
                del attributes[name]
        for name in ("src", "href", "file", "zoomfile"):
            value = attributes.get(name)
            resolved = absolute(base_url, value) if value else None
            if resolved is not None:
                el.attrs[name] = resolved
                attributes[name] = resolved
        if el.tag == "img":
            src = (attributes.get("src") or "").strip() or None
            if src is None or _is_placeholder(src):
                real = (attributes.get("file") or "").strip() or (attributes.get("zoomfile") or "").strip()
                if real:
                    el.attrs["src"] = real


# --- images ---------------------------------------------------------------------------------


def _is_placeholder(url: str) -> bool:
    return urlsplit(url).path.endswith("/" + _NONE_GIF) or url == _NONE_GIF


def _is_ui_image(img: Node) -> bool:
    if "smilieid" in img.attributes:
        return True
    src = attr(img, "src") or ""
    return bool(_UI_IMAGE.search(urlsplit(src).path)) and not _is_placeholder(src)


def _image(img: Node, base_url: str, meta: _FileMeta) -> Image | None:
    """An ``Image`` from an ``img`` element: zoomfile > file > src, never the placeholder."""
    if _is_ui_image(img):
        return None
    candidates = [attr(img, name) for name in ("zoomfile", "file", "src")]
    usable = [absolute(base_url, c) for c in candidates if c and not _is_placeholder(c)]
    urls = [u for u in usable if u is not None]
    if not urls:
        return None
    url = urls[0]
    thumb = next((u for u in urls[1:] if u != url), None)
    aid = to_int(attr(img, "aid"))
    is_attachment = aid is not None or "attach" in img.attributes
    return Image(
        url=url,
        thumb_url=thumb,
        aid=aid,
        filename=meta.filename,
        size_bytes=meta.size_bytes,
        width=to_int(attr(img, "width")),
        height=to_int(attr(img, "height")),
        kind="attachment" if is_attachment else "remote",
        in_quote=_in_quote(img),
    )


# --- attachments ----------------------------------------------------------------------------


def _size_bytes(value: str) -> int | None:
    m = _SIZE.search(value)
    if m is None:
        return None
    return round(float(m["n"]) * 1024 ** _UNIT_POWER[m["unit"].lower()])


def _uploaded_at(box: Node, tz: tzinfo, now: datetime | None) -> datetime | None:
    """The "DATE 上传" line of a tip box."""
    for line in box.css("p, div, span"):
        if "上传" in line.text(deep=False):
            return parse_time_node(line, tz, now=now)
    return None


def _tip_meta(root: Node, tip_id: str, base_url: str, tz: tzinfo, now: datetime | None) -> _FileMeta:
    """File facts from an attachment's hover tip (``div.tip#…_menu``); empty when absent."""
    tip = root.css_first(f'div[id="{tip_id}"]')
    if tip is None:
        return _FileMeta()
    name = tip.css_first("strong")
    size_box = tip.css_first("em.xg1") or tip
    link = tip.css_first('a[href*="mod=attachment"]')
    return _FileMeta(
        filename=text(name) or None,
        size_bytes=_size_bytes(text(size_box)),
        downloads=_downloads(text(size_box)),
        uploaded_at=_uploaded_at(tip, tz, now),
        download_url=absolute(base_url, attr(link, "href")),
    )


def _downloads(value: str) -> int | None:
    m = _DOWNLOADS.search(value)
    return int(m.group(1)) if m else None


def aid_from_url(url: str | None) -> int | None:
    """The attachment id in a ``mod=attachment&aid=…`` link.

    The parameter is either a plain number (``attachpay`` links) or ``aidencode()``'s
    base64 of ``AID|hash|time|uid|tid``; an undecodable value gives ``None``.
    """
    if not url:
        return None
    for pair in urlsplit(url).query.split("&"):
        key, _, value = pair.partition("=")
        if key == "aid" and value:
            return _decode_aid(unquote(value))
    return None


def _decode_aid(value: str) -> int | None:
    if value.isdigit():
        return int(value)
    try:
        raw = base64.b64decode(value + "=" * (-len(value) % 4), validate=True).decode("ascii")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    head = raw.split("|", 1)[0]
    return int(head) if head.isdigit() else None


def _aid_of(node: Node | None, href: str | None) -> int | None:
    m = _AID_ID.match(attr(node, "id") or "")
    if m is not None:
        return int(m.group(1))
    return aid_from_url(href)


def _media(
    root: Node, base_url: str, tz: tzinfo, now: datetime | None
) -> tuple[list[Image], list[Attachment]]:
    """Images and inline attachments in document order, each attachment (aid) once.

    An image attachment with a hover tip is also an ``Attachment`` (its file name, size and
    download link live in the tip); non-image attachments are ``span#attach_AID`` links.
    """
    images: list[Image] = []
    attachments: list[Attachment] = []
    seen_images: set[int] = set()
    seen_files: set[int] = set()
    for el in root.css('img, span[id^="attach_"]'):
        if el.tag != "img":
            _add_once(attachments, seen_files, _inline_file_attachment(root, el, base_url, tz, now))
            continue
        aid = to_int(attr(el, "aid"))
        meta = _tip_meta(root, f"aimg_{aid}_menu", base_url, tz, now) if aid is not None else _FileMeta()
        image = _image(el, base_url, meta)
        if image is None:
            continue
        _add_once(images, seen_images, image)
        if aid is not None and meta.filename is not None:
            _add_once(attachments, seen_files, _image_attachment(aid, meta.filename, meta, image.url))
    return images, attachments


def _add_once(found: list[_T], seen: set[int], item: _T | None) -> None:
    """Append ``item`` unless it is None or its aid was already taken."""
    if item is None:
        return
    if item.aid is not None:
        if item.aid in seen:
            return
        seen.add(item.aid)
    found.append(item)


def _image_attachment(aid: int, filename: str, meta: _FileMeta, image_url: str) -> Attachment:
    return Attachment(
        aid=aid,
        filename=filename,
        url=meta.download_url or image_url,
        size_bytes=meta.size_bytes,
        downloads=meta.downloads,
        is_image=True,
        inline=True,
        uploaded_at=meta.uploaded_at,
    )


def _inline_file_attachment(
    root: Node, span: Node, base_url: str, tz: tzinfo, now: datetime | None
) -> Attachment | None:
    link = span.css_first('a[href*="mod=attachment"], a[href*="action=attachpay"]')
    url = absolute(base_url, attr(link, "href"))
    if link is None or url is None:
        return None  # 7.2's hidden image marker span, not a file link
    info = span.css_first("em.xg1") or _next_element(span, "em")
    info_text = text(info)
    price, price_unit = _price(info_text)
    aid = _aid_of(span, url)
    tip = root.css_first(f'div[id="attach_{aid}_menu"]') if aid is not None else None
    return Attachment(
        aid=aid,
        filename=text(link),
        url=url,
        size_bytes=_size_bytes(info_text),
        downloads=_downloads(info_text),
        price=price,
        price_unit=price_unit,
        is_image=False,
        inline=True,
        uploaded_at=_uploaded_at(tip, tz, now) if tip is not None else None,
    )


def _next_element(node: Node, tag: str) -> Node | None:
    sibling = node.next
    while sibling is not None and sibling.is_text_node and not (sibling.text_content or "").strip():
        sibling = sibling.next
    return sibling if sibling is not None and sibling.tag == tag else None


def _price(value: str) -> tuple[int | None, str | None]:
    m = _PRICE.search(value)
    if m is None:
        return None, None
    return int(m["n"]), m["unit"]


def _list_item(
    item: Node, base_url: str, tz: tzinfo, now: datetime | None
) -> tuple[Attachment, Image | None] | None:
    """One ``dl.tattl`` of an attachment list (``attm`` = an image item)."""
    link = item.css_first('a[id^="aid"]') or item.css_first(
        'a[href*="mod=attachment"], a[href*="action=attachpay"]'
    )
    url = absolute(base_url, attr(link, "href"))
    filename = text(link)
    if url is None or not filename:
        return None
    details = " ".join(text(p) for p in item.css("p") if not _has_class_ancestor(p, _TIP, stop_at="dl"))
    details = details.replace(filename, " ", 1)
    img = item.css_first("img[aid]")
    aid = _aid_of(link, url) or to_int(attr(img, "aid"))
    tip = item.css_first("div.tip")
    price, price_unit = _price(details)
    read_perm = _READ_PERM.search(details)
    attachment = Attachment(
        aid=aid,
        filename=filename,
        url=url,
        size_bytes=_size_bytes(details),
        downloads=_downloads(details),
        price=price,
        price_unit=price_unit,
        read_perm=int(read_perm.group(1)) if read_perm else None,
        is_image=img is not None or "attm" in (item.attributes.get("class") or "").split(),
        inline=False,
        uploaded_at=_uploaded_at(tip, tz, now) if tip is not None else None,
    )
    image = None
    if img is not None:
        image = _image(img, base_url, _FileMeta(filename=filename, size_bytes=attachment.size_bytes))
    return attachment, image


# --- quotes ---------------------------------------------------------------------------------


def _quote(box: Node, base_url: str, tz: tzinfo, tid: int | None) -> Quote:
    """A quote block: the quoted post from its findpost link, author and time from its header."""
    body = _copy(box.css_first("blockquote") or box)
    link = body.css_first('a[href*="findpost"]')
    href = absolute(base_url, attr(link, "href")) or ""
    header = body.css_first('font[color="#999999"]')
    header_text = text(header)
    _decompose(n for n in (link, header) if n is not None)
    quoted = _render_text(body)
    if header is None:
        # No coloured header (plain [quote], API rendering): a first line "X 发表于 DATE" is one.
        first, _, rest = quoted.partition("\n")
        if _QUOTE_HEADER.match(first) and parse_absolute(first, tz) is not None:
            header_text, quoted = first, rest.strip()
    m = _QUOTE_HEADER.match(header_text)
    pid = _PID.search(href)
    ptid = _PTID.search(href)
    return Quote(
        pid=int(pid.group(1)) if pid else None,
        tid=int(ptid.group(1)) if ptid else (tid if pid else None),
        author=m["who"] if m else None,
        posted_at=parse_absolute(m["when"], tz) if m else None,
        text=quoted,
    )


# --- text -----------------------------------------------------------------------------------


class _TextBuilder:
    """Collects text into lines: hard breaks (``<br>``) always end a line, soft ones (block
    edges) only a non-empty one, as a browser lays them out."""

    def __init__(self) -> None:
        self._lines: list[str] = []
        self._buffer: list[str] = []

    def write(self, value: str) -> None:
        self._buffer.append(value)

    def hard_break(self) -> None:
        self._lines.append(_SPACE_RUN.sub(" ", "".join(self._buffer)).strip())
        self._buffer = []

    def soft_break(self) -> None:
        if _SPACE_RUN.sub("", "".join(self._buffer)):
            self.hard_break()
        else:
            self._buffer = []

    def verbatim(self, line: str) -> None:
        self.soft_break()
        self._lines.append(line)

    def result(self) -> str:
        self.soft_break()
        kept: list[str] = []
        for line in self._lines:
            if line or (kept and kept[-1]):
                kept.append(line)
        while kept and not kept[-1]:
            kept.pop()
        return "\n".join(kept)


def _render_text(root: Node) -> str:
    builder = _TextBuilder()
    _walk(root, builder)
    return builder.result()


# A soft break queued on the walk's stack (strings on the stack are text to write).
_SOFT_BREAK = object()


def _walk(root: Node, out: _TextBuilder) -> None:
    """Lay out ``root``'s content into ``out``.

    An explicit stack, not recursion: element nesting is unbounded in what a site sends (a fuzzed
    message 10,000 elements deep raised RecursionError). Items are popped in document order:
    nodes to lay out, strings to write and :data:`_SOFT_BREAK` markers closing blocks and rows.
    """
    stack: list[Node | str | object] = list(reversed(list(root.iter(include_text=True))))
    while stack:
        item = stack.pop()
        if item is _SOFT_BREAK:
            out.soft_break()
            continue
        if isinstance(item, str):
            out.write(item)
            continue
        child: Node = item  # type: ignore[assignment]
        if child.is_text_node:
            out.write(child.text_content or "")
            continue
        tag = child.tag
        if tag == "br":
            out.hard_break()
        elif tag == "tr":
            out.soft_break()
            stack.append(_SOFT_BREAK)
            stack.extend(reversed(_row_items(child)))
        elif tag == "div" and "blockcode" in (child.attributes.get("class") or "").split():
            if not _walk_code(child, out):
                out.soft_break()
                stack.append(_SOFT_BREAK)
                stack.extend(reversed(list(child.iter(include_text=True))))
        elif tag in _BLOCK_TAGS:
            out.soft_break()
            stack.append(_SOFT_BREAK)
            stack.extend(reversed(list(child.iter(include_text=True))))
        elif child.is_element_node:
            stack.extend(reversed(list(child.iter(include_text=True))))


def _row_items(row: Node) -> list[Node | str]:
    """A table row's cells' content in order, ``" | "`` between cells."""
    items: list[Node | str] = []
    first = True
    for cell in row.iter():
        if cell.tag not in ("td", "th"):
            continue
        if not first:
            items.append(" | ")
        first = False
        items.extend(cell.iter(include_text=True))
    return items


def _walk_code(block: Node, out: _TextBuilder) -> bool:
    """One output line per ``li`` (Discuz leaves them unclosed), indentation kept; False (nothing
    written) for a block without ``li``, which the caller lays out as a plain block."""
    lines = block.css("li")
    if not lines:
        return False
    code = [(line.text(deep=True) or "").replace("\u00a0", " ").rstrip() for line in lines]
    # A trailing newline in [code] leaves an empty last item; blank edges are not content.
    while code and not code[-1]:
        code.pop()
    while code and not code[0]:
        code.pop(0)
    for line in code:
        out.verbatim(line)
    out.soft_break()
    return True

