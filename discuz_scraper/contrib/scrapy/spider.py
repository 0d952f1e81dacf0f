"""``DiscuzSpider``: a Scrapy spider whose callbacks are the library's pure parsers.

The walk is the one :class:`~discuz_scraper.crawl.CrawlEngine` does (forum index → every board and
sub-board → every list page → every listed thread), expressed as Scrapy requests so that Scrapy's
scheduler (or scrapy-redis's shared one) decides who fetches what:

- a board's first page queues its later pages (never beyond the page count the page shows) and its
  sub-boards; a later page that Discuz answers with page 1 again (``past_the_end``) is ignored;
- each listed thread is one chain of requests, page 1 → page 2 → … → last page; the parsed
  :class:`~discuz_scraper.models.ThreadPage` s travel in the request's ``meta``, and the last page
  merges them with :func:`~discuz_scraper.parsers.thread.build_thread` (posts de-duplicated by pid,
  :class:`~discuz_scraper.parsers.thread.PostMerger` semantics). A chain rather than parallel page
  requests because each page may be fetched by a different worker process in a distributed crawl:
  the request is the only state they share;
- each thread and each list page is requested once: the request URLs are built canonically
  (:mod:`discuz_scraper.urls`), so Scrapy's duplicate filter (or the shared Redis one) drops repeats
  (stickies on every page, global stickies on every board).

Items are the library's models: :class:`~discuz_scraper.models.Board`,
:class:`~discuz_scraper.models.ThreadSummary`, :class:`~discuz_scraper.models.Thread`, plus
:class:`~discuz_scraper.crawl.CrawlFailure` for every page that failed (a typed
:class:`~discuz_scraper.errors.DiscuzError` or a download error) and
:class:`~discuz_scraper.crawl.CrawlSkip` for redirect and private boards. Scrapy accepts pydantic
models as items through itemadapter (>= 0.11 for pydantic 2).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Generator, Iterable, Iterator
from datetime import datetime, timezone
from typing import Any, ClassVar, Literal, TypeVar

from scrapy import Request, Spider
from scrapy.http import Response
from scrapy.settings import BaseSettings
from twisted.python.failure import Failure

from discuz_scraper.charset import decode_body
from discuz_scraper.client import PageSelection, select_pages
from discuz_scraper.crawl import CrawlFailure, CrawlSkip
from discuz_scraper.errors import ConfigError, DiscuzError
from discuz_scraper.models import Board, BoardPage, ForumIndex, Thread, ThreadPage, ThreadSummary
from discuz_scraper.parsers.board import parse_board_page
from discuz_scraper.parsers.dates import DEFAULT_TZ
from discuz_scraper.parsers.index import parse_forum_index
from discuz_scraper.parsers.thread import build_thread, parse_thread_page
from discuz_scraper.urls import board_url, index_url, parse_url, thread_url

from .settings import DEFAULT_SETTINGS, DOWNLOADER_MIDDLEWARES, ITEM_PIPELINES

__all__ = ["SETTINGS_PRIORITY", "DiscuzSpider", "Item", "apply_default_settings"]

Item = Board | ThreadSummary | Thread | CrawlFailure | CrawlSkip
"""What the spider yields besides requests."""

Kind = Literal["index", "board", "thread"]
M = TypeVar("M", BoardPage, ThreadPage, ForumIndex)

# Scheduler priorities (higher first): a started thread's next page before a new thread, and a
# thread before more list pages, so the pages carried in meta are released as early as possible.
_PRIORITY_THREAD_NEXT = 20
_PRIORITY_THREAD_FIRST = 10
_PRIORITY_BOARD = 0

# Discuz error pages come with 4xx/5xx statuses and our parsers tell them apart (NotFound,
# PermissionDenied, ServerError...), so they must reach the callbacks instead of being dropped by
# HttpErrorMiddleware. 3xx stay out of the list so that redirects are still followed.
_ERROR_STATUSES = list(range(400, 600))

SETTINGS_PRIORITY = 5
"""Where our defaults sit: above Scrapy's own (``default``, 0), below ``command`` (10), ``project``
(20) and ``cmdline`` (40). Not ``default`` itself: Scrapy >= 2.19 re-applies the process settings
onto a crawler's (``CrawlerProcess.create_crawler``), which would put its defaults back over ours."""

