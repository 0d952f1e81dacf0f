"""``parse_thread_page`` gives exactly the recorded results (issue 7).

The golden file ``tests/golden/thread_equivalence.json`` holds what the selector-per-field post
extraction of ``parsers/thread.py`` (commit bdb0fcc) returned — the whole ``ThreadPage`` as
``model_dump_json`` gives it, or the error raised — for:

- every HTML file under ``fixtures/`` (decoded with :func:`decode_body`), read as a thread page
  at an X3.4 URL and at an X3.5 URL;
- the generated pages (``benchmarks/generate.py``) of 10 and 50 posts of both editions;
- seeded hostile pages: the post blocks of the fixture thread pages, mutated (upper-case ids and
  classes, missing and duplicated elements, duplicated ids, nested post tables, the author cell
  on the right, extra ``div.authi``, odd class separators, sticky/hot/locked/pending marks...)
  and set in the X3.4 or X3.5 page shell with its own doctype, none (quirks mode) or an HTML5
  one. The page shells and the mutated blocks are stored in the golden file itself (the blocks
  zlib-compressed, to keep it small), so the comparison never depends on the mutation code;
  each entry also names the mutations it went through.

Every field of every post is compared. The speed work on ``thread.py`` must not change a byte.

Regenerate only on purpose (a deliberate change of output), and review the diff::

    python tests/test_thread_equivalence.py --regenerate
"""

from __future__ import annotations

import base64
import json
import random
import sys
import zlib
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from selectolax.lexbor import LexborHTMLParser

from discuz_scraper.charset import decode_body
from discuz_scraper.errors import DiscuzError
from discuz_scraper.parsers._dom import Node, parse_html
from discuz_scraper.parsers.dates import tz_from_minutes
from discuz_scraper.parsers.thread import parse_thread_page

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
GOLDEN = ROOT / "tests" / "golden" / "thread_equivalence.json"
sys.path.insert(0, str(ROOT / "benchmarks"))
from generate import load_template, thread_page  # noqa: E402

URLS = {
    "x34": "http://forum.test/thread-1001-1-1.html",
    "x35": "http://forum.test/bbs/forum.php?mod=viewthread&tid=2001&page=1",
}
TZ = tz_from_minutes(480)
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=TZ)
GENERATED = [(edition, posts) for edition in ("x34", "x35") for posts in (10, 50)]
CHUNK = 50  # hostile pages per test case

Result = dict[str, Any]


def _result(html: str, url: str) -> Result:
    try:
        page = parse_thread_page(html, url, now=NOW, default_tz=TZ)
    except DiscuzError as exc:
        return {"error": f"{type(exc).__name__}: {exc}"}
    found: Result = json.loads(page.model_dump_json())
    return found


# --- the inputs -----------------------------------------------------------------------------


def _fixture_pages() -> Iterator[tuple[str, str]]:
    for path in sorted(FIXTURES.rglob("*.html")):
        yield path.relative_to(ROOT).as_posix(), decode_body(path.read_bytes(), None)[0]


def _generated_page(edition: str, posts: int) -> str:
    return thread_page(load_template(edition), posts)


def _shells() -> dict[str, list[str]]:
    """The X3.4 and X3.5 page around the posts: [head, tail]."""
    return {edition: [load_template(edition).head, load_template(edition).tail] for edition in ("x34", "x35")}


def _page(shells: dict[str, list[str]], entry: dict[str, Any]) -> str:
    head, tail = shells[entry["shell"]]
    if entry["doctype"] is not None:
        # The shells open with their doctype; replaced by the entry's (empty: quirks mode).
        head = entry["doctype"] + head.split(">", 1)[1]
    return head + zlib.decompress(base64.b64decode(entry["posts"])).decode("utf-8") + tail


