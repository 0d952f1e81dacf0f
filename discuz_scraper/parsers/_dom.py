"""Small selectolax helpers shared by every HTML parser."""

from __future__ import annotations

import re
from functools import lru_cache
from urllib.parse import urljoin

from selectolax.lexbor import LexborHTMLParser, LexborNode

__all__ = [
    "Node",
    "Tree",
    "absolute",
    "attr",
    "first_tag",
    "has_class",
    "has_id",
    "is_quirks",
    "number",
    "parse_html",
    "text",
    "to_int",
]

Node = LexborNode
Tree = LexborHTMLParser

_SPACES = re.compile(r"[ \t\r\n\u00a0\u3000]+")
_DIGITS = re.compile(r"-?\d[\d,]*")
# Class tokens are separated by ASCII white space only (a U+3000 inside is part of a token).
_CLASS_SEPARATORS = re.compile(r"[ \t\n\f\r]+")


def parse_html(html: str | bytes | Tree) -> Tree:
    """Parse ``html`` (already-decoded text preferred; bytes are read as UTF-8)."""
    if isinstance(html, LexborHTMLParser):
        return html
    if isinstance(html, bytes):
        html = html.decode("utf-8", "replace")
    return LexborHTMLParser(html)


def text(node: Node | None, *, deep: bool = True) -> str:
    """The node's text with runs of white space (``&nbsp;`` and ideographic space too) folded."""
    if node is None:
        return ""
    return _SPACES.sub(" ", node.text(deep=deep)).strip()


def attr(node: Node | None, name: str) -> str | None:
    """An attribute value stripped of white space; ``None`` when missing or empty."""
    if node is None:
        return None
    value = node.attributes.get(name)
    if value is None:
        return None
    value = value.strip()
    return value or None


def to_int(value: str | None) -> int | None:
    """The first integer in ``value`` (thousands commas allowed), else ``None``."""
    if not value:
        return None
    m = _DIGITS.search(value)
    if m is None:
        return None
    return int(m.group(0).replace(",", ""))


def number(node: Node | None) -> int | None:
    """A counter as Discuz prints it: ``dnumber()`` spans (``<span title="123456">12万</span>``)
    are read from their exact ``title``; a shorthand without one is unknown (``None``), not guessed."""
    if node is None:
        return None
    titled = node if node.attributes.get("title") else first_tag(node, "span", having="title")
    if titled is not None:
        exact = to_int(titled.attributes.get("title"))
        if exact is not None:
            return exact
    value = text(node)
    if "万" in value or "亿" in value:
        return None
    return to_int(value)


def first_tag(node: Node | None, tag: str, *, having: str | None = None) -> Node | None:
    """``node.css_first(tag)`` (``tag[having]`` with ``having``) for a bare tag name: the first
    such element in document order, ``node`` itself included.

    For the few elements of a counter, cell, time or floor link a walk in Python is several
    times cheaper than ``css_first``, which compiles its selector on every call (~3 µs). Not for
    big subtrees: there the walk costs more than the selector.
    """
    if node is None:
        return None
    for found in node.traverse():
        if found.tag == tag and (having is None or having in found.attributes):
            return found
    return None


def has_class(el: Node, value: str | None, *names: str) -> bool:
    """Whether ``el`` (whose class attribute is ``value``) matches one of the selectors ``.name``
    of ``names`` (lower-case ASCII), as lexbor matches them.

    In a quirks-mode document (no doctype: fragments, API messages, some sites) class selectors
    match ASCII case-insensitively, so ``class="QUOTE"`` is a quote there and nowhere else; only
    such a near-miss costs the check of the document's mode.
    """
    if not value:
        return False
    tokens = None
    for name in names:
        # A token can only equal a name found in the value: the split is for those values only.
        if name in value:
            tokens = tokens or _CLASS_SEPARATORS.split(value)
            if name in tokens:
                return True
    if value.lower() == value:
        return False
    tokens = tokens or _CLASS_SEPARATORS.split(value)
    folded = {token.lower() for token in tokens if token.isascii()}
    return any(name in folded for name in names) and is_quirks(el)


def has_id(el: Node, value: str | None, want: str) -> bool:
    """Whether ``el`` (whose id is ``value``) matches the selector ``#want`` (``want`` lower-case
    ASCII), as lexbor matches it: like classes, ids match ASCII case-insensitively in quirks mode."""
    if value is None:
        return False
    if value == want:
        return True
    return value.isascii() and value.lower() == want and is_quirks(el)


def is_quirks(el: Node) -> bool:
    """Whether ``el``'s document matches class and id selectors case-insensitively (quirks mode),
    asked of lexbor with a detached probe element of that document."""
    probe = el.parser.create_node("div")
    probe.attrs["class"] = "Q"
    return probe.css_matches(".q")


def absolute(base: str, url: str | None) -> str | None:
    """``url`` resolved against the page's base; ``None`` for empty or ``javascript:`` links."""
    if not url:
        return None
    url = url.strip()
    if not url or url.startswith(("javascript:", "#")):
        return None
    try:
        return _join(base, url)
    except ValueError:  # "http://[bad": urljoin refuses a malformed host; such a link leads nowhere
        return None


# urljoin is pure and the same (base, link) pairs repeat on every post of a page (avatars,
# profile links, static images): profiling put it at ~10% of a thread page's parse time.
# Bounded (~0.3 MB), so a crawl over many pages or sites keeps flat memory.
@lru_cache(maxsize=1024)
def _join(base: str, url: str) -> str:
    return urljoin(base, url)
