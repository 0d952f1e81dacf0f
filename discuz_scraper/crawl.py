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

**With a store** (``store=``, see :mod:`discuz_scraper.store`) a crawl is resumable and incremental:

- every list page is saved (its rows and the page marked done in one transaction), every thread
  page is saved and marked done as it arrives, and a thread is marked done with its list row's
  reply count and last-post time once all its pages are in. A crash at any moment loses at most
  the pages in flight; running the same crawl again fetches what is not done yet.
- the board lists are always read again. A row whose thread is done and whose reply count and
  last-post time equal the stored ones is *unchanged* and not fetched; a changed thread is fetched
  from the page holding its last stored floor on (that page may have gained replies or edits); a
  thread cut short by a crash is fetched from its first page not done, skipping the done ones.
  An edit on an earlier page of a thread is therefore not seen (a list row does not show edits).
- ``stop_after=N`` ends a board's list walk after N unchanged rows in a row (sticky rows do not
  count): lists are ordered by last post, so the rest is unchanged too. Pages are then read one
  after the other instead of all at once.
- failures go to the store's failures table (URL, error type, attempts); a later success clears
  them. :meth:`CrawlEngine.retry_failed` fetches only the recorded failures.

``since`` (aware datetime, with or without a store) keeps only threads last active at or after
it: a board's walk ends after the first page holding a non-sticky row last active before it
(lists are ordered by last post, stickies excepted), and older rows are neither reported nor
fetched. Pages are then read one after the other too.

A crawl with a store yields, per thread, a :class:`~discuz_scraper.models.Thread` holding the posts
fetched *in this run* (an incremental run fetches only the newer pages); the store holds them all.

SQLite connections belong to the thread that opened them, so every store call goes through a
:class:`StoreRunner`: the async client calls the store right there in the event loop's thread
(:func:`run_inline`); the sync client's crawl runs on a worker thread and hands each store call to
the caller's thread, which runs it between the items it receives (:func:`stream_in_thread`).
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal, Protocol, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from .access import crawling
from .errors import ConfigError, DiscuzError
from .models import Board, BoardPage, Thread, ThreadPage, ThreadSummary
from .parsers.thread import build_thread
from .urls import parse_url

if TYPE_CHECKING:
    from .client import AsyncDiscuzClient, BoardRef, PageSelection
    from .store import Failure, Store

