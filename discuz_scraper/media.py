"""Downloading the images and attachments of stored posts into a folder: ``discuz-scraper media``
and ``client.download(...)``.

:class:`MediaFolder` makes every decision and the clients only send the request it describes
(sync and async share it, like the clients share :class:`~discuz_scraper.client.BaseClient`):

- **polite**: each file is one GET through the client's fetcher (its rate limit, concurrency cap,
  retries and cookie jar), with the post's page as ``Referer`` (sites refuse attachment
  downloads without it);
- **safe names**: a file name from the forum (or its URL) is reduced to one path component
  (``../../x`` → ``x``), control characters and NUL are dropped, Windows-reserved names
  (``CON``, ``LPT1`` …) get a ``_`` prefix, long names are cut to :data:`MAX_NAME_BYTES`; files go
  to ``DIR/<site>/<tid>/<name>`` and a path that would still leave ``DIR`` is refused;
- **extensions**: a name without one (``forum.php?mod=attachment&aid=…``) gets it from the file's
  magic bytes, else from its ``Content-Type``;
- **a size cap** (``max_size``): a larger file is not written and is recorded as ``too_large``;
- **de-duplication** by SHA-256: one file per content, however many posts show it;
- **resumable**: bytes go to ``<name>.part`` and are renamed when complete, then a line is
  appended to the sidecar ``DIR/media.jsonl`` (:class:`MediaRecord`: site, tid, pid, floor, aid,
  url → file). A second run skips every (site, pid, url) the sidecar lists as done.
"""

from __future__ import annotations

import hashlib
import mimetypes
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Literal
from urllib.parse import unquote, urlsplit

from pydantic import BaseModel, ConfigDict, Field

from .access import Flow, Get
from .errors import DiscuzError, StoreError
from .http import Response
from .models import Attachment, Image, Post
from .store import PostImage, Store
from .urls import thread_url

__all__ = [
    "DEFAULT_MAX_SIZE",
    "MAX_NAME_BYTES",
    "SIDECAR",
    "MediaFolder",
    "MediaItem",
    "MediaRecord",
    "download_flow",
    "media_item",
    "safe_name",
    "stored_media",
]

DEFAULT_MAX_SIZE = 20 * 1024 * 1024
"""Files larger than this (bytes) are not kept; also the fetcher's own body cap by default."""

MAX_NAME_BYTES = 150
"""Longest file name written (UTF-8 bytes); file systems allow 255, the rest is headroom."""

SIDECAR = "media.jsonl"

MediaStatus = Literal["saved", "duplicate", "too_large", "failed"]

_RESERVED = frozenset(
    {"CON", "PRN", "AUX", "NUL"} | {f"COM{n}" for n in range(1, 10)} | {f"LPT{n}" for n in range(1, 10)}
)
_FORBIDDEN = re.compile(r'[\x00-\x1f\x7f<>:"|?*]')
# Script names in a URL say nothing about the file the script sends.
_SCRIPTS = frozenset({"php", "asp", "aspx", "jsp", "cgi", "html", "htm"})
_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", ".png"),
    (b"\xff\xd8\xff", ".jpg"),
    (b"GIF87a", ".gif"),
    (b"GIF89a", ".gif"),
    (b"%PDF-", ".pdf"),
    (b"PK\x03\x04", ".zip"),
    (b"Rar!\x1a\x07", ".rar"),
    (b"7z\xbc\xaf\x27\x1c", ".7z"),
    (b"BM", ".bmp"),
)


class _MediaRef(BaseModel):
    """Which post's image or attachment a download is about."""

    model_config = ConfigDict(extra="forbid")

    site: str
    tid: int
    pid: int | None
    floor: int | None = None
    kind: Literal["image", "attachment"]
    aid: int | None = None
    url: str


class MediaItem(_MediaRef):
    """One image or attachment to download, with the post it belongs to."""

    filename: str | None = Field(default=None, description="the name the forum shows, if any")
    referer: str = Field(description="the post's page, sent as Referer")


class MediaRecord(_MediaRef):
    """One line of the sidecar ``media.jsonl``: which file holds which post's image or attachment."""

    status: MediaStatus
    file: str | None = Field(default=None, description="path relative to the folder, '/'-separated")
    sha256: str | None = None
    size: int | None = None
    content_type: str | None = None
    error: str | None = None


