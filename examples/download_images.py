"""Download the images of a thread, with metadata: floor, author, time and the post's text.

    python examples/download_images.py                      # the bundled fixture forum (offline)
    python examples/download_images.py https://bbs.example.com/thread-123-1-1.html -o images/

``client.download`` fetches each file politely (the client's rate limit and cookies, the post's
page as Referer, which attachment links check), picks a safe file name, skips files already
downloaded (sidecar ``media.jsonl``) and stores one copy per content. This script adds a
``metadata.jsonl`` beside the files that links each file to its post. Images hosted elsewhere
(``[img]`` links to other sites) are left out unless ``--remote`` is given.

The fixture forum serves pages only, so without a URL the script serves it with a small extension
that answers ``data/attachment/...`` image URLs with generated PNG files.
"""

from __future__ import annotations

import argparse
import json
import struct
import zlib
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit

from discuz_scraper import DiscuzClient, Thread
from discuz_scraper.testing import FixtureForum, ForumResponse, fixtures_root
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


# --- the offline demo: the fixture forum plus image bytes ----------------------------------------


def png(width: int, height: int, rgb: tuple[int, int, int]) -> bytes:
    """A plain-colour PNG, written by hand so the demo needs no imaging library."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + bytes(rgb) * width for _ in range(height))  # filter byte 0 per row
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB
    body = chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")
    return b"\x89PNG\r\n\x1a\n" + body


class ForumWithImages(FixtureForum):
    """The fixture forum, answering its attachment image URLs with a PNG coloured by the URL."""

    def handle(
        self, method: str, url: str, headers: Mapping[str, str] | None = None, body: bytes = b""
    ) -> ForumResponse:
        path = urlsplit(url).path
        if path.startswith("/data/attachment/"):
            shade = zlib.crc32(path.encode())
            colour = (shade & 0xFF, (shade >> 8) & 0xFF, (shade >> 16) & 0xFF)
            return ForumResponse(200, {"Content-Type": "image/png"}, png(64, 48, colour))
        return super().handle(method, url, headers, body)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url", nargs="?", help="any thread URL (default: the offline fixture forum)")
    parser.add_argument("-o", "--output", type=Path, default=Path("images"), help="folder (default: images/)")
    parser.add_argument("--remote", action="store_true", help="also download images hosted on other sites")
    args = parser.parse_args()

    if args.url:
        thread, rows = download_thread_images(args.url, args.output, remote=args.remote)
    else:
        root = fixtures_root()
        forum = ForumWithImages.from_file(root / "forum" / "routes.json", root=root)
        with forum.serve() as server:
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
            assert (args.output / row["file"]).read_bytes().startswith(b"\x89PNG"), row


if __name__ == "__main__":
    main()
