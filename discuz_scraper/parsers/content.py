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
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, tzinfo
from functools import lru_cache
from typing import TypeVar
from urllib.parse import unquote, urlsplit

from ..errors import ParseError
from ..models import Attachment, Image, Quote
from ._dom import Node, absolute, attr, has_class, parse_html, text, to_int
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


_NOISE_DIV_CLASSES = ("tip", "attach_nopermission", "a_pr", "a_pt", "a_pb")
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
_SPACES = " \t\r\n\f\u00a0\u3000"
_SPACE_RUN = re.compile(f"[{_SPACES}]+")

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
    tree = _copy(node)
    images, attachments = _media(tree, base_url, tz, now)
    hidden = _strip_locked_notices(tree)
    tree.remove([el for el, tag, attrs in tree.elements if _is_noise(el, tag, attrs)])
    edited_by, edited_at = _pop_edit_marker(tree, tz)
    # Reading quotes and rewriting attributes leave the quote boxes in place: one list serves both.
    # A box of both classes is one quote (the selector list it replaces listed it twice).
    boxes = [
        el
        for el, tag, attributes in tree.elements
        if tag == "div" and has_class(el, attributes.get("class"), *_QUOTE_CLASSES)
    ]
    quotes = [_quote(box, base_url, tz, tid) for box in boxes if not _too_deep(box)]
    _neutralise_and_fix_urls(tree, base_url)
    # Without an attachment span the query below cannot match: skip its selector (~3 µs).
    filed = any(tag == "span" and _is_attach_id(attributes.get("id")) for _, tag, attributes in tree.elements)
    content_html = (tree.root.inner_html or "").strip()
    for box in boxes:
        # The line break after a quote only separated it from the reply; without it, a blank line.
        _drop_with_trailing_breaks(box, limit=1)
    if filed:
        _decompose(tree.root.css('span[id^="attach_"] em.xg1'))
    return MessageContent(
        content_html=content_html,
        text=_render_text(tree.root, plain=len(tree.elements) == 1),
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
    items = [
        el for el, tag, attrs in _elements(node) if tag == "dl" and has_class(el, attrs.get("class"), "tattl")
    ]
    for item in items:
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
    if not _is_http_base(base_url or ""):
        raise ParseError(f"base_url must be an absolute http(s) URL, got {base_url!r}")


# A page's posts share one base: one urlsplit (~1 µs) per base, not per message.
@lru_cache(maxsize=16)
def _is_http_base(base_url: str) -> bool:
    parts = urlsplit(base_url)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


# Message elements whose content is raw text (hostile pages only): their inner HTML is not
# escaped, so the copy has always read that text as markup, by re-parsing it; a clone would keep
# it as text, and its root would itself match the ``script``/``style`` noise selectors.
_RAW_TEXT_TAGS = frozenset(
    {"script", "style", "xmp", "iframe", "noembed", "noframes", "noscript", "plaintext"}
)


def _copy(node: Node) -> _Tree:
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
    if node.tag not in _RAW_TEXT_TAGS:
        root = node.clone()
        for name in list(root.attrs.keys()):
            del root.attrs[name]
        tree = _Tree(root)
        # The clone keeps every element but a template's content: a template in the clone is
        # one in the element, and the walk that finds it serves the callers too.
        if not any(tag == "template" for _, tag, _ in tree.elements):
            return tree
    return _Tree(_reparsed(node))


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


_Attributes = dict[str, str | None]
_Element = tuple[Node, str, _Attributes]


def _elements(node: Node) -> list[_Element]:
    """``node`` and the elements under it in document order (the order of ``css()``), with their
    tags and attributes, each read once (``node.attributes`` builds a new dict on every read).

    Comments come along (tag ``-comment``, no attributes); they match no tag looked for.
    """
    return [(el, el.tag, el.attributes) for el in node.traverse()]


class _Tree:
    """A message copy and its elements, walked once and walked again only after a removal.

    Each concern (media, notices, noise, edit marker, quotes, attributes) picks its elements
    from this list by tag, then by attribute. A message holds a few dozen elements at most, and
    walking them in Python costs less than one ``css()`` call (~2-3 µs: lexbor compiles the
    selector on every call), of which the selector-per-concern version made about eight.
    """

    def __init__(self, root: Node) -> None:
        self.root = root
        self._elements: list[_Element] | None = None

    @property
    def elements(self) -> list[_Element]:
        if self._elements is None:
            self._elements = _elements(self.root)
        return self._elements

    def changed(self) -> None:
        """Forget the walk after an edit: removed elements must not be visited (their memory
        is freed)."""
        self._elements = None

    def detach(self, nodes: list[Node]) -> None:
        """Drop ``nodes`` and everything under them from the walk, before they are removed:
        cheaper than walking the rest again."""
        if nodes and self._elements is not None:
            gone = {inner.mem_id for node in nodes for inner in node.traverse()}
            self._elements = [found for found in self._elements if found[0].mem_id not in gone]

    def remove(self, nodes: list[Node]) -> None:
        self.detach(nodes)
        _decompose(nodes)

    def div_with_id(self, value: str) -> Node | None:
        """``root.css_first(f'div[id="{value}"]')`` (attribute selectors compare ids exactly)."""
        found = (el for el, tag, attrs in self.elements if tag == "div" and attrs.get("id") == value)
        return next(found, None)


def _is_attach_id(value: str | None) -> bool:
    return value is not None and value.startswith("attach_")


def _is_noise(el: Node, tag: str, attributes: _Attributes) -> bool:
    """Site chrome inside a message; removed before text and content_html are taken.

    The selector ``font.jammer, span[style*="display:none"], span[style*="display: none"],
    div.tip, script, style, div.attach_nopermission, div.a_pr, div.a_pt, div.a_pb,
    div.blockcode > em`` (X3 copy button) ``, div.blockcode span.headactions`` (7.2 copy
    button) ``, div.showhide > h4`` ("本帖隐藏的内容" label of revealed [hide]) ``,
    div.guestviewthumb > a[href*="logging"]``, matched by tag first.
    """
    if tag in ("script", "style"):
        return True
    if tag == "div":
        return has_class(el, attributes.get("class"), *_NOISE_DIV_CLASSES)
    if tag == "font":
        return has_class(el, attributes.get("class"), "jammer")
    if tag == "span":
        style = attributes.get("style") or ""
        if "display:none" in style or "display: none" in style:
            return True
        return has_class(el, attributes.get("class"), "headactions") and _under_div(
            el, "blockcode", parent_only=False
        )
    if tag == "em":
        return _under_div(el, "blockcode")
    if tag == "h4":
        return _under_div(el, "showhide")
    if tag == "a":
        return "logging" in (attributes.get("href") or "") and _under_div(el, "guestviewthumb")
    return False


def _under_div(el: Node, name: str, *, parent_only: bool = True) -> bool:
    """Whether the parent (``div.name > el``) or any ancestor (``div.name el``) is a div.name."""
    parent = el.parent
    while parent is not None:
        if parent.tag == "div" and has_class(parent, parent.attributes.get("class"), name):
            return True
        if parent_only:
            return False
        parent = parent.parent
    return False


def _strip_locked_notices(tree: _Tree) -> bool:
    """Drop ``[hide]`` notices; True when part of the message is hidden from this viewer.

    ``div.locked`` in a message is either the hidden-content notice ("…如果您要查看本帖隐藏内容请
    回复", "本帖隐藏的内容需要积分高于 N 才可浏览") or, once revealed, the credit-gate banner
    "以下内容需要积分高于 N 才可浏览" followed by the real content.
    """
    hidden = False
    notices = [
        el for el, tag, attrs in tree.elements if tag == "div" and has_class(el, attrs.get("class"), "locked")
    ]
    tree.detach(notices)
    for notice in notices:
        if _REVEALED_CREDITS not in text(notice):
            hidden = True
        notice.decompose()
    return hidden


def _pop_edit_marker(tree: _Tree, tz: tzinfo) -> tuple[str | None, datetime | None]:
    """Remove the "本帖最后由 X 于 DATE 编辑" marker and return its editor and time."""
    markers = [
        el for el, tag, attrs in tree.elements if tag == "i" and has_class(el, attrs.get("class"), "pstatus")
    ]
    for marker in markers:
        m = _EDIT.search(text(marker))
        if m is None or _in_quote(marker):
            continue
        _drop_with_trailing_breaks(marker)
        tree.changed()
        return m["who"], parse_absolute(m["when"], tz)
    root = tree.root
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
        tree.changed()
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


def _has_class_ancestor(node: Node, classes: frozenset[str]) -> bool:
    """Whether an ancestor has one of ``classes``."""
    parent = node.parent
    while parent is not None:
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


def _neutralise_and_fix_urls(tree: _Tree, base_url: str) -> None:
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

    Both only touch the element at hand, so one walk (one attribute read per element) does both;
    most elements of a message (``br``, ``p``, ``strong``…) have no attribute at all.
    """
    for el, tag, attributes in tree.elements:
        if not attributes:
            continue
        for name in [key for key in attributes if key]:
            lowered = name.lower()
            value = attributes[name] or ""
            if lowered.startswith("on") or (
                lowered in _URL_ATTRIBUTES
                and ":" in value
                and _SCRIPT_SCHEME.match(_URL_NOISE.sub("", value))
            ):
                del el.attrs[name]
                del attributes[name]
        for name in ("src", "href", "file", "zoomfile"):
            value = attributes.get(name)
            resolved = absolute(base_url, value) if value else None
            if resolved is not None and resolved != value:
                el.attrs[name] = resolved
                attributes[name] = resolved
        if tag == "img":
            src = (attributes.get("src") or "").strip() or None
            if src is None or _is_placeholder(src):
                real = (attributes.get("file") or "").strip() or (attributes.get("zoomfile") or "").strip()
                if real:
                    el.attrs["src"] = real


# --- images ---------------------------------------------------------------------------------


def _may_hold(url: str, part: str) -> bool:
    """Whether ``urlsplit(url)``'s parts can contain ``part``: only if ``url`` does, or once the
    tabs and newlines urlsplit deletes are gone. Checked first, as urlsplit costs ~1.5 µs."""
    return part in url or "\t" in url or "\r" in url or "\n" in url


def _is_placeholder(url: str) -> bool:
    return _may_hold(url, _NONE_GIF) and (urlsplit(url).path.endswith("/" + _NONE_GIF) or url == _NONE_GIF)


def _value(attributes: dict[str, str | None], name: str) -> str | None:
    """:func:`_dom.attr` on attributes already read (each ``node.attributes`` builds a dict)."""
    value = (attributes.get(name) or "").strip()
    return value or None


def _is_ui_image(attributes: dict[str, str | None]) -> bool:
    if "smilieid" in attributes:
        return True
    src = _value(attributes, "src") or ""
    ui = _may_hold(src, "image") and bool(_UI_IMAGE.search(urlsplit(src).path))
    return ui and not _is_placeholder(src)


def _image(img: Node, attributes: dict[str, str | None], base_url: str, meta: _FileMeta) -> Image | None:
    """An ``Image`` from an ``img`` element (and its attributes): zoomfile > file > src, never
    the placeholder."""
    if _is_ui_image(attributes):
        return None
    candidates = [_value(attributes, name) for name in ("zoomfile", "file", "src")]
    usable = [absolute(base_url, c) for c in candidates if c and not _is_placeholder(c)]
    urls = [u for u in usable if u is not None]
    if not urls:
        return None
    url = urls[0]
    thumb = next((u for u in urls[1:] if u != url), None)
    aid = to_int(_value(attributes, "aid"))
    is_attachment = aid is not None or "attach" in attributes
    return Image(
        url=url,
        thumb_url=thumb,
        aid=aid,
        filename=meta.filename,
        size_bytes=meta.size_bytes,
        width=to_int(_value(attributes, "width")),
        height=to_int(_value(attributes, "height")),
        kind="attachment" if is_attachment else "remote",
        in_quote=_in_quote(img),
    )


# --- attachments ----------------------------------------------------------------------------


def _size_bytes(value: str) -> int | None:
    m = _SIZE.search(value)
    if m is None:
        return None
    return round(float(m["n"]) * 1024 ** _UNIT_POWER[m["unit"].lower()])


def _uploaded_at(box: list[_Element], tz: tzinfo, now: datetime | None) -> datetime | None:
    """The "DATE 上传" line (``p``, ``div`` or ``span``) of a tip box's elements."""
    for line, tag, _ in box:
        if tag in ("p", "div", "span") and "上传" in line.text(deep=False):
            return parse_time_node(line, tz, now=now)
    return None


_Match = Callable[[Node, _Attributes], bool]


def _first(elements: list[_Element], wanted: str, match: _Match) -> Node | None:
    """The first ``wanted`` element that ``match``es: ``css_first`` on a walk already made."""
    return next((el for el, tag, attributes in elements if tag == wanted and match(el, attributes)), None)


def _href_has(*parts: str) -> _Match:
    """``[href*=part]`` for one of ``parts``."""

    def match(_: Node, attributes: _Attributes) -> bool:
        href = attributes.get("href") or ""
        return any(part in href for part in parts)

    return match


def _any_element(_: Node, __: _Attributes) -> bool:
    return True


def _is_xg1(el: Node, attributes: _Attributes) -> bool:
    return has_class(el, attributes.get("class"), "xg1")


_FILE_LINK = _href_has("mod=attachment", "action=attachpay")
_DOWNLOAD_LINK = _href_has("mod=attachment")


def _tip_meta(tree: _Tree, tip_id: str, base_url: str, tz: tzinfo, now: datetime | None) -> _FileMeta:
    """File facts from an attachment's hover tip (``div.tip#…_menu``); empty when absent."""
    tip = tree.div_with_id(tip_id)
    if tip is None:
        return _FileMeta()
    box = _elements(tip)
    name = _first(box, "strong", _any_element)
    size_box = _first(box, "em", _is_xg1) or tip
    link = _first(box, "a", _DOWNLOAD_LINK)
    return _FileMeta(
        filename=text(name) or None,
        size_bytes=_size_bytes(text(size_box)),
        downloads=_downloads(text(size_box)),
        uploaded_at=_uploaded_at(box, tz, now),
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
    tree: _Tree, base_url: str, tz: tzinfo, now: datetime | None
) -> tuple[list[Image], list[Attachment]]:
    """Images and inline attachments in document order, each attachment (aid) once.

    An image attachment with a hover tip is also an ``Attachment`` (its file name, size and
    download link live in the tip); non-image attachments are ``span#attach_AID`` links.
    """
    images: list[Image] = []
    attachments: list[Attachment] = []
    seen_images: set[int] = set()
    seen_files: set[int] = set()
    for el, tag, attributes in tree.elements:
        if tag == "span" and _is_attach_id(attributes.get("id")):
            _add_once(attachments, seen_files, _inline_file_attachment(tree, el, base_url, tz, now))
            continue
        if tag != "img":
            continue
        aid = to_int(_value(attributes, "aid"))
        meta = _tip_meta(tree, f"aimg_{aid}_menu", base_url, tz, now) if aid is not None else _FileMeta()
        image = _image(el, attributes, base_url, meta)
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
    tree: _Tree, span: Node, base_url: str, tz: tzinfo, now: datetime | None
) -> Attachment | None:
    inside = _elements(span)
    link = _first(inside, "a", _FILE_LINK)
    url = absolute(base_url, attr(link, "href"))
    if link is None or url is None:
        return None  # 7.2's hidden image marker span, not a file link
    info = _first(inside, "em", _is_xg1) or _next_element(span, "em")
    info_text = text(info)
    price, price_unit = _price(info_text)
    aid = _aid_of(span, url)
    tip = tree.div_with_id(f"attach_{aid}_menu") if aid is not None else None
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
        uploaded_at=_uploaded_at(_elements(tip), tz, now) if tip is not None else None,
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
    inside = _elements(item)
    link = _first(inside, "a", _has_aid_id) or _first(inside, "a", _FILE_LINK)
    url = absolute(base_url, attr(link, "href"))
    filename = text(link)
    if url is None or not filename:
        return None
    paragraphs = _outside_tips([el for el, tag, _ in inside if tag == "p"])
    details = " ".join(text(p) for p in paragraphs)
    details = details.replace(filename, " ", 1)
    img = _first(inside, "img", _has_aid)
    img_attributes = img.attributes if img is not None else {}
    aid = _aid_of(link, url) or to_int(attr(img, "aid"))
    tip = _first(inside, "div", _is_tip)
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
        uploaded_at=_uploaded_at(_elements(tip), tz, now) if tip is not None else None,
    )
    image = None
    if img is not None:
        meta = _FileMeta(filename=filename, size_bytes=attachment.size_bytes)
        image = _image(img, img_attributes, base_url, meta)
    return attachment, image


