"""The one importable API: :class:`DiscuzClient` and :class:`AsyncDiscuzClient`.

Both clients share every decision in :class:`BaseClient` (which URL to ask for, which pages a thread
still needs, how a response becomes a model); they differ only in how a request is sent (the sync
:class:`~discuz_scraper.http.Fetcher` or the async :class:`~discuz_scraper.http.AsyncFetcher`).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator
from datetime import datetime, timezone, tzinfo
from types import TracebackType
from typing import TypedDict
from urllib.parse import urlsplit

import httpx
from typing_extensions import Unpack

from .errors import DiscuzError, NotDiscuz
from .http import AsyncFetcher, FetchConfig, Fetcher, Response
from .models import Post, Site, Thread, ThreadPage
from .parsers.dates import DEFAULT_TZ
from .parsers.shell import check_page
from .parsers.thread import PostMerger, build_thread, parse_thread_page
from .urls import index_url, normalize_base, parse_url, thread_url

__all__ = [
    "AsyncDiscuzClient",
    "BaseClient",
    "ClientOptions",
    "DiscuzClient",
    "PageCallback",
    "PageSelection",
    "ThreadRef",
]

ThreadRef = int | str
"""A thread id, or any thread/post URL of the client's site (see :mod:`discuz_scraper.urls`)."""

PageSelection = int | Iterable[int] | None
"""``None`` = every page; ``N`` = the first N pages; an iterable = exactly those page numbers."""

PageCallback = Callable[[ThreadPage], None]
"""Called with each thread page as it is parsed (progress reporting)."""

_SAVED_COOKIE_MARKERS = ("_saltkey", "_lastvisit", "_lastact", "_sid")


class ClientOptions(TypedDict, total=False):
    """Keyword options shared by both clients (see :class:`BaseClient`)."""

    rate: float | None
    concurrency: int
    timeout: float
    retries: int
    user_agent: str | None
    max_retry_after: float
    allow_offsite_redirects: bool
    default_tz: tzinfo


