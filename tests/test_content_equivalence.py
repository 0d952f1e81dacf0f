"""``parse_message`` / ``parse_attachment_list`` give exactly the recorded results (issue 7).

The golden file ``tests/golden/content_equivalence.json`` holds what the selector-per-concern
implementation of ``parsers/content.py`` (commit 63a935e) returned for:

- every ``[id^=postmessage_]`` element and every ``div.pattl`` list of every fixture page
  (``fixtures/**/*.html``, decoded with :func:`decode_body`), the content snippets included;
- the message HTML of every post of the mobile API fixtures, wrapped as ``parsers/api.py`` does;
- the message inputs of the fuzz regression corpus, wrapped as ``tests/test_fuzz.py`` does;
- seeded random messages and attachment lists stitched together from Discuz markup and hostile
  fragments (raw-text and ``template`` elements, handlers, ``javascript:`` URLs, upper-case
  classes in quirks and no-quirks documents, unclosed tags...). Their documents are stored in
  the golden file itself, so the comparison never depends on the generator.

Every field is compared: ``content_html``, ``text``, images, attachments, quotes, edit marker and
hidden flag (or the error raised). The speed work on ``content.py`` must not change a byte.

Regenerate only on purpose (a deliberate change of output), and review the diff::

    python tests/test_content_equivalence.py --regenerate
"""

from __future__ import annotations

import json
import random
import sys
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from discuz_scraper.charset import decode_body
from discuz_scraper.errors import DiscuzError
from discuz_scraper.parsers._dom import Node, parse_html
from discuz_scraper.parsers.content import MessageContent, parse_attachment_list, parse_message
from discuz_scraper.parsers.dates import tz_from_minutes

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
CORPUS = ROOT / "tests" / "fuzz_corpus"
GOLDEN = ROOT / "tests" / "golden" / "content_equivalence.json"
BASE = "http://forum.test/bbs/"
TZ = tz_from_minutes(480)
NOW = datetime(2024, 3, 10, 12, 0, tzinfo=TZ)
MESSAGES = "[id^=postmessage_]"
LISTS = "div.pattl"
CHUNK = 100  # synthetic documents per test case

Result = dict[str, Any]


# --- running the parsers --------------------------------------------------------------------


def _message_result(node: Node) -> Result:
    try:
        found: MessageContent = parse_message(node, base_url=BASE, tz=TZ, tid=123, now=NOW)
    except DiscuzError as exc:
        return {"error": f"{type(exc).__name__}: {exc}"}
    return {
        "content_html": found.content_html,
        "text": found.text,
        "images": [image.model_dump(mode="json") for image in found.images],
        "attachments": [item.model_dump(mode="json") for item in found.attachments],
        "quotes": [quote.model_dump(mode="json") for quote in found.quotes],
        "edited_by": found.edited_by,
        "edited_at": found.edited_at.isoformat() if found.edited_at else None,
        "hidden_content": found.hidden_content,
    }


def _list_result(node: Node) -> Result:
    try:
        attachments, images = parse_attachment_list(node, base_url=BASE, tz=TZ, now=NOW)
    except DiscuzError as exc:
        return {"error": f"{type(exc).__name__}: {exc}"}
    return {
        "attachments": [item.model_dump(mode="json") for item in attachments],
        "images": [image.model_dump(mode="json") for image in images],
    }


_RUNNERS: dict[str, tuple[str, Callable[[Node], Result]]] = {
    "message": (MESSAGES, _message_result),
    "list": (LISTS, _list_result),
}


def _results(html: str) -> dict[str, list[Result]]:
    """Every message and attachment list of one document, in document order.

    The caller's tree must come out untouched: each element's HTML is compared before and after.
    """
    tree = parse_html(html)
    found: dict[str, list[Result]] = {}
    for kind, (selector, run) in _RUNNERS.items():
        results = []
        for node in tree.css(selector):
            before = node.html
            results.append(run(node))
            assert node.html == before, f"{kind} parser modified the caller's tree"
        found[kind] = results
    return found


# --- the inputs -----------------------------------------------------------------------------


def _fixture_pages() -> Iterator[tuple[str, str]]:
    for path in sorted(FIXTURES.rglob("*.html")):
        yield path.relative_to(ROOT).as_posix(), decode_body(path.read_bytes(), None)[0]


def _api_documents() -> Iterator[str]:
    for path in sorted((FIXTURES / "api").glob("*.json")):
        posts = json.loads(path.read_text(encoding="utf-8")).get("Variables", {}).get("postlist") or []
        for post in posts if isinstance(posts, list) else posts.values():
            message = post.get("message")
            if isinstance(message, str):
                yield f'<div id="postmessage_{post.get("pid")}">{message}</div>'


