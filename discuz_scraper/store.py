"""Persistent storage of scraped models: :class:`SQLiteStore` (one embedded file, no server).

Every table keeps the main fields as columns (for SQL queries) plus the full model as JSON, which is
what the readers validate back, so a stored model reads back equal to the one that was saved.
Items are keyed by site (its base URL, see :func:`site_key`) and the forum's own ids:
``(site, tid)``, ``(site, pid)``, ``(site, uid)``, ``(site, fid)``. Every save is an upsert, so
saving the same thread twice updates it instead of duplicating it, and every save is one
transaction: a crash (even SIGKILL) leaves either the whole thread page or nothing of it.

Crawl bookkeeping lives in the same file: which list pages, threads and thread pages are done
(``crawl_state``) and which URLs failed (``failures``), so a crawl can resume and be incremental.
No cookie, password or token is ever stored: models hold none, and failure URLs and messages are
passed through :func:`~discuz_scraper.errors.redact_url`.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from types import TracebackType
from typing import Any, Generic, Literal, NamedTuple, Protocol, TypeVar, get_args, runtime_checkable

from pydantic import BaseModel, ConfigDict, ValidationError

from .errors import DiscuzError, StoreError, redact_url
from .models import Author, Board, BoardPage, Image, Post, Site, Thread, ThreadPage, ThreadSummary
from .parsers.thread import build_thread
from .urls import normalize_base

__all__ = [
    "MIGRATIONS",
    "CrawlKey",
    "CrawlKind",
    "Failure",
    "ItemKind",
    "PostImage",
    "Record",
    "SQLiteStore",
    "Store",
    "StoredPages",
    "ThreadState",
    "site_key",
]

CrawlKind = Literal["list_page", "thread", "thread_page"]
"""What a crawl marks done: a board's list page, a whole thread, or one page of a thread."""

CrawlKey = int | tuple[int, int]
"""``tid`` for a ``thread``; ``(fid, page)`` for a ``list_page``; ``(tid, page)`` for a ``thread_page``."""

ItemKind = Literal["posts", "threads", "authors", "images"]
"""The item kinds a store can list as :class:`Record` s (and :mod:`discuz_scraper.export` writes)."""

M = TypeVar("M", bound=BaseModel)


class PostImage(BaseModel):
    """An image together with the post it sits in (what an image listing or export carries)."""

    model_config = ConfigDict(extra="forbid")

    tid: int
    pid: int
    floor: int | None = None
    position: int = 0
    image: Image


@dataclass(frozen=True)
class Record(Generic[M]):
    """A stored model with where it came from: the site's base URL and when it was fetched."""

    site: str
    fetched_at: datetime | None
    item: M


class ThreadState(NamedTuple):
    """What the store knows about a thread, for deciding what an incremental crawl must fetch.

    ``stored_replies`` / ``stored_last_post_at`` are the values recorded when the thread was last marked
    done (``mark_done(site, "thread", tid, replies=..., last_post_at=...)``, normally the list row's
    values); before that, the saved thread's reply count (its page 1's, or a newer list row's) and
    its newest post time.
    ``max_floor`` is the highest stored floor, ``pages_done`` the thread pages marked done.
    """

    stored_replies: int | None
    stored_last_post_at: datetime | None
    max_floor: int | None
    pages_done: tuple[int, ...]


class StoredPages(NamedTuple):
    """Where a stored thread's pages end, for deciding which pages a resumed crawl still needs.

    ``page_count`` is the thread's page count when it was last saved; ``last_floor_page`` the page
    the highest stored floor was read from (new replies appear there first).
    """

    page_count: int | None
    last_floor_page: int | None


@dataclass(frozen=True)
class Failure:
    """A URL that failed, how often, and the last error (its type name and redacted message)."""

    site: str
    url: str
    kind: str
    error_type: str
    message: str
    attempts: int
    first_seen: datetime
    last_seen: datetime