# Elements of a post block that the thread parser reads or walks past.
_TARGETS = [
    "table", "tr", "td.pls", "td.plc", "div.favatar", "div.pi", "div.authi", "div.authi a", "a.xw1",
    "div.avatar", "div.avatar img", "div.tns", "div.tns th", "div.tns td", "div.tns p", "div.tns span",
    'a[href*="usergroup"]', "dl.pil", "dl.pil dt", "dl.pil dd", 'em[id^="authorposton"]',
    'em[id^="authorposton"] span', 'a[id^="postnum"]', 'a[id^="postnum"] em', "div.pcb", "div.pct",
    "div.sign", 'div[id^="comment_"]', 'dl[id^="ratelog_"]', "div.pattl", "h2", "div.p_pop",
    'div[id^="userinfo"] em', 'div[id^="userinfo"] strong a', "span.xg1", "div.locked", "td.t_f",
    "img", "em", "strong", "div.pstl", "table.ratl", "div.pti",
]
_SNIPPETS = [
    '<div class="authi"><a href="home.php?mod=space&amp;uid=99" class="xw1">冒名</a></div>',
    '<div class="authi"><a href="home.php?mod=space&amp;uid=98" class="xi2">右侧</a>'
    '<span class="xg1">来自手机</span></div>',
    '<div class="AUTHI"><a href="home.php?mod=space&amp;uid=97" class="XW1 xi2">大写</a></div>',
    '<div class="authi"><a href="home.php?mod=space&amp;uid=96" class="xi2 avt"><img src="a.png"></a></div>',
    '<span class="xg1">来自Android客户端</span>', '<span class="XG1">来自iPhone</span>',
    '<div class="locked">作者被禁止或删除 内容自动屏蔽</div>', '<div class="LOCKED">仅作者可见</div>',
    '<div class="locked">本帖为密码帖 <a href="#">提交</a></div>', '<h2>回复的标题</h2>',
    '<div class="sign">签名档</div>', '<div class="SIGN">大写签名</div>',
    '<div class="tns"><table><th><p><span title="1,234">1千</span></p>主题</th><td><p>12万</p>帖子</td>'
    '<th><p>7</p>回帖</th></table></div>',
    '<p><em><a href="home.php?mod=spacecp&amp;ac=usergroup&amp;gid=7">新人</a></em></p>',
    '<a href="home.php?mod=spacecp&amp;AC=USERGROUP&amp;gid=8">大写组</a>',
    '<dl class="pil cl"><dt>积分</dt><dd>321</dd></dl>', '<dl class="pil"><dt>积分</dt><dt>x</dt></dl>',
    '<div class="avatar"><img src="avatar/x.jpg"></div>', '<div class="avatar">头像被屏蔽</div>',
    '<em id="authorposton{pid}">发表于 2026-11-20 08:00</em>',
    '<em id="AUTHORPOSTON{pid}">发表于 <span title="2026-11-21 10:00:00">前天</span></em>',
    '<a href="forum.php?mod=redirect&amp;goto=findpost&amp;pid={pid}" id="postnum{pid}"><em>77</em>#</a>',
    '<a href="forum.php?mod=viewthread&amp;tid=1" id="postnum{pid}">推荐</a>',
    '<a id="postnum{pid}" href="x"><em class="replystick">置顶</em>12#</a>',
    '<a id="postnum{pid}" href="x"><img src="static/image/common/settop.gif">3 #</a>',
    '<div id="favatar{pid}" class="favatar"><div class="pi"><div class="authi">'
    '<a href="home.php?mod=space&amp;uid=95" class="xw1">再来</a></div></div></div>',
    '<div id="FAVATAR{pid}"><div class="pi">游客 <a href="javascript:;"><em>1.2.*.*</em></a></div></div>',
    '<div class="pi">某人<em>该用户已被删除</em></div>',
    '<div id="userinfo{pid}"><strong><a href="home.php?mod=space&amp;uid=94">卡片</a></strong>'
    "<em>当前在线</em></div>",
    '<dl id="ratelog_{pid}" class="rate"><dt><strong>2</strong></dt><dd><ul><li>'
    '<p id="rate_{pid}_5" tip="&lt;strong&gt;好&lt;/strong&gt;&lt;em&gt;金钱 +2&lt;/em&gt;"></p>'
    '<a href="home.php?mod=space&amp;uid=5">评分人</a></li></ul></dd></dl>',
    '<div id="comment_{pid}" class="cm"><div class="pstl"><div class="psta">'
    '<a href="home.php?mod=space&amp;uid=6" class="xw1">点评人</a></div><div class="psti">好 '
    '<span class="xg1">发表于 2026-11-24 10:00</span></div></div></div>',
    '<div class="pattl"><dl class="tattl"><dd><p class="attnm"><a href="forum.php?mod=attachment&amp;aid=5"'
    ' id="aid5">f.zip</a></p></dd></dl></div>',
    '<div class="authi"><a class="xw1" href="home.php?mod=spacecp&amp;ac=usergroup&amp;uid=5">双重</a></div>',
    '<div class="authi"><span id="g_up{pid}" class="xg1">来自手机</span></div>',
    '<span id="FAVATAR{pid}" class="xg1">来自网页</span>',
    '<div id="comment_{pid}" class="cm pstl">点评</div>',
    '<div class="pcb pattl"><dl class="tattl"><dd><a href="forum.php?mod=attachment&amp;aid=6">g.zip</a>'
    "</dd></dl></div>",
    '<div class="pattl pstl"><div class="psta"><a class="xw1" href="x?uid=3">c</a></div>'
    '<div class="psti">t</div></div>',
    '<div class="pstl"><div class="psta">游客</div><div class="psti">无名</div></div>',
    '<div class="tns"><div class="avatar"><table><td class="avatar"><p>5</p>帖子</td></table></div></div>',
    '<em id="userinfo{pid}">在线</em>', '<div id="userinfo{pid}" class="avatar"><em>当前在线</em></div>',
    '<span class="xg1">待审核</span>', "待审核", "<!-- c -->", "文字", '<div class="pcb">另一个</div>',
    '<table id="pid{pid}" class="plhin"><tr><td class="plc"><div class="pct">无效楼层</div></td></tr>'
    "</table>",
]
_EXTRA_CLASSES = [
    "authi", "sign", "avatar", "tns", "pcb", "locked", "xw1", "xg1", "plc", "pls", "pattl", "pstl", "PSTL",
    "pcb sign", "pattl pstl", "Pcb", "SIGN pattl",
]
_SEPARATORS = [" ", "\t", "\n", "\x0c", "\r", "\u00a0", "\u3000", "  "]


