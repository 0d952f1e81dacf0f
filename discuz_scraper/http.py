"""The fetcher: the only code in discuz-scraper that touches the network.

:class:`Fetcher` (sync) and :class:`AsyncFetcher` (async) share every decision through
:class:`_FetcherBase` and the small helpers below it: the browser-like default headers, the cookie
jar, retries with exponential backoff and jitter that honour ``Retry-After`` (tenacity), the per-host
rate limit, the body size cap, the same-site redirect policy and charset decoding. The two classes
differ only where they send, read and sleep, the way httpx builds ``Client`` and ``AsyncClient`` on
one ``BaseClient``.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import logging
import random
import re
import threading
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, TypeGuard
from urllib.parse import urlencode

import httpx
from tenacity import AsyncRetrying, RetryCallState, Retrying

from .charset import decode_body, normalize_charset
from .errors import ConfigError, FetchError, ParseError, RateLimited, redact_url

__all__ = [
    "DEFAULT_USER_AGENT",
    "RETRY_STATUSES",
    "AsyncFetcher",
    "FetchConfig",
    "Fetcher",
    "Response",
    "parse_retry_after",
]

logger = logging.getLogger("discuz_scraper")

# Discuz serves robot-trimmed HTML to bot-like UAs and touch templates to mobile ones (reference §1),
# so the default must look like a plain desktop browser.
DEFAULT_USER_AGENT = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)
_BROWSER_HEADERS = {
    "Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8",
    "Accept-Language": "zh-CN,zh;q=0.9,en;q=0.8",
}
# 520-524 are what CDNs in front of many forums answer when the origin is down or slow.
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504, 520, 521, 522, 523, 524})
_REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
_CREDENTIAL_HEADERS = ("authorization", "cookie")
# Event-loop turns a request woken from the slot queue needs until its bytes are written: one to
# wake up, two for the checkpoints of httpcore's pool lock (measured with httpx's trace hook,
# httpx 0.28 / httpcore 1.0). Fewer only means less overlap, never a wrong result.
_HANDOFF_TURNS = 3
_DELTA_SECONDS = re.compile(r"\d+(?:\.\d+)?")


@dataclass(frozen=True)
class FetchConfig:
    """How a fetcher talks to a forum. Every field has a polite, browser-like default."""

    user_agent: str = DEFAULT_USER_AGENT
    timeout: float = 30.0
    retries: int = 4
    """Extra attempts after the first."""
    rate: float | None = 2.0
    """Max requests per second per host; ``None`` means unlimited."""
    concurrency: int = 4
    """Max requests in flight per fetcher."""
    max_bytes: int = 20 * 1024 * 1024
    """Cap on the decompressed body."""
    max_retry_after: float = 120.0
    """A longer ``Retry-After`` ends the retries at once instead of being slept through."""
    backoff_base: float = 1.0
    backoff_max: float = 60.0
    jitter: float = 0.25
    """Fraction of the backoff wait added at random."""
    pace_jitter: float = 0.0
    """Fraction of the ``1/rate`` interval added at random to each send slot, so requests do not
    tick like a metronome (the clients use 0.2; 0 keeps the spacing exact)."""
    follow_redirects: bool = True
    allow_offsite_redirects: bool = False
    max_redirects: int = 10
    headers: Mapping[str, str] = field(default_factory=dict)
    """Extra headers sent with every request."""

    def __post_init__(self) -> None:
        checks = {
            "user_agent must not be empty": bool(self.user_agent.strip()),
            "timeout must be > 0": self.timeout > 0,
            "retries must be >= 0": self.retries >= 0,
            "rate must be > 0 or None": self.rate is None or self.rate > 0,
            "concurrency must be >= 1": self.concurrency >= 1,
            "max_bytes must be >= 1": self.max_bytes >= 1,
            "max_retry_after must be >= 0": self.max_retry_after >= 0,
            "backoff_base and backoff_max must be >= 0": self.backoff_base >= 0 and self.backoff_max >= 0,
            "jitter must be >= 0": self.jitter >= 0 and self.pace_jitter >= 0,
            "max_redirects must be >= 0": self.max_redirects >= 0,
        }
        failed = [rule for rule, ok in checks.items() if not ok]
        if failed:
            raise ConfigError(f"invalid FetchConfig: {'; '.join(failed)}")


@dataclass(frozen=True)
class Response:
    """A fully read, decoded response. Headers and body stay out of ``repr`` (they may hold cookies)."""

    url: str
    status_code: int
    headers: httpx.Headers = field(repr=False)
    content: bytes = field(repr=False)
    text: str = field(repr=False)
    encoding: str
    history: tuple[str, ...]
    """URLs redirected through, in order, not including ``url``."""
    retry_after: float | None
    """The final response's ``Retry-After`` in seconds, ``None`` when absent or unreadable."""

    def json(self) -> Any:
        """The body parsed as JSON; :class:`ParseError` when it is not JSON."""
        try:
            return json.loads(self.text)
        except ValueError as exc:
            raise ParseError(f"response is not JSON ({exc.__class__.__name__})", url=self.url) from exc


