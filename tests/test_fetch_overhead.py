"""What the fetch path does to stay cheap per page (issue 7), and that it changes no outcome:
a request waiting for a slot goes out before the answer that freed the slot is handed back (so
parsing overlaps its round trip), robots.txt is asked for once per policy, and a call's first
attempt, made outside tenacity, is replayed into it when a retry is due."""

from __future__ import annotations

import asyncio
import logging

import httpx
import pytest

from discuz_scraper.access import AccessPolicy, Get, LoadRobots, RobotsRules, page_flow
from discuz_scraper.http import AsyncFetcher, FetchConfig, Fetcher, Response

SITE = "https://bbs.example.com"


@pytest.mark.anyio
async def test_a_waiting_request_goes_out_before_the_answer_is_handed_back() -> None:
    events: list[str] = []

    async def handler(request: httpx.Request) -> httpx.Response:
        events.append(f"sent {request.url.path}")
        await asyncio.sleep(0)  # the network: the other request queues for the one slot meanwhile
        return httpx.Response(200, text="ok")

    async def get(fetcher: AsyncFetcher, path: str) -> None:
        await fetcher.get(SITE + path)
        events.append(f"returned {path}")

    config = FetchConfig(rate=None, concurrency=1)
    async with AsyncFetcher(config, transport=httpx.MockTransport(handler)) as fetcher:
        await asyncio.gather(get(fetcher, "/a"), get(fetcher, "/b"))
    assert events[:2] == ["sent /a", "sent /b"]
    assert events.index("sent /b") < events.index("returned /a")


def test_robots_txt_is_asked_for_once_per_policy() -> None:
    policy = AccessPolicy(SITE + "/", user_agent="Mozilla/5.0", respect_robots=True)
    first = page_flow(policy, SITE + "/forum.php")
    assert isinstance(next(first), LoadRobots)
    policy.robots = RobotsRules([])
    assert isinstance(first.send(None), Get)

    later = page_flow(policy, SITE + "/forum.php?mod=index")
    step = next(later)
    assert isinstance(step, Get) and step.url == SITE + "/forum.php?mod=index"


@pytest.mark.parametrize("first", [httpx.Response(503), httpx.ConnectError("refused")])
def test_the_first_attempt_is_replayed_into_the_retries_not_sent_again(
    first: httpx.Response | Exception, caplog: pytest.LogCaptureFixture
) -> None:
    answers: list[httpx.Response | Exception] = [first, httpx.Response(200, text="done")]
    sent: list[str] = []
    sleeps: list[float] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(str(request.url))
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    caplog.set_level(logging.WARNING, logger="discuz_scraper")
    config = FetchConfig(rate=None, jitter=0.0)
    with Fetcher(config, transport=httpx.MockTransport(handler), sleep=sleeps.append) as fetcher:
        response: Response = fetcher.get(SITE + "/forum.php")
    reason = "HTTP 503" if isinstance(first, httpx.Response) else "ConnectError"
    assert (response.status_code, response.text) == (200, "done")
    assert (len(sent), fetcher.requests_sent, sleeps) == (2, 2, [1.0])
    assert caplog.messages == [f"GET {SITE}/forum.php: {reason} on attempt 1, retrying in 1.00s"]
