"""The one importable API: :class:`DiscuzClient` and :class:`AsyncDiscuzClient`.

Both clients share every decision in :class:`BaseClient` (which URL to ask for, which pages a thread
still needs, how a response becomes a model); they differ only in how a request is sent (the sync
:class:`~discuz_scraper.http.Fetcher` or the async :class:`~discuz_scraper.http.AsyncFetcher`).
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator, Mapping
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from datetime import datetime, timezone, tzinfo
from types import TracebackType
from typing import Any, Literal, TypedDict, TypeVar
from urllib.parse import urljoin, urlsplit

import httpx

if sys.version_info >= (3, 11):
    from typing import Unpack
else:  # pydantic depends on typing_extensions, so it is always there
    from typing_extensions import Unpack

from .access import AccessFetcher, AccessPolicy, AsyncAccessFetcher, LoggedInUser, login_flow, whoami_flow
from .backends import (
    DEFAULT_API_PPP,
    Backend,
    BackendRequest,
    BackendSelector,
    ParseJob,
    RequestKind,
    request_url,
)
from .cookies import CookieSource, load_cookies, save_cookies
from .crawl import CrawlEngine, CrawlEvent, active_before, stream_in_thread
from .errors import BackendUnavailable, ConfigError, DiscuzError
from .http import FetchConfig, Response
from .media import DEFAULT_MAX_SIZE, MediaFolder, MediaItem, MediaRecord, download_flow, media_item
from .models import (
    Attachment,
    BoardPage,
    ForumIndex,
    Image,
    Post,
    Site,
    Source,
    Thread,
    ThreadPage,
    ThreadSummary,
    UserProfile,
)
from .parsers.api import parse_api_board_page, parse_api_forum_index, parse_api_profile, parse_api_thread_page
from .parsers.archiver import parse_archiver_board_page, parse_archiver_index, parse_archiver_thread_page
from .parsers.board import parse_board_page
from .parsers.dates import DEFAULT_TZ
from .parsers.index import parse_forum_index
from .parsers.profile import parse_profile
from .parsers.shell import check_page
from .parsers.site import read_api_check, read_archiver_index, site_from_index
from .parsers.thread import PostMerger, build_thread, parse_thread_page
from .store import PostImage, Store
from .urls import api_url, board_url, index_url, normalize_base, parse_url, thread_url, user_url

__all__ = [
    "AsyncDiscuzClient",
    "BaseClient",
    "BoardRef",
    "BoardWalk",
    "ClientOptions",
    "DiscuzClient",
    "PageCallback",
    "PageSelection",
    "ThreadRef",
    "UserRef",
    "select_pages",
]

T = TypeVar("T")

# Up to 20% more than 1/rate between two requests: a steady metronome is what bot filters look for.
_PACE_JITTER = 0.2

ThreadRef = int | str
"""A thread id, or any thread/post URL of the client's site (see :mod:`discuz_scraper.urls`)."""

PageSelection = int | Iterable[int] | None
"""``None`` = every page; ``N`` = the first N pages; an iterable = exactly those page numbers."""

BoardRef = int | str
"""A board id, a board alias (``forum-news-1.html`` → ``"news"``) or any board URL of the client's site."""

UserRef = int | str
"""A uid, or a profile/space URL of the client's site (``space-uid-5.html``, ``home.php?mod=space&uid=5``)."""

PageCallback = Callable[[ThreadPage], None]
"""Called with each thread page as it is parsed (progress reporting)."""


def select_pages(current: int, total: int, pages: PageSelection) -> list[int]:
    """The pages still to fetch after ``current`` out of ``total``, as ``pages`` selects them.

    Never beyond ``total``: Discuz answers a page past the end with the last page (threads) or
    page 1 (boards), so asking for it would only repeat content.
    """
    if pages is None:
        wanted: Iterable[int] = range(current + 1, total + 1)
    elif isinstance(pages, int):
        if pages < 1:
            raise DiscuzError(f"pages must be at least 1, got {pages}")
        wanted = range(current + 1, min(pages, total) + 1)
    else:
        wanted = (p for p in sorted(set(pages)) if current < p <= total)
    return list(wanted)


def first_page(pages: PageSelection) -> int:
    """The first page a selection asks for (``1`` for ``None`` and for a count)."""
    if pages is None or isinstance(pages, int):
        return 1
    chosen = sorted(set(pages))
    if not chosen or chosen[0] < 1:
        raise DiscuzError(f"page numbers start at 1, got {chosen}")
    return chosen[0]