def _display_url(url: httpx.URL) -> str:
    """The URL without ``user:password@``, for anything a caller or a log can see."""
    return str(url.copy_with(userinfo=b"")) if url.userinfo else str(url)


def parse_retry_after(headers: httpx.Headers) -> float | None:
    """``Retry-After`` in seconds: delta-seconds, or an HTTP-date measured from the ``Date`` header
    (the server's own clock, so skew does not matter) or, without one, from the local clock."""
    value = headers.get("retry-after", "").strip()
    if not value:
        return None
    if _DELTA_SECONDS.fullmatch(value):
        return float(value)
    when = _parse_http_date(value)
    if when is None:
        return None
    now = _parse_http_date(headers.get("date", "")) or datetime.now(timezone.utc)
    return max(0.0, (when - now).total_seconds())


def _parse_http_date(value: str) -> datetime | None:
    try:
        parsed = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


class _HostPacer:
    """Hands out send times at least ``1/rate`` apart per host, and counts every request sent.

    Slots are reserved under a lock before anyone sleeps, so concurrent callers queue up behind each
    other instead of all waking at the same instant. The critical section never blocks, which makes
    one threading lock safe for threads and for coroutines alike.
    """

    def __init__(
        self,
        rate: float | None,
        clock: Callable[[], float],
        jitter: float = 0.0,
        rng: random.Random | None = None,
    ) -> None:
        self._interval = 1.0 / rate if rate else 0.0
        self._clock = clock
        self._jitter = jitter
        self._rng = rng or random.Random()
        self._next_free: dict[str, float] = {}
        self._lock = threading.Lock()
        self.sent = 0

    def reserve(self, host: str) -> float:
        """Book the next slot for ``host``; returns how long to wait before sending."""
        with self._lock:
            self.sent += 1
            if not self._interval:
                return 0.0
            now = self._clock()
            start = max(now, self._next_free.get(host, now))
            extra = self._rng.uniform(0.0, self._jitter) if self._jitter else 0.0
            self._next_free[host] = start + self._interval * (1.0 + extra)
            return start - now


class _BodyBuffer:
    """Collects decoded body chunks and fails as soon as they pass the cap (this also stops
    compression bombs, since streaming yields decompressed bytes)."""

    def __init__(self, limit: int, response: httpx.Response) -> None:
        self._limit = limit
        self._response = response
        # Chunks joined once at the end: a page usually arrives in one chunk, which the join
        # hands back without copying.
        self._chunks: list[bytes] = []
        self._size = 0

    def feed(self, chunk: bytes) -> None:
        self._chunks.append(chunk)
        self._size += len(chunk)
        if self._size > self._limit:
            raise FetchError(
                f"response larger than {self._limit} bytes",
                url=_display_url(self._response.request.url),
                status_code=self._response.status_code,
            )

    @property
    def content(self) -> bytes:
        return b"".join(self._chunks)


@dataclass(frozen=True)
class _Call:
    """One ``get``/``post`` as the caller asked for it, before redirects."""

    method: str
    url: httpx.URL
    data: Mapping[str, str] | bytes | None
    headers: Mapping[str, str] | None