@runtime_checkable
class Store(Protocol):
    """What a crawl and the exporters need from a store; :class:`SQLiteStore` is the built-in one."""

    def save_site(self, site: Site) -> None: ...
    def save_board(self, board: Board | BoardPage, site: Site | str) -> None: ...
    def save_thread_summary(self, row: ThreadSummary, site: Site | str) -> None: ...
    def save_thread(self, thread: Thread, site: Site | str) -> None: ...
    def save_thread_page(
        self, page: ThreadPage, site: Site | str, *, fetched_at: datetime | None = None
    ) -> None: ...
    def mark_done(
        self,
        site: Site | str,
        kind: CrawlKind,
        key: CrawlKey,
        *,
        fetched_at: datetime | None = None,
        replies: int | None = None,
        last_post_at: datetime | None = None,
    ) -> None: ...
    def is_done(
        self, site: Site | str, kind: CrawlKind, key: CrawlKey, *, since: datetime | None = None
    ) -> bool: ...
    def record_failure(
        self, site: Site | str, kind: str, url: str, error: BaseException, *, seen_at: datetime | None = None
    ) -> Failure: ...
    def failures(self, site: Site | str | None = None, kind: str | None = None) -> list[Failure]: ...
    def clear_failure(self, site: Site | str, url: str) -> bool: ...
    def thread_state(self, site: Site | str, tid: int) -> ThreadState: ...
    def stored_pages(self, site: Site | str, tid: int) -> StoredPages: ...
    def get_thread(self, site: Site | str, tid: int) -> Thread: ...
    def iter_posts(self, site: Site | str | None = None, tid: int | None = None) -> Iterator[Post]: ...
    def iter_threads(self, site: Site | str | None = None, *, posts: bool = False) -> Iterator[Thread]: ...
    def iter_authors(self, site: Site | str | None = None) -> Iterator[Author]: ...
    def iter_images(self, site: Site | str | None = None, tid: int | None = None) -> Iterator[PostImage]: ...
    def iter_records(self, what: ItemKind, site: Site | str | None = None) -> Iterator[Record[Any]]: ...
    def counts(self) -> dict[str, int]: ...


def site_key(site: Site | str) -> str:
    """The key a site is stored under: its normalised base URL (``http://forum.test/``)."""
    url = site.base_url if isinstance(site, Site) else site
    try:
        return normalize_base(url)
    except DiscuzError as exc:
        raise StoreError(f"not a site base URL: {url!r}", url=url) from exc


# --- schema ---------------------------------------------------------------------------------------

# Migration N (1-based) brings a database from ``user_version`` N-1 to N. Never edit a released
# entry: append a new one, so files written by older versions upgrade in order when opened.
MIGRATIONS: tuple[str, ...] = (
    # 1: the scraped content.
    """
    CREATE TABLE sites (
        site TEXT PRIMARY KEY,
        name TEXT,
        version TEXT,
        json TEXT,
        saved_at TEXT NOT NULL
    );
    CREATE TABLE boards (
        site TEXT NOT NULL REFERENCES sites(site),
        fid INTEGER NOT NULL,
        name TEXT,
        url TEXT,
        threads INTEGER,
        today_posts INTEGER,
        page_count INTEGER,
        json TEXT,
        page_json TEXT,
        saved_at TEXT NOT NULL,
        PRIMARY KEY (site, fid)
    );
    CREATE TABLE threads (
        site TEXT NOT NULL REFERENCES sites(site),
        tid INTEGER NOT NULL,
        fid INTEGER,
        title TEXT,
        replies INTEGER,
        views INTEGER,
        page_count INTEGER,
        url TEXT,
        fetched_at TEXT,
        json TEXT,
        summary_json TEXT,
        saved_at TEXT NOT NULL,
        PRIMARY KEY (site, tid)
    );
    CREATE TABLE posts (
        site TEXT NOT NULL,
        pid INTEGER NOT NULL,
        tid INTEGER NOT NULL,
        floor INTEGER,
        page INTEGER,
        position INTEGER NOT NULL,
        author_uid INTEGER,
        author_name TEXT,
        created_at TEXT,
        edited_at TEXT,
        status TEXT NOT NULL,
        text TEXT,
        fetched_at TEXT NOT NULL,
        json TEXT NOT NULL,
        PRIMARY KEY (site, pid),
        FOREIGN KEY (site, tid) REFERENCES threads(site, tid)
    );
    CREATE INDEX posts_by_thread ON posts(site, tid, page, position);
    CREATE TABLE authors (
        site TEXT NOT NULL REFERENCES sites(site),
        uid INTEGER NOT NULL,
        name TEXT,
        "group" TEXT,
        fetched_at TEXT NOT NULL,
        json TEXT NOT NULL,
        PRIMARY KEY (site, uid)
    );
    CREATE TABLE images (
        site TEXT NOT NULL,
        pid INTEGER NOT NULL,
        position INTEGER NOT NULL,
        url TEXT NOT NULL,
        aid INTEGER,
        kind TEXT NOT NULL,
        json TEXT NOT NULL,
        PRIMARY KEY (site, pid, position),
        FOREIGN KEY (site, pid) REFERENCES posts(site, pid) ON DELETE CASCADE
    );
    CREATE TABLE attachments (
        site TEXT NOT NULL,
        pid INTEGER NOT NULL,
        position INTEGER NOT NULL,
        aid INTEGER,
        filename TEXT NOT NULL,
        url TEXT NOT NULL,
        size_bytes INTEGER,
        json TEXT NOT NULL,
        PRIMARY KEY (site, pid, position),
        FOREIGN KEY (site, pid) REFERENCES posts(site, pid) ON DELETE CASCADE
    );
    CREATE TABLE quotes (
        site TEXT NOT NULL,
        pid INTEGER NOT NULL,
        position INTEGER NOT NULL,
        quoted_pid INTEGER,
        quoted_author TEXT,
        json TEXT NOT NULL,
        PRIMARY KEY (site, pid, position),
        FOREIGN KEY (site, pid) REFERENCES posts(site, pid) ON DELETE CASCADE
    );
    """,
    # 2: crawl bookkeeping (resumable and incremental crawls).
    """
    CREATE TABLE crawl_state (
        site TEXT NOT NULL REFERENCES sites(site),
        kind TEXT NOT NULL,
        key TEXT NOT NULL,
        fetched_at TEXT NOT NULL,
        replies INTEGER,
        last_post_at TEXT,
        PRIMARY KEY (site, kind, key)
    );
    CREATE TABLE failures (
        site TEXT NOT NULL REFERENCES sites(site),
        url TEXT NOT NULL,
        kind TEXT NOT NULL,
        error_type TEXT NOT NULL,
        message TEXT NOT NULL,
        attempts INTEGER NOT NULL,
        first_seen TEXT NOT NULL,
        last_seen TEXT NOT NULL,
        PRIMARY KEY (site, url)
    );
    """,
)