def _outside_tips(paragraphs: list[Node]) -> list[Node]:
    """The paragraphs with no ``tip`` class on an ancestor below their nearest ``dl`` (the hover
    tip repeats the upload time and credits).

    The paragraphs of an item share their ancestors: each ancestor's answer is kept (by node),
    so each class is read once instead of once per paragraph below it.
    """
    known: dict[int, bool] = {}
    kept: list[Node] = []
    for paragraph in paragraphs:
        climbed: list[int] = []
        parent = paragraph.parent
        inside = False
        while parent is not None and parent.tag != "dl":
            key = parent.mem_id
            if key in known:
                inside = known[key]
                break
            climbed.append(key)
            if _TIP.intersection((parent.attributes.get("class") or "").split()):
                inside = True
                break
            parent = parent.parent
        for key in climbed:
            known[key] = inside
        if not inside:
            kept.append(paragraph)
    return kept


def _has_aid_id(_: Node, attributes: _Attributes) -> bool:
    return (attributes.get("id") or "").startswith("aid")


def _has_aid(_: Node, attributes: _Attributes) -> bool:
    return "aid" in attributes


def _is_tip(el: Node, attributes: _Attributes) -> bool:
    return has_class(el, attributes.get("class"), "tip")


# --- quotes ---------------------------------------------------------------------------------