def _corpus_documents() -> Iterator[str]:
    for path in sorted(CORPUS.glob("message-*.bin")):
        body = path.read_bytes().decode("utf-8", "replace")
        yield f'<div id="postmessage_1" class="t_f">{body}</div>'


_AID88 = "ODh8YTFiMmMzZDR8MTcwOTY4NzU2NHw1fDEyMw%3D%3D"
_FRAGMENTS = [
    # text
    "正文", "hello world", "  ", "\n", "&nbsp;", "\u3000", "\t", "a&lt;b&gt;c", "&amp;", "x" * 40,
    "本帖最后由 alice 于 2024-3-7 10:05 编辑", "[ 本帖最后由 bob 于 2024-3-8 11:00 编辑 ]",
    "[本帖最后由 bob 于 昨天 编辑]", "bob 发表于 2024-3-6 21:40", "以下内容需要积分高于 5 才可浏览",
    "2024-3-6 09:12 上传", "昨天 18:30 上传", "(245.3 KB, 下载次数: 12)", "售价: 2 金钱",
    "1.2 MB, 下载次数: 30", "阅读权限: 20", "<!-- note -->",
    # blocks and inline markup
    "<br>", "<br />", "<br>", "<p>", "</p>", "<div>", "</div>", "</div>", "<span>", "</span>", "<strong>",
    "</strong>", "<blockquote>", "</blockquote>", "<hr>", "<ul>", "<li>", "</li>", "</ul>", "<ol>", "</ol>",
    "<pre>", "</pre>", "<center>", "<h3>", "</h3>", "<font size=\"2\">", "</font>", "<b>", "<i>", "</i>",
    "<table>", "<tr>", "<td>", "<th>", "</td>", "</tr>", "</table>", "<tbody>", "<dl><dt>", "<dd>",
    # quotes
    '<div class="quote"><blockquote>', "</blockquote></div>", '<div class="reply_wrap">',
    '<a href="forum.php?mod=redirect&amp;goto=findpost&amp;pid=1005&amp;ptid=9">', "</a>",
    '<a href="forum.php?mod=redirect&goto=findpost&pid=7" target="_blank">',
    '<font color="#999999">alice 发表于 2024-3-6 09:12</font>', '<font color="#999999">',
    '<div class="quote">', '<DIV CLASS="QUOTE"><blockquote>', '<div class="Quote reply_wrap">',
    # site chrome
    '<i class="pstatus">', '<i class="pstatus"> 本帖最后由 carol 于 2024-3-7 10:05 编辑 </i>',
    '<font class="jammer">', '<font class="JAMMER">k9</font>', '<span style="display:none">',
    '<span style="display: none">', '<span style="DISPLAY:NONE">', '<div class="tip">', '<div class="Tip">',
    '<div class="locked">', '<div class="locked">以下内容需要积分高于 5 才可浏览</div>',
    '<div class="locked">本帖隐藏的内容需要回复</div>', '<div class="attach_nopermission">',
    '<div class="a_pr">', '<div class="a_pt">', '<div class="a_pb">ad</div>',
    '<div class="blockcode"><div id="code_1"><ol><li>', '<div class="blockcode">', "<em>", "</em>",
    "<em>复制代码</em>", '<span class="headactions">复制</span>',
    '<div class="showhide"><h4>本帖隐藏的内容</h4>',
    '<div class="guestviewthumb"><a href="member.php?mod=logging&action=login">登录</a>',
    '<em class="xg1">', '<em class="XG1">(1 KB)</em>', '<div class="tip_c">',
    '<div class="tip tip_4 aimg_tip">',
    # images
    '<img src="a.jpg">', '<img src="/pics/b.png" width="640" height="480">',
    '<img src="static/image/common/none.gif" file="f.jpg" zoomfile="z.jpg" aid="88">',
    '<img aid="88" src="x.jpg" onclick="zoom(this)">', '<img aid="89" file="data/y.jpg">',
    '<img src="static/image/smiley/default/smile.gif" smilieid="1">', '<img src="static/image/smiley/x.gif">',
    '<img src="static/image/filetype/zip.gif">', '<img src="javascript:alert(1)" file="a.jpg">',
    '<img file="http://cdn.example.net/s.jpg" lazyloadthumb="1">', '<img src=" JaVa&#x09;ScRiPt:alert(5)">',
    '<img src="" zoomfile="">', '<img attach="3001" src="t.jpg" file="b.jpg">', '<img src="none.gif">',
    '<img aid="abc" src="q.jpg">', '<IMG SRC="Up.JPG" ONLOAD="x()">', '<img>', '<img src="#">',
    # attachments and tips
    f'<span id="attach_90"><a href="forum.php?mod=attachment&amp;aid={_AID88}">file.zip</a>'
    '<em class="xg1">(1.2 MB, 下载次数: 3, 售价: 2 金钱)</em></span>',
    '<span id="attach_91">', '<a href="forum.php?mod=misc&action=attachpay&aid=91">pay.rar</a>',
    '<a href="forum.php?mod=attachment&aid=%%%">bad.txt</a>', '<span id="attach_x">', '<span id="ATTACH_92">',
    '<div class="tip tip_4 aimg_tip" id="aimg_88_menu"><p><strong>lake.jpg</strong> <em class="xg1">'
    f'(245.3 KB, 下载次数: 12)</em></p><p><a href="forum.php?mod=attachment&amp;aid={_AID88}">下载</a></p>'
    '<p class="xg1 y">2024-3-6 09:12 上传</p></div>',
    '<div class="tip" id="attach_90_menu"><p>2024-3-6 09:12 上传</p></div>', '<div id="aimg_89_menu">',
    "<ignore_js_op>", "</ignore_js_op>",
    # handlers and URLs
    '<a href="javascript:alert(3)" onmouseover="x">', '<div ONCLICK="y" style="color:red">',
    '<a href="#top">', '<a href="  /abs/path ">', '<form action="javascript:1">',
    '<svg><a xlink:href="javascript:1">', '<img srcset="javascript:1">', '<object data="vbscript:x">',
    '<a href="http://other.example/x" OnClick="z">',
    '<p onclick="">', '<a href="thread-1-1-1.html" onmouseover="">', '<svg><script>alert(9)</script></svg>',
    '<math><mi><font color="#999999">m</font></mi></math>',
    # raw text and oddities
    "<script>", "</script>", "<script>a()</script>", "<style>p{}</style>", "<style>", "<xmp>", "</xmp>",
    "<template>", "<template><p>t</p></template>", "</template>", "<noscript>", "<textarea>", "</textarea>",
    "<plaintext>", '<div id="postmessage_2">', "<td>", "</td></tr></table>", "&", "<", ">", "\x00", "\ufffd",
]
_WRAPPERS = [
    '<div id="postmessage_1" class="t_f">{}</div>',
    '<div id="postmessage_1" class="t_f">{}</div>',
    '<!DOCTYPE html><html><body><table><tr><td class="t_f" id="postmessage_1">{}</td></tr></table>',
    '<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN" '
    '"http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd"><div class="t_f" id="postmessage_1">{}</div>',
    '<table><tr><td class="quote t_f" id="postmessage_1" onclick="x">{}</td></tr></table>',
    '<script id="postmessage_1">{}</script>',
    '<xmp id="postmessage_1">{}</xmp>',
    '<style id="postmessage_1">{}</style>',
    '<textarea id="postmessage_1">{}</textarea>',
    '<template id="postmessage_1">{}</template>',
    '<span id="postmessage_1">{}</span>',
    '<img id="postmessage_1">{}',
    '<td id="postmessage_1" class="t_msgfont">{}</td>',
]
_LIST_ITEMS = [
    '<dl class="tattl"><dd>', '<dl class="tattl attm"><dt></dt><dd>', '<dl class="TATTL"><dd>', "<dl><dd>"
]
_LIST_FRAGMENTS = [
    '<dl class="tattl">', "</dl>", "<dt>", "<dd>", "</dd>",
    "<p>", "</p>", '<p class="attnm">', "</a>", "<strong>", "</strong>", "<ignore_js_op>", "</ignore_js_op>",
    f'<a href="forum.php?mod=attachment&amp;aid={_AID88}&amp;nothumb=yes" id="aid88" class="xw1">'
    "route.jpg</a>",
    '<a href="forum.php?mod=attachment&amp;aid=MjAxfDc3YWE4OGJifDE3MDk2ODc1NjR8NXwxMjM%3D">gpx.zip</a>',
    '<a href="forum.php?mod=misc&amp;action=attachpay&amp;aid=201&amp;tid=123">购买</a>',
    '<a id="aid7" href="forum.php?mod=attachment&aid=%%%">x.txt</a>', '<a id="aid9">noref</a>',
    '<em class="xg1">(245.3 KB, 下载次数: 12)</em>', "1.2 MB, 下载次数: 30", "售价: <strong>2 金钱</strong>",
    "980 Bytes, 下载次数: 0, 阅读权限: 20", "3 KB", "route.jpg",
    '<div class="tip tip_4" id="aid88_menu"><div class="tip_c"><p class="y">2024-3-6 09:12 上传</p>'
    "<p>下载积分: 金钱 -1</p></div></div>",
    '<div class="tip"><p>昨天 18:30 上传</p>', '<div class="Tip"><p>前天 09:00 上传</p></div>', "</div>",
    '<img aid="88" src="static/image/common/none.gif" zoomfile="data/z.jpg" file="data/z.jpg.thumb.jpg">',
    '<img src="static/image/filetype/zip.gif">', '<img aid="x">', '<img aid="90" src="j.jpg" onclick="z()">',
]
_LIST_WRAPPERS = [
    '<div class="pattl">{}</div>',
    '<!DOCTYPE html><html><body><div class="pattl">{}</div>',
    '<div class="pattl"><dl class="tattl">{}</dl></div>',
]


