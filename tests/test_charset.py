"""Charset detection order and superset decoding."""

from __future__ import annotations

import codecs

import pytest

from discuz_scraper.charset import decode_body, detect_charset, normalize_charset


@pytest.mark.parametrize(
    ("name", "codec"),
    [
        ("gbk", "gb18030"),
        ("GB2312", "gb18030"),
        ("'gbk'", "gb18030"),
        ("big5", "big5hkscs"),
        ("Big5-HKSCS", "big5hkscs"),
        ("utf8", "utf-8"),
        ("UTF-8", "utf-8"),
        ("nonsense-cs", None),
        (None, None),
        ("", None),
    ],
)
def test_normalize_charset(name, codec):
    assert normalize_charset(name) == codec


GBK_META = b'<meta http-equiv="Content-Type" content="text/html; charset=gbk" />'
JS_VAR = b"<script>var STYLEID = '1', charset = 'big5', discuz_uid = '0';</script>"


def test_order_header_meta_js_default():
    body = b"<html><head>" + GBK_META + b"</head></html>"
    assert detect_charset(body, "text/html; charset=UTF-8") == "utf-8"
    assert detect_charset(body, "text/html") == "gb18030"
    assert detect_charset(b"<html><head>" + JS_VAR + b"</head></html>") == "big5hkscs"
    assert detect_charset(b'<html><head><meta charset="utf-8" /></head></html>') == "utf-8"
    assert detect_charset(b"<html></html>") == "utf-8"
    assert detect_charset(b'<?xml version="1.0" encoding="gbk"?><root><![CDATA[x]]></root>') == "gb18030"


def test_unknown_header_charset_falls_through_to_meta():
    assert detect_charset(b"<head>" + GBK_META, 'text/html; charset="x-nonsense"') == "gb18030"


def test_bom_wins_and_is_stripped():
    body = codecs.BOM_UTF8 + "<p>茶</p>".encode()
    assert decode_body(body, "text/html; charset=gbk") == ("<p>茶</p>", "utf-8")


def test_gbk_declared_page_with_characters_outside_gbk_decodes_via_gb18030():
    text = "<head>" + GBK_META.decode() + "</head><p>𠀀 与 镕</p>"
    body = text.encode("gb18030")
    with pytest.raises(UnicodeDecodeError):
        body.decode("gbk")
    assert decode_body(body) == (text, "gb18030")


def test_big5_page_with_hkscs_character():
    text = '<head><meta charset="big5"></head><p>香港 嘅 𥄫</p>'
    body = text.encode("big5hkscs")
    assert decode_body(body) == (text, "big5hkscs")


def test_undecodable_bytes_become_replacement_characters():
    assert decode_body(b"<p>\xff\xfe</p>", "text/html; charset=utf-8") == ("<p>\ufffd\ufffd</p>", "utf-8")