def safe_name(name: str, fallback: str = "file") -> str:
    """``name`` as one harmless file name (see the module docstring); ``fallback`` if nothing is left."""
    last = name.replace("\\", "/").rsplit("/", 1)[-1]
    clean = _FORBIDDEN.sub("", last).strip(" .")
    if not clean:
        clean = fallback
    stem, dot, ext = clean.rpartition(".")
    if not dot:
        stem, ext = clean, ""
    if stem.split(".")[0].upper() in _RESERVED:
        clean = "_" + clean
    encoded = clean.encode("utf-8")
    if len(encoded) > MAX_NAME_BYTES:
        tail = ("." + ext).encode("utf-8") if dot and len(ext.encode("utf-8")) <= 16 else b""
        head = encoded[: MAX_NAME_BYTES - len(tail)].decode("utf-8", errors="ignore")
        clean = head + tail.decode("utf-8")
    return clean


def _has_extension(name: str) -> bool:
    stem, dot, ext = name.rpartition(".")
    return bool(dot and stem and ext and ext.isalnum() and len(ext) <= 5 and ext.lower() not in _SCRIPTS)


def _sniff(data: bytes, content_type: str | None) -> str:
    """The extension the bytes' magic number (else the Content-Type) names; empty if unknown."""
    for magic, ext in _MAGIC:
        if data.startswith(magic):
            return ext
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return ".webp"
    mime = (content_type or "").split(";", 1)[0].strip().lower()
    guessed = mimetypes.guess_extension(mime) if mime and mime != "application/octet-stream" else None
    return guessed or ""


def _site_dir(site: str) -> str:
    parts = urlsplit(site)
    return safe_name(f"{parts.netloc}{parts.path}".replace("/", "_").replace(":", "_").strip("_"), "site")


def media_item(site: str, media: Image | Attachment | PostImage, post: Post | None = None) -> MediaItem:
    """What to download for an image, an attachment or a stored :class:`~discuz_scraper.store.PostImage`.

    The post (given, or known from the ``PostImage``) supplies tid, pid, floor and the Referer; a
    bare ``Image``/``Attachment`` needs ``post``.
    """
    if isinstance(media, PostImage):
        tid, pid, floor, page, target = media.tid, media.pid, media.floor, None, media.image
    elif post is None:
        raise DiscuzError(f"a bare {type(media).__name__} needs the post it belongs to (post=...)")
    else:
        tid, pid, floor, page, target = post.tid, post.pid, post.floor, post.page, media
    referer = (post.permalink if post is not None else None) or thread_url(site, tid, page or 1)
    return MediaItem(
        site=site,
        tid=tid,
        pid=pid,
        floor=floor,
        kind="attachment" if isinstance(target, Attachment) else "image",
        aid=target.aid,
        url=target.url,
        filename=target.filename,
        referer=referer,
    )


def stored_media(store: Store, site: str | None = None) -> Iterator[MediaItem]:
    """Every image and attachment of the stored posts (of one site, or all), in thread and post order."""
    for record in store.iter_records("posts", site):
        post: Post = record.item
        for media in [*post.images, *post.attachments]:
            yield media_item(record.site, media, post)


