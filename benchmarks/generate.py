"""Synthetic thread pages of any size, built from the hand-written fixtures.

The fixture pages hold 5-8 posts; the parse benchmark and the streaming-memory benchmark need
pages of 10-200 posts and threads of 10,000. Rather than inventing new markup (which could drift
from what the parser is tested against), this replicates the fixture's own ``div#post_PID``
blocks with fresh pids and floors, so every generated post exercises the same code paths as the
tested fixture posts (images, attachments, quotes, ratings, comments, jammer noise...).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from discuz_scraper.charset import decode_body

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"

_POST_START = re.compile(r'<div id="post_(\d+)">')
_END = '<div id="postlistreply"'
# The floor marker inside a#postnumPID: a default label (楼主/沙发/板凳/地板) or "<em>N</em><sup>#</sup>".
_FLOOR = re.compile(r'(id="postnum\d+"[^>]*>)\s*(?:楼主|沙发|板凳|地板|<em>\d+</em><sup>#</sup>)\s*</a>')
# The top pager (div#pgt); the generated one says "page N of M" like Discuz's multi().
_PGT = re.compile(r'(<div id="pgt"[^>]*>\s*<div class="pgt">)<div class="pg">.*?</div>(</div>)', re.S)


@dataclass(frozen=True)
class Template:
    """A fixture page cut into the part before the posts, the post blocks and the rest."""

    name: str
    url: str
    tid: int
    head: str
    first: str
    first_pid: int
    replies: tuple[tuple[int, str], ...]
    tail: str


def _load(path: Path) -> str:
    return decode_body(path.read_bytes(), None)[0]


def load_template(edition: str = "x34") -> Template:
    """``x34`` (GBK fixture t1001, page 1) or ``x35`` (UTF-8 fixture t2001, page 1)."""
    if edition == "x34":
        html = _load(FIXTURES / "thread/x34/t1001-p1.html")
        url, tid = "http://forum.test/thread-1001-1-1.html", 1001
    elif edition == "x35":
        html = _load(FIXTURES / "thread/x35/t2001-p1.html")
        url, tid = "http://forum.test/bbs/thread-2001-1-1.html", 2001
    else:
        raise ValueError(f"unknown edition {edition!r}")
    starts = list(_POST_START.finditer(html))
    end = html.index(_END)
    blocks: list[tuple[int, str]] = []
    for index, m in enumerate(starts):
        stop = starts[index + 1].start() if index + 1 < len(starts) else end
        blocks.append((int(m.group(1)), html[m.start():stop]))
    first_pid, first = blocks[0]
    # Hot (推荐) and sticky (置顶) copies are pinned repeats of other floors: not replicated, as a
    # generated page must be a plain run of consecutive floors.
    replies = tuple(
        (pid, block) for pid, block in blocks[1:] if "推荐</a>" not in block and "replystick" not in block
    )
    return Template(edition, url, tid, html[: starts[0].start()], first, first_pid, replies, html[end:])


def _renumber(block: str, old_pid: int, new_pid: int, floor: int) -> str:
    block = re.sub(rf"(?<!\d){old_pid}(?!\d)", str(new_pid), block)
    return _FLOOR.sub(lambda m: f"{m.group(1)}<em>{floor}</em><sup>#</sup></a>", block, count=1)


def _pager(template: Template, page: int, pages: int) -> str:
    parts = []
    if page > 1:
        parts.append(f'<a href="thread-{template.tid}-{page - 1}-1.html" class="prev">&nbsp;&nbsp;</a>')
    parts.append(f"<strong>{page}</strong>")
    if page < pages:
        parts.append(f'<a href="thread-{template.tid}-{page + 1}-1.html">{page + 1}</a>')
    parts.append(f'<label><span title="共 {pages} 页"> / {pages} 页</span></label>')
    if page < pages:
        parts.append(f'<a href="thread-{template.tid}-{page + 1}-1.html" class="nxt">下一页</a>')
    return '<div class="pg">' + "".join(parts) + "</div>"


def thread_page(
    template: Template, posts: int, *, page: int = 1, pages: int | None = None, per_page: int | None = None
) -> str:
    """Page ``page`` of a generated thread: ``posts`` posts on this page, floors continuing from
    the earlier pages (``per_page`` posts each, default ``posts``); page 1 opens with the first post.

    Pids are ``100000 + floor`` so they never meet the fixture's own pids or uids.
    """
    per_page = per_page or posts
    first_floor = (page - 1) * per_page + 1
    body: list[str] = []
    for floor in range(first_floor, first_floor + posts):
        pid = 100_000 + floor
        if floor == 1:
            body.append(_renumber(template.first, template.first_pid, pid, 1))
            continue
        old_pid, block = template.replies[(floor - 2) % len(template.replies)]
        body.append(_renumber(block, old_pid, pid, floor))
    head = template.head
    if pages is not None:
        head = _PGT.sub(lambda m: m.group(1) + _pager(template, page, pages) + m.group(2), head, count=1)
    return head + "".join(body) + template.tail


def page_url(template: Template, page: int = 1) -> str:
    return template.url.replace(f"-{template.tid}-1-1.html", f"-{template.tid}-{page}-1.html")


if __name__ == "__main__":  # a quick look: sizes of the generated pages
    for edition in ("x34", "x35"):
        t = load_template(edition)
        for n in (10, 20, 50, 200):
            print(edition, n, len(thread_page(t, n)))
