"""Discuz dates and times (``dgmdate()``), read into timezone-aware datetimes.

Order of trust (reference §7): the ``title`` of a ``<span title="2024-3-9 20:41">`` wrapper, then
an absolute date in the text, and only then a relative form (``3 小时前``, ``昨天 12:05``) measured
from ``now``. The timezone is the page's footer offset (``GMT+8``), which is the viewer's, not the
server's.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone, tzinfo

from ._dom import Node, first_tag

__all__ = [
    "DEFAULT_TZ",
    "parse_absolute",
    "parse_datetime",
    "parse_footer_offset",
    "parse_relative",
    "parse_time_node",
    "tz_from_minutes",
]

DEFAULT_TZ = timezone(timedelta(hours=8))
"""Discuz's install default ``timeoffset`` (8); used when a page does not print its offset."""

_FOOTER = re.compile(r"GMT\s*(?:(?P<sign>[+-])\s*(?P<h>\d{1,2})(?:[.:](?P<frac>\d{1,2}))?)?\s*,")

# Y-n-j, Y/n/j (year first) and j-n-Y, j/n/Y (year last); optional H:i[:s] [AM|PM].
_YEAR_FIRST = re.compile(r"(?P<y>\d{4})[-/](?P<m>\d{1,2})[-/](?P<d>\d{1,2})")
_YEAR_LAST = re.compile(r"(?P<d>\d{1,2})[-/](?P<m>\d{1,2})[-/](?P<y>\d{4})")
_TIME = re.compile(r"^[\sT]*(?P<H>\d{1,2}):(?P<M>\d{2})(?::(?P<S>\d{2}))?(?:\s*(?P<ampm>[AaPp][Mm]))?")

_REL_AGO = re.compile(r"(?P<n>\d+|半)\s*(?P<unit>秒|分钟|小时|天)前")
_REL_DAY = re.compile(r"(?P<day>昨天|前天)\s*(?P<H>\d{1,2}):(?P<M>\d{2})(?:\s*(?P<ampm>[AaPp][Mm]))?")
_UNIT_SECONDS = {"秒": 1, "分钟": 60, "小时": 3600, "天": 86400}


def tz_from_minutes(minutes: int | None) -> tzinfo:
    """A fixed-offset tzinfo; the Discuz default (+08:00) when ``minutes`` is None."""
    if minutes is None:
        return DEFAULT_TZ
    return timezone(timedelta(minutes=minutes))


def parse_footer_offset(footer_text: str) -> int | None:
    """Minutes east of UTC from a footer like ``GMT+8, 2024-3-9 21:05`` (``GMT,`` = 0, ``+5.5`` ok)."""
    m = _FOOTER.search(footer_text)
    if m is None:
        return None
    if not m.group("sign"):
        return 0
    minutes = int(m.group("h")) * 60
    frac = m.group("frac")
    if frac:
        # "+5.5" means five and a half hours; "+5:30" means 30 minutes.
        minutes += round(float("0." + frac) * 60) if "." in m.group(0) else int(frac)
    return -minutes if m.group("sign") == "-" else minutes


def _hour(h: str, ampm: str | None) -> int:
    hour = int(h)
    if ampm:
        pm = ampm.lower() == "pm"
        hour = hour % 12 + (12 if pm else 0)
    return hour


def parse_absolute(value: str, tz: tzinfo) -> datetime | None:
    """The first absolute Discuz date(-time) in ``value`` (``2024-3-6 09:12:44``, ``9/3/2024 09:05 PM``)."""
    for pattern in (_YEAR_FIRST, _YEAR_LAST):
        m = pattern.search(value)
        if m is None:
            continue
        t = _TIME.match(value[m.end():])
        try:
            if t is None:
                return datetime(int(m["y"]), int(m["m"]), int(m["d"]), tzinfo=tz)
            return datetime(
                int(m["y"]), int(m["m"]), int(m["d"]),
                _hour(t["H"], t["ampm"]), int(t["M"]), int(t["S"] or 0),
                tzinfo=tz,
            )
        except ValueError:
            return None
    return None


def parse_relative(value: str, now: datetime) -> datetime | None:
    """A relative form (``刚刚``, ``N 秒/分钟/小时/天前``, ``半小时前``, ``昨天/前天 H:i``) against ``now``.

    ``now`` must be aware and in the page's timezone. The result is as exact as the text allows:
    ``3 小时前`` is within the hour, ``5 天前`` within the day.
    """
    value = value.replace("\u00a0", " ")
    if "刚刚" in value:
        return now.replace(microsecond=0)
    m = _REL_DAY.search(value)
    if m:
        days = 1 if m["day"] == "昨天" else 2
        day = (now - timedelta(days=days)).date()
        hour = _hour(m["H"], m["ampm"])
        try:
            return datetime(day.year, day.month, day.day, hour, int(m["M"]), tzinfo=now.tzinfo)
        except ValueError:
            return None
    m = _REL_AGO.search(value)
    if m:
        if m["n"] == "半":
            if m["unit"] != "小时":
                return None
            seconds = 1800
        else:
            seconds = int(m["n"]) * _UNIT_SECONDS[m["unit"]]
        return (now - timedelta(seconds=seconds)).replace(microsecond=0)
    return None


def parse_datetime(value: str, tz: tzinfo, *, now: datetime | None = None) -> datetime | None:
    """Absolute first, then relative (only when ``now`` is given); ``None`` when neither reads."""
    if not value:
        return None
    found = parse_absolute(value, tz)
    if found is not None or now is None:
        return found
    return parse_relative(value, now.astimezone(tz))


def parse_time_node(node: Node | None, tz: tzinfo, *, now: datetime | None = None) -> datetime | None:
    """A time element: its (or a descendant's) ``span[title]`` first, then its own text."""
    if node is None:
        return None
    own = node.tag == "span" and node.attributes.get("title")
    titled = node if own else first_tag(node, "span", having="title")
    if titled is not None:
        found = parse_absolute(titled.attributes.get("title") or "", tz)
        if found is not None:
            return found
    return parse_datetime(node.text(deep=True), tz, now=now)