def _synthetic_documents(seed: int = 7, messages: int = 1500, lists: int = 300) -> list[str]:
    rng = random.Random(seed)
    documents = []
    for _ in range(messages):
        body = "".join(rng.choice(_FRAGMENTS) for _ in range(rng.randint(0, 40)))
        documents.append(rng.choice(_WRAPPERS).format(body))
    for _ in range(lists):
        items = [
            rng.choice(_LIST_ITEMS) + "".join(rng.choice(_LIST_FRAGMENTS) for _ in range(rng.randint(0, 12)))
            for _ in range(rng.randint(0, 4))
        ]
        documents.append(rng.choice(_LIST_WRAPPERS).format("</dd></dl>".join(items)))
    return documents


# --- the golden file ------------------------------------------------------------------------


def _regenerate() -> None:
    documents = [*_api_documents(), *_corpus_documents(), *_synthetic_documents()]
    golden = {
        "pages": {name: _results(html) for name, html in _fixture_pages()},
        "documents": [{"html": html, **_results(html)} for html in documents],
    }
    GOLDEN.parent.mkdir(exist_ok=True)
    serialised = json.dumps(golden, ensure_ascii=False, indent=0, sort_keys=True)
    GOLDEN.write_text(serialised + "\n", encoding="utf-8")
    found = [*golden["pages"].values(), *golden["documents"]]
    counted = sum(len(results["message"]) + len(results["list"]) for results in found)
    pages = len(golden["pages"])
    print(f"{GOLDEN.relative_to(ROOT)}: {counted} results from {pages} pages and {len(documents)} documents")


