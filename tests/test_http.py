"""Tests of the fetcher (discuz_scraper/http.py).

Every scenario runs through both Fetcher and AsyncFetcher: the ``mode`` fixture builds either one
behind the same awaitable ``Harness`` surface. Time is a fake clock; sleeps are recorded, never slept.
"""

from __future__ import annotations

import asyncio
import gzip
import logging
import random
import re
import threading
from collections.abc import Callable
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from discuz_scraper.errors import ConfigError, FetchError, ParseError, RateLimited
from discuz_scraper.http import DEFAULT_USER_AGENT, AsyncFetcher, FetchConfig, Fetcher, Response

SITE = "https://bbs.example.com"
Handler = Callable[[httpx.Request], Any]


class FakeClock:
    """A monotonic clock that moves only when something sleeps on it (unless ``frozen``)."""

    def __init__(self, *, frozen: bool = False) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []
        self.frozen = frozen

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        if not self.frozen:
            self.now += seconds

    async def async_sleep(self, seconds: float) -> None:
        self.sleep(seconds)
        await asyncio.sleep(0)


class Harness:
    """A Fetcher or an AsyncFetcher behind one awaitable surface."""

    def __init__(self, mode: str, handler: Handler, config: FetchConfig, clock: FakeClock, **kw: Any) -> None:
        self.clock = clock
        transport = httpx.MockTransport(handler)
        if mode == "sync":
            self.fetcher: Fetcher | AsyncFetcher = Fetcher(
                config, transport=transport, sleep=clock.sleep, clock=clock, **kw
            )
        else:
            self.fetcher = AsyncFetcher(
                config, transport=transport, sleep=clock.async_sleep, clock=clock, **kw
            )

    async def get(self, url: str, **kw: Any) -> Response:
        result = self.fetcher.get(url, **kw)
        return await result if asyncio.iscoroutine(result) else result

    async def post(self, url: str, **kw: Any) -> Response:
        result = self.fetcher.post(url, **kw)
        return await result if asyncio.iscoroutine(result) else result

    async def __aenter__(self) -> Harness:
        return self

    async def __aexit__(self, *exc: object) -> None:
        if isinstance(self.fetcher, AsyncFetcher):
            await self.fetcher.aclose()
        else:
            self.fetcher.close()


@pytest.fixture(params=["sync", "async"])
def make(request: pytest.FixtureRequest) -> Callable[..., Harness]:
    def factory(handler: Handler, clock: FakeClock | None = None, **config: Any) -> Harness:
        rng = config.pop("rng", None)
        cookies = config.pop("cookies", None)
        config.setdefault("rate", None)
        config.setdefault("jitter", 0.0)
        return Harness(
            request.param, handler, FetchConfig(**config), clock or FakeClock(), rng=rng, cookies=cookies
        )

    return factory


def scripted(*responses: httpx.Response | Exception) -> tuple[Handler, list[httpx.Request]]:
    """A handler answering with ``responses`` in order (raising the exceptions); records requests."""
    seen: list[httpx.Request] = []
    queue = list(responses)

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        item = queue.pop(0)
        if isinstance(item, Exception):
            raise item
        return item

    return handler, seen


def ok(text: str = "ok", **headers: str) -> httpx.Response:
    return httpx.Response(200, text=text, headers=headers)


# --- user agent and default headers ---------------------------------------------------------------


def test_default_user_agent_is_a_desktop_browser() -> None:
    assert not re.search(r"bot|crawl|spider|slurp|mobile|android|iphone|phone", DEFAULT_USER_AGENT, re.I)
    assert "Windows NT 10.0" in DEFAULT_USER_AGENT
    assert "Chrome/" in DEFAULT_USER_AGENT


@pytest.mark.anyio
async def test_sends_browser_headers_and_extra_headers(make) -> None:
    handler, seen = scripted(ok())
    async with make(handler, headers={"X-Extra": "1"}) as h:
        await h.get(f"{SITE}/forum.php", params={"mod": "viewthread", "tid": 5})
    request = seen[0]
    assert str(request.url) == f"{SITE}/forum.php?mod=viewthread&tid=5"
    assert request.headers["user-agent"] == DEFAULT_USER_AGENT
    assert request.headers["accept-language"].startswith("zh-CN")
    assert request.headers["accept"].startswith("text/html")
    assert request.headers["x-extra"] == "1"


