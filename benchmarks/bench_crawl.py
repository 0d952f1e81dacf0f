"""Crawl throughput: our ``crawl_forum`` vs a bare httpx loop over the same URLs (issue 7).

A generated X3.5 forum (UTF-8) is served on 127.0.0.1 by a ``ThreadingHTTPServer`` in a **separate
process**, so the server's Python does not compete with the client for one GIL (it still competes
for the machine's cores, equally for both contenders). The forum is the fixture's own index
(``index/x35_index.html``: boards 3, 7 and ``share``); board 3 holds ``--threads`` generated
threads of ``--pages`` pages of 10 posts each (pages built by ``generate.py`` from the fixture
thread t2001, the tid rewritten per thread), listed 20 rows per board page built from the fixture
board page's own row markup; boards 7 and ``share`` are the fixture pages as they are. With
``--latency MS`` the server waits that long before answering each request (a real forum answers in
tens to hundreds of milliseconds); the default 0 answers at once, which makes both contenders
CPU-bound.

For each concurrency: first ``crawl_forum(concurrency=C)`` on ``AsyncDiscuzClient(rate=None,
concurrency=C)`` (parse every page into models, merge posts), then a bare loop — ``asyncio`` +
``Semaphore(C)`` + one ``httpx.AsyncClient`` — GETs exactly the URLs the crawl requested (taken
from the server's log) and reads each body, nothing else. Reported: wall seconds, requests/s,
client CPU seconds per page (this process and its parse workers, if any; the server is elsewhere),
and ours/bare throughput. The bare loop knows every URL up front; the crawl has to discover them
(index → board pages → threads → thread pages), which limits its parallelism at the start.

    python benchmarks/bench_crawl.py                 # 200 threads x 10 pages (~2,000 pages)
    python benchmarks/bench_crawl.py --threads 50    # quicker
    python benchmarks/bench_crawl.py --latency 50    # each answer 50 ms late, as over a real network
    python benchmarks/bench_crawl.py --profile 4     # cProfile of our crawl at concurrency 4
    python benchmarks/bench_crawl.py --fetch-only    # our fetch path alone (no parsing) vs bare

Bounded: every request goes to the loopback server, the URL list is finite and the server process
is terminated on exit.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import multiprocessing as mp
import os
import pstats
import re
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from generate import FIXTURES, load_template, thread_page

from discuz_scraper import AsyncDiscuzClient, Thread
from discuz_scraper.access import crawling
from discuz_scraper.crawl import CrawlReport

POSTS_PER_PAGE = 10
ROWS_PER_BOARD_PAGE = 20
FIRST_TID = 5001
HOST = "http://forum.test"
# Where t2001's own tid appears in a generated page: links (tid=, ptid=) and the canonical URL.
# The copyright line "2001-2026" must stay, hence the anchored patterns.
_TID = re.compile(rb"(?<=tid=)2001(?!\d)|(?<=thread-)2001(?=-)")
_ROW = re.compile(rb'<tbody id="normalthread_2001">.*?</tbody>\n', re.S)
_BOARD_PAGER = re.compile(rb'<span id="fd_page_top">.*?</span>\n', re.S)
_TPS = re.compile(rb'<span class="tps">.*?</span>\n', re.S)


class Site:
    """Every page of the generated forum as bytes, or as pieces to join around a tid."""

    def __init__(self, threads: int, pages: int) -> None:
        self.threads, self.pages = threads, pages
        template = load_template("x35")
        # One generated body per page number, split at the tid so serving a thread is a join.
        self.thread_parts = [
            _TID.split(
                thread_page(
                    template, POSTS_PER_PAGE, page=page, pages=pages, per_page=POSTS_PER_PAGE
                ).encode()
            )
            for page in range(1, pages + 1)
        ]
        self.index = (FIXTURES / "index/x35_index.html").read_bytes()
        self.fixed = {
            ("7", 1): (FIXTURES / "board/x35_forum7_p1.html").read_bytes(),
            ("share", 1): (FIXTURES / "board/x35_forum8_share_p1.html").read_bytes(),
        }
        # The share board lists two fixture threads: serve them as they are.
        self.fixture_threads = {
            tid: (FIXTURES / f"thread/x35/t{tid}-p1.html").read_bytes() for tid in (2005, 2006)
        }
        self.board_pages = self._board_pages()

    def _board_pages(self) -> list[bytes]:
        page = (FIXTURES / "board/x35_forum3_crawl_p1.html").read_bytes()
        row = _TPS.sub(b"", _ROW.search(page).group(0))  # type: ignore[union-attr]
        replies = str(self.pages * POSTS_PER_PAGE - 1).encode()
        row = row.replace(b'class="xi2">12</a>', b'class="xi2">' + replies + b"</a>")
        # The sticky row and the other rows of the fixture page go: only generated rows remain.
        head = page[: page.index(b'<tbody id="stickthread_')]
        tail = page[page.index(b"</table>\n</form>") :]
        count = -(-self.threads // ROWS_PER_BOARD_PAGE)
        out = []
        for number in range(1, count + 1):
            tids = range(
                FIRST_TID + (number - 1) * ROWS_PER_BOARD_PAGE,
                FIRST_TID + min(number * ROWS_PER_BOARD_PAGE, self.threads),
            )
            rows = b"".join(row.replace(b"2001", str(tid).encode()) for tid in tids)
            # The "load more" button below the list carries the page count too (totalpage=).
            more = (
                f'rel="forum-3-{number + 1}.html" curpage="{number}" id="autopbn" totalpage="{count}"'
            ).encode()
            page_tail = tail.replace(b'rel="forum-3-2.html" curpage="1" id="autopbn" totalpage="2"', more)
            pager = _pager(number, count)
            out.append(_BOARD_PAGER.sub(lambda _, pager=pager: pager, head, count=1) + rows + page_tail)
        return out

    def answer(self, query: dict[str, str], script: str) -> bytes | None:
        mod = query.get("mod")
        if script == "forum.php" and mod is None:
            return self.index
        page = int(query.get("page", "1") or 1)
        if mod == "forumdisplay":
            fid = query.get("fid", "")
            if fid == "3":
                return self.board_pages[min(page, len(self.board_pages)) - 1]
            return self.fixed.get((fid, 1))
        if mod == "viewthread":
            tid = int(query.get("tid", "0"))
            if tid in self.fixture_threads:
                return self.fixture_threads[tid]
            if FIRST_TID <= tid < FIRST_TID + self.threads:
                return str(tid).encode().join(self.thread_parts[min(page, self.pages) - 1])
        return None


def _pager(page: int, pages: int) -> bytes:
    links = [f"<strong>{page}</strong>"]
    if page < pages:
        links.append(f'<a href="forum-3-{page + 1}.html">{page + 1}</a>')
    links.append(f'<label><span title="共 {pages} 页"> / {pages} 页</span></label>')
    if page < pages:
        links.append(f'<a href="forum-3-{page + 1}.html" class="nxt">下一页</a>')
    return f'<span id="fd_page_top"><div class="pg">{"".join(links)}</div></span>\n'.encode()


# --- the server process ------------------------------------------------------------------------


def serve(threads: int, pages: int, latency: float, ready: Any) -> None:
    site = Site(threads, pages)
    log: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as a real forum
        # Headers and body leave in two writes: with Nagle on, the second waits for the client's
        # delayed ACK (~40 ms a request), which would measure the TCP stack, not the clients.
        disable_nagle_algorithm = True

        def do_GET(self) -> None:
            path, _, raw = self.path.partition("?")
            if path == "/__log":  # the benchmark's own control endpoint: hand over and clear the log
                body, status = "\n".join(log).encode(), 200
                log.clear()
            else:
                if latency:  # each connection has its own handler thread: concurrent requests wait together
                    time.sleep(latency)
                log.append(self.path)
                query = dict(part.partition("=")[::2] for part in raw.split("&") if part)
                script = path.removeprefix("/bbs/")
                found = site.answer(query, script) if path.startswith("/bbs/") else None
                body, status = (found, 200) if found is not None else (b"not found", 404)
                body = body.replace(HOST.encode(), origin)
            self.send_response(status)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            """Silent: the log above is the record."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    origin = f"http://127.0.0.1:{server.server_address[1]}".encode()
    ready.put(server.server_address[1])
    server.serve_forever()