class BoardWalk:
    """Decides, page by page, which thread-list rows to hand out and which page comes next.

    Shared by both clients' :meth:`iter_threads`. Rows are de-duplicated by tid (stickies repeat on
    every page). The walk ends at the board's last page, at a past-the-end answer (Discuz serves
    page 1 again: never loop back), and, with ``since``, after the first page holding a non-sticky
    row last active before ``since`` (lists are ordered by last post, stickies excepted).
    """

    def __init__(self, pages: PageSelection = None, since: datetime | None = None) -> None:
        if since is not None and since.tzinfo is None:
            raise DiscuzError("since must be a timezone-aware datetime")
        self.pages = pages
        self.since = since
        self.next_page: int | None = first_page(pages)
        self._seen: set[int] = set()

    def feed(self, page: BoardPage) -> list[ThreadSummary]:
        """The new rows of ``page``; updates :attr:`next_page` (``None`` = done)."""
        if page.past_the_end:
            self.next_page = None
            return []
        rows: list[ThreadSummary] = []
        reached_older = False
        for row in page.rows:
            if row.tid in self._seen:
                continue
            if self._older(row):
                reached_older = reached_older or row.sticky == 0
                continue
            self._seen.add(row.tid)
            rows.append(row)
        later = select_pages(page.page, page.page_count or page.page, self.pages)
        self.next_page = None if reached_older or not later else later[0]
        return rows

    def _older(self, row: ThreadSummary) -> bool:
        return self.since is not None and active_before(row, self.since)


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
    backend: Backend
    api_ppp: int
    board_password: Mapping[int, str] | None
    respect_robots: bool | None
    parse_workers: int