class _Hops:
    """One attempt of a call: the first request, then each redirect the policy allows.

    Requests are built only when about to be sent, so cookies set by the previous hop go out on the
    next one.
    """

    def __init__(self, call: _Call, config: FetchConfig, build: Callable[..., httpx.Request]) -> None:
        self._origin = call.url
        self._config = config
        self._build = build
        self._method = call.method
        self._url = call.url
        self._data = call.data
        self._headers = call.headers
        self._history: list[str] = []
        self._seen = {(call.method, call.url)}

    def request(self) -> httpx.Request:
        """The request for the current hop."""
        if isinstance(self._data, bytes):
            headers = {**(self._headers or {}), "Content-Type": _FORM_TYPE}
            return self._build(self._method, self._url, content=self._data, headers=headers)
        return self._build(self._method, self._url, data=self._data, headers=self._headers)

    def record(self, response: httpx.Response, content: bytes) -> Response | None:
        """Take the current hop's answer: the final :class:`Response`, or ``None`` to follow on."""
        if logger.isEnabledFor(logging.DEBUG):  # redacting is a regex pass per hop: not when unlogged
            url = redact_url(_display_url(self._url))
            logger.debug("%s %s -> %d", self._method, url, response.status_code)
        location = response.headers.get("location")
        if not (self._config.follow_redirects and location and response.status_code in _REDIRECT_STATUSES):
            return self._finish(response, content)
        self._advance(response.status_code, self._resolve(location))
        return None

    def _resolve(self, location: str) -> httpx.URL:
        try:
            target = self._url.join(location)
        except httpx.InvalidURL as exc:
            raise FetchError(f"bad redirect Location {location!r}", url=_display_url(self._url)) from exc
        if target.scheme not in ("http", "https"):
            raise FetchError(f"redirect to a non-HTTP URL: {location!r}", url=_display_url(self._url))
        return target

    def _advance(self, status: int, target: httpx.URL) -> None:
        here = _display_url(self._url)
        if len(self._history) >= self._config.max_redirects:
            raise FetchError(f"more than {self._config.max_redirects} redirects", url=here)
        if not (self._config.allow_offsite_redirects or _same_site(self._origin, target)):
            raise FetchError(f"refusing off-site redirect to {_display_url(target)}", url=here)
        if _switches_to_get(status, self._method):
            self._method, self._data = "GET", None
        if (self._method, target) in self._seen:
            raise FetchError(f"redirect loop back to {_display_url(target)}", url=here)
        if target.host != self._url.host and self._headers:
            self._headers = {k: v for k, v in self._headers.items() if k.lower() not in _CREDENTIAL_HEADERS}
        self._seen.add((self._method, target))
        self._history.append(here)
        self._url = target

    def _finish(self, response: httpx.Response, content: bytes) -> Response:
        text, codec = decode_body(content, response.headers.get("content-type"))
        return Response(
            url=_display_url(self._url),
            status_code=response.status_code,
            headers=response.headers,
            content=content,
            text=text,
            encoding=codec,
            history=tuple(self._history),
            retry_after=parse_retry_after(response.headers),
        )


_FORM_TYPE = "application/x-www-form-urlencoded"


def _form_body(data: Mapping[str, str] | None, encoding: str | None) -> Mapping[str, str] | bytes | None:
    """Form data to send: httpx encodes UTF-8 itself; other charsets are percent-encoded here."""
    if data is None or encoding is None or normalize_charset(encoding) in (None, "utf-8"):
        return data
    try:
        return urlencode(data, encoding=normalize_charset(encoding) or encoding).encode("ascii")
    except UnicodeEncodeError as exc:
        raise FetchError(f"form data cannot be sent in the site's charset {encoding}") from exc


def _same_site(origin: httpx.URL, target: httpx.URL) -> bool:
    """Same host whatever the scheme, except that https never falls back to plain http."""
    return target.host == origin.host and not (origin.scheme == "https" and target.scheme == "http")


def _switches_to_get(status: int, method: str) -> bool:
    """303 always turns into a GET, and so do 301/302 after a POST, as browsers do."""
    if status == 303:
        return method != "HEAD"
    return status in (301, 302) and method == "POST"


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