# --- retries --------------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_retries_503_then_succeeds_with_seeded_jitter(make) -> None:
    handler, seen = scripted(httpx.Response(503), httpx.Response(503), ok("done"))
    async with make(handler, jitter=0.25, rng=random.Random(7)) as h:
        response = await h.get(f"{SITE}/forum.php")
    expected = random.Random(7)
    first = 1.0 + expected.uniform(0, 0.25)
    second = 2.0 + expected.uniform(0, 0.5)
    assert h.clock.sleeps == [first, second]
    assert 1.0 < first <= 1.25 and 2.0 < second <= 2.5
    assert (response.status_code, response.text, len(seen)) == (200, "done", 3)
    assert h.fetcher.requests_sent == 3


@pytest.mark.anyio
async def test_429_waits_exactly_retry_after_seconds(make) -> None:
    handler, _ = scripted(httpx.Response(429, headers={"Retry-After": "7"}), ok())
    async with make(handler, jitter=0.25) as h:
        response = await h.get(f"{SITE}/forum.php")
    assert h.clock.sleeps == [7.0]
    assert response.status_code == 200


@pytest.mark.anyio
async def test_retry_after_http_date_is_measured_from_the_date_header(make) -> None:
    busy = httpx.Response(
        503,
        headers={"Date": "Wed, 21 Oct 2015 07:28:00 GMT", "Retry-After": "Wed, 21 Oct 2015 07:28:30 GMT"},
    )
    handler, _ = scripted(busy, ok())
    async with make(handler) as h:
        await h.get(f"{SITE}/forum.php")
    assert h.clock.sleeps == [30.0]


@pytest.mark.anyio
async def test_retry_after_beyond_max_raises_rate_limited_without_sleeping(make) -> None:
    handler, seen = scripted(httpx.Response(429, headers={"Retry-After": "3600"}))
    async with make(handler) as h:
        with pytest.raises(RateLimited) as info:
            await h.get(f"{SITE}/forum.php")
    err = info.value
    assert err.message == "HTTP 429 Too Many Requests after 1 attempt; server asks to wait 3600s"
    assert (err.retry_after, err.status_code, err.url) == (3600.0, 429, f"{SITE}/forum.php")
    assert h.clock.sleeps == []
    assert len(seen) == 1


@pytest.mark.anyio
async def test_429_without_retry_after_exhausts_retries(make) -> None:
    handler, seen = scripted(*(httpx.Response(429) for _ in range(3)))
    async with make(handler, retries=2) as h:
        with pytest.raises(RateLimited, match=r"^HTTP 429 Too Many Requests after 3 attempts \|") as info:
            await h.get(f"{SITE}/forum.php")
    assert info.value.retry_after is None
    assert h.clock.sleeps == [1.0, 2.0]
    assert len(seen) == 3


@pytest.mark.anyio
async def test_exhausted_5xx_is_returned_with_retry_after(make) -> None:
    handler, seen = scripted(
        *(httpx.Response(503, text="System Error", headers={"Retry-After": "3"}) for _ in range(3))
    )
    async with make(handler, retries=2) as h:
        response = await h.get(f"{SITE}/forum.php")
    assert (response.status_code, response.retry_after, response.text) == (503, 3.0, "System Error")
    assert h.clock.sleeps == [3.0, 3.0]
    assert len(seen) == 3


@pytest.mark.anyio
async def test_5xx_with_retry_after_beyond_max_is_returned_at_once(make) -> None:
    handler, seen = scripted(httpx.Response(503, text="Database Error", headers={"Retry-After": "3600"}))
    async with make(handler) as h:
        response = await h.get(f"{SITE}/forum.php")
    assert (response.status_code, response.retry_after) == (503, 3600.0)
    assert h.clock.sleeps == []
    assert len(seen) == 1