def _source_blocks() -> list[tuple[str, str]]:
    """(edition, block HTML) of every post block of the fixture thread pages."""
    blocks = []
    paths = [*sorted((FIXTURES / "thread").rglob("*.html")), FIXTURES / "pages" / "x34_thread_tricky.html"]
    for path in paths:
        tree = parse_html(decode_body(path.read_bytes(), None)[0])
        edition = "x35" if "x35" in path.as_posix() else "x34"
        blocks += [(edition, div.html or "") for div in tree.css("#postlist > div[id^=post_]")]
    return blocks


_WHERE = ("before", "after", "child")


def _insert(node: Node, where: str, html: str) -> None:
    """Insert ``html`` as markup (a string would be inserted as text) before, after or at the end
    of ``node``."""
    fragment = LexborHTMLParser(html, is_fragment=True).root
    pieces = list(fragment.iter(include_text=True)) if fragment is not None else []
    if where == "after":
        pieces.reverse()
    for piece in pieces:
        {"before": node.insert_before, "after": node.insert_after, "child": node.insert_child}[where](piece)


class _Mutator:
    """Random edits of one post block, done on its parsed tree."""

    def __init__(self, rng: random.Random, block: str, donors: list[str]) -> None:
        self.rng = rng
        self.tree = parse_html(f"<!DOCTYPE html><html><body>{block}</body></html>")
        self.donors = donors
        root = self.tree.css_first("body > div")
        self.pid = (root.id or "post_0").removeprefix("post_") if root is not None else "0"
        self.done: list[str] = []

    def html(self) -> str:
        body = self.tree.body
        return body.inner_html or "" if body is not None else ""

    def _target(self) -> tuple[str, Node] | None:
        for _ in range(8):
            selector = self.rng.choice(_TARGETS)
            found = self.tree.css(f"body {selector}")
            if found:
                return selector, self.rng.choice(found)
        return None

    def _snippet(self) -> str:
        return self.rng.choice(_SNIPPETS).replace("{pid}", self.pid if self.rng.random() < 0.8 else "1")

    def drop(self, selector: str, node: Node) -> None:
        node.decompose()

    def upper(self, selector: str, node: Node) -> None:
        for name in self.rng.choice([("id",), ("class",), ("id", "class")]):
            value = node.attributes.get(name)
            if value:
                node.attrs[name] = value.upper() if self.rng.random() < 0.7 else value.title()

    def upper_all(self, selector: str, node: Node) -> None:
        for el in self.tree.body.traverse() if self.tree.body is not None else []:
            for name in ("id", "class"):
                value = el.attributes.get(name) if el.is_element_node else None
                if value:
                    el.attrs[name] = value.upper()

    def separators(self, selector: str, node: Node) -> None:
        value = node.attributes.get("class")
        if value is None:
            node.attrs["class"] = self.rng.choice(["", " ", "authi", "plc pls", "xg1\u00a0"])
            return
        sep = self.rng.choice(_SEPARATORS)
        node.attrs["class"] = (
            self.rng.choice(["", " ", "\t"]) + sep.join(value.split(" ")) + self.rng.choice(["", " ", "\x0c"])
        )

    def add_class(self, selector: str, node: Node) -> None:
        extra = self.rng.choice(_EXTRA_CLASSES)
        node.attrs["class"] = f"{node.attributes.get('class') or ''} {extra}".strip()

    def duplicate(self, selector: str, node: Node) -> None:
        copy = node.clone()
        if copy is not None:
            (node.insert_before if self.rng.random() < 0.5 else node.insert_after)(copy)

    def move(self, selector: str, node: Node) -> None:
        found = self._target()
        if found is None or found[1].mem_id == node.mem_id:
            return
        copy = node.clone()
        node.decompose()
        if copy is not None and found[1].parent is not None:
            self.rng.choice([found[1].insert_before, found[1].insert_after, found[1].insert_child])(copy)

    def insert(self, selector: str, node: Node) -> None:
        snippet = self._snippet()
        _insert(node, self.rng.choice(_WHERE), snippet)
        self.done[-1] += f" {snippet[:40]!r}"

    def swap_cells(self, selector: str, node: Node) -> None:
        """The author cell after the content cell (``authoronleft=0``-like)."""
        pls = self.tree.css_first("body td.pls")
        if pls is None or pls.parent is None:
            return
        copy = pls.clone()
        row = pls.parent
        pls.decompose()
        if copy is not None:
            row.insert_child(copy)

    def nest(self, selector: str, node: Node) -> None:
        """Another post block (post table) inside this one."""
        donor = self.rng.choice(self.donors)
        if self.rng.random() < 0.5:
            donor = donor.replace(f"post_{self.pid}", "post_x").replace(self.pid, str(int(self.pid or 0) + 1))
        _insert(node, self.rng.choice(_WHERE), donor)

    def retext(self, selector: str, node: Node) -> None:
        value = self.rng.choice(["", "1万", "12,345", "推荐", "沙发", "当前在线", "离线", "7", " 8 ", "积分"])
        if node.attributes.get("title") is not None and self.rng.random() < 0.5:
            del node.attrs["title"]
        else:
            node.replace_with(value) if self.rng.random() < 0.3 else node.insert_child(value)

    def rehref(self, selector: str, node: Node) -> None:
        href = node.attributes.get("href")
        if href is None:
            return
        node.attrs["href"] = self.rng.choice(
            [href.replace("uid=", "xid="), href.upper(), href + "&gid=3", "javascript:;", "", " " + href]
        )

    def reid(self, selector: str, node: Node) -> None:
        value = node.attributes.get("id")
        new = self.rng.choice([
            None, "", f"pid{self.pid}", f"favatar{self.pid}", f"postmessage_{self.pid}",
            f"userinfo{self.pid}", f"comment_{self.pid}", f"post_{self.pid}", f"postnum{self.pid}",
            f"authorposton{self.pid}",
            f"ratelog_{self.pid}", f"Favatar{self.pid}", f"x{self.pid}", f"favatar{self.pid}0",
        ])
        if new is None:
            if value is not None:
                del node.attrs["id"]
        else:
            node.attrs["id"] = new

    def upper_inner(self, selector: str, node: Node) -> None:
        """Upper-case classes (and maybe ids) of every element inside the post div, not its own id
        (which must stay ``post_PID`` for the post to be read at all)."""
        names = ("class", "id") if self.rng.random() < 0.5 else ("class",)
        root = self.tree.css_first("body > div")
        if root is None:
            return
        for el in root.traverse():
            if el.mem_id == root.mem_id or not el.is_element_node:
                continue
            for name in names:
                value = el.attributes.get(name)
                if value:
                    el.attrs[name] = value.upper()

    def plant(self, selector: str, node: Node) -> None:
        """A snippet at one of the places the parser looks (or must not look)."""
        places = [
            f"body #favatar{self.pid}", "body td.plc div.authi", "body div.pcb", f"body #comment_{self.pid}",
            "body div.sign", "body td.pls", "body div.pi", "body div.tns", f"body #postmessage_{self.pid}",
        ]
        for _ in range(4):
            found = self.tree.css(self.rng.choice(places))
            if found:
                place = self.rng.choice(found)
                snippet = self._snippet()
                _insert(place, self.rng.choice(_WHERE), snippet)
                self.done[-1] += f" {snippet[:40]!r}"
                return

    OPS: tuple[Callable[..., None], ...] = (
        drop, drop, upper, upper, upper_all, upper_inner, upper_inner, separators, add_class, add_class,
        duplicate, duplicate, move, insert, insert, plant, plant, plant, plant, swap_cells, nest, retext,
        rehref, reid, reid,
    )

    def mutate(self, count: int) -> None:
        for _ in range(count):
            op = self.rng.choice(self.OPS)
            found = self._target()
            if found is None:
                continue
            self.done.append(f"{op.__name__} {found[0]}")
            op(self, *found)