class BaseClient:
    """Everything the sync and async clients share: configuration, URL building, parsing."""

    def __init__(
        self,
        base_url: str,
        *,
        rate: float | None = 2.0,
        concurrency: int = 4,
        timeout: float = 30.0,
        retries: int = 4,
        user_agent: str | None = None,
        max_retry_after: float = 120.0,
        allow_offsite_redirects: bool = False,
        default_tz: tzinfo = DEFAULT_TZ,
    ) -> None:
        self.base_url = normalize_base(base_url)
        defaults = FetchConfig()
        self.config = FetchConfig(
            user_agent=user_agent or defaults.user_agent,
            timeout=timeout,
            retries=retries,
            rate=rate,
            concurrency=concurrency,
            max_retry_after=max_retry_after,
            allow_offsite_redirects=allow_offsite_redirects,
        )
        self.default_tz = default_tz
        self._legacy = False  # Discuz 7.2 names its scripts viewthread.php etc.

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.base_url!r})"

    # -- requests -------------------------------------------------------------------------------

    def _thread_target(self, ref: ThreadRef) -> tuple[int | None, str | None]:
        """``(tid, None)`` when the thread id is known, else ``(None, url)`` to fetch to learn it."""
        if isinstance(ref, int):
            return ref, None
        ref = ref.strip()
        if ref.isdigit():
            return int(ref), None
        parsed = parse_url(ref)
        if urlsplit(ref).hostname != urlsplit(self.base_url).hostname:
            raise DiscuzError(f"URL is not on this client's site {self.base_url}", url=ref)
        if parsed.kind == "thread" and parsed.tid is not None:
            return parsed.tid, None
        if parsed.kind == "post":
            return (parsed.tid, None) if parsed.tid is not None else (None, ref)
        raise DiscuzError("not a thread or post URL", url=ref)

    def _thread_page_url(self, tid: int, page: int) -> str:
        return thread_url(self.base_url, tid, page, legacy=self._legacy)

    @staticmethod
    def _first_page(pages: PageSelection) -> int:
        if pages is None or isinstance(pages, int):
            return 1
        chosen = sorted(set(pages))
        if not chosen or chosen[0] < 1:
            raise DiscuzError(f"page numbers start at 1, got {chosen}")
        return chosen[0]

    @staticmethod
    def _remaining_pages(first: ThreadPage, pages: PageSelection) -> list[int]:
        """The pages still to fetch after ``first``; never beyond the thread's last page, because
        Discuz serves the last page again for any page number past the end."""
        total = first.page_count or first.page
        if pages is None:
            wanted: Iterable[int] = range(first.page + 1, total + 1)
        elif isinstance(pages, int):
            if pages < 1:
                raise DiscuzError(f"pages must be at least 1, got {pages}")
            wanted = range(first.page + 1, min(pages, total) + 1)
        else:
            wanted = (p for p in sorted(set(pages)) if first.page < p <= total)
        return list(wanted)

    # -- responses ------------------------------------------------------------------------------

    def _now(self) -> datetime:
        return datetime.now(timezone.utc)

    def _observe(self, response: Response) -> None:
        """Learn site-wide facts from any response (only the script naming, for now)."""
        if "viewthread.php" in response.url or "forumdisplay.php" in response.url:
            self._legacy = True

    def _parse_thread(self, response: Response) -> ThreadPage:
        self._observe(response)
        if response.status_code >= 500:
            # check_page raises ServerError with the site's "System Error" text and Retry-After.
            check_page(
                response.text, response.url, status=response.status_code, retry_after=response.retry_after
            )
        return parse_thread_page(
            response.text,
            response.url,
            status=response.status_code,
            now=self._now(),
            default_tz=self.default_tz,
        )

    def _tid_from_redirect(self, response: Response) -> int:
        parsed = parse_url(response.url)
        if parsed.tid is None:
            page = self._parse_thread(response)
            return page.tid
        return parsed.tid

    def _site_from(self, response: Response, cookie_names: Iterable[str]) -> Site:
        try:
            _, shell = check_page(response.text, response.url, status=response.status_code)
        except NotDiscuz:
            return Site(base_url=self.base_url, is_discuz=False)
        evidence = list(shell.evidence)
        if any(name.endswith(_SAVED_COOKIE_MARKERS) for name in cookie_names):
            evidence.append("cookies")
        return Site(
            base_url=self.base_url,
            is_discuz=True,
            evidence=evidence,
            name=shell.site_name,
            version=shell.version,
            charset=shell.charset or response.encoding,
            utc_offset_minutes=shell.utc_offset_minutes,
            cookie_prefix=shell.cookie_prefix,
            logged_in_uid=shell.discuz_uid if shell.discuz_uid else None,
            logged_in_name=shell.logged_in_name,
        )