def _golden() -> dict[str, Any]:
    return json.loads(GOLDEN.read_text(encoding="utf-8"))


def _compare(where: str, expected: dict[str, list[Result]], actual: dict[str, list[Result]]) -> None:
    for kind in _RUNNERS:
        assert len(actual[kind]) == len(expected[kind]), f"{where}: number of {kind} elements"
        for index, (want, got) in enumerate(zip(expected[kind], actual[kind], strict=True)):
            for field in sorted(set(want) | set(got)):
                assert got.get(field) == want.get(field), f"{where}: {kind} #{index}, field {field!r}"


_GOLDEN = _golden() if GOLDEN.exists() else {"pages": {}, "documents": []}


def test_golden_covers_every_fixture_page() -> None:
    assert sorted(_GOLDEN["pages"]) == [name for name, _ in _fixture_pages()]
    messages = sum(len(found["message"]) for found in _GOLDEN["pages"].values())
    assert messages > 100 and len(_GOLDEN["documents"]) > 1500


@pytest.mark.parametrize("name", sorted(_GOLDEN["pages"]))
def test_fixture_page(name: str) -> None:
    html = decode_body((ROOT / name).read_bytes(), None)[0]
    _compare(name, _GOLDEN["pages"][name], _results(html))


@pytest.mark.parametrize("start", range(0, len(_GOLDEN["documents"]), CHUNK))
def test_documents(start: int) -> None:
    for offset, entry in enumerate(_GOLDEN["documents"][start : start + CHUNK]):
        _compare(f"document {start + offset}", entry, _results(entry["html"]))


if __name__ == "__main__":
    if sys.argv[1:] != ["--regenerate"]:
        sys.exit(f"usage: python {Path(__file__).name} --regenerate")
    _regenerate()
