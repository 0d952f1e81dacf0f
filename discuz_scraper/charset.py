"""Pick the charset of a Discuz response and decode it.

Order (reference §11): the HTTP ``Content-Type`` header, then the ``<meta>`` in the head, then the
inline JS ``charset = '…'`` variable, then UTF-8; when the header and the document's own declaration
disagree, the bytes settle it (valid UTF-8 is UTF-8, else whichever decodes without error). GBK
and GB2312 are decoded as their superset gb18030 and Big5 as big5hkscs, so rare characters do not
turn into mojibake. The choice is made for each response, never for a whole site: a GBK forum
serves its touch pages and API in UTF-8.
"""

from __future__ import annotations

import codecs
import re

__all__ = ["decode_body", "detect_charset", "normalize_charset"]

_HEADER_CHARSET = re.compile(r"charset\s*=\s*[\"']?([\w.:-]+)", re.I)
_META_CHARSET = re.compile(rb"<meta[^>]+charset\s*=\s*[\"']?\s*([\w.:-]+)", re.I)
_JS_CHARSET = re.compile(rb"\bcharset\s*=\s*'([\w.:-]+)'")
# inajax answers are XML: <?xml version="1.0" encoding="gbk"?><root><![CDATA[...]]></root>
_XML_ENCODING = re.compile(rb"^<\?xml[^>]+encoding\s*=\s*[\"']([\w.:-]+)")
_SNIFF_BYTES = 8192

_SUPERSETS = {
    "gbk": "gb18030",
    "gb2312": "gb18030",
    "gb_2312-80": "gb18030",
    "x-gbk": "gb18030",
    "cp936": "gb18030",
    "euc-cn": "gb18030",
    "gb18030": "gb18030",
    "big5": "big5hkscs",
    "big5-hkscs": "big5hkscs",
    "cp950": "big5hkscs",
}


def normalize_charset(name: str | None) -> str | None:
    """The codec to decode ``name`` with (``gbk`` -> ``gb18030``); ``None`` when Python lacks it."""
    if not name:
        return None
    key = name.strip().strip("\"'").lower()
    if key in _SUPERSETS:
        return _SUPERSETS[key]
    try:
        return codecs.lookup(key).name
    except LookupError:
        return None


def detect_charset(body: bytes, content_type: str | None = None) -> str:
    """The codec name for ``body``: BOM, header, then XML prolog / meta / inline JS var, then utf-8.

    When the header and the document's own declaration disagree, the bytes decide (see
    :func:`_settle`)."""
    if body.startswith(codecs.BOM_UTF8):
        return "utf-8"
    header = None
    if content_type:
        m = _HEADER_CHARSET.search(content_type)
        header = normalize_charset(m.group(1)) if m else None
    declared = _declared_charset(body)
    if header and declared and header != declared:
        return _settle(body, header, declared)
    return header or declared or "utf-8"


def _declared_charset(body: bytes) -> str | None:
    """The document's own declaration: XML prolog, ``<meta>`` or the inline JS ``charset`` var."""
    head = body[:_SNIFF_BYTES]
    for pattern in (_XML_ENCODING, _META_CHARSET, _JS_CHARSET):
        m = pattern.search(head)
        if m:
            found = normalize_charset(m.group(1).decode("ascii", "replace"))
            if found:
                return found
    return None


def _strict(body: bytes, codec: str) -> bool:
    try:
        body.decode(codec)
    except UnicodeDecodeError:
        return False
    return True


def _settle(body: bytes, header: str, declared: str) -> str:
    """Header and document disagree: one of them lies (a proxy or server default such as nginx's
    ``charset utf-8;`` relabels a GBK forum; a transcoding proxy fixes the header but not the meta).

    Taking the header blindly turns the page into mojibake that still parses "successfully" (right
    pids, wrong text), so the bytes decide. Non-ASCII text in a legacy encoding almost never happens
    to be valid UTF-8, so a body that is valid UTF-8 is UTF-8 when either side says so; otherwise
    the header stands if the body decodes under it without error, else the document's declaration
    if that decodes cleanly, else the header (with replacement characters, as before). Only pages
    whose two labels disagree pay for the trial decodes.
    """
    if "utf-8" in (header, declared) and _strict(body, "utf-8"):
        return "utf-8"
    if _strict(body, header):
        return header
    return declared if _strict(body, declared) else header


def decode_body(body: bytes, content_type: str | None = None) -> tuple[str, str]:
    """Decode ``body``; returns ``(text, codec)``. Undecodable bytes become U+FFFD, never an error."""
    codec = detect_charset(body, content_type)
    text = body.decode(codec, "replace")
    if text.startswith("\ufeff"):
        text = text[1:]
    return text, codec
