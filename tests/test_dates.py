"""Discuz dates: absolute formats, relative forms, footer offsets, span[title] preference."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from discuz_scraper.parsers._dom import parse_html
from discuz_scraper.parsers.dates import (
    DEFAULT_TZ,
    parse_absolute,
    parse_datetime,
    parse_footer_offset,
    parse_relative,
    parse_time_node,
    tz_from_minutes,
)

CST = timezone(timedelta(hours=8))
NOW = datetime(2024, 3, 9, 21, 5, 30, 123456, tzinfo=CST)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-3-9", datetime(2024, 3, 9, tzinfo=CST)),
        ("发表于 2024-3-6 09:12:44", datetime(2024, 3, 6, 9, 12, 44, tzinfo=CST)),
        ("2024-3-9 21:05", datetime(2024, 3, 9, 21, 5, tzinfo=CST)),
        ("2024-03-09 21:05", datetime(2024, 3, 9, 21, 5, tzinfo=CST)),
        ("2024/3/9 21:05", datetime(2024, 3, 9, 21, 5, tzinfo=CST)),
        ("9-3-2024 21:05", datetime(2024, 3, 9, 21, 5, tzinfo=CST)),
        ("9/3/2024 09:05 PM", datetime(2024, 3, 9, 21, 5, tzinfo=CST)),
        ("2024-3-9 12:30 AM", datetime(2024, 3, 9, 0, 30, tzinfo=CST)),
        ("2024-3-9 12:30 pm", datetime(2024, 3, 9, 12, 30, tzinfo=CST)),
        ("2024-3-9\u00a021:05", datetime(2024, 3, 9, 21, 5, tzinfo=CST)),
    ],
)
def test_absolute(text, expected):
    assert parse_absolute(text, CST) == expected


@pytest.mark.parametrize("text", ["2024-2-30", "2024-13-1 10:00", "2024-3-9 25:00", "31/2/2024", "昨天", ""])
def test_impossible_or_missing_dates(text):
    assert parse_absolute(text, CST) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("刚刚", datetime(2024, 3, 9, 21, 5, 30, tzinfo=CST)),
        ("5\u00a0秒前", datetime(2024, 3, 9, 21, 5, 25, tzinfo=CST)),
        ("12 分钟前", datetime(2024, 3, 9, 20, 53, 30, tzinfo=CST)),
        ("半小时前", datetime(2024, 3, 9, 20, 35, 30, tzinfo=CST)),
        ("3 小时前", datetime(2024, 3, 9, 18, 5, 30, tzinfo=CST)),
        ("昨天 08:15", datetime(2024, 3, 8, 8, 15, tzinfo=CST)),
        ("前天\u00a023:59", datetime(2024, 3, 7, 23, 59, tzinfo=CST)),
        ("昨天 09:05 PM", datetime(2024, 3, 8, 21, 5, tzinfo=CST)),
        ("5 天前", datetime(2024, 3, 4, 21, 5, 30, tzinfo=CST)),
    ],
)
def test_relative(text, expected):
    assert parse_relative(text, NOW) == expected


@pytest.mark.parametrize("text", ["半分钟前", "刚才", "昨天 25:00", "很久以前"])
def test_relative_unreadable(text):
    assert parse_relative(text, NOW) is None


def test_parse_datetime_prefers_absolute_and_needs_now_for_relative():
    assert parse_datetime("3 小时前", CST) is None
    assert parse_datetime("3 小时前", CST, now=NOW.astimezone(timezone.utc)) == datetime(
        2024, 3, 9, 18, 5, 30, tzinfo=CST
    )
    assert parse_datetime("2024-1-2 03:04", CST, now=NOW) == datetime(2024, 1, 2, 3, 4, tzinfo=CST)
    assert parse_datetime("", CST, now=NOW) is None


def test_time_node_prefers_span_title():
    tree = parse_html(
        '<em id="a">发表于 <span title="2026-11-21 17:29:20">4&nbsp;天前</span></em>'
        '<span id="b" title="2026-11-19">6&nbsp;天前</span>'
        '<em id="c">2026-11-2 20:14:02</em><em id="d">3&nbsp;小时前</em>'
        '<span id="e" title="not a date">2 小时前</span>'
    )
    tz = tz_from_minutes(480)
    now = datetime(2026, 11, 25, 10, 0, tzinfo=tz)
    assert parse_time_node(tree.css_first("#a"), tz, now=now) == datetime(2026, 11, 21, 17, 29, 20, tzinfo=tz)
    assert parse_time_node(tree.css_first("#b"), tz, now=now) == datetime(2026, 11, 19, tzinfo=tz)
    assert parse_time_node(tree.css_first("#c"), tz) == datetime(2026, 11, 2, 20, 14, 2, tzinfo=tz)
    assert parse_time_node(tree.css_first("#d"), tz, now=now) == datetime(2026, 11, 25, 7, 0, tzinfo=tz)
    assert parse_time_node(tree.css_first("#e"), tz, now=now) == datetime(2026, 11, 25, 8, 0, tzinfo=tz)
    assert parse_time_node(None, tz) is None


@pytest.mark.parametrize(
    ("footer", "minutes"),
    [
        ("GMT+8, 2024-3-9 21:05", 480),
        ("GMT, 2024-3-9 13:05", 0),
        ("GMT+5.5, 2024-3-9 18:35", 330),
        ("GMT-3:30, 2024-3-9 09:35", -210),
        ("GMT-5, 2024-3-9 08:05", -300),
        ("GMT+9.75, x", 585),
        ("当前时区 GMT+8, 现在时间是 2010-10-20 16:07", 480),
        ("Powered by Discuz!", None),
        ("GMT+8", None),
    ],
)
def test_footer_offset(footer, minutes):
    assert parse_footer_offset(footer) == minutes


def test_tz_from_minutes():
    assert tz_from_minutes(None) is DEFAULT_TZ
    assert DEFAULT_TZ.utcoffset(None) == timedelta(hours=8)
    assert tz_from_minutes(330).utcoffset(None) == timedelta(hours=5, minutes=30)
    assert tz_from_minutes(0).utcoffset(None) == timedelta(0)