class MediaFolder:
    """A download folder: its sidecar, its files, and every decision about them.

    >>> folder = MediaFolder("media")                        # doctest: +SKIP
    >>> record = folder.done(item) or folder.save(item, client_response)
    """

    def __init__(self, root: str | os.PathLike[str], *, max_size: int = DEFAULT_MAX_SIZE) -> None:
        if isinstance(max_size, bool) or not isinstance(max_size, int) or max_size < 1:
            raise DiscuzError(f"max_size must be a positive number of bytes, got {max_size!r}")
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self._real_root = self.root.resolve()
        self.max_size = max_size
        self.sidecar = self.root / SIDECAR
        self._finished: dict[tuple[str, int | None, str], MediaRecord] = {}
        self._by_url: dict[str, MediaRecord] = {}
        self._by_hash: dict[str, str] = {}
        if self.sidecar.exists():
            for number, line in enumerate(self.sidecar.read_text("utf-8").splitlines(), 1):
                if line.strip():
                    self._remember(self._parse(line, number))

    def _parse(self, line: str, number: int) -> MediaRecord:
        try:
            return MediaRecord.model_validate_json(line)
        except ValueError as exc:
            # A line cut short by a crash is the only expected damage; anything else is not ours.
            raise StoreError(f"{self.sidecar} line {number} is not a media record: {exc}") from exc

    def _remember(self, record: MediaRecord) -> None:
        if record.status == "failed":
            return  # retried on the next run
        self._finished[(record.site, record.pid, record.url)] = record
        self._by_url.setdefault(record.url, record)
        if record.file is not None and record.sha256 is not None:
            self._by_hash.setdefault(record.sha256, record.file)

    def _append(self, record: MediaRecord) -> MediaRecord:
        with self.sidecar.open("a", encoding="utf-8") as out:
            out.write(record.model_dump_json() + "\n")
        self._remember(record)
        return record

    def headers(self, item: MediaItem) -> dict[str, str]:
        """The request headers of ``item``'s download."""
        return {"Referer": item.referer}

    def done(self, item: MediaItem) -> MediaRecord | None:
        """The record when nothing needs fetching: done by an earlier run, or the same URL already
        downloaded for another post (recorded for this post as well)."""
        if (item.site, item.pid, item.url) in self._finished:
            return self._finished[(item.site, item.pid, item.url)]
        known = self._by_url.get(item.url)
        if known is None:
            return None
        return self._append(self._record(item, known.status, file=known.file, sha256=known.sha256,
                                         size=known.size, content_type=known.content_type))

    def failed(self, item: MediaItem, error: DiscuzError) -> MediaRecord:
        """Record a download that failed (it is tried again on the next run)."""
        return self._append(self._record(item, "failed", error=f"{type(error).__name__}: {error.message}"))

    def save(self, item: MediaItem, response: Response) -> MediaRecord:
        """Write ``response``'s body for ``item`` (or reuse the file holding the same bytes)."""
        data = response.content
        content_type = response.headers.get("content-type")
        if response.status_code != 200:
            raise DiscuzError(f"download answered HTTP {response.status_code}", url=item.url)
        if len(data) > self.max_size:
            return self._append(self._record(item, "too_large", size=len(data), content_type=content_type))
        digest = hashlib.sha256(data).hexdigest()
        facts = {"sha256": digest, "size": len(data), "content_type": content_type}
        if digest in self._by_hash:
            return self._append(self._record(item, "duplicate", file=self._by_hash[digest], **facts))
        relative = self._place(item, data, content_type, digest)
        return self._append(self._record(item, "saved", file=relative, **facts))

    def _place(self, item: MediaItem, data: bytes, content_type: str | None, digest: str) -> str:
        """Write ``data`` under a free (or same-content) name via a ``.part`` file; the relative path."""
        folder = self.root / _site_dir(item.site) / str(item.tid)
        name = self._name(item, data, content_type)
        target = folder / name
        if target.exists() and hashlib.sha256(target.read_bytes()).hexdigest() != digest:
            stem, dot, ext = name.rpartition(".")
            target = folder / (f"{stem}-{digest[:12]}.{ext}" if dot else f"{name}-{digest[:12]}")
        if not target.resolve().is_relative_to(self._real_root):
            raise DiscuzError(f"refusing to write outside {self.root}: {target}", url=item.url)
        if not target.exists():
            folder.mkdir(parents=True, exist_ok=True)
            partial = target.with_name(target.name + ".part")
            partial.write_bytes(data)
            os.replace(partial, target)
        return target.relative_to(self.root).as_posix()

    @staticmethod
    def _name(item: MediaItem, data: bytes, content_type: str | None) -> str:
        from_url = unquote(urlsplit(item.url).path.rsplit("/", 1)[-1])
        hint = item.filename or (from_url if _has_extension(from_url) else "")
        fallback = f"aid{item.aid}" if item.aid is not None else f"{item.kind}-{item.pid}"
        name = safe_name(hint, fallback)
        if not _has_extension(name):
            name = safe_name(name + _sniff(data, content_type), fallback)
        return name

    @staticmethod
    def _record(item: MediaItem, status: MediaStatus, **facts: object) -> MediaRecord:
        return MediaRecord(
            site=item.site, tid=item.tid, pid=item.pid, floor=item.floor, kind=item.kind, aid=item.aid,
            url=item.url, status=status, **facts,  # type: ignore[arg-type]
        )


def download_flow(folder: MediaFolder, item: MediaItem) -> Flow[MediaRecord]:
    """The steps of one download, for a client's fetcher to drive (sync or async): nothing when
    ``folder`` has it already, else one GET with the Referer, straight to the fetcher (no page
    checks: the body is a file, not a forum page)."""
    done = folder.done(item)
    if done is not None:
        return done
    response: Response = yield Get(item.url, headers=folder.headers(item), raw=True)
    return folder.save(item, response)