class _RetryPolicy:
    """Tenacity callbacks for one call. Retries transport failures and :data:`RETRY_STATUSES`;
    waits ``Retry-After`` when given, else capped exponential backoff plus jitter."""

    def __init__(self, call: _Call, config: FetchConfig, rng: random.Random) -> None:
        self._method = call.method
        self._url = _display_url(call.url)
        self._log_url = redact_url(self._url)
        self._config = config
        self._rng = rng

    def options(self) -> dict[str, Any]:
        """Keyword arguments shared by ``Retrying`` and ``AsyncRetrying`` (all but ``sleep``)."""
        return {
            "retry": self._should_retry,
            "stop": self._should_stop,
            "wait": self._wait,
            "before_sleep": self._log_retry,
            "retry_error_callback": self._give_up,
        }

    def _should_retry(self, state: RetryCallState) -> bool:
        outcome = state.outcome
        assert outcome is not None
        if outcome.failed:
            # DecodingError is included: a cut-off compressed body is as transient as a cut-off plain one.
            return isinstance(outcome.exception(), httpx.RequestError)
        response: Response = outcome.result()
        return response.status_code in RETRY_STATUSES

    def _should_stop(self, state: RetryCallState) -> bool:
        if state.attempt_number > self._config.retries:
            return True
        retry_after = self._retry_after(state)
        return retry_after is not None and retry_after > self._config.max_retry_after

    def _wait(self, state: RetryCallState) -> float:
        retry_after = self._retry_after(state)
        if retry_after is not None:
            return retry_after
        config = self._config
        wait = min(config.backoff_base * 2 ** (state.attempt_number - 1), config.backoff_max)
        return wait + self._rng.uniform(0, config.jitter * wait)

    @staticmethod
    def _retry_after(state: RetryCallState) -> float | None:
        outcome = state.outcome
        assert outcome is not None
        return None if outcome.failed else outcome.result().retry_after

    @staticmethod
    def _reason(state: RetryCallState) -> str:
        outcome = state.outcome
        assert outcome is not None
        if outcome.failed:
            return type(outcome.exception()).__name__
        return f"HTTP {outcome.result().status_code}"

    def _log_retry(self, state: RetryCallState) -> None:
        wait = state.next_action.sleep if state.next_action else 0.0
        logger.warning(
            "%s %s: %s on attempt %d, retrying in %.2fs",
            self._method,
            self._log_url,
            self._reason(state),
            state.attempt_number,
            wait,
        )

    def _give_up(self, state: RetryCallState) -> Response:
        outcome = state.outcome
        assert outcome is not None
        attempts = _plural(state.attempt_number, "attempt")
        logger.warning(
            "%s %s: giving up on %s after %s", self._method, self._log_url, self._reason(state), attempts
        )
        if outcome.failed:
            exc = outcome.exception()
            detail = f": {exc}" if str(exc) else ""
            raise FetchError(
                f"{self._method} failed after {attempts}: {type(exc).__name__}{detail}", url=self._url
            ) from exc
        response: Response = outcome.result()
        if response.status_code == 429:
            wait = "" if response.retry_after is None else f"; server asks to wait {response.retry_after:g}s"
            raise RateLimited(
                f"HTTP 429 Too Many Requests after {attempts}{wait}",
                url=response.url,
                status_code=429,
                retry_after=response.retry_after,
            )
        # Other retryable statuses come back as they are: the page classifier turns Discuz's own
        # "System Error" / "Database Error" bodies into a ServerError with the site's message.
        return response


def _final(first: Response | httpx.RequestError) -> TypeGuard[Response]:
    """Whether the first attempt's outcome ends the call as it is (what :class:`_RetryPolicy` would
    neither retry nor give up on). Nearly every call ends there, so tenacity's per-call machinery
    (~60 µs, a quarter of what the fetcher added to httpx per request) is set up only for the rest."""
    return isinstance(first, Response) and first.status_code not in RETRY_STATUSES