# Hand-made cases for what a random mutation rarely builds: (name, [(place, snippet)]), each
# snippet inserted as the first child of the first element the place selector finds.
_CRAFTED = [
    ("attachment lists outside and inside div.pcb", [
        ("div.favatar", '<div class="pattl"><dl class="tattl"><dd>'
                        '<a href="forum.php?mod=attachment&amp;aid=7" id="aid7">out.zip</a></dd></dl></div>'),
        ("div.sign", '<div class="PATTL"><dl class="tattl"><dd><a href="forum.php?mod=attachment&amp;aid=8">'
                     "sign.zip</a></dd></dl></div>"),
        ("div.pcb", '<div class="pattl pstl"><dl class="tattl"><dd>'
                    '<a href="forum.php?mod=attachment&amp;aid=9">in.zip</a></dd></dl></div>'),
    ]),
    ("comment items outside and inside the comment box", [
        ("div.pcb", '<div class="pstl"><div class="psta"><a class="xw1" href="x?uid=4">外</a></div>'
                    '<div class="psti">外面</div></div>'),
        ("td.plc", '<div id="comment_{pid}" class="cm pstl pattl"><div class="pattl pstl"><div class="psta">'
                   '<a class="xw1" href="x?uid=5">里</a></div><div class="psti">里面</div></div>'
                   '<div class="PSTL"><div class="psta">游客</div><div class="psti">大写</div></div></div>'),
    ]),
    ("a favatar link that is author link and group link at once", [
        ("div.favatar", '<div class="authi"><a class="xw1" href="home.php?mod=spacecp&amp;ac=usergroup&amp;'
                        'uid=5&amp;gid=4">双重</a></div>'
                        '<a href="home.php?mod=spacecp&amp;ac=usergroup&amp;gid=9">组</a>'),
    ]),
    ("a group link before the author link", [
        ("div.favatar", '<p><a href="home.php?mod=spacecp&amp;ac=usergroup&amp;gid=9&amp;uid=8" class="xw1">'
                        "组先</a></p>"),
    ]),
    ("mobile marks with ids", [
        ("td.plc div.authi", '<span id="g_up{pid}" class="xg1">来自手机</span><span id="FAVATAR{pid}" '
                             'class="xg1 XG1">来自网页</span><span id="x{pid}">来自别处</span>'),
    ]),
    ("id'd elements of the wrong tag first", [
        ("td.pls", '<span id="postnum{pid}">99#</span><div id="authorposton{pid}">发表于 2020-1-1 10:00</div>'
                   '<p id="ratelog_{pid}"></p><span id="comment_{pid}" class="pstl">x</span>'
                   '<em id="favatar{pid}0">z</em><div id="sign{pid}" class="sign pcb">双类</div>'),
    ]),
]


