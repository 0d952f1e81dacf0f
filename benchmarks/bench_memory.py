"""Streaming memory benchmark: ``DiscuzClient.iter_posts`` over generated 1,000- and 10,000-post
threads; peak RSS and tracemalloc peak must not grow with the thread's length.

Run by hand:

    python benchmarks/bench_memory.py            # both sizes, each in a fresh subprocess

Pages are generated on the fly by an ``httpx.MockTransport`` handler (20 posts a page, like
Discuz's default ``ppp``), so nothing is held in memory except the page being served; no
network is used. Each size runs in its own fresh interpreter so ``ru_maxrss`` (a high-water mark
that never goes down) belongs to that size alone. Posts are consumed and dropped, as a streaming
pipeline would: the question is whether the *library* keeps anything per post.
"""

from __future__ import annotations

import json
import math
import resource
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from generate import load_template, thread_page

from discuz_scraper import DiscuzClient

PER_PAGE = 20


def run(total_posts: int) -> dict[str, float]:
    template = load_template("x35")  # UTF-8: the page bytes are the str's encoding
    pages = math.ceil(total_posts / PER_PAGE)

    def handler(request: httpx.Request) -> httpx.Response:
        page = int(parse_qs(urlsplit(str(request.url)).query).get("page", ["1"])[0])
        count = min(PER_PAGE, total_posts - (page - 1) * PER_PAGE)
        html = thread_page(template, count, page=page, pages=pages, per_page=PER_PAGE)
        return httpx.Response(200, content=html.encode("utf-8"),
                              headers={"content-type": "text/html; charset=utf-8"})

    base = template.url.rsplit("/", 1)[0] + "/"
    tracemalloc.start()
    start = time.perf_counter()
    seen = 0
    last_floor = 0
    with DiscuzClient(base, transport=httpx.MockTransport(handler), rate=None) as client:
        for post in client.iter_posts(template.tid):
            seen += 1
            last_floor = post.floor or last_floor
    elapsed = time.perf_counter() - start
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    if seen != total_posts or last_floor != total_posts:
        raise SystemExit(f"streamed {seen} posts (last floor {last_floor}), expected {total_posts}")
    return {
        "posts": total_posts,
        "pages": pages,
        "seconds": round(elapsed, 2),
        "tracemalloc_peak_mb": round(peak / 2**20, 2),
        # ru_maxrss is KiB on Linux.
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "--child":
        print(json.dumps(run(int(sys.argv[2]))))
        return
    print("| posts | pages | seconds | tracemalloc peak MB | peak RSS MB |")
    print("|------:|------:|--------:|--------------------:|------------:|")
    for size in (1_000, 10_000):
        out = subprocess.run([sys.executable, __file__, "--child", str(size)], check=True,
                             capture_output=True, text=True).stdout
        r = json.loads(out)
        cells = [r["posts"], r["pages"], r["seconds"], r["tracemalloc_peak_mb"], r["peak_rss_mb"]]
        print("| " + " | ".join(str(c) for c in cells) + " |", flush=True)


if __name__ == "__main__":
    main()
