"""Media downloads: safe names inside the folder, Referer, de-duplication, resume, size cap."""

from __future__ import annotations

import json
from pathlib import Path

import httpx

from discuz_scraper import DiscuzClient
from discuz_scraper.media import SIDECAR, safe_name
from discuz_scraper.models import Attachment, Author, Image, Post

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 24
ZIP = b"PK\x03\x04" + b"zipped" * 4
SITE = "http://forum.test/"


def post(pid: int, *media: Image | Attachment) -> Post:
    return Post(
        pid=pid, tid=1001, floor=pid - 3100, page=1, author=Author(uid=5, name="竹影清风"),
        images=[m for m in media if isinstance(m, Image)],
        attachments=[m for m in media if isinstance(m, Attachment)],
        permalink=f"{SITE}forum.php?mod=redirect&goto=findpost&ptid=1001&pid={pid}",
    )


def serve(bodies: dict[str, bytes], seen: list[tuple[str, str | None]]) -> httpx.MockTransport:
    def answer(request: httpx.Request) -> httpx.Response:
        seen.append((str(request.url), request.headers.get("referer")))
        body = bodies.get(str(request.url))
        if body is None:
            return httpx.Response(404, text="missing")
        return httpx.Response(200, content=body, headers={"Content-Type": "application/octet-stream"})

    return httpx.MockTransport(answer)


def files(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


def test_safe_names() -> None:
    assert safe_name("../../x") == "x"
    assert safe_name("/etc/passwd") == "passwd"
    assert safe_name("..\\..\\win.ini") == "win.ini"
    assert safe_name("a\x00b.png") == "ab.png"
    assert safe_name("CON") == "_CON"
    assert safe_name("lpt1.txt") == "_lpt1.txt"
    assert safe_name("..") == "file"
    assert safe_name("", "aid7") == "aid7"
    long = safe_name("竹" * 100 + ".jpg")
    assert long.endswith(".jpg") and len(long.encode()) <= 150


def test_download_with_referer_hostile_names_dedupe_resume_and_cap(tmp_path: Path) -> None:
    hostile = Attachment(aid=7, filename="../../evil.zip", url=f"{SITE}forum.php?mod=attachment&aid=7")
    nameless = Attachment(aid=8, filename="\x00", url=f"{SITE}forum.php?mod=attachment&aid=8")
    same_png = Image(url=f"{SITE}data/attachment/forum/a.png", aid=9, kind="attachment")
    copy_png = Image(url=f"{SITE}data/attachment/forum/copy-of-a.png")
    big = Attachment(aid=10, filename="big.bin", url=f"{SITE}forum.php?mod=attachment&aid=10")
    bodies = {hostile.url: ZIP, nameless.url: PNG, same_png.url: PNG, copy_png.url: PNG, big.url: b"x" * 5000}
    seen: list[tuple[str, str | None]] = []
    root = tmp_path / "media"
    jobs = [(post(3101, hostile, same_png), hostile), (post(3101, hostile, same_png), same_png),
            (post(3102, nameless), nameless), (post(3103, copy_png), copy_png), (post(3104, big), big)]
    with DiscuzClient(SITE, transport=serve(bodies, seen), rate=None) as client:
        records = [client.download(media, root, post=owner, max_size=4096) for owner, media in jobs]

    assert [(r.status, r.file) for r in records] == [
        ("saved", "forum.test/1001/evil.zip"),
        ("saved", "forum.test/1001/a.png"),
        ("duplicate", "forum.test/1001/a.png"),  # same bytes, other URL: one stored file
        ("duplicate", "forum.test/1001/a.png"),
        ("too_large", None),
    ]
    assert files(tmp_path) == [
        "media/forum.test/1001/a.png", "media/forum.test/1001/evil.zip", f"media/{SIDECAR}"
    ], "nothing outside the folder"
    assert (root / "forum.test/1001/evil.zip").read_bytes() == ZIP
    assert seen == [(media.url, owner.permalink) for owner, media in jobs], "each URL once, with Referer"
    sidecar = [json.loads(line) for line in (root / SIDECAR).read_text("utf-8").splitlines()]
    assert [(r["pid"], r["floor"], r["aid"], r["status"]) for r in sidecar] == [
        (3101, 1, 7, "saved"), (3101, 1, 9, "saved"), (3102, 2, 8, "duplicate"), (3103, 3, None, "duplicate"),
        (3104, 4, 10, "too_large"),
    ]

    # A second run skips everything finished; a stale .part of an unfinished file is replaced.
    (root / "forum.test/1001/late.png.part").write_bytes(b"half")
    late = Image(url=f"{SITE}data/attachment/forum/late.png")
    bodies[late.url] = PNG + b"late"
    seen.clear()
    with DiscuzClient(SITE, transport=serve(bodies, seen), rate=None) as client:
        again = [client.download(media, root, post=owner, max_size=4096) for owner, media in jobs]
        fresh = client.download(late, root, post=post(3105, late))
    assert again == records
    assert seen == [(late.url, post(3105, late).permalink)]
    assert fresh.file == "forum.test/1001/late.png"
    assert files(root) == [
        "forum.test/1001/a.png", "forum.test/1001/evil.zip", "forum.test/1001/late.png", SIDECAR
    ]