# --- the contenders ----------------------------------------------------------------------------


async def ours(base: str, concurrency: int, parse_workers: int = 0) -> tuple[int, int]:
    async with AsyncDiscuzClient(
        base, rate=None, concurrency=concurrency, timeout=60.0, parse_workers=parse_workers
    ) as client:
        threads = posts = 0
        async for event in client.crawl_forum(concurrency=concurrency):
            if isinstance(event, Thread):
                threads += 1
                posts += len(event.posts)
            elif isinstance(event, CrawlReport) and event.failures:
                raise SystemExit(f"crawl failures: {event.failures[:3]}")
        return threads, posts


async def ours_fetch_only(base: str, origin: str, targets: list[str], concurrency: int) -> int:
    """Our fetch path without parsing: each URL through the page flow a crawl uses (robots.txt,
    access policy, retries, pacing, redirects, decoding), the client's own cap as the gate."""
    async with AsyncDiscuzClient(base, rate=None, concurrency=concurrency, timeout=60.0) as client:

        async def fetch(target: str) -> int:
            crawling.set(True)  # as in a crawl's workers (each task has its own context copy)
            response = await client._fetcher.get(origin + target)  # the client has no public raw GET
            return len(response.content)

        # robots.txt is fetched by the flow itself, once.
        sizes = await asyncio.gather(*(fetch(t) for t in targets if t != "/robots.txt"))
    return sum(sizes)


