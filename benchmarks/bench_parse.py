"""Parse benchmark: our parsers vs selectolax's bare parse vs the BeautifulSoup + lxml baseline.

Run by hand (not part of the test suite; timings are never asserted):

    python benchmarks/bench_parse.py [--runs 21]

Every ratio in the printed table comes from the same run, on the same ``str`` (pages are decoded
once up front: the comparison is about parsing and extraction, not charset decoding). Each
timing is the median of ``--runs`` runs after warm-up runs. Thread pages are generated from the
fixtures (see ``generate.py``); the board and index pages are the fixtures themselves, plus a
50-row board page built from the x34 fixture (:func:`generated_board`): real boards list 20-50
threads a page.

The mobile API rows time ``parse_api_thread_page`` on the JSON text of ``module=viewthread`` page 1
built by ``long_thread_transport`` (the generator of ``tests/test_backends.py``, imported, with
``ppp`` = the post count; page 1 also carries its hot-reply copy, so N + 1 posts). Their "bare"
limit is ``json.loads`` of the same text, and there is no bs4 column for them.

``--before DIR`` adds the same parsers of another copy of the package, timed in the same run on
the same ``str`` (columns "before ms" and "speed-up"), e.g. the code of an older commit:

    git archive REV discuz_scraper | tar -x -C /tmp/rev && mv /tmp/rev/discuz_scraper /tmp/rev/dz_before
    python benchmarks/bench_parse.py --before /tmp/rev/dz_before
"""

from __future__ import annotations

import argparse
import gc
import importlib
import json
import platform
import re
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

from selectolax.lexbor import LexborHTMLParser

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(1, str(Path(__file__).resolve().parent.parent / "tests"))

import bs4_baseline
import httpx
from generate import FIXTURES, load_template, thread_page
from test_backends import long_thread_transport

from discuz_scraper.charset import decode_body
from discuz_scraper.parsers.api import parse_api_thread_page
from discuz_scraper.parsers.board import parse_board_page
from discuz_scraper.parsers.index import parse_forum_index
from discuz_scraper.parsers.thread import parse_thread_page

API_SIZES = (10, 20, 50, 200)
BOARD_URL = "http://forum.test/forum-2-1.html"
_NORMAL_ROW = re.compile(r'<tbody id="normalthread_(\d+)">.*?</tbody>\n?', re.S)


def median_seconds(fn: Callable[[], object], runs: int, warmup: int = 3) -> float:
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(runs):
        gc.collect()  # a collection triggered by the previous run must not land in this one
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def machine() -> str:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import os

    return f"nproc={os.cpu_count()}, CPU={cpu}, Python {platform.python_version()}"


def generated_board(rows: int = 50) -> tuple[str, str]:
    """``fixtures/board/x34_forum2_p1.html`` grown to ``rows`` thread rows: (HTML, URL).

    The fixture's own rows stay as they are; its ``normalthread`` rows are then replicated in
    turn after the last one, each with a fresh tid (``100000 + n``) in its id and links, as
    ``generate.py`` does for posts.
    """
    html = decode_body((FIXTURES / "board" / "x34_forum2_p1.html").read_bytes(), None)[0]
    found = list(_NORMAL_ROW.finditer(html))
    present = html.count('<tbody id="normalthread_') + html.count('<tbody id="stickthread_')
    extra = []
    for n in range(rows - present):
        m = found[n % len(found)]
        extra.append(re.sub(rf"(?<!\d){m.group(1)}(?!\d)", str(100000 + n), m.group(0)))
    end = found[-1].end()
    return html[:end] + "".join(extra) + html[end:], BOARD_URL