_TABLES = (
    "sites", "boards", "threads", "posts", "authors", "images", "attachments", "quotes",
    "crawl_state", "failures",
)


def _ts(value: datetime | None) -> str | None:
    """A datetime as fixed-width UTC ISO text, so SQL comparisons and ``ORDER BY`` follow time order.

    Naive datetimes (models promise aware ones) are read as UTC rather than as the machine's zone.
    """
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc).isoformat(timespec="microseconds")


def _dt(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _crawl_key(kind: CrawlKind, key: CrawlKey) -> str:
    if kind not in get_args(CrawlKind):
        raise StoreError(f"unknown crawl kind {kind!r}; expected one of {get_args(CrawlKind)}")
    wants_pair = kind != "thread"
    ok = (
        isinstance(key, tuple) and len(key) == 2 and all(isinstance(part, int) for part in key)
        if wants_pair
        else isinstance(key, int) and not isinstance(key, bool)
    )
    if not ok:
        shape = "(fid, page)" if kind == "list_page" else "(tid, page)" if wants_pair else "a tid (int)"
        raise StoreError(f"crawl key of a {kind} must be {shape}, got {key!r}")
    return f"{key[0]}:{key[1]}" if isinstance(key, tuple) else str(key)


def _pages_in_order(posts: Sequence[Post]) -> Iterator[tuple[int, Post]]:
    """Each post with its position among the posts of the same page (its order within that page)."""
    seen: dict[int | None, int] = {}
    for post in posts:
        position = seen.get(post.page, 0)
        seen[post.page] = position + 1
        yield position, post


class SQLiteStore:
    """A store in one SQLite file (WAL journal, foreign keys on), safe to reopen and to resume into.

    >>> with SQLiteStore("forum.db") as store:          # doctest: +SKIP
    ...     store.save_thread(thread, site)
    ...     same = store.get_thread(site, thread.tid)

    Opening a file written by an older version applies the missing :data:`MIGRATIONS` in order;
    a file from a newer version (or not a SQLite file) raises :class:`StoreError`. Like any
    ``sqlite3`` connection, one instance belongs to the thread that opened it; other processes may
    open the same file (WAL lets readers run beside the writer).
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = os.fspath(path)
        # isolation_level=None: transactions are opened and closed explicitly by _tx, never
        # implicitly by the sqlite3 module, so one save is exactly one transaction.
        self._db = sqlite3.connect(self.path, isolation_level=None)
        try:
            self._db.execute("PRAGMA foreign_keys = ON")
            self._db.execute("PRAGMA journal_mode = WAL")
            self._migrate()
        except sqlite3.Error as exc:
            self._db.close()
            raise StoreError(f"cannot open store {self.path!r}: {exc}") from exc

    # --- life cycle ---

    def __enter__(self) -> SQLiteStore:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the database file."""
        self._db.close()

    def __repr__(self) -> str:
        return f"SQLiteStore({self.path!r})"

    @property
    def schema_version(self) -> int:
        """The file's ``PRAGMA user_version``: how many :data:`MIGRATIONS` it has."""
        return int(self._db.execute("PRAGMA user_version").fetchone()[0])

    def _migrate(self) -> None:
        version = self.schema_version
        if version > len(MIGRATIONS):
            raise StoreError(
                f"store {self.path!r} has schema version {version}, newer than this discuz-scraper "
                f"knows ({len(MIGRATIONS)}): upgrade discuz-scraper to open it"
            )
        for number in range(version + 1, len(MIGRATIONS) + 1):
            with self._tx() as db:
                for statement in MIGRATIONS[number - 1].split(";"):
                    if statement.strip():
                        db.execute(statement)
                # PRAGMA takes no parameters; number is an int from range().
                db.execute(f"PRAGMA user_version = {number}")

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        """One write transaction: committed whole, or rolled back whole on any exception."""
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield self._db
        except BaseException as exc:
            self._db.execute("ROLLBACK")
            if isinstance(exc, sqlite3.Error):
                raise StoreError(f"store {self.path!r}: write failed and was rolled back: {exc}") from exc
            raise
        self._db.execute("COMMIT")

    # --- writers ---

    def _ensure_site(self, db: sqlite3.Connection, key: str) -> None:
        db.execute("INSERT INTO sites(site, saved_at) VALUES (?, ?) ON CONFLICT DO NOTHING",
                   (key, _ts(_now())))

    def save_site(self, site: Site) -> None:
        """Save what the forum says about itself (replacing what was saved before)."""
        key = site_key(site)
        with self._tx() as db:
            db.execute(
                """INSERT INTO sites(site, name, version, json, saved_at) VALUES (?, ?, ?, ?, ?)
                   ON CONFLICT(site) DO UPDATE SET name=excluded.name, version=excluded.version,
                   json=excluded.json, saved_at=excluded.saved_at""",
                (key, site.name, site.version, site.model_dump_json(), _ts(_now())),
            )

    def save_board(self, board: Board | BoardPage, site: Site | str) -> None:
        """Save a board: a :class:`Board` (with its sub-boards), or a list page.

        A :class:`BoardPage` updates the board's header columns, saves each row as a thread summary
        and marks the list page ``(fid, page)`` done, all in one transaction (a page that came back
        as page 1 for a page past the end is saved but not marked).
        """
        key = site_key(site)
        with self._tx() as db:
            self._ensure_site(db, key)
            if isinstance(board, Board):
                self._write_board(db, key, board)
                return
            db.execute(
                """INSERT INTO boards(site, fid, name, url, threads, today_posts, page_count, page_json,
                   saved_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                   ON CONFLICT(site, fid) DO UPDATE SET name=COALESCE(excluded.name, boards.name),
                   url=COALESCE(boards.url, excluded.url),
                   threads=COALESCE(excluded.threads, boards.threads),
                   today_posts=COALESCE(excluded.today_posts, boards.today_posts),
                   page_count=COALESCE(excluded.page_count, boards.page_count),
                   page_json=excluded.page_json, saved_at=excluded.saved_at""",
                (
                    key, board.fid, board.name, board.url, board.thread_count, board.today_posts,
                    board.page_count, board.model_dump_json(exclude={"rows"}), _ts(_now()),
                ),
            )
            for sub in board.sub_boards:
                self._write_board(db, key, sub)
            for row in board.rows:
                self._write_summary(db, key, row)
            if not board.past_the_end:
                self._write_done(db, key, "list_page", (board.fid, board.page), _now(), None, None)

    def _write_board(self, db: sqlite3.Connection, key: str, board: Board) -> None:
        if board.fid is None:
            raise StoreError(f"board {board.name!r} has no fid (addressed by alias only): cannot key it",
                             url=board.url)
        db.execute(
            """INSERT INTO boards(site, fid, name, url, threads, today_posts, json, saved_at)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?)
               ON CONFLICT(site, fid) DO UPDATE SET name=excluded.name, url=excluded.url,
               threads=excluded.threads, today_posts=excluded.today_posts, json=excluded.json,
               saved_at=excluded.saved_at""",
            (key, board.fid, board.name, board.url, board.threads, board.today_posts,
             board.model_dump_json(), _ts(_now())),
        )
        for sub in board.sub_boards:
            self._write_board(db, key, sub)

    def save_thread_summary(self, row: ThreadSummary, site: Site | str) -> None:
        """Save one thread-list row (its author is added to authors only if not known yet)."""
        key = site_key(site)
        with self._tx() as db:
            self._ensure_site(db, key)
            self._write_summary(db, key, row)

    def _write_summary(self, db: sqlite3.Connection, key: str, row: ThreadSummary) -> None:
        db.execute(
            """INSERT INTO threads(site, tid, fid, title, replies, views, page_count, url, summary_json,
               saved_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
               ON CONFLICT(site, tid) DO UPDATE SET fid=COALESCE(excluded.fid, threads.fid),
               title=COALESCE(threads.title, excluded.title), url=COALESCE(threads.url, excluded.url),
               summary_json=excluded.summary_json, saved_at=excluded.saved_at""",
            (key, row.tid, row.fid, row.title, row.replies, row.views, row.page_count, row.url,
             row.model_dump_json(), _ts(_now())),
        )
        self._refresh_counts(db, key, row)
        if row.author is not None:
            # A list row shows only uid and name: never let it overwrite a richer post-side author.
            self._write_author(db, key, row.author, _now(), replace=False)

    def _refresh_counts(self, db: sqlite3.Connection, key: str, row: ThreadSummary) -> None:
        """Give a stored thread the list row's reply, view and page counts.

        The row is newer than the page 1 an earlier crawl stored, and an incremental crawl reads
        again only the pages that changed, often not page 1 (whose header holds the counts); a
        page 1 fetched after the row, as in every first crawl, sets them again.
        """
        listed = {"replies": row.replies, "views": row.views, "page_count": row.page_count}
        counts = {name: value for name, value in listed.items() if value is not None}
        found = db.execute(
            "SELECT json FROM threads WHERE site = ? AND tid = ? AND json IS NOT NULL", (key, row.tid)
        ).fetchone()
        if not counts or found is None:
            return
        thread = self._load(Thread, found[0]).model_copy(update=counts)
        db.execute(
            "UPDATE threads SET replies = ?, views = ?, page_count = ?, json = ? WHERE site = ? AND tid = ?",
            (thread.replies, thread.views, thread.page_count, thread.model_dump_json(exclude={"posts"}),
             key, row.tid),
        )

    def save_thread(self, thread: Thread, site: Site | str) -> None:
        """Save a thread and all its posts in one transaction; the pages its posts came from are marked done.

        Posts already stored are updated (see :meth:`save_thread_page`); stored posts missing from
        ``thread`` are kept, so an archive never loses a post the forum later deleted.
        """
        key = site_key(site)
        fetched_at = thread.fetched_at or _now()
        with self._tx() as db:
            self._ensure_site(db, key)
            self._write_thread(db, key, thread, replace=True)
            self._write_posts(db, key, thread.posts, fetched_at)

    def save_thread_page(
        self, page: ThreadPage, site: Site | str, *, fetched_at: datetime | None = None
    ) -> None:
        """Save one parsed thread page and mark ``(tid, page)`` done, in one transaction.

        Page 1 (or the first page seen of a thread) sets the thread's metadata. A post already stored
        is replaced by the new one, with its images, attachments and quotes, unless the stored copy
        carries a later ``edited_at``: the newest edit always wins.
        """
        key = site_key(site)
        fetched_at = fetched_at or _now()
        thread = build_thread([page], fetched_at=fetched_at)
        with self._tx() as db:
            self._ensure_site(db, key)
            self._write_thread(db, key, thread, replace=page.page == 1)
            self._write_posts(db, key, thread.posts, fetched_at)
            self._write_done(db, key, "thread_page", (page.tid, page.page), fetched_at, None, None)

    def _write_thread(self, db: sqlite3.Connection, key: str, thread: Thread, *, replace: bool) -> None:
        # ``replace`` False: a later page keeps the metadata page 1 gave (views and replies are
        # shown on page 1 only); it fills the row only when no page 1 was stored.
        keep = "" if replace else "WHERE threads.json IS NULL"
        db.execute(
            f"""INSERT INTO threads(site, tid, fid, title, replies, views, page_count, url, fetched_at,
                json, saved_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT(site, tid) DO UPDATE SET fid=COALESCE(excluded.fid, threads.fid),
                title=COALESCE(excluded.title, threads.title), replies=excluded.replies,
                views=excluded.views, page_count=excluded.page_count, url=excluded.url,
                fetched_at=excluded.fetched_at, json=excluded.json, saved_at=excluded.saved_at {keep}""",
            (key, thread.tid, thread.fid, thread.title, thread.replies, thread.views, thread.page_count,
             thread.url, _ts(thread.fetched_at), thread.model_dump_json(exclude={"posts"}), _ts(_now())),
        )
        if thread.author is not None:
            self._write_author(db, key, thread.author, thread.fetched_at or _now(), replace=True)

    def _write_posts(
        self, db: sqlite3.Connection, key: str, posts: Sequence[Post], fetched_at: datetime
    ) -> None:
        marked: set[tuple[int, int]] = set()
        for position, post in _pages_in_order(posts):
            self._write_post(db, key, post, position, fetched_at)
            if post.page is not None and (post.tid, post.page) not in marked:
                marked.add((post.tid, post.page))
                self._write_done(db, key, "thread_page", (post.tid, post.page), fetched_at, None, None)

    def _write_post(
        self, db: sqlite3.Connection, key: str, post: Post, position: int, fetched_at: datetime
    ) -> None:
        changed = db.execute(
            """INSERT INTO posts(site, pid, tid, floor, page, position, author_uid, author_name, created_at,
               edited_at, status, text, fetched_at, json) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
               ON CONFLICT(site, pid) DO UPDATE SET tid=excluded.tid, floor=excluded.floor,
               page=excluded.page, position=excluded.position, author_uid=excluded.author_uid,
               author_name=excluded.author_name, created_at=excluded.created_at,
               edited_at=excluded.edited_at, status=excluded.status, text=excluded.text,
               fetched_at=excluded.fetched_at, json=excluded.json
               WHERE posts.edited_at IS NULL OR excluded.edited_at IS NULL
                  OR excluded.edited_at >= posts.edited_at""",
            (key, post.pid, post.tid, post.floor, post.page, position, post.author.uid, post.author.name,
             _ts(post.created_at), _ts(post.edited_at), post.status, post.text, _ts(fetched_at),
             post.model_dump_json()),
        ).rowcount
        if not changed:
            return  # the stored copy is a later edit: keep it and its children
        self._write_author(db, key, post.author, fetched_at, replace=True)
        for table in ("images", "attachments", "quotes"):
            # Table names come from this fixed tuple, never from input.
            db.execute(f"DELETE FROM {table} WHERE site = ? AND pid = ?", (key, post.pid))
        db.executemany(
            "INSERT INTO images(site, pid, position, url, aid, kind, json) VALUES (?, ?, ?, ?, ?, ?, ?)",
            [(key, post.pid, i, image.url, image.aid, image.kind, image.model_dump_json())
             for i, image in enumerate(post.images)],
        )
        db.executemany(
            """INSERT INTO attachments(site, pid, position, aid, filename, url, size_bytes, json)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?)""",
            [(key, post.pid, i, att.aid, att.filename, att.url, att.size_bytes, att.model_dump_json())
             for i, att in enumerate(post.attachments)],
        )
        db.executemany(
            """INSERT INTO quotes(site, pid, position, quoted_pid, quoted_author, json)
               VALUES (?, ?, ?, ?, ?, ?)""",
            [(key, post.pid, i, quote.pid, quote.author, quote.model_dump_json())
             for i, quote in enumerate(post.quotes)],
        )

    def _write_author(
        self, db: sqlite3.Connection, key: str, author: Author, seen_at: datetime, *, replace: bool
    ) -> None:
        if author.uid is None:
            return  # guests and anonymous posters have no identity to key
        action = (
            'DO UPDATE SET name=excluded.name, "group"=excluded."group", fetched_at=excluded.fetched_at, '
            "json=excluded.json"
            if replace
            else "DO NOTHING"
        )
        db.execute(
            f"""INSERT INTO authors(site, uid, name, "group", fetched_at, json) VALUES (?, ?, ?, ?, ?, ?)
                ON CONFLICT(site, uid) {action}""",
            (key, author.uid, author.name, author.group, _ts(seen_at), author.model_dump_json()),
        )

    # --- crawl state ---

    def mark_done(
        self,
        site: Site | str,
        kind: CrawlKind,
        key: CrawlKey,
        *,
        fetched_at: datetime | None = None,
        replies: int | None = None,
        last_post_at: datetime | None = None,
    ) -> None:
        """Record that a list page, thread or thread page is done (again: the newest mark wins).

        For a ``thread``, pass the reply count and last-post time the list showed, so a later crawl can
        compare a new list row against them (:meth:`thread_state`).
        """
        skey = site_key(site)
        with self._tx() as db:
            self._ensure_site(db, skey)
            self._write_done(db, skey, kind, key, fetched_at or _now(), replies, last_post_at)

    def _write_done(
        self,
        db: sqlite3.Connection,
        skey: str,
        kind: CrawlKind,
        key: CrawlKey,
        fetched_at: datetime,
        replies: int | None,
        last_post_at: datetime | None,
    ) -> None:
        db.execute(
            """INSERT INTO crawl_state(site, kind, key, fetched_at, replies, last_post_at)
               VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(site, kind, key) DO UPDATE SET
               fetched_at=excluded.fetched_at, replies=excluded.replies,
               last_post_at=excluded.last_post_at""",
            (skey, kind, _crawl_key(kind, key), _ts(fetched_at), replies, _ts(last_post_at)),
        )

    def is_done(
        self, site: Site | str, kind: CrawlKind, key: CrawlKey, *, since: datetime | None = None
    ) -> bool:
        """Whether that item was marked done (at or after ``since``, when given: e.g. this run's start)."""
        row = self._db.execute(
            "SELECT fetched_at FROM crawl_state WHERE site = ? AND kind = ? AND key = ?",
            (site_key(site), kind, _crawl_key(kind, key)),
        ).fetchone()
        if row is None:
            return False
        return since is None or row[0] >= _ts(since)

    def thread_state(self, site: Site | str, tid: int) -> ThreadState:
        """What is stored about thread ``tid`` (all ``None`` and no pages for an unknown thread)."""
        key = site_key(site)
        marked = self._db.execute(
            "SELECT replies, last_post_at FROM crawl_state WHERE site = ? AND kind = 'thread' AND key = ?",
            (key, _crawl_key("thread", tid)),
        ).fetchone()
        saved = self._db.execute(
            # A row known only from a list has no stored thread yet: its list reply count is not "stored".
            """SELECT (SELECT CASE WHEN json IS NOT NULL THEN replies END FROM threads
                       WHERE site = ?1 AND tid = ?2),
                      MAX(created_at), MAX(floor) FROM posts WHERE site = ?1 AND tid = ?2""",
            (key, tid),
        ).fetchone()
        replies, last_post_at = marked if marked is not None else saved[:2]
        pages = self._db.execute(
            "SELECT key FROM crawl_state WHERE site = ? AND kind = 'thread_page' AND key LIKE ?",
            (key, f"{tid}:%"),
        ).fetchall()
        return ThreadState(
            stored_replies=replies,
            stored_last_post_at=_dt(last_post_at),
            max_floor=saved[2],
            pages_done=tuple(sorted(int(row[0].split(":")[1]) for row in pages)),
        )

    def stored_pages(self, site: Site | str, tid: int) -> StoredPages:
        """Thread ``tid``'s stored page count and the page of its highest floor (``None`` if unknown)."""
        key = site_key(site)
        row = self._db.execute(
            """SELECT (SELECT page_count FROM threads WHERE site = ?1 AND tid = ?2),
                      (SELECT page FROM posts WHERE site = ?1 AND tid = ?2 AND floor IS NOT NULL
                       ORDER BY floor DESC LIMIT 1)""",
            (key, tid),
        ).fetchone()
        return StoredPages(page_count=row[0], last_floor_page=row[1])

    def record_failure(
        self, site: Site | str, kind: str, url: str, error: BaseException, *, seen_at: datetime | None = None
    ) -> Failure:
        """Record (or count once more) a failed URL; returns the updated record.

        The URL and the message are redacted (session and form-token values masked) before storing.
        """
        if not kind or not url:
            raise StoreError(f"a failure needs a kind and a URL, got kind={kind!r} url={url!r}")
        key = site_key(site)
        seen = _ts(seen_at or _now())
        clean_url = redact_url(url)
        with self._tx() as db:
            self._ensure_site(db, key)
            db.execute(
                """INSERT INTO failures(site, url, kind, error_type, message, attempts, first_seen, last_seen)
                   VALUES (?, ?, ?, ?, ?, 1, ?, ?) ON CONFLICT(site, url) DO UPDATE SET kind=excluded.kind,
                   error_type=excluded.error_type, message=excluded.message,
                   attempts=failures.attempts + 1, last_seen=excluded.last_seen""",
                (key, clean_url, kind, type(error).__name__, redact_url(str(error)), seen, seen),
            )
        return self._failures("WHERE site = ? AND url = ?", (key, clean_url))[0]

    def failures(self, site: Site | str | None = None, kind: str | None = None) -> list[Failure]:
        """The recorded failures, oldest first (all sites and kinds unless filtered)."""
        clauses, args = self._filters(site, kind=kind)
        return self._failures(clauses, args)

    def _failures(self, where: str, args: Sequence[object]) -> list[Failure]:
        rows = self._db.execute(
            f"""SELECT site, url, kind, error_type, message, attempts, first_seen, last_seen FROM failures
                {where} ORDER BY first_seen, url""",
            args,
        ).fetchall()
        return [
            Failure(site, url, kind, error_type, message, attempts, datetime.fromisoformat(first),
                    datetime.fromisoformat(last))
            for site, url, kind, error_type, message, attempts, first, last in rows
        ]

    def clear_failure(self, site: Site | str, url: str) -> bool:
        """Forget a failure (e.g. after a successful retry); False when none was recorded for ``url``."""
        with self._tx() as db:
            cursor = db.execute(
                "DELETE FROM failures WHERE site = ? AND url = ?", (site_key(site), redact_url(url))
            )
        return cursor.rowcount > 0

    # --- readers ---

    @staticmethod
    def _filters(
        site: Site | str | None, *, prefix: str = "", present: str | None = None, **columns: object
    ) -> tuple[str, list[object]]:
        """A ``WHERE`` clause for the given site and column values (``None`` = no filter).

        ``prefix`` qualifies the column names (``"p."``) in a join; ``present`` names a column that
        must not be NULL. Column names come from this module's code, never from input.
        """
        wanted = {"site": site_key(site) if site is not None else None, **columns}
        used = {name: value for name, value in wanted.items() if value is not None}
        conditions = [f"{prefix}{name} = ?" for name in used]
        if present is not None:
            conditions.append(f"{prefix}{present} IS NOT NULL")
        return (f"WHERE {' AND '.join(conditions)}" if conditions else ""), list(used.values())

    def _load(self, model: type[M], text: str) -> M:
        try:
            return model.model_validate_json(text)
        except ValidationError as exc:
            raise StoreError(
                f"store {self.path!r} holds a {model.__name__} that no longer validates: {exc}"
            ) from exc

    def get_site(self, site: Site | str) -> Site:
        """The saved :class:`Site` (raises :class:`StoreError` if ``save_site`` never saved it)."""
        key = site_key(site)
        row = self._db.execute("SELECT json FROM sites WHERE site = ?", (key,)).fetchone()
        if row is None or row[0] is None:
            raise StoreError(f"site {key} was never saved with save_site", url=key)
        return self._load(Site, row[0])

    def iter_boards(self, site: Site | str | None = None) -> Iterator[Board]:
        """Saved :class:`Board` s (boards known only from list pages have no Board model to give)."""
        where, args = self._filters(site, present="json")
        for (text,) in self._db.execute(f"SELECT json FROM boards {where} ORDER BY site, fid", args):
            yield self._load(Board, text)

    def iter_thread_summaries(self, site: Site | str | None = None) -> Iterator[ThreadSummary]:
        """The saved thread-list rows, by site and tid."""
        where, args = self._filters(site, present="summary_json")
        for (text,) in self._db.execute(f"SELECT summary_json FROM threads {where} ORDER BY site, tid", args):
            yield self._load(ThreadSummary, text)

    def get_thread(self, site: Site | str, tid: int) -> Thread:
        """The stored thread with every stored post, in page order (equal to the saved :class:`Thread`)."""
        key = site_key(site)
        row = self._db.execute("SELECT json FROM threads WHERE site = ? AND tid = ?", (key, tid)).fetchone()
        if row is None or row[0] is None:
            known = "only as a list row" if row is not None else "not at all"
            raise StoreError(
                f"thread {tid} of {key} is stored {known}: save_thread or save_thread_page it first", url=key
            )
        thread = self._load(Thread, row[0])
        return thread.model_copy(update={"posts": list(self.iter_posts(key, tid))})

    def iter_posts(self, site: Site | str | None = None, tid: int | None = None) -> Iterator[Post]:
        """Stored posts by site, thread, and page order; streamed (memory stays flat)."""
        return (record.item for record in self._post_records(site, tid))

    def iter_threads(self, site: Site | str | None = None, *, posts: bool = False) -> Iterator[Thread]:
        """Stored threads by site and tid: metadata only (``posts=[]``) unless ``posts=True``."""
        for record in self._thread_records(site):
            yield self.get_thread(record.site, record.item.tid) if posts else record.item

    def iter_authors(self, site: Site | str | None = None) -> Iterator[Author]:
        """Stored authors by site and uid, each as last seen beside a post."""
        return (record.item for record in self._author_records(site))

    def iter_images(self, site: Site | str | None = None, tid: int | None = None) -> Iterator[PostImage]:
        """Stored post images with their tid, pid and floor, in thread and post order."""
        return (record.item for record in self._image_records(site, tid))

    def iter_records(self, what: ItemKind, site: Site | str | None = None) -> Iterator[Record[Any]]:
        """Stored items of one kind with their site and fetch time (what exports write)."""
        readers: dict[str, Callable[[Site | str | None], Iterator[Record[Any]]]] = {
            "posts": self._post_records,
            "threads": self._thread_records,
            "authors": self._author_records,
            "images": self._image_records,
        }
        if what not in readers:
            raise StoreError(f"unknown item kind {what!r}; expected one of {get_args(ItemKind)}")
        return readers[what](site)

    def _post_records(self, site: Site | str | None, tid: int | None = None) -> Iterator[Record[Post]]:
        where, args = self._filters(site, tid=tid)
        query = (f"SELECT site, fetched_at, json FROM posts {where} "
                 "ORDER BY site, tid, COALESCE(page, 0), position, pid")
        for key, fetched_at, text in self._db.execute(query, args):
            yield Record(key, _dt(fetched_at), self._load(Post, text))

    def _thread_records(self, site: Site | str | None) -> Iterator[Record[Thread]]:
        where, args = self._filters(site, present="json")
        query = f"SELECT site, fetched_at, json FROM threads {where} ORDER BY site, tid"
        for key, fetched_at, text in self._db.execute(query, args):
            yield Record(key, _dt(fetched_at), self._load(Thread, text))

    def _author_records(self, site: Site | str | None) -> Iterator[Record[Author]]:
        where, args = self._filters(site)
        for key, fetched_at, text in self._db.execute(
            f"SELECT site, fetched_at, json FROM authors {where} ORDER BY site, uid", args
        ):
            yield Record(key, _dt(fetched_at), self._load(Author, text))

    def _image_records(self, site: Site | str | None, tid: int | None = None) -> Iterator[Record[PostImage]]:
        where, args = self._filters(site, prefix="p.", tid=tid)
        query = f"""SELECT p.site, p.fetched_at, p.tid, p.pid, p.floor, i.position, i.json
                    FROM images i JOIN posts p ON p.site = i.site AND p.pid = i.pid {where}
                    ORDER BY p.site, p.tid, COALESCE(p.page, 0), p.position, p.pid, i.position"""
        for key, fetched_at, tid_, pid, floor, position, text in self._db.execute(query, args):
            item = PostImage(tid=tid_, pid=pid, floor=floor, position=position, image=self._load(Image, text))
            yield Record(key, _dt(fetched_at), item)

    def counts(self) -> dict[str, int]:
        """Row count of every table, by table name."""
        # Table names come from the fixed _TABLES tuple, never from input.
        return {table: self._db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0] for table in _TABLES}