class DiscuzClient(BaseClient):
    """Synchronous client. Use as a context manager, or call :meth:`close`.

    >>> with DiscuzClient("https://bbs.example.com/") as dz:      # doctest: +SKIP
    ...     thread = dz.thread(123)
    """

    def __init__(
        self,
        base_url: str,
        *,
        cookies: httpx.Cookies | dict[str, str] | None = None,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        **options: Unpack[ClientOptions],
    ) -> None:
        super().__init__(base_url, **options)
        self._fetcher = Fetcher(self.config, cookies=cookies, transport=transport, sleep=sleep)

    def __enter__(self) -> DiscuzClient:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        self._fetcher.close()

    @property
    def requests_sent(self) -> int:
        return self._fetcher.requests_sent

    def site(self) -> Site:
        """What the forum says about itself on ``forum.php``."""
        response = self._fetcher.get(index_url(self.base_url))
        return self._site_from(response, self._fetcher.cookies.keys())

    def _tid(self, ref: ThreadRef) -> int:
        tid, url = self._thread_target(ref)
        if tid is not None:
            return tid
        assert url is not None
        return self._tid_from_redirect(self._fetcher.get(url))

    def thread_page(self, ref: ThreadRef, page: int = 1) -> ThreadPage:
        """One page of a thread, parsed."""
        tid = self._tid(ref)
        return self._parse_thread(self._fetcher.get(self._thread_page_url(tid, page)))

    def iter_pages(self, ref: ThreadRef, *, pages: PageSelection = None) -> Iterator[ThreadPage]:
        """Parsed thread pages one by one, stopping at the thread's last page."""
        tid = self._tid(ref)
        first = self.thread_page(tid, self._first_page(pages))
        yield first
        for number in self._remaining_pages(first, pages):
            yield self.thread_page(tid, number)

    def thread(
        self, ref: ThreadRef, *, pages: PageSelection = None, progress: PageCallback | None = None
    ) -> Thread:
        """The whole thread (every page by default), posts de-duplicated by pid.

        ``progress`` is called with each parsed page as it arrives.
        """
        fetched = []
        for page in self.iter_pages(ref, pages=pages):
            fetched.append(page)
            if progress is not None:
                progress(page)
        return build_thread(fetched, fetched_at=self._now())

    def iter_posts(self, ref: ThreadRef, *, pages: PageSelection = None) -> Iterator[Post]:
        """Stream the thread's posts page by page; memory stays flat however long the thread."""
        merger = PostMerger()
        for page in self.iter_pages(ref, pages=pages):
            yield from merger.feed(page.posts)
        yield from merger.finish()


class AsyncDiscuzClient(BaseClient):
    """Asynchronous client with the same surface as :class:`DiscuzClient` (``await`` / ``async for``)."""

    def __init__(
        self,
        base_url: str,
        *,
        cookies: httpx.Cookies | dict[str, str] | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        **options: Unpack[ClientOptions],
    ) -> None:
        super().__init__(base_url, **options)
        self._fetcher = AsyncFetcher(self.config, cookies=cookies, transport=transport, sleep=sleep)

    async def __aenter__(self) -> AsyncDiscuzClient:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._fetcher.aclose()

    @property
    def requests_sent(self) -> int:
        return self._fetcher.requests_sent

    async def site(self) -> Site:
        response = await self._fetcher.get(index_url(self.base_url))
        return self._site_from(response, self._fetcher.cookies.keys())

    async def _tid(self, ref: ThreadRef) -> int:
        tid, url = self._thread_target(ref)
        if tid is not None:
            return tid
        assert url is not None
        return self._tid_from_redirect(await self._fetcher.get(url))

    async def thread_page(self, ref: ThreadRef, page: int = 1) -> ThreadPage:
        tid = await self._tid(ref)
        return self._parse_thread(await self._fetcher.get(self._thread_page_url(tid, page)))

    async def thread(
        self, ref: ThreadRef, *, pages: PageSelection = None, progress: PageCallback | None = None
    ) -> Thread:
        """The whole thread; pages after the first are fetched concurrently (within the rate limit)."""
        tid = await self._tid(ref)

        async def fetch(number: int) -> ThreadPage:
            page = await self.thread_page(tid, number)
            if progress is not None:
                progress(page)
            return page

        first = await fetch(self._first_page(pages))
        rest = await asyncio.gather(*(fetch(n) for n in self._remaining_pages(first, pages)))
        return build_thread([first, *rest], fetched_at=self._now())

    async def iter_pages(self, ref: ThreadRef, *, pages: PageSelection = None) -> AsyncIterator[ThreadPage]:
        """Parsed thread pages one by one, stopping at the thread's last page."""
        tid = await self._tid(ref)
        first = await self.thread_page(tid, self._first_page(pages))
        yield first
        for number in self._remaining_pages(first, pages):
            yield await self.thread_page(tid, number)

    async def iter_posts(self, ref: ThreadRef, *, pages: PageSelection = None) -> AsyncIterator[Post]:
        """Stream the thread's posts page by page; memory stays flat however long the thread."""
        merger = PostMerger()
        async for page in self.iter_pages(ref, pages=pages):
            for post in merger.feed(page.posts):
                yield post
        for post in merger.finish():
            yield post
