"""Use the pure parsers on saved pages: no client, no network, no event loop.

    python examples/parse_saved_html.py                      # the fixture pages shipped with the package
    python examples/parse_saved_html.py page1.html page2.html --url https://bbs.example.com/thread-123-1-1.html

The parsers take the page's bytes (any charset: GBK pages are decoded as gb18030) and the URL it
was fetched from (relative links and images are resolved against it), and return the same models
the client does. Useful for pages saved by a browser, by another crawler (Scrapy, wget, WARC
tools) or kept for re-parsing after a parser upgrade.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from discuz_scraper.models import Thread
from discuz_scraper.parsers.thread import build_thread, parse_thread_page
from discuz_scraper.testing import fixtures_root
from discuz_scraper.urls import thread_url


def parse_files(files: list[Path], url: str | None) -> Thread:
    pages = []
    for number, file in enumerate(files, start=1):
        # The URL only has to name the site and the page; the parser reads tid and page from the HTML.
        page_url = url or thread_url("http://forum.test/", 1001, number)
        pages.append(parse_thread_page(file.read_bytes(), page_url))
    # build_thread merges pages: hot/sticky replies repeated on page 1 are kept once, at their floor.
    return build_thread(pages)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="*", type=Path, help="saved pages of ONE thread, in page order")
    parser.add_argument("--url", help="the URL the pages were saved from")
    args = parser.parse_args()

    files = args.files or sorted((fixtures_root() / "thread" / "x34").glob("t1001-p*.html"))
    thread = parse_files(files, args.url)
    print(f"{thread.title} — {len(files)} pages, {len(thread.posts)} posts, {thread.views} views")
    for post in thread.posts[:3]:
        images = ", ".join(image.url for image in post.images) or "no images"
        print(f"  #{post.floor} {post.author.name} {post.created_at:%Y-%m-%d %H:%M} ({images})")

    if not args.files:
        # Thread 1001 as saved in fixtures/thread/x34 (GBK): 3 pages, 12 posts, 4567 views, and a
        # first post whose images are the full-size files, not the none.gif placeholders.
        assert thread.tid == 1001 and len(thread.posts) == 12 and thread.views == 4567, thread
        assert thread.posts[0].images[0].url == (
            "http://forum.test/data/attachment/forum/202611/02/201402bamboo301.jpg"
        ), thread.posts[0].images


if __name__ == "__main__":
    main()
