"""Feed the models into your own sink: a generator pipeline into a bounded queue and a CSV writer.

    python examples/custom_pipeline.py                      # the bundled fixture forum (offline)
    python examples/custom_pipeline.py https://bbs.example.com/ -o posts.csv

The crawl yields typed models as soon as they are fetched; the rest is plain Python. Here:

    crawl_forum()  ->  posts_of()  ->  rows()  ->  queue.Queue(maxsize=100)  ->  writer thread  ->  CSV

The bounded queue gives back-pressure: if the sink is slow (a database, a message broker, an
HTTP API), the crawl waits instead of piling posts up in memory. Swap ``csv_writer`` for a Kafka
producer, a DuckDB insert or a search-index bulk call and keep the rest.
"""

from __future__ import annotations

import argparse
import csv
import queue
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path

from discuz_scraper import CrawlReport, DiscuzClient, Post, Thread
from discuz_scraper.testing import default_forum

COLUMNS = ["tid", "thread_title", "pid", "floor", "author", "created_at", "chars", "images", "text"]
DONE = None  # the end-of-stream marker the writer stops on


def posts_of(site_url: str, report: list[CrawlReport], rate: float | None) -> Iterator[tuple[Thread, Post]]:
    """Source: every post of every thread of the forum (the final report goes to ``report``)."""
    with DiscuzClient(site_url, rate=rate) as dz:
        for event in dz.crawl_forum():
            if isinstance(event, Thread):
                for post in event.posts:
                    yield event, post
            elif isinstance(event, CrawlReport):
                report.append(event)


def rows(pairs: Iterable[tuple[Thread, Post]]) -> Iterator[dict[str, object]]:
    """Transform: flat rows; masked posts (banned, hidden, paid...) carry no text, so skip them."""
    for thread, post in pairs:
        if post.status != "normal":
            continue
        yield {
            "tid": post.tid,
            "thread_title": thread.title,
            "pid": post.pid,
            "floor": post.floor,
            "author": post.author.name,
            "created_at": post.created_at.isoformat() if post.created_at else "",
            "chars": len(post.text),
            "images": len(post.images),
            "text": post.text.replace("\n", " ")[:200],
        }


def csv_writer(path: Path, inbox: queue.Queue[dict[str, object] | None], written: list[int]) -> None:
    """Sink: runs in its own thread and writes until it reads the end marker."""
    # utf-8-sig: spreadsheet programs then read the Chinese text correctly.
    with path.open("w", encoding="utf-8-sig", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=COLUMNS)
        writer.writeheader()
        count = 0
        while (row := inbox.get()) is not DONE:
            writer.writerow(row)
            count += 1
    written.append(count)


def run(site_url: str, out: Path, rate: float | None = 2.0) -> tuple[int, CrawlReport]:
    inbox: queue.Queue[dict[str, object] | None] = queue.Queue(maxsize=100)
    written: list[int] = []
    report: list[CrawlReport] = []
    sink = threading.Thread(target=csv_writer, args=(out, inbox, written))
    sink.start()
    try:
        for row in rows(posts_of(site_url, report, rate)):
            inbox.put(row)  # blocks while the queue is full: back-pressure
    finally:
        inbox.put(DONE)
        sink.join()
    return written[0], report[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("site", nargs="?", help="the forum's address (default: the offline fixture forum)")
    parser.add_argument("-o", "--output", type=Path, default=Path("posts.csv"), help="CSV file")
    args = parser.parse_args()

    if args.site:
        count, report = run(args.site, args.output)
    else:
        with default_forum().serve() as server:
            # rate=None: the loopback fixture needs no politeness; keep the default 2/s for real forums.
            count, report = run(server.site_url("x35"), args.output, rate=None)
    print(f"wrote {count} rows to {args.output} ({report.threads} threads, {len(report.failures)} failures)")

    if not args.site:
        with args.output.open(encoding="utf-8-sig", newline="") as f:
            table = list(csv.DictReader(f))
        # The fixture X3.5 site: 6 threads holding 23 readable posts, 8 of them by 山猫.
        assert count == len(table) == 23, count
        assert sum(row["author"] == "山猫" for row in table) == 8
        assert {row["tid"] for row in table} == {"2001", "2002", "2003", "2004", "2005", "2006"}
        first = next(row for row in table if row["pid"] == "7101")
        assert first["author"] == "山猫" and first["floor"] == "1", first


if __name__ == "__main__":
    main()
