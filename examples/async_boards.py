"""Crawl several boards at once with the async client; one rate limit covers them all.

    python examples/async_boards.py                          # the bundled fixture forum (offline)
    python examples/async_boards.py https://bbs.example.com/ 2 36 41

Each board's crawl is an async iterator of Board / ThreadSummary / Thread models ending with a
CrawlReport. ``asyncio.gather`` runs the crawls side by side; the client's per-host rate limit and
concurrency cap are shared, so more boards never means more load on the forum. Without arguments
the script crawls boards 3, 7 (empty) and ``share`` (an alias) of the fixture X3.5 site.
"""

from __future__ import annotations

import argparse
import asyncio

from discuz_scraper import AsyncDiscuzClient, CrawlReport, Thread
from discuz_scraper.testing import default_forum


async def crawl_board(dz: AsyncDiscuzClient, board: int | str) -> tuple[list[Thread], CrawlReport]:
    threads: list[Thread] = []
    async for event in dz.crawl_board(board):
        if isinstance(event, Thread):
            threads.append(event)
        elif isinstance(event, CrawlReport):
            return threads, event
    raise RuntimeError("a crawl always ends with its report")


async def crawl_boards(
    site_url: str, boards: list[int | str], rate: float | None = 2.0
) -> dict[int | str, list[Thread]]:
    async with AsyncDiscuzClient(site_url, rate=rate, concurrency=4) as dz:
        results = await asyncio.gather(*(crawl_board(dz, board) for board in boards))
    found: dict[int | str, list[Thread]] = {}
    for board, (threads, report) in zip(boards, results, strict=True):
        posts = sum(len(thread.posts) for thread in threads)
        print(f"board {board}: {len(threads)} threads, {posts} posts, {len(report.failures)} failures")
        found[board] = threads
    return found


def board_ref(text: str) -> int | str:
    return int(text) if text.isdigit() else text  # a fid, or a board alias such as "share"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("site", nargs="?", help="the forum's address (default: the offline fixture forum)")
    parser.add_argument("boards", nargs="*", type=board_ref, help="board ids or aliases")
    args = parser.parse_args()

    if args.site:
        asyncio.run(crawl_boards(args.site, args.boards))
        return
    with default_forum().serve() as server:
        # rate=None: the loopback fixture needs no politeness; keep the default 2/s for real forums.
        found = asyncio.run(crawl_boards(server.site_url("x35"), [3, 7, "share"], rate=None))
    # Board 3 lists 4 threads over 2 pages (thread 2001 alone has 13 posts on 3 pages), board 7 is
    # empty, and the alias board "share" holds threads 2005 and 2006.
    assert sorted(t.tid for t in found[3]) == [2001, 2002, 2003, 2004], found[3]
    assert sum(len(t.posts) for t in found[3]) == 19
    assert found[7] == [] and sorted(t.tid for t in found["share"]) == [2005, 2006]


if __name__ == "__main__":
    main()