_FALSE = frozenset({"", "0", "false", "no", "off"})


def apply_default_settings(settings: BaseSettings) -> None:
    """Add the Discuz politeness defaults under whatever the project and command line set.

    Plain settings go in at :data:`SETTINGS_PRIORITY`, so ``settings.py``, ``-s`` and
    ``CrawlerProcess(settings=...)`` all win over them. The middleware and pipeline dicts are
    merged instead: a project that lists its own middlewares keeps ours too (set one to ``None`` to
    turn it off).
    """
    settings.setdict(DEFAULT_SETTINGS, priority=SETTINGS_PRIORITY)
    for name, ours in (
        ("DOWNLOADER_MIDDLEWARES", DOWNLOADER_MIDDLEWARES),
        ("ITEM_PIPELINES", ITEM_PIPELINES),
    ):
        merged = dict(ours)
        merged.update(settings.getdict(name))
        settings.set(name, merged, priority=max(settings.getpriority(name) or 0, SETTINGS_PRIORITY))


def _as_bool(value: object) -> bool:
    if isinstance(value, str):
        return value.strip().lower() not in _FALSE
    return bool(value)


def _as_pages(value: object, option: str) -> PageSelection:
    """``None``/``""`` = every page, else a positive page count (``-a`` passes strings)."""
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, (int, str)) or not str(value).strip().isdigit():
        raise ConfigError(f"{option} must be a positive integer, got {value!r}")
    count = int(value)
    if count < 1:
        raise ConfigError(f"{option} must be a positive integer, got {value!r}")
    return count


def _as_keys(value: object) -> frozenset[str]:
    """Board ids or aliases, from ``"2,6,news"`` (``-a``) or any iterable; compared as strings."""
    if value is None or value == "":
        return frozenset()
    items: Iterable[object] = value.split(",") if isinstance(value, str) else value  # type: ignore[assignment]
    return frozenset(str(item).strip() for item in items if str(item).strip())


