"""A member's profile page (``home.php?mod=space&uid=N&do=profile``, ``space-uid-N.html``).

The profile block (``div.u_profile``) is a set of ``li`` lines, each labelled by an ``em``
(``注册时间``, ``用户组``, ``积分``...), plus one line of counter links (``好友数 3 | 回帖数 210 …``).
Labels are the zh_CN defaults; sites may rename them, so unknown labels are kept in ``stats``
when their value is a plain number. A guest asking for a profile gets a login notice, which
:func:`~discuz_scraper.parsers.shell.check_page` turns into :class:`LoginRequired`.
"""

from __future__ import annotations

import re
from datetime import datetime, tzinfo

from ..errors import ParseError
from ..models import UserProfile
from ..urls import parse_url
from ._dom import Node, absolute, attr, text, to_int
from .dates import DEFAULT_TZ, parse_time_node
from .index import query_int
from .shell import check_page, page_timezone

__all__ = ["parse_profile"]

_UID = re.compile(r"UID\s*[:：]\s*(\d+)")
_COUNTER_LINK = re.compile(r"^(\D+?)\s*(\d+)$")
_COUNTER_VALUE = re.compile(r"^(-?\d+)(?:\s*([^\d\s.]+))?$")
# 已用空间 reads "0 B" / "1.25 MB": a size, not a counter.
_SIZE_UNITS = frozenset({"B", "KB", "MB", "GB", "TB"})


def parse_profile(
    html: str | bytes,
    url: str,
    *,
    status: int = 200,
    now: datetime | None = None,
    default_tz: tzinfo = DEFAULT_TZ,
) -> UserProfile:
    """Read a profile page into a :class:`UserProfile`.

    Raises :class:`LoginRequired` for the guest notice and :class:`ParseError` when the page has
    no profile block or no uid/name in it.
    """
    tree, shell = check_page(html, url, status=status)
    box = tree.css_first("div.u_profile")
    if box is None:
        raise ParseError("not a profile page: no profile block (div.u_profile)", url=url)
    heading = box.css_first("h2")
    name = text(heading, deep=False)
    uid = _uid(text(heading), url)
    if not name or uid is None:
        raise ParseError("profile block without a user name and UID (div.u_profile h2)", url=url)
    tz = page_timezone(shell, default_tz)
    lines = _labelled_lines(box)
    group_link = lines["用户组"].css_first("a") if "用户组" in lines else None
    stats = _counter_links(box)
    stats.update(_numeric_lines(box.css("#psts li")))
    return UserProfile(
        uid=uid,
        name=name,
        url=url,
        group=text(group_link) or _value(lines.get("用户组")),
        group_id=query_int(attr(group_link, "href"), "gid"),
        admin_group=_value(lines.get("管理组")),
        avatar_url=absolute(shell.base_url, attr(tree.css_first("#uhd .avt img, .avt img"), "src")),
        credits=stats.get("积分"),
        stats=stats,
        online_hours=to_int(_value(lines.get("在线时间"))),
        registered_at=parse_time_node(lines.get("注册时间"), tz, now=now),
        last_visit_at=parse_time_node(lines.get("最后访问"), tz, now=now),
        last_active_at=parse_time_node(lines.get("上次活动时间"), tz, now=now),
        last_post_at=parse_time_node(lines.get("上次发表时间"), tz, now=now),
        signature=_signature(lines.get("个人签名")),
    )


def _uid(heading: str, url: str) -> int | None:
    m = _UID.search(heading)
    if m:
        return int(m.group(1))
    return parse_url(url).uid


def _labelled_lines(box: Node) -> dict[str, Node]:
    lines: dict[str, Node] = {}
    for li in box.css("li"):
        label = text(li.css_first("em"))
        if label:
            lines.setdefault(label, li)
    return lines


def _value(line: Node | None) -> str | None:
    """A line's text after its ``em`` label."""
    if line is None:
        return None
    label = text(line.css_first("em"))
    value = text(line)[len(label):].strip()
    return value or None


def _signature(line: Node | None) -> str | None:
    # The signature HTML sits in a one-cell table after the label.
    cell = line.css_first("td") if line is not None else None
    return text(cell) or None


def _counter_links(box: Node) -> dict[str, int]:
    counters: dict[str, int] = {}
    for link in box.css("ul li a"):
        m = _COUNTER_LINK.match(text(link))
        if m and "do=" in (attr(link, "href") or ""):
            counters[m.group(1)] = int(m.group(2))
    return counters


def _numeric_lines(lines: list[Node]) -> dict[str, int]:
    counters: dict[str, int] = {}
    for li in lines:
        m = _COUNTER_VALUE.match(_value(li) or "")
        if m and (m.group(2) or "").upper() not in _SIZE_UNITS:
            counters[text(li.css_first("em"))] = int(m.group(1))
    return counters