def _crafted_pages(blocks: list[tuple[str, str]]) -> list[dict[str, Any]]:
    pages = []
    for name, edits in _CRAFTED:
        for index, (edition, block) in enumerate(blocks):
            tree = parse_html(f"<!DOCTYPE html><html><body>{block}</body></html>")
            root = tree.css_first("body > div")
            pid = (root.id or "post_0").removeprefix("post_") if root is not None else "0"
            for place, snippet in edits:
                target = tree.css_first(f"body {place}")
                if target is not None:
                    _insert(target, "child", snippet.replace("{pid}", pid))
            body = tree.body
            posts = (body.inner_html or "") if body is not None else ""
            pages.append({
                "shell": edition,
                "doctype": [None, "", "<!DOCTYPE html>"][index % 3],
                "url": URLS[edition],
                "mutations": [f"crafted: {name}"],
                "posts": base64.b64encode(zlib.compress(posts.encode("utf-8"), 9)).decode("ascii"),
            })
    return pages


def _hostile_pages(seed: int = 11, count: int = 480) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    blocks = _source_blocks()
    by_edition = {edition: [b for e, b in blocks if e == edition] for edition in ("x34", "x35")}
    pages = []
    for _ in range(count):
        edition, block = rng.choice(blocks)
        mutator = _Mutator(rng, block, by_edition[edition])
        mutator.mutate(rng.choice([0, 1, 1, 2, 2, 3, 4, 6]))
        posts = mutator.html()
        if rng.random() < 0.15:
            posts = rng.choice(by_edition[edition]) + posts
        shell = edition if rng.random() < 0.85 else rng.choice(["x34", "x35"])
        doctype = rng.choice([None, "", "", "", "<!DOCTYPE html>"])
        pages.append({
            "shell": shell,
            "doctype": doctype,
            "url": URLS[rng.choice(["x34", "x35"])],
            "mutations": mutator.done,
            "posts": base64.b64encode(zlib.compress(posts.encode("utf-8"), 9)).decode("ascii"),
        })
    samples = [blocks[index] for index in range(0, len(blocks), max(1, len(blocks) // 6))]
    return pages + _crafted_pages(samples)


# --- the golden file ------------------------------------------------------------------------


def _regenerate() -> None:
    shells = _shells()
    hostile = _hostile_pages()
    for entry in hostile:
        entry["result"] = _result(_page(shells, entry), entry["url"])
    golden = {
        "fixtures": {
            name: {edition: _result(html, url) for edition, url in URLS.items()}
            for name, html in _fixture_pages()
        },
        "generated": {
            f"{edition}-{posts}": _result(_generated_page(edition, posts), load_template(edition).url)
            for edition, posts in GENERATED
        },
        "shells": shells,
        "hostile": hostile,
    }
    GOLDEN.parent.mkdir(exist_ok=True)
    serialised = json.dumps(golden, ensure_ascii=False, indent=0, sort_keys=True)
    GOLDEN.write_text(serialised + "\n", encoding="utf-8")
    posts = sum(
        len(result.get("posts", []))
        for result in [
            *(r for by_url in golden["fixtures"].values() for r in by_url.values()),
            *golden["generated"].values(),
            *(entry["result"] for entry in hostile),
        ]
    )
    errors = sum("error" in entry["result"] for entry in hostile)
    print(
        f"{GOLDEN.relative_to(ROOT)}: {len(golden['fixtures'])} fixture files x {len(URLS)} URLs, "
        f"{len(GENERATED)} generated pages, {len(hostile)} hostile pages ({errors} raising); {posts} posts"
    )


def _golden() -> dict[str, Any]:
    return json.loads(GOLDEN.read_text(encoding="utf-8"))


def _compare(where: str, expected: Result, actual: Result) -> None:
    error = actual.get("error") or expected.get("error")
    assert ("error" in actual) == ("error" in expected), f"{where}: {error}"
    want_posts, got_posts = expected.get("posts", []), actual.get("posts", [])
    for field in sorted((set(expected) | set(actual)) - {"posts"}):
        assert actual.get(field) == expected.get(field), f"{where}: field {field!r}"
    assert len(got_posts) == len(want_posts), f"{where}: number of posts"
    for index, (want, got) in enumerate(zip(want_posts, got_posts, strict=True)):
        for field in sorted(set(want) | set(got)):
            where_post = f"{where}: post #{index} (pid {want.get('pid')}), field {field!r}"
            assert got.get(field) == want.get(field), where_post


_GOLDEN = _golden() if GOLDEN.exists() else {"fixtures": {}, "generated": {}, "shells": {}, "hostile": []}


def test_golden_covers_every_fixture_page_and_enough_posts() -> None:
    assert sorted(_GOLDEN["fixtures"]) == [name for name, _ in _fixture_pages()]
    assert sorted(_GOLDEN["generated"]) == sorted(f"{edition}-{posts}" for edition, posts in GENERATED)
    assert len(_GOLDEN["hostile"]) >= 450
    parsed = [entry["result"] for entry in _GOLDEN["hostile"] if "error" not in entry["result"]]
    assert len(parsed) > 400


@pytest.mark.parametrize("name", sorted(_GOLDEN["fixtures"]))
def test_fixture_page(name: str) -> None:
    html = decode_body((ROOT / name).read_bytes(), None)[0]
    for edition, url in URLS.items():
        _compare(f"{name} at {url}", _GOLDEN["fixtures"][name][edition], _result(html, url))


@pytest.mark.parametrize(("edition", "posts"), GENERATED)
def test_generated_page(edition: str, posts: int) -> None:
    actual = _result(_generated_page(edition, posts), load_template(edition).url)
    _compare(f"generated {edition} {posts} posts", _GOLDEN["generated"][f"{edition}-{posts}"], actual)


@pytest.mark.parametrize("start", range(0, len(_GOLDEN["hostile"]), CHUNK))
def test_hostile_pages(start: int) -> None:
    for offset, entry in enumerate(_GOLDEN["hostile"][start : start + CHUNK]):
        where = f"hostile page {start + offset} ({'; '.join(entry['mutations']) or 'unmutated'})"
        _compare(where, entry["result"], _result(_page(_GOLDEN["shells"], entry), entry["url"]))


if __name__ == "__main__":
    if sys.argv[1:] != ["--regenerate"]:
        sys.exit(f"usage: python {Path(__file__).name} --regenerate")
    _regenerate()
