"""Media downloads: safe names inside the folder, Referer, de-duplication, resume, size cap."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from discuz_scraper import DiscuzClient
from discuz_scraper.cli import main
from discuz_scraper.media import SIDECAR, safe_name
from discuz_scraper.models import Attachment, Author, Image, Post
from discuz_scraper.store import SQLiteStore
from discuz_scraper.testing import FixtureForum, fixtures_root

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



class RefererForum(FixtureForum):
    """The fixture forum, also noting the ``Referer`` each request came with."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.referers: list[tuple[str, str | None]] = []

    def handle(self, method: str, url: str, headers: Any = None, body: bytes = b"") -> Any:
        self.referers.append((url.removeprefix(self.host), dict(headers or {}).get("Referer")))
        return super().handle(method, url, headers, body)


# Discuz's base64 attachment token ("aid|key|expiry|uid|tid"); only the aid part differs.
AID = "{}fGE0YjVjNmQ3fDE3OTMwMDAwMDB8MHwxMDAx"
MEDIA = fixtures_root() / "media"


def test_media_command_on_a_crawled_store(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = fixtures_root()
    forum = RefererForum.from_file(root / "forum" / "routes.json", root=root)
    db, out = tmp_path / "crawl.db", tmp_path / "media"
    with forum.serve() as server:
        base = server.site_url("x34")
        # Exit 3: board 2 lists the members-only sub-board 9 and the read-protected thread 1012.
        assert main(["crawl", base + "forum-2-1.html", "--db", str(db), "--rate", "0", "-q"]) == 3
        with SQLiteStore(db) as store:
            # No fixture page has an attachment without a file name: give post 3101 two, whose
            # extension only the answer can tell (magic bytes for aid 304, Content-Type for 305).
            thread = store.get_thread(base, 1001)
            first = thread.posts[0]
            extra = [
                Image(url=f"{base}forum.php?mod=attachment&aid={AID.format(tag)}", aid=aid, kind="attachment")
                for aid, tag in ((304, "MzA0"), (305, "MzA1"))
            ]
            first = first.model_copy(update={"images": [*first.images, *extra]})
            store.save_thread(thread.model_copy(update={"posts": [first, *thread.posts[1:]]}), base)
        forum.referers.clear()
        media = ["media", "--db", str(db), "-o", str(out), "--rate", "0", "--concurrency", "1", "--site-only"]
        assert main([*media, "-q"]) == 0
        fetched = list(forum.referers)
        forum.referers.clear()
        assert main([*media, "-q"]) == 0
        again = list(forum.referers)
    site_dir = f"127.0.0.1_{server.port}/1001"
    permalink = f"{base}forum.php?mod=viewthread&tid=1001"  # post 3101's link: the page it sits on
    attachment = "/forum.php?mod=attachment&aid="
    assert fetched == [
        ("/data/attachment/forum/202611/02/201402bamboo301.jpg", permalink),
        ("/data/attachment/forum/202611/02/201355night302.jpg", permalink),
        (attachment + AID.format("MzA0"), permalink),
        (attachment + AID.format("MzA1"), permalink),
        (attachment + AID.format("MzAx") + "&nothumb=yes", permalink),
        (attachment + AID.format("MzAy") + "&nothumb=yes", permalink),
        (attachment + AID.format("MzAz"), permalink),
    ], "each URL once, with the post's page as Referer; post 3102's image on pic.example.net is not asked for"
    assert again == [], "a second run finds everything in the sidecar"
    assert files(out) == [
        f"{site_dir}/aid304.png",  # application/octet-stream: the PNG magic decides
        f"{site_dir}/aid305.txt",  # no known magic: text/plain decides
        f"{site_dir}/成品夜景.jpg",
        f"{site_dir}/灯罩图纸.zip",
        f"{site_dir}/灯罩骨架.jpg",
        SIDECAR,
    ]
    for name, fixture in (("aid304.png", "sketch304.png"), ("aid305.txt", "notes305.txt"),
                          ("成品夜景.jpg", "night302.jpg"), ("灯罩图纸.zip", "drawing303.zip"),
                          ("灯罩骨架.jpg", "bamboo301.jpg")):
        assert (out / site_dir / name).read_bytes() == (MEDIA / fixture).read_bytes()
    sidecar = [json.loads(line) for line in (out / SIDECAR).read_text("utf-8").splitlines()]
    assert [(r["site"], r["tid"], r["pid"], r["floor"], r["kind"], r["aid"], r["status"], r["file"],
             r["content_type"]) for r in sidecar] == [
        (base, 1001, 3101, 1, "image", 301, "saved", f"{site_dir}/灯罩骨架.jpg", "image/jpeg"),
        (base, 1001, 3101, 1, "image", 302, "saved", f"{site_dir}/成品夜景.jpg", "image/jpeg"),
        (base, 1001, 3101, 1, "image", 304, "saved", f"{site_dir}/aid304.png", "application/octet-stream"),
        (base, 1001, 3101, 1, "image", 305, "saved", f"{site_dir}/aid305.txt", "text/plain; charset=utf-8"),
        (base, 1001, 3101, 1, "attachment", 301, "duplicate", f"{site_dir}/灯罩骨架.jpg", "image/jpeg"),
        (base, 1001, 3101, 1, "attachment", 302, "duplicate", f"{site_dir}/成品夜景.jpg", "image/jpeg"),
        (base, 1001, 3101, 1, "attachment", 303, "saved", f"{site_dir}/灯罩图纸.zip", "application/zip"),
    ]
    assert [r["url"] for r in sidecar] == [base + target.lstrip("/") for target, _ in fetched]
    assert capsys.readouterr().err.splitlines()[-1] == (
        f"media: 7 done, 0 failed -> {out} (records in {SIDECAR})"
    )
