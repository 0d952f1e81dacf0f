"""Board and forum crawls: one async engine, used as is by :class:`AsyncDiscuzClient` and from a
worker thread by :class:`DiscuzClient`.

The engine is a work queue served by ``concurrency`` workers. A job is the forum index, one board
page or one thread; each finished job hands its models to the caller at once and may queue more
jobs (a board's first page queues its other pages and its sub-boards, every new row queues its
thread). Each board and each tid is handled once, whichever listing mentions it first (stickies
repeat on every page, global stickies on every board, a moved thread's row links to its new tid).
A job that fails with a :class:`~discuz_scraper.errors.DiscuzError` becomes a
:class:`CrawlFailure` in the final :class:`CrawlReport` and the crawl goes on. Requests go through
the client's fetcher, so its rate limit and concurrency cap always hold.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from .errors import ConfigError, DiscuzError
from .models import Board, BoardPage, Thread, ThreadSummary

if TYPE_CHECKING:
    from .client import AsyncDiscuzClient, BoardRef, PageSelection

__all__ = [
    "CrawlEngine",
    "CrawlEvent",
    "CrawlFailure",
    "CrawlItem",
    "CrawlReport",
    "CrawlSkip",
    "stream_in_thread",
]

T = TypeVar("T")


class CrawlFailure(BaseModel):
    """One item the crawl could not fetch; the rest of the crawl went on."""

    model_config = ConfigDict(extra="forbid")

    url: str = Field(description="the URL the crawl asked for")
    kind: Literal["index", "board", "thread"]
    error_type: str = Field(description="the DiscuzError subclass, e.g. NotFound, LoginRequired")
    message: str


class CrawlSkip(BaseModel):
    """A listed board the crawl did not enter, and why."""

    model_config = ConfigDict(extra="forbid")

    url: str
    name: str
    reason: Literal["redirect", "private"]


class CrawlReport(BaseModel):
    """The last item of every crawl: what was fetched and what went wrong."""

    model_config = ConfigDict(extra="forbid")

    boards: int = Field(default=0, description="boards whose thread list was read")
    thread_rows: int = Field(default=0, description="distinct thread-list rows (tids) seen")
    threads: int = Field(default=0, description="threads fetched with their posts")
    posts: int = 0
    requests: int = Field(default=0, description="HTTP requests sent, retries and redirects included")
    failures: list[CrawlFailure] = Field(default_factory=list)
    skipped: list[CrawlSkip] = Field(default_factory=list)


CrawlItem = Board | ThreadSummary | Thread
"""A model a crawl yields as soon as it is fetched."""

CrawlEvent = CrawlItem | CrawlReport
"""What crawl iterators yield: items, then one final :class:`CrawlReport`."""


@dataclass(frozen=True)
class _IndexJob:
    pass


@dataclass(frozen=True)
class _BoardJob:
    board: int | str
    page: int
    pages: PageSelection
    listed: Board | None = None
    first: bool = True


@dataclass(frozen=True)
class _ThreadJob:
    tid: int


_Job = _IndexJob | _BoardJob | _ThreadJob
_Jobs = asyncio.Queue[_Job]


class _Done:
    """Marks the end of the output queue."""


_Out = asyncio.Queue[CrawlItem | Exception | _Done]


class CrawlEngine:
    """Runs one crawl over an :class:`AsyncDiscuzClient`; use :meth:`forum` or :meth:`board` once."""

    def __init__(
        self, client: AsyncDiscuzClient, *, with_posts: bool = True, concurrency: int | None = None
    ) -> None:
        workers = client.config.concurrency if concurrency is None else concurrency
        if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
            raise ConfigError(f"concurrency must be a positive integer, got {concurrency!r}")
        self._client = client
        self._with_posts = with_posts
        self._workers = workers
        self._report = CrawlReport()
        self._boards_queued: set[int | str] = set()
        self._boards_read: set[int] = set()
        self._tids: set[int] = set()

    def forum(self) -> AsyncIterator[CrawlEvent]:
        """Index → every board (and sub-board) and its pages → every thread."""
        return self._run(_IndexJob())

    def board(self, ref: BoardRef, *, pages: PageSelection = None) -> AsyncIterator[CrawlEvent]:
        """One board's selected pages and its sub-boards → every listed thread.

        Bad input (not a board id, alias or URL of this site) raises at once.
        """
        board, _ = self._client._board_target(ref, None)
        self._boards_queued.add(board)
        return self._run(_BoardJob(board, self._client._first_page(pages), pages))

    async def _run(self, seed: _Job) -> AsyncIterator[CrawlEvent]:
        jobs: _Jobs = asyncio.Queue()
        # Bounded, so a slow consumer holds the workers back instead of piling models up.
        out: _Out = asyncio.Queue(maxsize=self._workers * 4)
        started = self._client.requests_sent
        jobs.put_nowait(seed)
        tasks = [asyncio.create_task(self._work(jobs, out)) for _ in range(self._workers)]
        tasks.append(asyncio.create_task(self._close_when_idle(jobs, out)))
        try:
            while True:
                item = await out.get()
                if isinstance(item, _Done):
                    break
                if isinstance(item, Exception):
                    raise item
                yield item
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        self._report.requests = self._client.requests_sent - started
        yield self._report

    @staticmethod
    async def _close_when_idle(jobs: _Jobs, out: _Out) -> None:
        await jobs.join()
        await out.put(_Done())

    async def _work(self, jobs: _Jobs, out: _Out) -> None:
        while True:
            job = await jobs.get()
            try:
                for item in await self._do(job, jobs):
                    await out.put(item)
            except Exception as exc:  # a bug, not a site's refusal: end the crawl with it
                await out.put(exc)
            finally:
                jobs.task_done()

    async def _do(self, job: _Job, jobs: _Jobs) -> list[CrawlItem]:
        client = self._client
        if isinstance(job, _ThreadJob):
            url = client._thread_page_url(job.tid, 1)
            try:
                thread = await client.thread(job.tid)
            except DiscuzError as exc:
                self._fail(url, "thread", exc)
                return []
            self._report.threads += 1
            self._report.posts += len(thread.posts)
            return [thread]
        if isinstance(job, _BoardJob):
            url = client._board_page_url(job.board, job.page)
            try:
                page = await client.board(job.board, job.page)
            except DiscuzError as exc:
                self._fail(url, "board", exc)
                return []
            return self._board_page(job, page, jobs)
        try:
            index = await client.forum_index()
        except DiscuzError as exc:
            self._fail(client._site_urls()[0], "index", exc)
            return []
        for category in index.categories:
            for listed in category.boards:
                self._queue_board(listed, jobs, None)
        return []

    def _board_page(self, job: _BoardJob, page: BoardPage, jobs: _Jobs) -> list[CrawlItem]:
        items: list[CrawlItem] = []
        if job.first:
            if page.fid in self._boards_read:
                return []  # the same board under another name (alias and fid)
            self._boards_read.add(page.fid)
            self._boards_queued.add(page.fid)
            self._report.boards += 1
            items.append(self._board_model(job, page))
            for number in self._client._board_pages_after(page, job.pages):
                jobs.put_nowait(_BoardJob(job.board, number, job.pages, first=False))
            for sub in page.sub_boards:
                self._queue_board(sub, jobs, job.pages)
        elif page.past_the_end:
            return []  # the board shrank while we read it: these rows are page 1's
        for row in page.rows:
            if row.tid in self._tids:
                continue
            self._tids.add(row.tid)
            self._report.thread_rows += 1
            items.append(row)
            if self._with_posts:
                jobs.put_nowait(_ThreadJob(row.tid))
        return items

    def _board_model(self, job: _BoardJob, page: BoardPage) -> Board:
        if job.listed is not None:
            return job.listed.model_copy(update={"fid": page.fid})
        alias = job.board if isinstance(job.board, str) else None
        return Board(
            fid=page.fid,
            alias=alias,
            name=page.name or "",
            url=self._client._board_page_url(job.board, 1),
            today_posts=page.today_posts,
            threads=page.thread_count,
            moderators=page.moderators,
            sub_boards=page.sub_boards,
        )

    def _queue_board(self, listed: Board, jobs: _Jobs, pages: PageSelection) -> None:
        if listed.is_redirect or listed.is_private:
            reason: Literal["redirect", "private"] = "redirect" if listed.is_redirect else "private"
            if all(skip.url != listed.url for skip in self._report.skipped):
                self._report.skipped.append(CrawlSkip(url=listed.url, name=listed.name, reason=reason))
            return
        key = listed.fid if listed.fid is not None else listed.alias
        if key is None or key in self._boards_queued:
            return
        self._boards_queued.add(key)
        jobs.put_nowait(_BoardJob(key, self._client._first_page(pages), pages, listed=listed))
        for sub in listed.sub_boards:
            self._queue_board(sub, jobs, pages)

    def _fail(self, url: str, kind: Literal["index", "board", "thread"], exc: DiscuzError) -> None:
        self._report.failures.append(
            CrawlFailure(url=url, kind=kind, error_type=type(exc).__name__, message=exc.message)
        )


def stream_in_thread(
    make_client: Callable[[], AsyncDiscuzClient],
    crawl: Callable[[AsyncDiscuzClient], AsyncIterator[T]],
    *,
    buffer: int = 64,
) -> Iterator[T]:
    """Run ``crawl(make_client())`` on a private event loop in a worker thread, streaming its
    items to the calling thread. At most ``buffer`` items wait for the caller; closing the
    iterator early cancels the crawl and joins the thread."""
    handoff: queue.Queue[tuple[str, object]] = queue.Queue()
    credits = asyncio.Semaphore(buffer)
    loop = asyncio.new_event_loop()

    async def pump() -> None:
        client = make_client()
        try:
            async for item in crawl(client):
                await credits.acquire()
                handoff.put(("item", item))
        finally:
            await client.aclose()

    task = loop.create_task(pump())

    def run() -> None:
        try:
            loop.run_until_complete(task)
            handoff.put(("done", None))
        except asyncio.CancelledError:
            handoff.put(("done", None))
        except BaseException as exc:  # handed to the caller's thread, re-raised there
            handoff.put(("error", exc))
        finally:
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    def wake(callback: Callable[[], object]) -> None:
        # The loop may have finished and closed while the caller still drains the last items.
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(callback)

    worker = threading.Thread(target=run, name="discuz-crawl", daemon=True)
    worker.start()
    try:
        while True:
            kind, value = handoff.get()
            if kind == "done":
                return
            if kind == "error":
                assert isinstance(value, BaseException)
                raise value
            wake(credits.release)
            yield value  # type: ignore[misc]
    finally:
        if worker.is_alive():
            wake(task.cancel)
        worker.join()
