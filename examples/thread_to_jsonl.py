"""Save every post of one thread as JSON Lines (one post per line), then read the file back.

    python examples/thread_to_jsonl.py                      # the bundled fixture forum (offline)
    python examples/thread_to_jsonl.py https://bbs.example.com/thread-123-1-1.html -o t123.jsonl

Without a URL the script starts the fixture forum on 127.0.0.1, fetches its thread 1001 (a GBK
Discuz! X3.4 thread over 3 pages) and checks the result.
"""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path

from discuz_scraper import DiscuzClient, Post
from discuz_scraper.testing import default_forum
from discuz_scraper.urls import normalize_base


def save_thread(url: str, out: Path, rate: float | None = 2.0) -> list[Post]:
    # iter_posts streams page by page, so a 10,000-post thread never sits in memory at once.
    with DiscuzClient(normalize_base(url), rate=rate) as dz, out.open("w", encoding="utf-8") as f:
        for post in dz.iter_posts(url):
            f.write(post.model_dump_json() + "\n")
    # Every line validates back into the same typed model.
    with out.open(encoding="utf-8") as f:
        return [Post.model_validate_json(line) for line in f]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url", nargs="?", help="any thread URL (default: the offline fixture forum)")
    parser.add_argument("-o", "--output", type=Path, help="JSONL file (default: thread-<tid>.jsonl)")
    args = parser.parse_args()

    if args.url:
        posts = save_thread(args.url, args.output or Path("thread.jsonl"))
    else:
        with default_forum().serve() as server:
            url = server.site_url("x34") + "thread-1001-1-1.html"
            # rate=None: the loopback fixture needs no politeness; keep the default 2/s for real forums.
            posts = save_thread(url, args.output or Path("thread-1001.jsonl"), rate=None)
        # The fixture thread's known shape: 12 floors, 4 authors posting 3 times each.
        authors = Counter(post.author.name for post in posts)
        assert [post.floor for post in posts] == list(range(1, 13)), posts
        assert authors == {"竹影清风": 3, "老木匠": 3, "青竹": 3, "阿土": 3}, authors

    authors = Counter(post.author.name for post in posts)
    print(f"saved {len(posts)} posts by {len(authors)} authors")
    first = posts[0]
    when = first.created_at.isoformat() if first.created_at else "?"
    print(f"floor {first.floor} by {first.author.name} at {when}: {first.text[:30]!r}")


if __name__ == "__main__":
    main()
