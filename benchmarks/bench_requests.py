"""Requests saved: the mobile API backend (``ppp`` 50 and 100) vs the desktop HTML pages (issue 7).

The same client call, ``DiscuzClient.thread(tid)``, on generated threads of several sizes, counted
at an ``httpx.MockTransport`` (no network, no timing: request counts do not depend on the machine).

- API: ``long_thread_transport`` from ``tests/test_backends.py`` (the generator the backend tests
  use: ``module=check`` plus ``module=viewthread`` honouring ``ppp``/``page``, a hot-reply copy
  on page 1), imported, not copied.
- HTML: ``generate.py`` pages of the x35 fixture thread, 10 posts a page (Discuz's default
  ``ppp``), with the "page N of M" pager.

The ``module=check`` probe is sent once per client; it is listed apart and not counted per thread.

    python benchmarks/bench_requests.py
"""

from __future__ import annotations

import sys
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent / "tests")]

from generate import load_template, thread_page  # noqa: E402
from test_backends import long_thread_transport  # noqa: E402

from discuz_scraper import DiscuzClient  # noqa: E402

HTML_PPP = 10
# >= 61 posts: the API generator always shows post 50061 as a hot reply on page 1.
SIZES = (120, 1000, 5000)


def api_requests(posts: int, ppp: int) -> tuple[int, int, int]:
    """(thread requests, probe requests, posts returned)."""
    sent: list[str] = []
    with DiscuzClient(
        "http://forum.test/bbs/", transport=long_thread_transport(sent, posts), rate=None,
        backend="api", api_ppp=ppp,
    ) as client:
        thread = client.thread(3001)
    assert thread.source == "api"
    return sent.count("viewthread"), sent.count("check"), len(thread.posts)


def html_requests(posts: int) -> tuple[int, int]:
    """(requests, posts returned) for a ``posts``-post thread, ``HTML_PPP`` posts a page."""
    template = load_template("x35")
    pages = -(-posts // HTML_PPP)
    sent: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        query = parse_qs(urlsplit(str(request.url)).query)
        page = int(query.get("page", ["1"])[0])
        sent.append(page)
        on_page = min(HTML_PPP, posts - (page - 1) * HTML_PPP)
        body = thread_page(template, on_page, page=page, pages=pages, per_page=HTML_PPP)
        headers = {"Content-Type": "text/html; charset=utf-8"}
        return httpx.Response(200, content=body.encode(), headers=headers)

    with DiscuzClient(
        "http://forum.test/bbs/", transport=httpx.MockTransport(handler), rate=None, backend="html"
    ) as client:
        thread = client.thread(template.tid)
    assert sorted(sent) == list(range(1, pages + 1)), "each page exactly once"
    return len(sent), len(thread.posts)


def main() -> None:
    print("| posts in thread | HTML (10/page) | API ppp=50 | API ppp=100 "
          "| per 1,000 posts: HTML | API 50 | API 100 |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    probes = set()
    for posts in SIZES:
        html, html_posts = html_requests(posts)
        api50, probe50, got50 = api_requests(posts, 50)
        api100, probe100, got100 = api_requests(posts, 100)
        assert html_posts == got50 == got100 == posts, (html_posts, got50, got100)
        probes |= {probe50, probe100}
        per = 1000 / posts
        print(f"| {posts} | {html} | {api50} | {api100} "
              f"| {html * per:.0f} | {api50 * per:.0f} | {api100 * per:.0f} |")
    print(f"plus {sorted(probes)} module=check probe(s) per client, whatever the number of threads")


if __name__ == "__main__":
    main()