def cases() -> list[tuple[str, str, str, Callable[[str, str], object], Callable[[str, str], object]]]:
    found = []
    for edition in ("x34", "x35"):
        template = load_template(edition)
        for posts in (10, 20, 50, 200):
            found.append((f"thread {edition} {posts} posts", thread_page(template, posts), template.url,
                          parse_thread_page, bs4_baseline.parse_thread))
    for name, url in (("x34_forum2_p1.html", BOARD_URL),
                      ("x35_forum3_p1.html", "http://forum.test/bbs/forum-3-1.html")):
        html = decode_body((FIXTURES / "board" / name).read_bytes(), None)[0]
        found.append((f"board {name[:3]}", html, url, parse_board_page, bs4_baseline.parse_board))
    html, url = generated_board(50)
    found.append(("board x34 50 rows", html, url, parse_board_page, bs4_baseline.parse_board))
    html = decode_body((FIXTURES / "index" / "x34_index.html").read_bytes(), None)[0]
    found.append(("index x34", html, "http://forum.test/forum.php", parse_forum_index,
                  bs4_baseline.parse_index))
    return found


def api_thread_json(posts: int) -> tuple[str, str]:
    """Page 1 of a ``posts``-post thread as the API answers it with ``ppp=posts``: (JSON text, URL)."""
    url = f"http://forum.test/bbs/api/mobile/index.php?version=4&module=viewthread&tid=3001&ppp={posts}&page=1"
    response = long_thread_transport([], posts).handle_request(httpx.Request("GET", url))
    response.read()
    return response.text, url


Parser = Callable[[str, str], object]


def case_list() -> list[tuple[str, str, str, Callable[[], object], Parser, Parser | None]]:
    """(label, text, URL, the bare limit, our parser, the bs4 baseline or None) per row."""
    rows: list[tuple[str, str, str, Callable[[], object], Parser, Parser | None]] = [
        (label, html, url, lambda html=html: LexborHTMLParser(html), ours, baseline)
        for label, html, url, ours, baseline in cases()
    ]
    for posts in API_SIZES:
        body, url = api_thread_json(posts)
        rows.append((f"api thread {posts} posts", body, url, lambda body=body: json.loads(body),
                     parse_api_thread_page, None))
    return rows


def same_parser(package: Path, parser: Parser) -> Parser:
    """``parser`` as the package copy at ``package`` defines it (same module path and name)."""
    sys.path.insert(0, str(package.parent))
    module = parser.__module__.replace("discuz_scraper", package.name, 1)
    found: Parser = getattr(importlib.import_module(module), parser.__name__)
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=21)
    parser.add_argument("--before", type=Path, help="another copy of the package, timed in the same run")
    args = parser.parse_args()
    print(machine())
    print(f"median of {args.runs} runs each\n")
    columns = ["page".ljust(24), "   KB", " bare ms", " ours ms", "  bs4 ms", "ours/bare", "bs4/ours"]
    if args.before:
        columns += ["before ms", "speed-up"]
    header = "| " + " | ".join(columns) + " |"
    print(header)
    print("|" + "|".join("-" * (len(c)) for c in header.split("|")[1:-1]) + "|")
    for label, text, url, bare_fn, ours, baseline in case_list():
        bare = median_seconds(bare_fn, args.runs)
        mine = median_seconds(lambda text=text, url=url, ours=ours: ours(text, url), args.runs)
        size = len(text.encode()) // 1024
        cells = [f"{label:24}", f"{size:5d}", f"{bare * 1e3:8.2f}", f"{mine * 1e3:8.2f}"]
        if baseline is None:
            cells += [f"{'n/a':>8}", f"{mine / bare:8.1f}x", f"{'n/a':>8}"]
        else:
            runs = max(5, args.runs // 3)
            theirs = median_seconds(lambda text=text, url=url, b=baseline: b(text, url), runs)
            cells += [f"{theirs * 1e3:8.2f}", f"{mine / bare:8.1f}x", f"{theirs / mine:7.1f}x"]
        if args.before:
            old = same_parser(args.before, ours)
            then = median_seconds(lambda text=text, url=url, old=old: old(text, url), args.runs)
            cells += [f"{then * 1e3:9.2f}", f"{then / mine:7.2f}x"]
        print("| " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