def _quote(box: Node, base_url: str, tz: tzinfo, tid: int | None) -> Quote:
    """A quote block: the quoted post from its findpost link, author and time from its header."""
    body = _copy(next((el for el in box.traverse() if el.tag == "blockquote"), None) or box)
    link = _first(body.elements, "a", _QUOTED_POST_LINK)
    href = absolute(base_url, attr(link, "href")) or ""
    # ``font[color="#999999"]``: lexbor compares colours case-insensitively; digits have no case.
    header = _first(body.elements, "font", _is_quote_header)
    header_text = text(header)
    _decompose(n for n in (link, header) if n is not None)
    quoted = _render_text(body.root)
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


_QUOTED_POST_LINK = _href_has("findpost")


def _is_quote_header(_: Node, attributes: _Attributes) -> bool:
    return attributes.get("color") == "#999999"


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
        self._lines.append(self._line("".join(self._buffer)) if self._buffer else "")
        self._buffer.clear()

    def soft_break(self) -> None:
        if not self._buffer:  # the usual case: right after a break or at a block edge
            return
        pending = "".join(self._buffer)
        if pending.strip(_SPACES):
            self._lines.append(self._line(pending))
        self._buffer.clear()

    @staticmethod
    def _line(pending: str) -> str:
        return _SPACE_RUN.sub(" ", pending).strip()

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


