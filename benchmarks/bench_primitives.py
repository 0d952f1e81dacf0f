"""What one thread post costs to read, primitive by primitive, against the ≤ 1.5× parse budget.

Run by hand (timings are never asserted):

    python benchmarks/bench_primitives.py [--posts 50] [--edition x34|x35]

The issue 7 target is "our full extraction ≤ 1.5× selectolax's bare parse". That leaves, per
post, half of the bare parse's own time for everything the parser does on top of it. This script
measures, on a generated thread page (see ``generate.py``), what the building blocks of a
selector-based parser cost on this machine — one ``css_first`` on a post's table (split into the
selector compilation, paid on every call because selectolax keeps no compiled selectors, and the
matching), a Python walk per element, an attribute dict, one ``text()``, one pydantic ``Post``
validation — and prints how many of each fit into that budget, next to what our parser spends
per post today. Each number is the minimum of several repeats (the least disturbed run).
"""

from __future__ import annotations

import argparse
import sys
import timeit
from collections.abc import Callable
from pathlib import Path

from selectolax.lexbor import LexborHTMLParser

sys.path.insert(0, str(Path(__file__).resolve().parent))

from generate import load_template, thread_page

from discuz_scraper.models import Post
from discuz_scraper.parsers._dom import text
from discuz_scraper.parsers.thread import parse_thread_page


def best_us(fn: Callable[[], object], per: int, number: int = 5, repeat: int = 9) -> float:
    """Minimum over ``repeat`` runs of ``number`` calls, in µs per item (``per`` items a call)."""
    return min(timeit.repeat(fn, number=number, repeat=repeat)) / number / per * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=50)
    parser.add_argument("--edition", choices=("x34", "x35"), default="x34")
    args = parser.parse_args()
    template = load_template(args.edition)
    html = thread_page(template, args.posts)
    tree = LexborHTMLParser(html)
    tables = tree.css("#postlist > div > table.plhin")
    elements = sum(1 for table in tables for _ in table.traverse())
    leaf = tree.css_first("title")
    links = [table.css_first("a.xw1") for table in tables]
    posts = parse_thread_page(html, template.url).posts
    dumps = [post.model_dump() for post in posts]
    n = len(tables)

    bare = best_us(lambda: LexborHTMLParser(html), n)
    ours = best_us(lambda: parse_thread_page(html, template.url), n)
    lookup = best_us(lambda: [table.css_first("div.sign") for table in tables], n)
    compile_only = best_us(lambda: [leaf.css_first("div.sign") for _ in tables], n)
    walk = best_us(lambda: [[node.tag for node in table.traverse()] for table in tables], elements)
    attrs = best_us(lambda: [[node.attributes for node in table.traverse()] for table in tables], elements)
    text_call = best_us(lambda: [text(link) for link in links], n)
    validate = best_us(lambda: [Post.model_validate(dump) for dump in dumps], n)

    budget = bare * 0.5
    print(f"{args.edition}, {n} posts, {elements / n:.0f} elements per post table; µs per post unless said")
    print(f"  bare parse                       {bare:8.1f}")
    print(f"  ours (full extraction)           {ours:8.1f}   = {ours / bare:.1f}x bare")
    print(f"  budget at 1.5x (beyond the parse){budget:8.1f}")
    rows = [
        ("css_first on the post table", lookup),
        ("  of which selector compilation", compile_only),
        ("walk one element (tag)", walk),
        ("walk one element + attribute dict", attrs),
        ("text() of a link", text_call),
        ("Post model validation", validate),
    ]
    print(f"\n  {'primitive':36} {'µs':>7} {'fit in budget':>14}")
    for label, cost in rows:
        print(f"  {label:36} {cost:7.2f} {budget / cost:14.1f}")
    print(f"\n  ours spends {ours - bare:.0f} µs/post beyond the parse = "
          f"{(ours - bare) / lookup:.0f} lookups' worth")


if __name__ == "__main__":
    main()