__all__ = [
    "CrawlEngine",
    "CrawlEvent",
    "CrawlFailure",
    "CrawlItem",
    "CrawlReport",
    "CrawlSkip",
    "StoreRunner",
    "run_inline",
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
    """A listed board the crawl did not enter, or a URL robots.txt disallows, and why."""

    model_config = ConfigDict(extra="forbid")

    url: str
    name: str
    reason: Literal["redirect", "private", "robots_txt"]


class CrawlReport(BaseModel):
    """The last item of every crawl: what was fetched and what went wrong."""

    model_config = ConfigDict(extra="forbid")

    boards: int = Field(default=0, description="boards whose thread list was read")
    thread_rows: int = Field(default=0, description="distinct thread-list rows (tids) seen")
    threads: int = Field(default=0, description="threads fetched with their posts")
    posts: int = Field(default=0, description="posts fetched (in this run: new pages only when incremental)")
    unchanged: int = Field(default=0, description="rows whose stored thread was up to date (store only)")
    requests: int = Field(default=0, description="HTTP requests sent, retries and redirects included")
    failures: list[CrawlFailure] = Field(default_factory=list)
    skipped: list[CrawlSkip] = Field(default_factory=list)


CrawlItem = Board | ThreadSummary | Thread
"""A model a crawl yields as soon as it is fetched."""

CrawlEvent = CrawlItem | CrawlReport
"""What crawl iterators yield: items, then one final :class:`CrawlReport`."""


class StoreRunner(Protocol):
    """Runs a store call in the thread that owns the store and hands back its result."""

    def __call__(self, call: Callable[[], T]) -> Awaitable[T]: ...


async def run_inline(call: Callable[[], T]) -> T:
    """The :class:`StoreRunner` for a store owned by the event loop's own thread: call it at once."""
    return call()


@dataclass(frozen=True)
class _IndexJob:
    pass


@dataclass(frozen=True)
class _RetryJob:
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
    row: ThreadSummary | None = None
    start: int | None = 1
    """The first page to fetch; ``None`` when every page is stored and only the done mark is missing."""
    skip: frozenset[int] = frozenset()
    """Pages already stored by an interrupted run."""


_Job = _IndexJob | _RetryJob | _BoardJob | _ThreadJob
_Jobs = asyncio.Queue[_Job]


class _Done:
    """Marks the end of the output queue."""


_Out = asyncio.Queue[CrawlItem | Exception | _Done]
_Kind = Literal["index", "board", "thread"]


def _positive(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"{name} must be a positive integer, got {value!r}")
    return value


def active_before(row: ThreadSummary, since: datetime) -> bool:
    """Whether a list row's thread was last active (last post, else creation) before ``since``;
    a row that shows neither time counts as active."""
    when = row.last_post_at or row.created_at
    return when is not None and when < since


class CrawlEngine:
    """Runs one crawl over an :class:`AsyncDiscuzClient`; use :meth:`forum`, :meth:`board` or
    :meth:`retry_failed` once. ``store``, ``stop_after`` and ``run_store``: see the module docstring."""

    def __init__(
        self,
        client: AsyncDiscuzClient,
        *,
        with_posts: bool = True,
        concurrency: int | None = None,
        store: Store | None = None,
        stop_after: int | None = None,
        since: datetime | None = None,
        run_store: StoreRunner = run_inline,
    ) -> None:
        workers = client.config.concurrency if concurrency is None else concurrency
        self._workers = _positive("concurrency", workers)
        if stop_after is not None:
            if store is None:
                raise ConfigError("stop_after needs a store: unchanged threads are known from the store")
            _positive("stop_after", stop_after)
        if since is not None and since.tzinfo is None:
            raise ConfigError("since must be a timezone-aware datetime")
        self._client = client
        self._with_posts = with_posts
        self._store = store
        self._stop_after = stop_after
        self._since = since
        # Both end a board's walk early, which only a walk page after page can see.
        self._one_page_at_a_time = stop_after is not None or since is not None
        self._run_store = run_store
        self._site = client.base_url
        self._report = CrawlReport()
        self._boards_queued: set[int | str] = set()
        self._boards_read: set[int] = set()
        self._tids: set[int] = set()
        self._streaks: dict[int, int] = {}
        self._known_failures: set[str] = set()

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

    def retry_failed(self) -> AsyncIterator[CrawlEvent]:
        """Only the URLs in the store's failures table: a failed thread is fetched (what is not
        stored yet), a failed board page is read again (a first page walks its board again)."""
        if self._store is None:
            raise ConfigError("retry_failed needs a store: the failures are read from it")
        return self._run(_RetryJob())

    # -- the loop ----------------------------------------------------------------------------------

    async def _run(self, seed: _Job) -> AsyncIterator[CrawlEvent]:
        jobs: _Jobs = asyncio.Queue()
        # Bounded, so a slow consumer holds the workers back instead of piling models up.
        out: _Out = asyncio.Queue(maxsize=self._workers * 4)
        started = self._client.requests_sent
        store = self._store
        if store is not None:
            recorded = await self._run_store(lambda: store.failures(self._site))
            self._known_failures = {failure.url for failure in recorded}
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
        # Each worker task runs in its own copy of the context: this marks only the crawl's
        # requests, which honour robots.txt unless the client says otherwise (access.py).
        crawling.set(True)
        while True:
            job = await jobs.get()
            try:
                for item in await self._do(job, jobs):
                    await out.put(item)
            except Exception as exc:  # a bug or a store failure, not a site's refusal: end the crawl
                await out.put(exc)
            finally:
                jobs.task_done()

    async def _do(self, job: _Job, jobs: _Jobs) -> Sequence[CrawlItem]:
        client = self._client
        if isinstance(job, _ThreadJob):
            return await self._thread(job)
        if isinstance(job, _BoardJob):
            url = client._board_page_url(job.board, job.page)
            try:
                page = await client.board(job.board, job.page)
            except DiscuzError as exc:
                await self._fail(url, "board", exc)
                return []
            await self._succeeded(url)
            return await self._board_page(job, page, jobs)
        if isinstance(job, _RetryJob):
            store = self._store
            assert store is not None  # retry_failed() refuses to start without one
            retries = await self._run_store(lambda: [self._retry_job(f) for f in store.failures(self._site)])
            for retry in retries:
                if retry is not None:
                    jobs.put_nowait(retry)
            return []
        url = client._site_urls()[0]
        try:
            index = await client.forum_index()
        except DiscuzError as exc:
            await self._fail(url, "index", exc)
            return []
        await self._succeeded(url)
        for category in index.categories:
            for listed in category.boards:
                self._queue_board(listed, jobs, None)
        return []

    # -- boards ------------------------------------------------------------------------------------

    async def _board_page(self, job: _BoardJob, page: BoardPage, jobs: _Jobs) -> list[CrawlItem]:
        items: list[CrawlItem] = []
        board: Board | None = None
        if job.first:
            if page.fid in self._boards_read:
                return []  # the same board under another name (alias and fid)
            self._boards_read.add(page.fid)
            self._boards_queued.add(page.fid)
            self._report.boards += 1
            board = self._board_model(job, page)
            items.append(board)
            if not self._one_page_at_a_time:
                for number in self._client._board_pages_after(page, job.pages):
                    jobs.put_nowait(_BoardJob(job.board, number, job.pages, first=False))
            for sub in page.sub_boards:
                self._queue_board(sub, jobs, job.pages)
        elif page.past_the_end:
            return []  # the board shrank while we read it: these rows are page 1's
        since = self._since
        older = [row for row in page.rows if since is not None and active_before(row, since)]
        dropped = {row.tid for row in older}
        rows = [row for row in page.rows if row.tid not in self._tids and row.tid not in dropped]
        self._tids.update(row.tid for row in rows)
        self._report.thread_rows += len(rows)
        items.extend(rows)
        plans = await self._save_list(board, page, rows)
        for plan in plans:
            if plan is None:
                self._report.unchanged += 1
            elif self._with_posts:
                jobs.put_nowait(plan)
        walk_on = not any(row.sticky == 0 for row in older) and not self._stopped(page, rows, plans)
        if self._one_page_at_a_time and walk_on:
            later = self._client._board_pages_after(page, job.pages)
            if later:
                jobs.put_nowait(_BoardJob(job.board, later[0], job.pages, first=False))
        return items

    def _stopped(self, page: BoardPage, rows: list[ThreadSummary], plans: list[_ThreadJob | None]) -> bool:
        """Count unchanged non-sticky rows in a row across the board's pages; True once enough."""
        streak = self._streaks.get(page.fid, 0)
        for row, plan in zip(rows, plans, strict=True):
            if row.sticky == 0:
                streak = streak + 1 if plan is None else 0
        self._streaks[page.fid] = streak
        return self._stop_after is not None and streak >= self._stop_after

    async def _save_list(
        self, board: Board | None, page: BoardPage, rows: list[ThreadSummary]
    ) -> list[_ThreadJob | None]:
        """Save the list page (and its board) and decide, per new row, what its thread needs."""
        store = self._store
        if store is None:
            return [_ThreadJob(row.tid, row) for row in rows]

        def save_and_plan() -> list[_ThreadJob | None]:
            if board is not None:
                store.save_board(board, self._site)
            store.save_board(page, self._site)
            return [self._plan(row.tid, row) for row in rows]

        return await self._run_store(save_and_plan)

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

    # -- threads -----------------------------------------------------------------------------------

    def _plan(self, tid: int, row: ThreadSummary | None) -> _ThreadJob | None:
        """What thread ``tid`` still needs, from the store (runs in the store's thread)."""
        store = self._store
        assert store is not None  # only called for crawls with a store
        state = store.thread_state(self._site, tid)
        stored = store.stored_pages(self._site, tid)
        if store.is_done(self._site, "thread", tid):
            seen = (state.stored_replies, state.stored_last_post_at)
            if row is not None and (row.replies, row.last_post_at) == seen:
                return None
            # New replies land on the last stored page first: read it again, then what follows.
            return _ThreadJob(tid, row, start=stored.last_floor_page or 1)
        done = set(state.pages_done)
        missing = next(number for number in range(1, len(done) + 2) if number not in done)
        if stored.page_count is not None and missing > stored.page_count:
            return _ThreadJob(tid, row, start=None)
        return _ThreadJob(tid, row, start=missing, skip=frozenset(done))

    def _retry_job(self, failure: Failure) -> _Job | None:
        """The job that retries one recorded failure (runs in the store's thread)."""
        if failure.kind == "index":
            return _IndexJob()
        target = parse_url(failure.url)
        if failure.kind == "thread" and target.tid is not None:
            self._tids.add(target.tid)
            return self._plan(target.tid, None)
        board = target.fid if target.fid is not None else target.forum_alias
        if failure.kind == "board" and board is not None:
            self._boards_queued.add(board)
            page = target.page or 1
            return _BoardJob(board, page, None, first=page == 1)
        return None

    async def _thread(self, job: _ThreadJob) -> list[CrawlItem]:
        url = self._client._thread_page_url(job.tid, 1)
        try:
            if self._store is not None:
                thread = await self._stored_thread(job)
            else:
                thread = await self._client.thread(job.tid)
        except DiscuzError as exc:
            await self._fail(url, "thread", exc)
            return []
        await self._succeeded(url)
        if thread is None:
            return []
        self._report.threads += 1
        self._report.posts += len(thread.posts)
        return [thread]

    async def _stored_thread(self, job: _ThreadJob) -> Thread | None:
        """Fetch and save the pages ``job`` names, then mark the thread done."""
        store = self._store
        assert store is not None
        client = self._client
        fetched_at = client._now()

        async def fetch(number: int) -> ThreadPage:
            page = await client.thread_page(job.tid, number)
            await self._run_store(lambda: store.save_thread_page(page, self._site, fetched_at=fetched_at))
            return page

        pages: list[ThreadPage] = []
        if job.start is not None:
            first = await fetch(job.start)
            rest = [n for n in client._remaining_pages(first, None) if n not in job.skip]
            # return_exceptions: every page in flight is finished (and saved) before a failure is raised.
            answers = await asyncio.gather(*(fetch(n) for n in rest), return_exceptions=True)
            for answer in answers:
                if isinstance(answer, BaseException):
                    raise answer
            pages = [first, *(answer for answer in answers if isinstance(answer, ThreadPage))]
        replies, last_post_at = self._thread_marks(job, pages)
        await self._run_store(
            lambda: store.mark_done(self._site, "thread", job.tid, replies=replies, last_post_at=last_post_at)
        )
        return build_thread(pages, fetched_at=fetched_at) if pages else None

    @staticmethod
    def _thread_marks(job: _ThreadJob, pages: list[ThreadPage]) -> tuple[int | None, datetime | None]:
        """What the done mark records: the list row's values, which the next run compares against.

        A retried thread has no row: page 1's reply count (when fetched) and no time, so the next
        list walk sees it as changed and reads its last page once more.
        """
        if job.row is not None:
            return job.row.replies, job.row.last_post_at
        return next((page.replies for page in pages if page.page == 1), None), None

    # -- failures ----------------------------------------------------------------------------------

    async def _fail(self, url: str, kind: _Kind, exc: DiscuzError) -> None:
        if exc.key == "robots_txt":  # nothing was sent: the site asks crawlers to stay away
            self._report.skipped.append(CrawlSkip(url=url, name="", reason="robots_txt"))
            return
        self._report.failures.append(
            CrawlFailure(url=url, kind=kind, error_type=type(exc).__name__, message=exc.message)
        )
        store = self._store
        if store is not None:
            await self._run_store(lambda: store.record_failure(self._site, kind, url, exc))

    async def _succeeded(self, url: str) -> None:
        store = self._store
        if store is not None and url in self._known_failures:
            self._known_failures.discard(url)
            await self._run_store(lambda: store.clear_failure(self._site, url))


class _Handoff:
    """The channel from the crawl's worker thread to the caller's thread: items, and store calls
    the caller runs for the worker (the store lives in the caller's thread)."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.queue: queue.Queue[tuple[str, Any]] = queue.Queue()
        self._loop = loop

    async def run_store(self, call: Callable[[], T]) -> T:
        answer: asyncio.Future[T] = self._loop.create_future()
        self.queue.put(("call", (call, answer)))
        return await answer

    def answer(self, call: Callable[[], Any], answer: asyncio.Future[Any]) -> None:
        """Run ``call`` here (the caller's thread) and resolve ``answer`` on the crawl's loop."""
        try:
            result = call()
        except BaseException as exc:  # handed back to the worker, which ends the crawl with it
            error = exc
            self.wake(lambda: answer.done() or answer.set_exception(error))
        else:
            self.wake(lambda: answer.done() or answer.set_result(result))

    def wake(self, callback: Callable[[], object]) -> None:
        # The loop may have finished and closed while the caller still drains the last items.
        with contextlib.suppress(RuntimeError):
            self._loop.call_soon_threadsafe(callback)


def stream_in_thread(
    make_client: Callable[[], AsyncDiscuzClient],
    crawl: Callable[[AsyncDiscuzClient, StoreRunner], AsyncIterator[T]],
    *,
    buffer: int = 64,
) -> Iterator[T]:
    """Run ``crawl(make_client(), run_store)`` on a private event loop in a worker thread, streaming
    its items to the calling thread. ``run_store`` runs store calls in the calling thread (where
    the store was opened). At most ``buffer`` items wait for the caller; closing the iterator
    early cancels the crawl and joins the thread."""
    credits = asyncio.Semaphore(buffer)
    loop = asyncio.new_event_loop()
    handoff = _Handoff(loop)

    async def pump() -> None:
        client = make_client()
        try:
            async for item in crawl(client, handoff.run_store):
                await credits.acquire()
                handoff.queue.put(("item", item))
        finally:
            await client.aclose()

    task = loop.create_task(pump())

    def run() -> None:
        try:
            loop.run_until_complete(task)
            handoff.queue.put(("done", None))
        except asyncio.CancelledError:
            handoff.queue.put(("done", None))
        except BaseException as exc:  # handed to the caller's thread, re-raised there
            handoff.queue.put(("error", exc))
        finally:
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    worker = threading.Thread(target=run, name="discuz-crawl", daemon=True)
    worker.start()
    try:
        while True:
            kind, value = handoff.queue.get()
            if kind == "done":
                return
            if kind == "error":
                assert isinstance(value, BaseException)
                raise value
            if kind == "call":
                handoff.answer(*value)
                continue
            handoff.wake(credits.release)
            yield value
    finally:
        if worker.is_alive():
            handoff.wake(task.cancel)
        worker.join()
