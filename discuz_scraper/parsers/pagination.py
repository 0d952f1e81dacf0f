"""Discuz's pager (``div.pg``; Discuz 7.2 ``div.pages``), shared by every paged page kind."""

from __future__ import annotations

import re
from dataclasses import dataclass

from ._dom import Node, Tree, text, to_int

__all__ = ["Pagination", "parse_pagination"]

_TOTAL_TITLE = re.compile(r"(\d+)")


@dataclass(frozen=True)
class Pagination:
    """``current`` and ``total`` pages; ``present`` is False when the page had no pager at all."""

    current: int
    total: int
    present: bool


def _in_comments(node: Node) -> bool:
    # A post's comment box (点评, div.cm#comment_PID) has its own pager; it must not be taken for
    # the page's pager on a thread that has a single page.
    parent = node.parent
    while parent is not None:
        if (parent.attributes.get("id") or "").startswith("comment_"):
            return True
        parent = parent.parent
    return False


def parse_pagination(root: Tree | Node) -> Pagination:
    """Read the first pager under ``root``. No pager means a single page (reference §6)."""
    pager = next((p for p in root.css("div.pg, div.pages") if not _in_comments(p)), None)
    if pager is None:
        return Pagination(current=1, total=1, present=False)
    current = to_int(text(pager.css_first("strong")))
    total: int | None = None
    titled = pager.css_first('span[title^="共"]')
    if titled is not None:
        m = _TOTAL_TITLE.search(titled.attributes.get("title") or "")
        total = int(m.group(1)) if m else None
    if total is None:
        total = to_int(text(pager.css_first("a.last")))
    if total is None:
        numbers = [to_int(text(a)) for a in pager.css("a")]
        numbers.append(current)
        total = max((n for n in numbers if n is not None), default=None)
    current = current or 1
    return Pagination(current=current, total=max(total or current, current), present=True)