class BaseClient:
    """Everything the sync and async clients share: configuration, URL building, parsing.

    ``backend`` (``"auto"``, ``"html"``, ``"api"``, ``"archiver"``) chooses, per request, which of
    the desktop pages, the mobile JSON API and the archiver answers (:mod:`discuz_scraper.backends`
    has the rules); ``api_ppp`` is the page size asked of the API (1 to 100 posts). The default is
    ``"html"``, the reference with every field the forum shows: the API and the archiver leave some
    out (avatars, stat boxes, forum statistics…), so choosing them, or ``"auto"``, is the caller's
    trade of fields for requests.

    ``parse_workers`` (async client and crawls of either client): parse pages in that many worker
    processes instead of on the event loop, so that a fast crawl uses more than one core (0, the
    default: parse in place). The workers are started on first use with the ``spawn`` method, so
    a script using them must guard its entry point with ``if __name__ == "__main__":``.
    """

    _jar: httpx.Cookies  # the fetcher's jar, set by each client

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
        backend: Backend = "html",
        api_ppp: int = DEFAULT_API_PPP,
        board_password: Mapping[int, str] | None = None,
        respect_robots: bool | None = None,
        parse_workers: int = 0,
    ) -> None:
        self.base_url = normalize_base(base_url)
        if isinstance(parse_workers, bool) or not isinstance(parse_workers, int) or parse_workers < 0:
            raise ConfigError(f"parse_workers must be a whole number >= 0, got {parse_workers!r}")
        self._parse_workers = parse_workers
        # Which backend answers which request (HTML, mobile API, archiver): see backends.py.
        self._backends = BackendSelector(backend, api_ppp)
        defaults = FetchConfig()
        self.config = FetchConfig(
            user_agent=user_agent or defaults.user_agent,
            timeout=timeout,
            retries=retries,
            rate=rate,
            concurrency=concurrency,
            max_retry_after=max_retry_after,
            allow_offsite_redirects=allow_offsite_redirects,
            pace_jitter=_PACE_JITTER,
        )
        self.default_tz = default_tz
        # Login, board passwords, robots.txt, anti-collection and CC pages: see access.py.
        self._access = AccessPolicy(
            self.base_url,
            user_agent=self.config.user_agent,
            board_passwords=board_password,
            respect_robots=respect_robots,
        )
        self._legacy = False  # Discuz 7.2 names its scripts viewthread.php etc.

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.base_url!r})"

    # -- cookies --------------------------------------------------------------------------------

    def _cookie_jar(self, cookies: CookieSource | None) -> httpx.Cookies | None:
        """``cookies`` in any form :func:`~discuz_scraper.cookies.load_cookies` reads; cookies
        without a domain of their own are bound to this site's host."""
        return None if cookies is None else load_cookies(cookies, domain=self.base_url)

    def load_cookies(self, source: CookieSource) -> None:
        """Add cookies to the jar (a file :meth:`save_cookies` wrote, a browser export, a
        cookies.txt, a ``Cookie:`` header or a dict); same-named cookies are replaced."""
        jar = self._cookie_jar(source)
        assert jar is not None
        for cookie in jar.jar:
            self._jar.jar.set_cookie(cookie)

    def save_cookies(self, path: str | os.PathLike[str]) -> None:
        """Write the jar to ``path`` (JSON, mode 0600) for :meth:`load_cookies` in a later run."""
        save_cookies(self._jar, path)

    # -- requests -------------------------------------------------------------------------------

    def _thread_target(self, ref: ThreadRef) -> tuple[int | None, str | None]:
        """``(tid, None)`` when the thread id is known, else ``(None, url)`` to fetch to learn it."""
        if isinstance(ref, int):
            return ref, None
        ref = ref.strip()
        if ref.isdigit():
            return int(ref), None
        parsed = parse_url(ref)
        self._check_own_url(ref)
        if parsed.kind == "thread" and parsed.tid is not None:
            return parsed.tid, None
        if parsed.kind == "post":
            return (parsed.tid, None) if parsed.tid is not None else (None, ref)
        raise DiscuzError("not a thread or post URL", url=ref)

    def _thread_page_url(self, tid: int, page: int) -> str:
        return thread_url(self.base_url, tid, page, legacy=self._legacy)

    @staticmethod
    def _first_page(pages: PageSelection) -> int:
        return first_page(pages)

    @staticmethod
    def _remaining_pages(first: ThreadPage, pages: PageSelection) -> list[int]:
        return select_pages(first.page, first.page_count or first.page, pages)

    @staticmethod
    def _board_pages_after(page: BoardPage, pages: PageSelection) -> list[int]:
        return select_pages(page.page, page.page_count or page.page, pages)

    def _check_own_url(self, url: str) -> None:
        if urlsplit(url).hostname != urlsplit(self.base_url).hostname:
            raise DiscuzError(f"URL is not on this client's site {self.base_url}", url=url)

    def _board_target(self, ref: BoardRef, page: int | None) -> tuple[int | str, int]:
        """``(fid or alias, page)`` for a board reference; ``page`` overrides a page in the URL."""
        if isinstance(ref, bool) or not isinstance(ref, (int, str)):
            raise DiscuzError(f"a board is an id, an alias or a URL, not {type(ref).__name__}")
        if isinstance(ref, int):
            return ref, page or 1
        ref = ref.strip()
        if ref.isdigit():
            return int(ref), page or 1
        if "/" not in ref:
            if not ref.isidentifier():
                raise DiscuzError(f"not a board id, alias or URL: {ref!r}")
            return ref, page or 1
        parsed = parse_url(ref)
        self._check_own_url(ref)
        board = parsed.fid if parsed.fid is not None else parsed.forum_alias
        if parsed.kind != "board" or board is None or parsed.archiver:
            raise DiscuzError("not a board URL", url=ref)
        return board, page or parsed.page or 1

    def _board_page_url(self, board: int | str, page: int) -> str:
        return board_url(self.base_url, board, page, legacy=self._legacy)

    def _user_page_url(self, ref: UserRef) -> str:
        if isinstance(ref, bool) or not isinstance(ref, (int, str)):
            raise DiscuzError(f"a user is a uid or a profile URL, not {type(ref).__name__}")
        if isinstance(ref, str) and not ref.strip().isdigit():
            parsed = parse_url(ref)
            self._check_own_url(ref)
            if parsed.kind != "user" or parsed.uid is None:
                raise DiscuzError("not a user URL with a uid", url=ref)
            ref = parsed.uid
        return user_url(self.base_url, int(ref))

    # -- responses ------------------------------------------------------------------------------

    def _now(self) -> datetime:
        return datetime.now(timezone.utc)

    def _observe(self, response: Response) -> None:
        """Learn site-wide facts from any response (only the script naming, for now)."""
        if "viewthread.php" in response.url or "forumdisplay.php" in response.url:
            self._legacy = True

    def _checked(self, response: Response) -> Response:
        self._observe(response)
        if response.status_code >= 500:
            # check_page raises ServerError with the site's "System Error" text and Retry-After.
            check_page(
                response.text, response.url, status=response.status_code, retry_after=response.retry_after
            )
        return response

    def _parse_html(self, response: Response, parser: Callable[..., T]) -> ParseJob[T]:
        """A desktop-page parser's call on a checked response, in the client's timezone and clock."""
        self._checked(response)
        return ParseJob(
            parser,
            (response.text, response.url),
            {"status": response.status_code, "now": self._now(), "default_tz": self.default_tz},
        )

    def _parse_thread(self, response: Response) -> ParseJob[ThreadPage]:
        return self._parse_html(response, parse_thread_page)

    def _parse_board(self, response: Response) -> ParseJob[BoardPage]:
        return self._parse_html(response, parse_board_page)

    def _parse_index(self, response: Response) -> ParseJob[ForumIndex]:
        return self._parse_html(response, parse_forum_index)

    def _parse_user(self, response: Response) -> ParseJob[UserProfile]:
        return self._parse_html(response, parse_profile)

    def _tid_from_redirect(self, response: Response) -> int:
        parsed = parse_url(response.url)
        if parsed.tid is None:
            page = self._parse_thread(response)()
            return page.tid
        return parsed.tid

    # -- backends: one request, answered by HTML, the mobile API or the archiver ---------------

    def _thread_request(
        self, tid: int, page: int, *, whole: bool, pinned: Source | None = None
    ) -> BackendRequest[ThreadPage]:
        """A thread page; ``whole`` = part of a whole-thread read (``auto`` may use the API)."""
        return BackendRequest("thread" if whole else "thread_page", tid, page, self._read_thread, pinned)

    def _board_request(self, board: int | str, page: int) -> BackendRequest[BoardPage]:
        kind: RequestKind = "board" if isinstance(board, int) else "board_alias"
        return BackendRequest(kind, board, page, self._read_board)

    def _index_request(self) -> BackendRequest[ForumIndex]:
        return BackendRequest("index", None, 1, self._read_index)

    def _user_request(self, ref: UserRef) -> BackendRequest[UserProfile]:
        uid = parse_url(self._user_page_url(ref)).uid
        return BackendRequest("user", uid, 1, self._read_user)

    def _backend_url(self, request: BackendRequest[T], source: Source) -> str:
        return request_url(
            request, source, self.base_url, api_ppp=self._backends.api_ppp, legacy=self._legacy
        )

    def _api_answer(self, response: Response) -> str:
        """The JSON text of an API answer; an error status means the API is not there to ask."""
        self._checked(response)
        if response.status_code != 200:
            raise BackendUnavailable(
                f"the mobile API answered HTTP {response.status_code}", url=response.url
            )
        return response.text

    def _archiver_list(self, response: Response, parser: Callable[..., T]) -> ParseJob[T]:
        """An archiver index or board page: read with its status, no clock or timezone."""
        self._checked(response)
        return ParseJob(parser, (response.text, response.url), {"status": response.status_code})

    def _read_thread(self, response: Response, source: Source) -> ParseJob[ThreadPage]:
        if source == "api":
            return ParseJob(
                parse_api_thread_page,
                (self._api_answer(response), response.url),
                {"default_tz": self.default_tz, "now": self._now()},
            )
        if source == "archiver":
            return self._parse_html(response, parse_archiver_thread_page)
        return self._parse_thread(response)

    def _read_board(self, response: Response, source: Source) -> ParseJob[BoardPage]:
        if source == "api":
            answer = self._api_answer(response)
            return ParseJob(parse_api_board_page, (answer, response.url), {"default_tz": self.default_tz})
        if source == "archiver":
            return self._archiver_list(response, parse_archiver_board_page)
        return self._parse_board(response)

    def _read_index(self, response: Response, source: Source) -> ParseJob[ForumIndex]:
        if source == "api":
            return ParseJob(parse_api_forum_index, (self._api_answer(response), response.url), {})
        if source == "archiver":
            return self._archiver_list(response, parse_archiver_index)
        return self._parse_index(response)

    def _read_user(self, response: Response, source: Source) -> ParseJob[UserProfile]:
        if source == "api":
            return ParseJob(
                parse_api_profile,
                (self._api_answer(response), response.url),
                {"default_tz": self.default_tz, "now": self._now()},
            )
        return self._parse_user(response)

    # -- site detection: the index, then (for a Discuz site) the API and archiver probes -------

    def _site_urls(self) -> tuple[str, str, str]:
        """The index, the mobile API check and the archiver index."""
        return (
            index_url(self.base_url),
            api_url(self.base_url, "check"),
            urljoin(self.base_url, "archiver/"),
        )

    @staticmethod
    def _index_missing(response: Response) -> bool:
        """A plain 404 for ``forum.php``: the site root may still be a forum (or nothing of Discuz)."""
        return response.status_code == 404

    def _site_from(self, response: Response, cookie_names: Iterable[str]) -> Site:
        self._checked(response)
        return site_from_index(
            response.text,
            response.url,
            base_url=self.base_url,
            status=response.status_code,
            encoding=response.encoding,
            cookie_names=cookie_names,
        )

    @staticmethod
    def _site_with_probes(site: Site, api: Response | None, archiver: Response | None) -> Site:
        """Add the probe answers; a probe that could not be fetched leaves its field ``None``."""
        update: dict[str, object] = {}
        if api is not None:
            check = read_api_check(api.status_code, api.text)
            update["mobile_api"] = check.available
            if check.login_required:
                update["evidence"] = [*site.evidence, "api_to_login"]
            if site.version is None and check.version is not None:
                update["version"] = check.version
        if archiver is not None:
            update["archiver"] = read_archiver_index(archiver.status_code, archiver.text)
        return site.model_copy(update=update)