def _render_text(root: Node, *, plain: bool = False) -> str:
    """``root``'s content laid out as text; ``plain``: it holds text nodes only (no element, no
    comment), whose layout is their concatenated text on one line: one C call, no walk."""
    builder = _TextBuilder()
    if plain:
        builder.write(root.text(deep=True))
    else:
        _walk(root, builder)
    return builder.result()


def _walk(root: Node, out: _TextBuilder) -> None:
    """Lay out ``root``'s content into ``out``.

    An explicit stack, not recursion: element nesting is unbounded in what a site sends (a fuzzed
    message 10,000 elements deep raised RecursionError). Each entry is an open element's content
    (nodes to lay out, strings to write) and whether a soft break closes it (blocks and rows).
    """
    stack: list[tuple[Iterator[Node | str], bool]] = [(root.iter(include_text=True), False)]
    while stack:
        items, closes = stack[-1]
        item = next(items, None)
        if item is None:
            stack.pop()
            if closes:
                out.soft_break()
            continue
        if isinstance(item, str):
            out.write(item)
            continue
        tag = item.tag
        if tag == "-text":
            out.write(item.text_content or "")
        elif tag == "br":
            out.hard_break()
        elif tag == "tr":
            out.soft_break()
            stack.append((iter(_row_items(item)), True))
        elif tag == "div" and "blockcode" in (item.attributes.get("class") or "").split():
            if not _walk_code(item, out):
                out.soft_break()
                stack.append((item.iter(include_text=True), True))
        elif tag in _BLOCK_TAGS:
            out.soft_break()
            stack.append((item.iter(include_text=True), True))
        elif item.is_element_node:
            stack.append((item.iter(include_text=True), False))


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
    lines = [el for el in block.traverse() if el.tag == "li"]
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