async def bare(origin: str, targets: list[str], concurrency: int) -> int:
    gate = asyncio.Semaphore(concurrency)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=origin, limits=limits, timeout=60.0) as client:

        async def fetch(target: str) -> int:
            async with gate:
                response = await client.get(target)
                return len(response.content)

        sizes = await asyncio.gather(*(fetch(t) for t in targets))
    return sum(sizes)


def _cpu() -> float:
    """CPU seconds of this process and of its reaped children: the parse workers, which the
    client joins when it closes (the server process runs until the end, so it is not counted)."""
    times = os.times()
    return times.user + times.system + times.children_user + times.children_system


def measure(run: Any) -> tuple[float, float, Any]:
    cpu, wall = _cpu(), time.perf_counter()
    result = asyncio.run(run)
    return time.perf_counter() - wall, _cpu() - cpu, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=200)
    parser.add_argument("--pages", type=int, default=10, help="pages per thread")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 4, 16])
    parser.add_argument(
        "--latency", type=float, default=0.0, metavar="MS", help="server delay before each answer (ms)"
    )
    parser.add_argument(
        "--profile", type=int, metavar="C", help="cProfile our crawl at concurrency C instead"
    )
    parser.add_argument("--sort", default="tottime", help="pstats sort key for --profile (e.g. cumtime)")
    parser.add_argument(
        "--parse-workers", type=int, default=0, metavar="N", help="our crawl parses in N worker processes"
    )
    parser.add_argument(
        "--fetch-only",
        action="store_true",
        help="ours = our fetch path alone over the crawl's URLs, no parsing (its overhead over bare)",
    )
    args = parser.parse_args()

    ready: Any = mp.get_context("spawn").Queue()
    server = mp.get_context("spawn").Process(
        target=serve, args=(args.threads, args.pages, args.latency / 1000, ready), daemon=True
    )
    server.start()
    try:
        port = ready.get(timeout=60)
        origin = f"http://127.0.0.1:{port}"
        base = origin + "/bbs/"
        # httpx imports its async stack on first use: pay that here, not in the first timed crawl.
        asyncio.run(bare(origin, ["/bbs/forum.php"], 1))
        httpx.get(origin + "/__log")
        if args.profile:
            profile = cProfile.Profile()
            profile.enable()
            asyncio.run(ours(base, args.profile))
            profile.disable()
            out = io.StringIO()
            pstats.Stats(profile, stream=out).sort_stats(args.sort).print_stats(30)
            print(out.getvalue())
            return
        print(f"{args.threads} threads x {args.pages} pages of {POSTS_PER_PAGE} posts; "
              f"server latency {args.latency:g} ms; parse workers {args.parse_workers}; "
              f"python {sys.version.split()[0]}, {mp.cpu_count()} cores")
        print("| conc | pages | ours s | ours req/s | ours CPU ms/page | bare s | bare req/s "
              "| bare CPU ms/page | ours/bare |")
        print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        if args.fetch_only:  # the URLs of one untimed crawl
            threads, posts = asyncio.run(ours(base, max(args.concurrency)))
            crawled = httpx.get(origin + "/__log").text.splitlines()
        for concurrency in args.concurrency:
            if args.fetch_only:
                wall, cpu, _ = measure(ours_fetch_only(base, origin, crawled, concurrency))
            else:
                wall, cpu, (threads, posts) = measure(ours(base, concurrency, args.parse_workers))
            targets = httpx.get(origin + "/__log").text.splitlines()
            bare_wall, bare_cpu, _ = measure(bare(origin, targets, concurrency))
            httpx.get(origin + "/__log")
            n = len(targets)
            print(
                f"| {concurrency} | {n} | {wall:.2f} | {n / wall:.0f} | {1000 * cpu / n:.2f} "
                f"| {bare_wall:.2f} | {n / bare_wall:.0f} | {1000 * bare_cpu / n:.2f} "
                f"| {bare_wall / wall:.2f}× |",
                flush=True,
            )
            assert threads == args.threads + 2, threads  # + the share board's two fixture threads
        print(f"(last crawl: {threads} threads, {posts} posts)")
    finally:
        server.terminate()
        server.join(10)


if __name__ == "__main__":
    main()