class DiscuzClient(BaseClient):
    """Synchronous client. Use as a context manager, or call :meth:`close`.

    >>> with DiscuzClient("https://bbs.example.com/") as dz:      # doctest: +SKIP
    ...     thread = dz.thread(123)

    Crawls (:meth:`crawl_board`, :meth:`crawl_forum`) run the async engine on a private event loop
    in a worker thread, with an async fetcher that shares this client's options, cookie jar and
    rate-limit schedule. ``transport`` may be sync-only; crawls then need ``async_transport``
    (an ``httpx.MockTransport`` is both, so tests can pass one object for both).
    """

    def __init__(
        self,
        base_url: str,
        *,
        cookies: CookieSource | None = None,
        transport: httpx.BaseTransport | None = None,
        async_transport: httpx.AsyncBaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        **options: Unpack[ClientOptions],
    ) -> None:
        super().__init__(base_url, **options)
        self._options = options
        self._fetcher = AccessFetcher(
            self.config, self._access, cookies=self._cookie_jar(cookies), transport=transport, sleep=sleep
        )
        self._jar = self._fetcher.cookies
        if async_transport is None and isinstance(transport, httpx.AsyncBaseTransport):
            async_transport = transport
        self._sync_only_transport = transport is not None and async_transport is None
        self._async_transport = async_transport

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
        """HTTP requests sent so far (retries, redirects and crawls included)."""
        return self._fetcher.requests_sent

    @property
    def cookies(self) -> httpx.Cookies:
        """The client's cookie jar (crawls share it)."""
        return self._fetcher.cookies

    def login(
        self,
        username: str,
        password: str,
        *,
        question_id: int = 0,
        answer: str | None = None,
        seccode: str | None = None,
        via: Literal["form", "api"] = "form",
    ) -> LoggedInUser:
        """Log in with a password and return the member the next page shows.

        ``via="form"`` drives ``member.php?mod=logging&action=login`` like a browser (GET the form,
        POST it, read the index); ``via="api"`` posts to the mobile API's ``module=login``.
        ``question_id``/``answer`` are the account's security question (1-7), ``seccode`` the
        answer to the form's captcha or verification question. Raises
        :class:`~discuz_scraper.errors.LoginFailed` (``tries_left``; key ``login_invalid``,
        ``login_question_empty``, ``login_question_invalid``...),
        :class:`~discuz_scraper.errors.LoginLocked` (15 minutes, ``retry_after``) and
        :class:`~discuz_scraper.errors.CaptchaRequired` (``captcha_url``). The password goes
        into the request body only.
        """
        return self._fetcher.run(login_flow(
            self._access, username, password, question_id=question_id, answer=answer, seccode=seccode, via=via
        ))

    def whoami(self) -> LoggedInUser | None:
        """The member the forum index shows for this client's cookies, ``None`` for a guest."""
        return self._fetcher.run(whoami_flow(self._access))

    def _probe(self, url: str) -> Response | None:
        try:
            return self._fetcher.get(url)
        except DiscuzError:
            return None

    def _fetch(self, request: BackendRequest[T]) -> T:
        """Send ``request`` to the backends :mod:`~discuz_scraper.backends` picks, in turn."""
        if self._backends.wants_probe(request):
            self._backends.learn(self._probe(self._site_urls()[1]))
        attempts = self._backends.attempts(request)
        while True:
            source = attempts.next_source()
            try:
                return request.parse(self._fetcher.get(self._backend_url(request, source)), source)()
            except DiscuzError as exc:
                attempts.failed(exc)

    def site(self) -> Site:
        """What the forum says about itself: Discuz or not (with the evidence), version, charset,
        timezone, rewrite rules, archiver and mobile API availability, the logged-in user.

        ``archiver``/``mobile_api`` stay ``None`` when their probe could not be fetched at all.
        """
        index, api, archiver = self._site_urls()
        response = self._fetcher.get(index)
        if self._index_missing(response):
            response = self._fetcher.get(self.base_url)
        site = self._site_from(response, self._fetcher.cookies.keys())
        if not site.is_discuz:
            return site
        return self._site_with_probes(site, self._probe(api), self._probe(archiver))

    def forum_index(self) -> ForumIndex:
        """The forum index (``forum.php``): categories, boards, sub-boards, statistics."""
        return self._fetch(self._index_request())

    def board(self, ref: BoardRef, page: int | None = None) -> BoardPage:
        """One page of a board's thread list (``page`` defaults to the URL's page, else 1)."""
        board, number = self._board_target(ref, page)
        return self._fetch(self._board_request(board, number))

    def iter_threads(
        self, ref: BoardRef, *, pages: PageSelection = None, since: datetime | None = None
    ) -> Iterator[ThreadSummary]:
        """A board's thread-list rows across its pages, each tid once (see :class:`BoardWalk`)."""
        board, _ = self._board_target(ref, None)
        walk = BoardWalk(pages, since)
        while walk.next_page is not None:
            yield from walk.feed(self.board(board, walk.next_page))

    def user(self, ref: UserRef) -> UserProfile:
        """A member's profile page."""
        return self._fetch(self._user_request(ref))

    def _tid(self, ref: ThreadRef) -> int:
        tid, url = self._thread_target(ref)
        if tid is not None:
            return tid
        assert url is not None
        return self._tid_from_redirect(self._fetcher.get(url))

    def thread_page(self, ref: ThreadRef, page: int = 1) -> ThreadPage:
        """One page of a thread, parsed (a desktop page number, unless ``backend="api"``)."""
        tid = self._tid(ref)
        return self._fetch(self._thread_request(tid, page, whole=False))

    def iter_pages(self, ref: ThreadRef, *, pages: PageSelection = None) -> Iterator[ThreadPage]:
        """Parsed thread pages one by one, stopping at the thread's last page.

        Without ``pages`` the backend may be the mobile API (pages of ``api_ppp`` posts); later
        pages always come from the backend that answered the first.
        """
        tid = self._tid(ref)
        first = self._fetch(self._thread_request(tid, self._first_page(pages), whole=pages is None))
        yield first
        for number in self._remaining_pages(first, pages):
            yield self._fetch(self._thread_request(tid, number, whole=True, pinned=first.source))

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

    def crawl_board(
        self,
        ref: BoardRef,
        *,
        with_posts: bool = True,
        pages: PageSelection = None,
        concurrency: int | None = None,
        store: Store | None = None,
        stop_after: int | None = None,
        since: datetime | None = None,
    ) -> Iterator[CrawlEvent]:
        """Same as :meth:`AsyncDiscuzClient.crawl_board`, streamed from a worker thread; the
        ``store`` is only ever called from this (the calling) thread."""
        return self._crawl_in_thread(
            lambda engine: engine.board(ref, pages=pages),
            with_posts=with_posts, concurrency=concurrency, store=store, stop_after=stop_after, since=since,
        )

    def crawl_forum(
        self,
        *,
        with_posts: bool = True,
        concurrency: int | None = None,
        store: Store | None = None,
        stop_after: int | None = None,
        since: datetime | None = None,
    ) -> Iterator[CrawlEvent]:
        """Same as :meth:`AsyncDiscuzClient.crawl_forum`, streamed from a worker thread."""
        return self._crawl_in_thread(
            lambda engine: engine.forum(),
            with_posts=with_posts, concurrency=concurrency, store=store, stop_after=stop_after, since=since,
        )

    def retry_failed(self, store: Store, *, concurrency: int | None = None) -> Iterator[CrawlEvent]:
        """Same as :meth:`AsyncDiscuzClient.retry_failed`, streamed from a worker thread."""
        return self._crawl_in_thread(
            lambda engine: engine.retry_failed(), concurrency=concurrency, store=store
        )

    def download(
        self,
        media: Image | Attachment | PostImage,
        dest: str | os.PathLike[str],
        *,
        post: Post | None = None,
        max_size: int = DEFAULT_MAX_SIZE,
    ) -> MediaRecord:
        """Download one image or attachment into folder ``dest`` with the post's page as Referer
        (see :mod:`discuz_scraper.media`: safe names, de-duplication, sidecar ``media.jsonl``)."""
        item = media_item(self.base_url, media, post)
        return self.download_item(item, MediaFolder(dest, max_size=max_size))

    def download_item(self, item: MediaItem, folder: MediaFolder) -> MediaRecord:
        """Download ``item`` into ``folder`` (many items, one folder: the ``media`` command)."""
        return self._fetcher.run(download_flow(folder, item))

    def _crawl_in_thread(
        self, start: Callable[[CrawlEngine], AsyncIterator[CrawlEvent]], **options: Any
    ) -> Iterator[CrawlEvent]:
        return stream_in_thread(
            self._async_twin, lambda twin, run_store: start(CrawlEngine(twin, run_store=run_store, **options))
        )

    def _async_twin(self) -> AsyncDiscuzClient:
        """An async client on this site with this client's options, cookie jar and rate limit."""
        if self._sync_only_transport:
            raise ConfigError(
                "this client's transport is sync-only; pass async_transport= to use crawl_board/crawl_forum"
            )
        twin = AsyncDiscuzClient(
            self.base_url, transport=self._async_transport, default_tz=self.default_tz, **self._options
        )
        # One jar (cookies set during the crawl are kept) and one send schedule per host.
        twin.cookies.jar = self.cookies.jar
        twin._fetcher.share_pacing(self._fetcher)
        twin._legacy = self._legacy
        twin._access = twin._fetcher.access = self._access  # one _dsign cache, one robots.txt
        twin._backends = self._backends  # module=check is probed once for both
        return twin