@pytest.mark.anyio
async def test_other_4xx_is_returned_without_retry(make) -> None:
    handler, seen = scripted(httpx.Response(404, text="gone"))
    async with make(handler) as h:
        response = await h.get(f"{SITE}/thread-9-1-1.html")
    assert (response.status_code, response.text, len(seen), h.clock.sleeps) == (404, "gone", 1, [])


@pytest.mark.anyio
async def test_connection_reset_is_retried_then_raises_fetch_error(make) -> None:
    handler, seen = scripted(*(httpx.ReadError("connection reset") for _ in range(4)))
    async with make(handler, retries=3) as h:
        with pytest.raises(FetchError) as info:
            await h.get(f"{SITE}/forum.php")
    err = info.value
    assert err.message == "GET failed after 4 attempts: ReadError: connection reset"
    assert err.url == f"{SITE}/forum.php"
    assert isinstance(err.__cause__, httpx.ReadError)
    assert h.clock.sleeps == [1.0, 2.0, 4.0]
    assert len(seen) == 4


@pytest.mark.anyio
async def test_exponential_backoff_is_capped(make) -> None:
    handler, _ = scripted(*(httpx.Response(500) for _ in range(6)))
    async with make(handler, retries=5, backoff_base=1.0, backoff_max=5.0) as h:
        response = await h.get(f"{SITE}/forum.php")
    assert response.status_code == 500
    assert h.clock.sleeps == [1.0, 2.0, 4.0, 5.0, 5.0]


# --- rate limit and concurrency -------------------------------------------------------------------