class _Replay:
    """The outcome of a call's first attempt, made before tenacity was involved, handed to tenacity
    as its attempt 1: every retry decision, wait and log line is then tenacity's, as if it had made
    that attempt itself."""

    def __init__(self, first: Response | httpx.RequestError) -> None:
        self._first: Response | httpx.RequestError | None = first

    def take(self) -> Response | None:
        """The first outcome (raised again when it was an error) once, then ``None``."""
        first, self._first = self._first, None
        if isinstance(first, httpx.RequestError):
            raise first
        return first


class _FetcherBase:
    """Everything the sync and async fetchers share; subclasses add only send, read and sleep."""

    _client: httpx.Client | httpx.AsyncClient

    def __init__(
        self, config: FetchConfig | None, *, clock: Callable[[], float], rng: random.Random | None
    ) -> None:
        self.config = config or FetchConfig()
        self._rng = rng or random.Random()
        self._pacer = _HostPacer(self.config.rate, clock, self.config.pace_jitter, self._rng)

    @property
    def cookies(self) -> httpx.Cookies:
        """The one cookie jar shared by every request of this fetcher (a copy of what was passed in)."""
        return self._client.cookies

    @property
    def requests_sent(self) -> int:
        """HTTP requests sent so far, counting every retry and redirect hop."""
        return self._pacer.sent

    def share_pacing(self, other: _FetcherBase) -> None:
        """Draw send slots from ``other``'s per-host schedule (and count requests there), so two
        fetchers working on the same sites never exceed the rate limit together."""
        self._pacer = other._pacer

    def _client_options(self, cookies: httpx.Cookies | dict[str, str] | None) -> dict[str, Any]:
        headers = {"User-Agent": self.config.user_agent, **_BROWSER_HEADERS, **self.config.headers}
        # Redirects stay off in httpx: _Hops applies our own same-site policy.
        return {
            "headers": headers,
            "cookies": cookies,
            "timeout": httpx.Timeout(self.config.timeout),
            "follow_redirects": False,
        }

    @staticmethod
    def _call(
        method: str,
        url: str,
        *,
        params: Mapping[str, str | int] | None = None,
        data: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        encoding: str | None = None,
    ) -> _Call:
        try:
            parsed = httpx.URL(url)
        except (httpx.InvalidURL, TypeError) as exc:
            raise FetchError(f"invalid URL {url!r}") from exc
        if parsed.scheme not in ("http", "https") or not parsed.host:
            raise FetchError(f"not an absolute http(s) URL: {url!r}")
        if params:
            parsed = parsed.copy_merge_params(dict(params))
        return _Call(method, parsed, _form_body(data, encoding), headers)

    def _retry_options(self, call: _Call) -> dict[str, Any]:
        return _RetryPolicy(call, self.config, self._rng).options()

    def _hops(self, call: _Call) -> _Hops:
        return _Hops(call, self.config, self._client.build_request)

    def _reserve(self, request: httpx.Request) -> float:
        return self._pacer.reserve(request.url.host)

    def _body(self, response: httpx.Response) -> _BodyBuffer:
        return _BodyBuffer(self.config.max_bytes, response)


