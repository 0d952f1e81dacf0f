"""Download the images of a thread, with metadata: floor, author, time and the post's text.

    python examples/download_images.py                      # the bundled fixture forum (offline)
    python examples/download_images.py https://bbs.example.com/thread-123-1-1.html -o images/

``client.download`` fetches each file politely (the client's rate limit and cookies, the post's
page as Referer, which attachment links check), picks a safe file name, skips files already
downloaded (sidecar ``media.jsonl``) and stores one copy per content. This script adds a
``metadata.jsonl`` beside the files that links each file to its post. Images hosted elsewhere
(``[img]`` links to other sites) are left out unless ``--remote`` is given. A post's
attachments (``post.attachments``) download the same way.

Without a URL the script starts the fixture forum on 127.0.0.1 and downloads the images of its
thread 1001 (tiny placeholder JPEG files).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from urllib.parse import urlsplit

from discuz_scraper import DiscuzClient, Thread
from discuz_scraper.testing import default_forum
from discuz_scraper.urls import normalize_base


def download_thread_images(
    url: str, dest: Path, *, remote: bool = False, rate: float | None = 2.0
) -> tuple[Thread, list[dict]]:
    with DiscuzClient(normalize_base(url), rate=rate) as dz:
        thread = dz.thread(url)
        own_host = urlsplit(dz.base_url).netloc
        rows = []
        for post in thread.posts:
            for image in post.images:
                if not remote and urlsplit(image.url).netloc != own_host:
                    continue
                record = dz.download(image, dest, post=post)
                rows.append({
                    "file": record.file, "status": record.status, "bytes": record.size, "url": image.url,
                    "tid": post.tid, "pid": post.pid, "floor": post.floor, "author": post.author.name,
                    "created_at": post.created_at.isoformat() if post.created_at else None,
                    "filename": image.filename, "post_text": post.text,
                })
    with (dest / "metadata.jsonl").open("w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    return thread, rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url", nargs="?", help="any thread URL (default: the offline fixture forum)")
    parser.add_argument("-o", "--output", type=Path, default=Path("images"), help="folder (default: images/)")
    parser.add_argument("--remote", action="store_true", help="also download images hosted on other sites")
    args = parser.parse_args()

    if args.url:
        thread, rows = download_thread_images(args.url, args.output, remote=args.remote)
    else:
        with default_forum().serve() as server:
            url = server.site_url("x34") + "thread-1001-1-1.html"
            # rate=None: the loopback fixture needs no politeness; keep the default 2/s for real forums.
            thread, rows = download_thread_images(url, args.output, rate=None)
    for row in rows:
        print(f"#{row['floor']} {row['author']}: {row['file']} ({row['status']}, {row['bytes']} bytes)")
    print(f"{len(rows)} images of thread {thread.tid} in {args.output}/, metadata in metadata.jsonl")

    if not args.url:
        # Thread 1001's first post shows two attachment images (the remote [img] on floor 2 is skipped).
        # A second run finds the same bytes already on disk ("duplicate": nothing is written twice).
        assert [(r["floor"], r["pid"], r["filename"]) for r in rows] == [
            (1, 3101, "灯罩骨架.jpg"), (1, 3101, "成品夜景.jpg"),
        ], rows
        for row in rows:
            assert row["status"] in ("saved", "duplicate"), row
            assert (args.output / row["file"]).read_bytes().startswith(b"\xff\xd8\xff"), row  # JPEG


if __name__ == "__main__":
    main()