@pytest.mark.anyio
async def test_rate_limit_spaces_requests_per_host(make) -> None:
    clock = FakeClock()
    sent_at: list[tuple[str, float]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent_at.append((request.url.host, clock()))
        return ok()

    async with make(handler, clock, rate=2.0) as h:
        for _ in range(3):
            await h.get(f"{SITE}/forum.php")
        await h.get("https://other.example.org/forum.php")
    assert clock.sleeps == [0.5, 0.5]
    assert sent_at == [
        ("bbs.example.com", 0.0),
        ("bbs.example.com", 0.5),
        ("bbs.example.com", 1.0),
        ("other.example.org", 1.0),
    ]


@pytest.mark.anyio
async def test_async_rate_limit_reserves_slots_for_concurrent_requests() -> None:
    clock = FakeClock(frozen=True)
    transport = httpx.MockTransport(lambda request: ok())
    config = FetchConfig(rate=2.0)
    async with AsyncFetcher(config, transport=transport, sleep=clock.async_sleep, clock=clock) as fetcher:
        await asyncio.gather(*(fetcher.get(f"{SITE}/forum.php") for _ in range(3)))
    assert sorted(clock.sleeps) == [0.5, 1.0]


@pytest.mark.anyio
async def test_async_concurrency_cap() -> None:
    in_flight = 0
    peak = 0

    async def handler(request: httpx.Request) -> httpx.Response:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        for _ in range(5):
            await asyncio.sleep(0)
        in_flight -= 1
        return ok()

    clock = FakeClock()
    config = FetchConfig(rate=None, concurrency=3)
    async with AsyncFetcher(
        config, transport=httpx.MockTransport(handler), sleep=clock.async_sleep, clock=clock
    ) as f:
        responses = await asyncio.gather(*(f.get(f"{SITE}/t{i}") for i in range(10)))
    assert peak == 3
    assert [r.url for r in responses] == [f"{SITE}/t{i}" for i in range(10)]


def test_sync_concurrency_cap_across_threads() -> None:
    in_flight = 0
    peak = 0
    lock = threading.Lock()
    all_waiting = threading.Barrier(2)

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal in_flight, peak
        with lock:
            in_flight += 1
            peak = max(peak, in_flight)
        all_waiting.wait(timeout=5)
        with lock:
            in_flight -= 1
        return ok()

    config = FetchConfig(rate=None, concurrency=2)
    with Fetcher(config, transport=httpx.MockTransport(handler)) as fetcher:
        threads = [threading.Thread(target=fetcher.get, args=(f"{SITE}/t{i}",)) for i in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=10)
    assert peak == 2
    assert fetcher.requests_sent == 6


# --- body size cap --------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_body_at_the_cap_is_read(make) -> None:
    handler, _ = scripted(httpx.Response(200, content=b"x" * 1000))
    async with make(handler, max_bytes=1000) as h:
        response = await h.get(f"{SITE}/forum.php")
    assert len(response.content) == 1000


@pytest.mark.anyio
async def test_body_over_the_cap_raises_without_retry(make) -> None:
    handler, seen = scripted(httpx.Response(200, content=b"x" * 1001))
    async with make(handler, max_bytes=1000) as h:
        with pytest.raises(FetchError, match=r"^response larger than 1000 bytes \| HTTP 200 \| url: "):
            await h.get(f"{SITE}/forum.php")
    assert len(seen) == 1


@pytest.mark.anyio
async def test_gzip_bomb_is_stopped_by_the_decompressed_size(make) -> None:
    bomb = gzip.compress(b"\0" * 5_000_000)
    assert len(bomb) < 10_000
    handler, _ = scripted(httpx.Response(200, content=bomb, headers={"Content-Encoding": "gzip"}))
    async with make(handler, max_bytes=100_000) as h:
        with pytest.raises(FetchError, match="response larger than 100000 bytes"):
            await h.get(f"{SITE}/forum.php")


# --- redirects ------------------------------------------------------------------------------------


def redirect(location: str, status: int = 302, **headers: str) -> httpx.Response:
    return httpx.Response(status, headers={"Location": location, **headers})


@pytest.mark.anyio
async def test_same_site_redirects_are_followed_with_history_and_cookies(make) -> None:
    handler, seen = scripted(
        redirect("/b", 302, **{"Set-Cookie": "pre_saltkey=s1; Path=/"}),
        redirect("https://bbs.example.com/c", 301),
        ok("final"),
    )
    async with make(handler) as h:
        response = await h.get("http://bbs.example.com/a")
    assert response.url == f"{SITE}/c"
    assert response.history == ("http://bbs.example.com/a", "http://bbs.example.com/b")
    assert response.text == "final"
    assert [str(r.url) for r in seen] == ["http://bbs.example.com/a", "http://bbs.example.com/b", f"{SITE}/c"]
    assert seen[1].headers["cookie"] == "pre_saltkey=s1"


@pytest.mark.parametrize(
    ("start", "target", "message"),
    [
        (
            f"{SITE}/a",
            "https://evil.example.net/x",
            "refusing off-site redirect to https://evil.example.net/x",
        ),
        (f"{SITE}/a", "http://bbs.example.com/a2", "refusing off-site redirect to http://bbs.example.com/a2"),
        (f"{SITE}/a", "ftp://bbs.example.com/f", "redirect to a non-HTTP URL: 'ftp://bbs.example.com/f'"),
    ],
    ids=["other-host", "https-downgrade", "non-http"],
)
@pytest.mark.anyio
async def test_refused_redirects(make, start: str, target: str, message: str) -> None:
    handler, seen = scripted(redirect(target))
    async with make(handler) as h:
        with pytest.raises(FetchError) as info:
            await h.get(start)
    assert info.value.message == message
    assert info.value.url == start
    assert len(seen) == 1


@pytest.mark.anyio
async def test_redirect_loop_is_refused(make) -> None:
    handler, seen = scripted(redirect("/b"), redirect("/a"))
    async with make(handler) as h:
        with pytest.raises(FetchError) as info:
            await h.get(f"{SITE}/a")
    assert info.value.message == f"redirect loop back to {SITE}/a"
    assert len(seen) == 2


@pytest.mark.anyio
async def test_too_many_redirects_are_refused(make) -> None:
    handler, seen = scripted(redirect("/1"), redirect("/2"), redirect("/3"))
    async with make(handler, max_redirects=2) as h:
        with pytest.raises(FetchError) as info:
            await h.get(f"{SITE}/0")
    assert (info.value.message, info.value.url) == ("more than 2 redirects", f"{SITE}/2")
    assert len(seen) == 3


@pytest.mark.anyio
async def test_offsite_redirect_allowed_when_configured_drops_credentials(make) -> None:
    handler, seen = scripted(redirect("https://cdn.example.net/x"), ok("cdn"))
    async with make(handler, allow_offsite_redirects=True) as h:
        response = await h.get(f"{SITE}/a", headers={"Authorization": "Bearer t0ken", "X-Keep": "1"})
    assert (response.url, response.text, response.history) == (
        "https://cdn.example.net/x",
        "cdn",
        (f"{SITE}/a",),
    )
    assert seen[0].headers["authorization"] == "Bearer t0ken"
    assert "authorization" not in seen[1].headers
    assert seen[1].headers["x-keep"] == "1"


@pytest.mark.anyio
async def test_redirects_not_followed_when_disabled(make) -> None:
    handler, _ = scripted(redirect("/b"))
    async with make(handler, follow_redirects=False) as h:
        response = await h.get(f"{SITE}/a")
    assert (response.status_code, response.headers["location"], response.history) == (302, "/b", ())


@pytest.mark.parametrize(
    ("status", "method", "body"),
    [(303, "GET", b""), (302, "GET", b""), (301, "GET", b""), (307, "POST", b"a=1"), (308, "POST", b"a=1")],
)
@pytest.mark.anyio
async def test_redirect_after_post_method(make, status: int, method: str, body: bytes) -> None:
    handler, seen = scripted(redirect("/done", status), ok())
    async with make(handler) as h:
        await h.post(f"{SITE}/member.php", data={"a": "1"})
    assert seen[0].method == "POST" and seen[0].content == b"a=1"
    assert (seen[1].method, seen[1].content) == (method, body)


# --- decoding -------------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_gbk_named_only_in_the_header(make) -> None:
    body = "<p>中文论坛 𠀀</p>".encode("gb18030")
    handler, _ = scripted(
        httpx.Response(200, content=body, headers={"Content-Type": "text/html; charset=gbk"})
    )
    async with make(handler) as h:
        response = await h.get(f"{SITE}/forum.php")
    assert (response.text, response.encoding) == ("<p>中文论坛 𠀀</p>", "gb18030")


@pytest.mark.anyio
async def test_charset_from_meta_when_header_has_none(make) -> None:
    body = '<html><head><meta charset="big5"></head><body>討論區</body></html>'.encode("big5")
    handler, _ = scripted(httpx.Response(200, content=body, headers={"Content-Type": "text/html"}))
    async with make(handler) as h:
        response = await h.get(f"{SITE}/forum.php")
    assert response.encoding == "big5hkscs"
    assert "討論區" in response.text


@pytest.mark.anyio
async def test_json_body_and_non_json_error(make) -> None:
    handler, _ = scripted(ok('{"Charset": "GBK", "Variables": {"tid": "5"}}'), ok("<html>"))
    async with make(handler) as h:
        assert (await h.get(f"{SITE}/api/mobile/index.php")).json() == {
            "Charset": "GBK",
            "Variables": {"tid": "5"},
        }
        page = await h.get(f"{SITE}/forum.php")
    with pytest.raises(ParseError, match="response is not JSON"):
        page.json()


# --- cookies and secrets --------------------------------------------------------------------------


@pytest.mark.anyio
async def test_cookies_from_one_response_go_out_on_the_next(make) -> None:
    handler, seen = scripted(ok(**{"Set-Cookie": "Xa3z_2132_saltkey=abc; Path=/"}), ok())
    async with make(handler, cookies={"Xa3z_2132_auth": "given"}) as h:
        await h.get(f"{SITE}/forum.php")
        await h.get(f"{SITE}/forum.php?mod=viewthread&tid=1")
        assert h.fetcher.cookies["Xa3z_2132_saltkey"] == "abc"
    assert "Xa3z_2132_auth=given" in seen[0].headers["cookie"]
    assert sorted(seen[1].headers["cookie"].split("; ")) == ["Xa3z_2132_auth=given", "Xa3z_2132_saltkey=abc"]


@pytest.mark.anyio
async def test_secrets_stay_out_of_logs_errors_and_reprs(make, caplog: pytest.LogCaptureFixture) -> None:
    handler, _ = scripted(
        httpx.Response(503, headers={"Set-Cookie": "pre_auth=SECRETCOOKIE"}),
        *(httpx.ReadError("reset") for _ in range(2)),
    )
    url = "https://user:SECRETPW@bbs.example.com/forum.php?formhash=SECRETHASH"
    caplog.set_level(logging.DEBUG, logger="discuz_scraper")
    async with make(handler, retries=2, cookies={"pre_auth": "SECRETCOOKIE"}) as h:
        with pytest.raises(FetchError) as info:
            await h.get(url)
    assert "GET https://bbs.example.com/forum.php?formhash=*** -> 503" in caplog.text
    assert (
        "GET https://bbs.example.com/forum.php?formhash=***: HTTP 503 on attempt 1, retrying in 1.00s"
        in caplog.text
    )
    exposed = caplog.text + str(info.value) + repr(info.value)
    assert not re.search("SECRET", exposed)

    handler, _ = scripted(ok("body", **{"Set-Cookie": "pre_auth=SECRETCOOKIE"}))
    async with make(handler) as h:
        response = await h.get(f"{SITE}/forum.php")
    assert repr(response) == (
        f"Response(url='{SITE}/forum.php', status_code=200, encoding='utf-8', history=(), retry_after=None)"
    )


# --- bad input ------------------------------------------------------------------------------------


@pytest.mark.parametrize("url", ["forum.php?mod=index", "ftp://bbs.example.com/x", "https:///nohost"])
@pytest.mark.anyio
async def test_bad_urls_raise_before_any_request(make, url: str) -> None:
    handler, seen = scripted()
    async with make(handler) as h:
        with pytest.raises(FetchError, match="not an absolute http\\(s\\) URL"):
            await h.get(url)
    assert seen == []


@pytest.mark.parametrize(
    ("field", "value", "rule"),
    [
        ("rate", 0, "rate must be > 0 or None"),
        ("retries", -1, "retries must be >= 0"),
        ("concurrency", 0, "concurrency must be >= 1"),
        ("timeout", 0, "timeout must be > 0"),
        ("max_bytes", 0, "max_bytes must be >= 1"),
        ("user_agent", " ", "user_agent must not be empty"),
    ],
)
def test_invalid_config_raises_config_error(field: str, value: object, rule: str) -> None:
    with pytest.raises(ConfigError) as info:
        FetchConfig(**{field: value})
    assert info.value.message == f"invalid FetchConfig: {rule}"
    assert isinstance(info.value, ValueError)


# --- real loopback server -------------------------------------------------------------------------


class _ForumHandler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path == "/old":
            self._reply(301, b"", [("Location", "/forum.php")])
        elif self.path == "/forum.php":
            cookie = self.headers.get("Cookie", "")
            body = f"<html>中文 cookie={cookie}</html>".encode("gbk")
            self._reply(
                200, body, [("Content-Type", "text/html; charset=gbk"), ("Set-Cookie", "pre_sid=z9; Path=/")]
            )
        else:
            # Promise more than is sent, then hang up: a truncated body.
            self.send_response(200)
            self.send_header("Content-Length", "100")
            self.end_headers()
            self.wfile.write(b"short")
            self.close_connection = True

    def _reply(self, status: int, body: bytes, headers: list[tuple[str, str]]) -> None:
        self.send_response(status)
        for name, value in [*headers, ("Content-Length", str(len(body)))]:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@contextmanager
def loopback_server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _ForumHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_real_loopback_server() -> None:
    clock = FakeClock()
    with (
        loopback_server() as base,
        Fetcher(FetchConfig(rate=None, retries=1, timeout=5, jitter=0), sleep=clock.sleep) as f,
    ):
        first = f.get(f"{base}/old")
        second = f.get(f"{base}/forum.php")
        with pytest.raises(FetchError) as info:
            f.get(f"{base}/truncated")
    assert (first.url, first.history, first.encoding) == (f"{base}/forum.php", (f"{base}/old",), "gb18030")
    assert first.text == "<html>中文 cookie=</html>"
    assert second.text == "<html>中文 cookie=pre_sid=z9</html>"
    assert info.value.message.startswith("GET failed after 2 attempts: RemoteProtocolError")
    assert clock.sleeps == [1.0]
    assert f.requests_sent == 5