class Fetcher(_FetcherBase):
    """Synchronous fetcher. Thread-safe: the rate limit and concurrency cap hold across threads.

    ``transport``, ``sleep``, ``clock`` and ``rng`` exist for tests and special setups (a mock
    transport, a fake clock); the defaults are the real ones.
    """

    _client: httpx.Client

    def __init__(
        self,
        config: FetchConfig | None = None,
        *,
        cookies: httpx.Cookies | dict[str, str] | None = None,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
    ) -> None:
        super().__init__(config, clock=clock, rng=rng)
        self._sleep = sleep
        self._slots = threading.BoundedSemaphore(self.config.concurrency)
        self._client = httpx.Client(transport=transport, **self._client_options(cookies))

    def get(
        self,
        url: str,
        *,
        params: Mapping[str, str | int] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Response:
        """GET ``url`` (``params`` merged into its query), with retries and redirects applied."""
        return self._run(self._call("GET", url, params=params, headers=headers))

    def post(
        self,
        url: str,
        *,
        data: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        encoding: str | None = None,
    ) -> Response:
        """POST ``data`` form-encoded to ``url``, with retries and redirects applied.

        ``encoding`` is the charset the form is sent in (a GBK site's own forms expect GBK bytes,
        e.g. for a Chinese username); UTF-8 by default."""
        return self._run(self._call("POST", url, data=data, headers=headers, encoding=encoding))

    def close(self) -> None:
        """Close the connection pool."""
        self._client.close()

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _run(self, call: _Call) -> Response:
        first: Response | httpx.RequestError
        try:
            first = self._attempt(call)
        except httpx.RequestError as exc:
            first = exc
        if _final(first):
            return first
        replay = _Replay(first)
        retrying = Retrying(sleep=self._sleep, **self._retry_options(call))
        return retrying(lambda: replay.take() or self._attempt(call))

    def _attempt(self, call: _Call) -> Response:
        hops = self._hops(call)
        while True:
            request = hops.request()
            with self._slots:
                delay = self._reserve(request)
                if delay > 0:
                    self._sleep(delay)
                response = self._client.send(request, stream=True)
                body = self._body(response)
                try:
                    for chunk in response.iter_bytes():
                        body.feed(chunk)
                finally:
                    response.close()
            final = hops.record(response, body.content)
            if final is not None:
                return final


class AsyncFetcher(_FetcherBase):
    """Asynchronous fetcher with the same behaviour as :class:`Fetcher`; use ``async with``."""

    _client: httpx.AsyncClient

    def __init__(
        self,
        config: FetchConfig | None = None,
        *,
        cookies: httpx.Cookies | dict[str, str] | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
    ) -> None:
        super().__init__(config, clock=clock, rng=rng)
        self._sleep = sleep
        # Made on first use, inside the running loop (the fetcher may be built outside any loop).
        self._slots: asyncio.Semaphore | None = None
        self._queued = 0  # requests waiting for a slot
        self._client = httpx.AsyncClient(transport=transport, **self._client_options(cookies))

    async def get(
        self,
        url: str,
        *,
        params: Mapping[str, str | int] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Response:
        """GET ``url`` (``params`` merged into its query), with retries and redirects applied."""
        return await self._run(self._call("GET", url, params=params, headers=headers))

    async def post(
        self,
        url: str,
        *,
        data: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        encoding: str | None = None,
    ) -> Response:
        """POST ``data`` form-encoded to ``url`` (in ``encoding``, UTF-8 by default), with retries
        and redirects applied."""
        return await self._run(self._call("POST", url, data=data, headers=headers, encoding=encoding))

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._client.aclose()

    async def __aenter__(self) -> AsyncFetcher:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    def _slot_guard(self) -> asyncio.Semaphore:
        if self._slots is None:
            self._slots = asyncio.Semaphore(self.config.concurrency)
        return self._slots

    async def _run(self, call: _Call) -> Response:
        first: Response | httpx.RequestError
        try:
            first = await self._attempt(call)
        except httpx.RequestError as exc:
            first = exc
        if _final(first):
            return first
        replay = _Replay(first)

        async def attempt() -> Response:
            return replay.take() or await self._attempt(call)

        retrying = AsyncRetrying(sleep=self._sleep, **self._retry_options(call))
        response: Response = await retrying(attempt)
        return response

    async def _attempt(self, call: _Call) -> Response:
        hops = self._hops(call)
        while True:
            request = hops.request()
            slots = self._slot_guard()
            self._queued += 1
            try:
                await slots.acquire()
            finally:
                self._queued -= 1
            try:
                delay = self._reserve(request)
                if delay > 0:
                    await self._sleep(delay)
                response = await self._client.send(request, stream=True)
                body = self._body(response)
                try:
                    async for chunk in response.aiter_bytes():
                        body.feed(chunk)
                finally:
                    await response.aclose()
            finally:
                slots.release()
            if self._queued:
                # Let the request just given our slot reach the wire before the caller parses this
                # answer (milliseconds of CPU that block the loop), so that parsing overlaps its round
                # trip. asyncio.sleep, not self._sleep: these are loop turns, not waits to record.
                for _ in range(_HANDOFF_TURNS):
                    await asyncio.sleep(0)
            final = hops.record(response, body.content)
            if final is not None:
                return final