class DiscuzSpider(Spider):
    """Crawl one Discuz forum, board or thread into the library's models.

    Arguments (``scrapy crawl discuz -a url=... -a boards=2,6`` or keyword arguments of
    ``CrawlerProcess.crawl``):

    ``url``
        A forum (site root or ``forum.php``), board or thread URL, in any form
        :func:`~discuz_scraper.urls.parse_url` reads.
    ``boards`` / ``exclude_boards``
        Board ids or aliases (comma-separated) to read only / never. Each board, sub-boards
        included, is decided on its own keys; the board a board URL starts from is always read.
    ``max_pages``
        List pages read per board (the first N); every page when absent.
    ``thread_pages``
        Pages read per thread (the first N); every page when absent.
    ``with_posts``
        ``false`` lists boards and thread rows without fetching the threads.
    """

    name = "discuz"
    handle_httpstatus_list: ClassVar[list[int]] = _ERROR_STATUSES

    def __init__(
        self,
        url: str | None = None,
        *,
        boards: object = None,
        exclude_boards: object = None,
        max_pages: object = None,
        thread_pages: object = None,
        with_posts: object = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.start_url = url
        if url is not None:
            parse_url(url)  # bad input fails here, before any request
        self.include_boards = _as_keys(boards)
        self.exclude_boards = _as_keys(exclude_boards)
        self.max_pages = _as_pages(max_pages, "max_pages")
        self.thread_pages = _as_pages(thread_pages, "thread_pages")
        self.with_posts = _as_bool(with_posts)
        # Per process: a distributed crawl relies on the shared duplicate filter for requests; these
        # only keep one process from yielding the same board or row twice.
        self._boards_queued: set[int | str] = set()
        self._boards_read: set[int] = set()
        self._tids: set[int] = set()
        self._skipped: set[str] = set()

    @classmethod
    def update_settings(cls, settings: BaseSettings) -> None:
        """Scrapy hook: our politeness defaults first, then the class's ``custom_settings``."""
        apply_default_settings(settings)
        super().update_settings(settings)

    # -- start ---------------------------------------------------------------------------------

    async def start(self) -> AsyncIterator[Request]:
        """Scrapy >= 2.13 entry point."""
        for request in self.start_requests():
            yield request

    def start_requests(self) -> Iterator[Request]:
        """Scrapy < 2.13 entry point (and the body of :meth:`start`)."""
        if self.start_url is None:
            raise ConfigError(
                "DiscuzSpider needs a start URL: scrapy crawl discuz -a url=https://bbs.example.com/"
            )
        yield self.request_for(self.start_url)

    def request_for(self, url: str) -> Request:
        """The first request for a forum, board or thread URL."""
        info = parse_url(url)
        base = info.base_url
        if info.kind in ("thread", "post") and info.tid is not None:
            return self._thread_request(base, info.tid, 1, [], first=True)
        if info.kind == "post":
            # A findpost link without a tid: fetch it, the redirect lands on the thread page.
            return self._request(url, self.parse_thread, "thread", base, _PRIORITY_THREAD_FIRST, pages=[])
        if info.kind == "board" and not info.archiver:
            board = info.fid if info.fid is not None else info.forum_alias
            if board is not None:
                self._boards_queued.add(board)
                return self._board_request(base, board, info.page or 1, first=True, listed=None)
        return self._request(index_url(base), self.parse_index, "index", base, _PRIORITY_BOARD)

    # -- callbacks -----------------------------------------------------------------------------

    def parse(self, response: Response, **kwargs: Any) -> Iterator[Request | Item]:
        """A response without a callback (not produced by this spider): read it as a forum index."""
        return self.parse_index(response)

    def parse_index(self, response: Response) -> Iterator[Request | Item]:
        """Forum index → every listed board and sub-board (redirect and private ones are skipped)."""
        index = yield from self._parsed(response, parse_forum_index)
        if index is None:
            return
        for category in index.categories:
            for listed in category.boards:
                yield from self._queue_board(response, listed)

    def parse_board(self, response: Response) -> Iterator[Request | Item]:
        """One list page → the board (first page), its later pages, sub-boards, new rows, threads."""
        page = yield from self._parsed(response, parse_board_page)
        if page is None:
            return
        meta = response.meta
        base, board = meta["discuz_base"], meta["discuz_board"]
        if meta["discuz_first"]:
            if page.fid in self._boards_read:
                return  # the same board under another name (alias and fid)
            self._boards_read.add(page.fid)
            self._boards_queued.add(page.fid)
            yield self._board_model(meta.get("discuz_listed"), page, base, board)
            for number in select_pages(page.page, page.page_count or page.page, self.max_pages):
                yield self._board_request(
                    base, board, number, first=False, listed=None, legacy=_legacy(response)
                )
            for sub in page.sub_boards:
                yield from self._queue_board(response, sub)
        elif page.past_the_end:
            return  # the board shrank while we read it: these rows are page 1's
        for row in page.rows:
            if row.tid in self._tids:
                continue
            self._tids.add(row.tid)
            yield row
            if self.with_posts:
                yield self._thread_request(base, row.tid, 1, [], first=True, legacy=_legacy(response))

    def parse_thread(self, response: Response) -> Iterator[Request | Item]:
        """One thread page → the next page's request (pages so far in meta), or the whole thread."""
        page = yield from self._parsed(response, parse_thread_page)
        if page is None:
            return
        pages: list[ThreadPage] = [*response.meta.get("discuz_pages", []), page]
        later = select_pages(page.page, page.page_count or page.page, self.thread_pages)
        if later:
            yield self._thread_request(
                response.meta["discuz_base"], page.tid, later[0], pages, first=False, legacy=_legacy(response)
            )
            return
        yield build_thread(pages, fetched_at=_now())

    def on_error(self, failure: Failure) -> Iterator[Item]:
        """A request that failed without a response (after Scrapy's retries): a failure item."""
        request = getattr(failure, "request", None)
        meta = request.meta if request is not None else {}
        url = meta.get("discuz_url") or (request.url if request is not None else "")
        kind: Kind = meta.get("discuz_kind", "thread")
        error = failure.value
        yield self._failure(url, kind, type(error).__name__, str(error) or type(error).__name__)

    # -- helpers -------------------------------------------------------------------------------

    def _parsed(self, response: Response, parser: Callable[..., M]) -> Generator[Item, None, M | None]:
        """Run a pure parser on the response; a typed error becomes a failure item (returns None)."""
        text, _ = decode_body(response.body, _content_type(response))
        try:
            return parser(text, response.url, status=response.status, now=_now(), default_tz=DEFAULT_TZ)
        except DiscuzError as exc:
            meta = response.meta
            yield self._failure(
                meta.get("discuz_url", response.url), meta["discuz_kind"], type(exc).__name__, exc.message
            )
            return None

    def _failure(self, url: str, kind: Kind, error_type: str, message: str) -> CrawlFailure:
        self.logger.warning("discuz: %s %s failed: %s: %s", kind, url, error_type, message)
        if self.crawler is not None and self.crawler.stats is not None:
            self.crawler.stats.inc_value(f"discuz/failures/{error_type}")
        return CrawlFailure(url=url, kind=kind, error_type=error_type, message=message)

    def _wanted(self, keys: Iterable[int | str | None]) -> bool:
        names = {str(key) for key in keys if key is not None}
        if names & self.exclude_boards:
            return False
        return not self.include_boards or bool(names & self.include_boards)

    def _queue_board(self, response: Response, listed: Board) -> Iterator[Request | Item]:
        if listed.is_redirect or listed.is_private:
            if listed.url not in self._skipped:
                self._skipped.add(listed.url)
                reason: Literal["redirect", "private"] = "redirect" if listed.is_redirect else "private"
                self.logger.info("discuz: skipping %s board %s (%s)", reason, listed.name, listed.url)
                yield CrawlSkip(url=listed.url, name=listed.name, reason=reason)
            return
        key = listed.fid if listed.fid is not None else listed.alias
        if key is not None and key not in self._boards_queued and self._wanted((listed.fid, listed.alias)):
            self._boards_queued.add(key)
            base = response.meta["discuz_base"]
            yield self._board_request(base, key, 1, first=True, listed=listed, legacy=_legacy(response))
        for sub in listed.sub_boards:
            yield from self._queue_board(response, sub)

    def _board_model(self, listed: Board | None, page: BoardPage, base: str, board: int | str) -> Board:
        if listed is not None:
            return listed.model_copy(update={"fid": page.fid})
        return Board(
            fid=page.fid,
            alias=board if isinstance(board, str) else None,
            name=page.name or "",
            url=board_url(base, board, 1),
            today_posts=page.today_posts,
            threads=page.thread_count,
            moderators=page.moderators,
            sub_boards=page.sub_boards,
        )

    def _board_request(
        self,
        base: str,
        board: int | str,
        page: int,
        *,
        first: bool,
        listed: Board | None,
        legacy: bool = False,
    ) -> Request:
        return self._request(
            board_url(base, board, page, legacy=legacy),
            self.parse_board,
            "board",
            base,
            _PRIORITY_BOARD,
            board=board,
            first=first,
            listed=listed,
        )

    def _thread_request(
        self, base: str, tid: int, page: int, pages: list[ThreadPage], *, first: bool, legacy: bool = False
    ) -> Request:
        priority = _PRIORITY_THREAD_FIRST if first else _PRIORITY_THREAD_NEXT
        url = thread_url(base, tid, page, legacy=legacy)
        return self._request(url, self.parse_thread, "thread", base, priority, pages=pages)

    def _request(
        self,
        url: str,
        callback: Callable[[Response], Any],
        kind: Kind,
        base: str,
        priority: int,
        **extra: object,
    ) -> Request:
        meta: dict[str, object] = {"discuz_url": url, "discuz_kind": kind, "discuz_base": base}
        meta.update({f"discuz_{name}": value for name, value in extra.items()})
        return Request(url, callback=callback, errback=self.on_error, meta=meta, priority=priority)


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _content_type(response: Response) -> str | None:
    raw = response.headers.get(b"Content-Type")
    return raw.decode("latin-1") if raw else None


def _legacy(response: Response) -> bool:
    """Discuz 7.2 names its scripts viewthread.php/forumdisplay.php: keep asking in its terms."""
    return "viewthread.php" in response.url or "forumdisplay.php" in response.url