class AsyncDiscuzClient(BaseClient):
    """Asynchronous client with the same surface as :class:`DiscuzClient` (``await`` / ``async for``)."""

    def __init__(
        self,
        base_url: str,
        *,
        cookies: CookieSource | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        **options: Unpack[ClientOptions],
    ) -> None:
        super().__init__(base_url, **options)
        self._fetcher = AsyncAccessFetcher(
            self.config, self._access, cookies=self._cookie_jar(cookies), transport=transport, sleep=sleep
        )
        self._jar = self._fetcher.cookies
        self._pool: ProcessPoolExecutor | None = None  # made on first use (parse_workers > 0)

    async def __aenter__(self) -> AsyncDiscuzClient:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
            self._pool = None
        await self._fetcher.aclose()

    async def _run(self, job: ParseJob[T]) -> T:
        """Run a parser call in place, or in a worker process (``parse_workers``)."""
        if not self._parse_workers:
            return job()
        if self._pool is None:
            # spawn, not fork: the client runs beside other threads (a sync crawl's loop, httpx's),
            # and a forked child could inherit a lock one of them held.
            context = multiprocessing.get_context("spawn")
            self._pool = ProcessPoolExecutor(self._parse_workers, mp_context=context)
        try:
            return await asyncio.get_running_loop().run_in_executor(self._pool, job)
        except BrokenProcessPool as exc:
            # Not a DiscuzError: a crawl must end here, not record every later page as failed.
            raise BrokenProcessPool(
                "a parse worker process stopped abruptly; with parse_workers, run from a file whose "
                'entry point is guarded by if __name__ == "__main__":'
            ) from exc

    @property
    def requests_sent(self) -> int:
        """HTTP requests sent so far (retries, redirects and crawls included)."""
        return self._fetcher.requests_sent

    @property
    def cookies(self) -> httpx.Cookies:
        """The client's cookie jar."""
        return self._fetcher.cookies

    async def login(
        self,
        username: str,
        password: str,
        *,
        question_id: int = 0,
        answer: str | None = None,
        seccode: str | None = None,
        via: Literal["form", "api"] = "form",
    ) -> LoggedInUser:
        """See :meth:`DiscuzClient.login`."""
        return await self._fetcher.run(login_flow(
            self._access, username, password, question_id=question_id, answer=answer, seccode=seccode, via=via
        ))

    async def whoami(self) -> LoggedInUser | None:
        """See :meth:`DiscuzClient.whoami`."""
        return await self._fetcher.run(whoami_flow(self._access))

    async def _probe(self, url: str) -> Response | None:
        try:
            return await self._fetcher.get(url)
        except DiscuzError:
            return None

    async def _fetch(self, request: BackendRequest[T]) -> T:
        """See :meth:`DiscuzClient._fetch`."""
        if self._backends.wants_probe(request):
            self._backends.learn(await self._probe(self._site_urls()[1]))
        attempts = self._backends.attempts(request)
        while True:
            source = attempts.next_source()
            try:
                job = request.parse(await self._fetcher.get(self._backend_url(request, source)), source)
                return await self._run(job)
            except DiscuzError as exc:
                attempts.failed(exc)

    async def site(self) -> Site:
        """See :meth:`DiscuzClient.site`; the two probes run concurrently."""
        index, api, archiver = self._site_urls()
        response = await self._fetcher.get(index)
        if self._index_missing(response):
            response = await self._fetcher.get(self.base_url)
        site = self._site_from(response, self._fetcher.cookies.keys())
        if not site.is_discuz:
            return site
        api_answer, archiver_answer = await asyncio.gather(self._probe(api), self._probe(archiver))
        return self._site_with_probes(site, api_answer, archiver_answer)

    async def forum_index(self) -> ForumIndex:
        """The forum index (``forum.php``): categories, boards, sub-boards, statistics."""
        return await self._fetch(self._index_request())

    async def board(self, ref: BoardRef, page: int | None = None) -> BoardPage:
        """One page of a board's thread list (``page`` defaults to the URL's page, else 1)."""
        board, number = self._board_target(ref, page)
        return await self._fetch(self._board_request(board, number))

    async def iter_threads(
        self, ref: BoardRef, *, pages: PageSelection = None, since: datetime | None = None
    ) -> AsyncIterator[ThreadSummary]:
        """A board's thread-list rows across its pages, each tid once (see :class:`BoardWalk`)."""
        board, _ = self._board_target(ref, None)
        walk = BoardWalk(pages, since)
        while walk.next_page is not None:
            for row in walk.feed(await self.board(board, walk.next_page)):
                yield row

    async def user(self, ref: UserRef) -> UserProfile:
        """A member's profile page."""
        return await self._fetch(self._user_request(ref))

    async def _tid(self, ref: ThreadRef) -> int:
        tid, url = self._thread_target(ref)
        if tid is not None:
            return tid
        assert url is not None
        return self._tid_from_redirect(await self._fetcher.get(url))

    async def thread_page(self, ref: ThreadRef, page: int = 1) -> ThreadPage:
        """One page of a thread, parsed (a desktop page number, unless ``backend="api"``)."""
        tid = await self._tid(ref)
        return await self._fetch(self._thread_request(tid, page, whole=False))

    async def thread(
        self, ref: ThreadRef, *, pages: PageSelection = None, progress: PageCallback | None = None
    ) -> Thread:
        """The whole thread; pages after the first are fetched concurrently (within the rate limit)."""
        tid = await self._tid(ref)

        async def fetch(number: int, pinned: Source | None) -> ThreadPage:
            page = await self._fetch(self._thread_request(tid, number, whole=pages is None, pinned=pinned))
            if progress is not None:
                progress(page)
            return page

        first = await fetch(self._first_page(pages), None)
        rest = await asyncio.gather(*(fetch(n, first.source) for n in self._remaining_pages(first, pages)))
        return build_thread([first, *rest], fetched_at=self._now())

    async def iter_pages(self, ref: ThreadRef, *, pages: PageSelection = None) -> AsyncIterator[ThreadPage]:
        """Parsed thread pages one by one, stopping at the thread's last page (see
        :meth:`DiscuzClient.iter_pages` for the backend)."""
        tid = await self._tid(ref)
        first = await self._fetch(self._thread_request(tid, self._first_page(pages), whole=pages is None))
        yield first
        for number in self._remaining_pages(first, pages):
            yield await self._fetch(self._thread_request(tid, number, whole=True, pinned=first.source))

    async def iter_posts(self, ref: ThreadRef, *, pages: PageSelection = None) -> AsyncIterator[Post]:
        """Stream the thread's posts page by page; memory stays flat however long the thread."""
        merger = PostMerger()
        async for page in self.iter_pages(ref, pages=pages):
            for post in merger.feed(page.posts):
                yield post
        for post in merger.finish():
            yield post

    def crawl_board(
        self,
        ref: BoardRef,
        *,
        with_posts: bool = True,
        pages: PageSelection = None,
        concurrency: int | None = None,
        store: Store | None = None,
        stop_after: int | None = None,
        since: datetime | None = None,
    ) -> AsyncIterator[CrawlEvent]:
        """Walk one board (its pages, its sub-boards) and, with ``with_posts``, every listed thread.

        Yields :class:`~discuz_scraper.models.Board`, :class:`~discuz_scraper.models.ThreadSummary`
        and :class:`~discuz_scraper.models.Thread` models as they arrive, each board and tid once;
        the last item is always a :class:`~discuz_scraper.crawl.CrawlReport`. Per-item failures are
        collected in the report instead of ending the crawl. ``concurrency`` defaults to the
        client's; the rate limit always applies.

        With a ``store`` the crawl saves as it goes and is resumable and incremental: only what
        is not stored or changed is fetched; ``stop_after=N`` ends a list walk after N unchanged
        threads in a row (see :mod:`discuz_scraper.crawl`). ``since`` (timezone-aware) keeps only
        threads last active at or after it, and ends each board's walk at the first older row.
        """
        return CrawlEngine(
            self, with_posts=with_posts, concurrency=concurrency, store=store, stop_after=stop_after,
            since=since,
        ).board(ref, pages=pages)

    async def download(
        self,
        media: Image | Attachment | PostImage,
        dest: str | os.PathLike[str],
        *,
        post: Post | None = None,
        max_size: int = DEFAULT_MAX_SIZE,
    ) -> MediaRecord:
        """See :meth:`DiscuzClient.download`."""
        item = media_item(self.base_url, media, post)
        return await self.download_item(item, MediaFolder(dest, max_size=max_size))

    async def download_item(self, item: MediaItem, folder: MediaFolder) -> MediaRecord:
        """See :meth:`DiscuzClient.download_item`."""
        return await self._fetcher.run(download_flow(folder, item))

    def retry_failed(self, store: Store, *, concurrency: int | None = None) -> AsyncIterator[CrawlEvent]:
        """Fetch again only what the store's failures table lists for this site (see
        :meth:`~discuz_scraper.crawl.CrawlEngine.retry_failed`); successes clear their failure."""
        return CrawlEngine(self, concurrency=concurrency, store=store).retry_failed()

    def crawl_forum(
        self,
        *,
        with_posts: bool = True,
        concurrency: int | None = None,
        store: Store | None = None,
        stop_after: int | None = None,
        since: datetime | None = None,
    ) -> AsyncIterator[CrawlEvent]:
        """Walk the whole forum: index → every board and its pages → every thread (see
        :meth:`crawl_board`, also for ``store``, ``stop_after`` and ``since``). Redirect and private
        boards are reported as skipped."""
        return CrawlEngine(
            self, with_posts=with_posts, concurrency=concurrency, store=store, stop_after=stop_after,
            since=since,
        ).forum()
