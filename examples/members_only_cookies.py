"""Read a members-only board with the cookies of your logged-in browser.

    python examples/members_only_cookies.py                 # the bundled fixture forum (offline)
    python examples/members_only_cookies.py https://bbs.example.com/forum-9-1.html --cookies cookies.json

Log in to the forum in your browser, export its cookies for the forum's domain with a cookie
export extension (a JSON array as written by Cookie-Editor / EditThisCookie, or a Netscape
``cookies.txt``) and pass the file. Logging in with a password (``dz.login(...)``) works too, but
it breaks as soon as the site shows a captcha; browser cookies do not. The cookie values stay in
the client: they are never logged, stored or exported.

Without a URL the script starts the fixture forum on 127.0.0.1 and writes the cookie export a
browser would give you for its member 茶客阿明, then reads board 9, which guests may not see.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from urllib.parse import urlsplit

from discuz_scraper import DiscuzClient, LoginRequired, Thread
from discuz_scraper.testing import default_forum
from discuz_scraper.urls import normalize_base


def read_board(url: str, cookies: Path | None, rate: float | None = 2.0) -> list[Thread]:
    with DiscuzClient(normalize_base(url), rate=rate, cookies=cookies) as dz:
        member = dz.whoami()  # None means the cookies did not log us in (expired, other domain...)
        print("logged in as:", member.name if member else "guest")
        threads = [dz.thread(row.tid) for row in dz.iter_threads(url)]
    for thread in threads:
        print(f"  thread {thread.tid}: {thread.title} ({len(thread.posts)} posts)")
    return threads


def browser_export(path: Path, host: str) -> None:
    """What a cookie export extension writes after logging in as the fixture member.

    The values are the fixture forum's made-up member 茶客阿明 (``fixtures/forum/routes.json``).
    """
    cookie = {"domain": host, "hostOnly": True, "httpOnly": True, "path": "/", "secure": False,
              "session": False, "expirationDate": 4102444800, "storeId": "0"}
    path.write_text(json.dumps([
        {**cookie, "name": "Ab3x_2132_saltkey", "value": "Sk7Wq2Lm"},
        {**cookie, "name": "Ab3x_2132_auth", "value": "b3Rhd0F1dGhUb2tlbjU4OTI"},
    ], indent=1), encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url", nargs="?", help="a members-only board URL (default: the fixture forum)")
    parser.add_argument("--cookies", type=Path, help="a browser cookie export (JSON) or cookies.txt")
    args = parser.parse_args()

    if args.url:
        read_board(args.url, args.cookies)
        return

    cookies = args.cookies or Path("cookies.json")
    with default_forum().serve() as server:
        board = server.site_url("x34") + "forum-9-1.html"
        try:
            # rate=None: the loopback fixture needs no politeness; keep the default 2/s for real forums.
            read_board(board, None, rate=None)
            raise AssertionError("a guest must not see board 9")
        except LoginRequired as exc:
            # A typed error instead of an empty list: the forum asked for a login.
            print(f"as a guest: {type(exc).__name__}: {exc.message}")
        browser_export(cookies, urlsplit(board).hostname or "127.0.0.1")
        threads = read_board(board, cookies, rate=None)
    # Board 9 holds one members-only thread, 1090, whose single post is by admin.
    assert [(t.tid, t.title, len(t.posts)) for t in threads] == [(1090, "会员专享：春茶品鉴笔记", 1)], threads
    assert threads[0].posts[0].author.name == "admin"


if __name__ == "__main__":
    main()
