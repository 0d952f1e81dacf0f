"""Fault suite (issue 7): a forum crawl under seeded random faults equals a fault-free crawl.

The fixture forum injects 500/502/503, 429 with ``Retry-After``, connection resets, truncated
bodies, slow answers and wrong-charset labels, drawn per request from a seeded
:class:`~discuz_scraper.testing.FaultPlan`. The client gets a fake ``sleep`` that records every
wait instead of sleeping, so retries and ``Retry-After`` cost no wall time and can be checked
exactly. Seeds are in the test ids and printed (``pytest -s``) so a failure can be replayed.

Wrong-charset pages: the header lies (a GBK page labelled UTF-8 or the reverse) while the page's
own ``<meta>``/JS charset is right. Header-wins decoding turned such a page into mojibake that
still parsed "successfully" (right pids, wrong text), so :func:`discuz_scraper.charset.detect_charset`
now lets the bytes settle a disagreement between header and document; the crawl result is then
equal with that fault kind included, and the unit tests at the end pin the rule.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import pytest

from discuz_scraper import AsyncDiscuzClient, Thread
from discuz_scraper.charset import decode_body, detect_charset
from discuz_scraper.crawl import CrawlEvent, CrawlReport
from discuz_scraper.testing import Fault, FaultKind, FaultPlan, LoopbackServer, default_forum, fixtures_root

SITES = {"x34": "http://forum.test/", "x35": "http://forum.test/bbs/"}
SEEDS = (7, 8, 9)
RELIABILITY_SEEDS = {"faults (FaultPlan seeds)": SEEDS}
# ~45 % of requests fail somehow. Two Retry-After values so the test can tell them apart from
# each other and from the jittered exponential backoff (never a whole number in practice).
RATES: dict[Fault | FaultKind, float] = {
    Fault.server_error(500): 0.04,
    Fault.server_error(502): 0.04,
    Fault.server_error(503): 0.04,
    Fault.rate_limited(2): 0.03,
    Fault.rate_limited(7): 0.03,
    Fault.reset(): 0.04,
    Fault.truncated(): 0.04,
    Fault.slow(0.01): 0.05,
    Fault.wrong_charset(): 0.08,
}
RETRIED = {FaultKind.SERVER_ERROR, FaultKind.RATE_LIMITED, FaultKind.RESET, FaultKind.TRUNCATED}
# A retryable fault hits ~26 % of attempts: 8 retries make a page failing for good (0.26^9 ≈ 5e-6
# per page) negligible whatever order the crawl's workers happen to send requests in.
RETRIES = 8
# (tid, pid, floor, text) of every post, the failure list and every thread model as JSON:
# what "the same result" means.
Outcome = tuple[list[tuple[int, int, int | None, str]], list[tuple[str, str, str]], list[str]]


def crawl(base: str, transport: Any, waits: list[float], **options: Any) -> list[CrawlEvent]:
    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    async def run() -> list[CrawlEvent]:
        async with AsyncDiscuzClient(
            base, transport=transport, rate=None, retries=RETRIES, sleep=sleep, **options
        ) as client:
            return [event async for event in client.crawl_forum()]

    return asyncio.run(run())


def outcome(events: list[CrawlEvent], origin: str = "http://forum.test") -> Outcome:
    report = events[-1]
    assert isinstance(report, CrawlReport)
    threads = sorted((e for e in events if isinstance(e, Thread)), key=lambda t: t.tid)
    def local(text: str) -> str:
        return text.replace(origin, "http://forum.test")

    posts = [(p.tid, p.pid, p.floor, local(p.text)) for t in threads for p in t.posts]
    pids = [pid for _, pid, _, _ in posts]
    assert len(pids) == len(set(pids)), "every post exactly once"
    assert report.posts == len(posts)
    failures = sorted((f.kind, local(f.url), f.error_type) for f in report.failures)
    # Whole thread models (every field, URLs brought back to the fixture origin) minus the fetch time.
    dumps = [local(t.model_dump_json(exclude={"fetched_at"})) for t in threads]
    return sorted(posts), failures, dumps


_BASELINES: dict[str, Outcome] = {}


def baseline(site: str) -> Outcome:
    if site not in _BASELINES:
        forum = default_forum()
        waits: list[float] = []
        _BASELINES[site] = outcome(crawl(SITES[site], forum.mock_transport(), waits))
        assert waits == [], "a fault-free crawl never waits"
    return _BASELINES[site]


def faulted_run(site: str, seed: int) -> tuple[Outcome, FaultPlan, list[float], list[float]]:
    print(f"FaultPlan seed={seed} site={site}")
    plan = FaultPlan(seed=seed, rates=RATES)
    server_delays: list[float] = []
    forum = default_forum(faults=plan, sleep=server_delays.append)
    waits: list[float] = []
    result = outcome(crawl(SITES[site], forum.mock_transport(), waits))
    return result, plan, waits, server_delays


def assert_waits_honour_retry_after(plan: FaultPlan, waits: list[float]) -> None:
    faults = [fault for _, _, fault in plan.history]
    # Each retried fault is followed by exactly one wait (rate=None: no pacing waits).
    assert len(waits) == sum(f.kind in RETRIED for f in faults)
    asked = Counter(float(f.retry_after) for f in faults if f.kind is FaultKind.RATE_LIMITED)
    slept = Counter(waits)
    for seconds, times in asked.items():
        assert slept[seconds] >= times, f"Retry-After {seconds:g}s asked {times}x, waited {slept[seconds]}x"


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("site", sorted(SITES))
def test_crawl_under_random_faults_equals_the_fault_free_crawl(site: str, seed: int) -> None:
    result, plan, waits, server_delays = faulted_run(site, seed)

    assert plan.history, "the plan injected faults"
    assert result == baseline(site)
    assert_waits_honour_retry_after(plan, waits)
    slow = [f.delay for _, _, f in plan.history if f.kind is FaultKind.SLOW]
    assert server_delays == slow, "slow answers went through the forum's (fake) clock"


@pytest.mark.parametrize("site", sorted(SITES))
def test_the_seeds_cover_every_fault_kind(site: str) -> None:
    """The equality above is only worth something if the plans really injected every kind.

    Which request draws which number depends on the crawl's request order; should a change in
    the crawl engine reorder requests so that these seeds no longer cover every kind, pick new
    seeds (the failure message lists what was injected)."""
    injected: set[tuple[FaultKind, int | None, int | None]] = set()
    for seed in SEEDS:
        _, plan, _, _ = faulted_run(site, seed)
        injected |= {(f.kind, f.status, f.retry_after) for _, _, f in plan.history}
    assert injected == {
        (FaultKind.SERVER_ERROR, 500, None),
        (FaultKind.SERVER_ERROR, 502, None),
        (FaultKind.SERVER_ERROR, 503, None),
        (FaultKind.RATE_LIMITED, 429, 2),
        (FaultKind.RATE_LIMITED, 429, 7),
        (FaultKind.RESET, None, None),
        (FaultKind.TRUNCATED, None, None),
        (FaultKind.SLOW, None, None),
        (FaultKind.WRONG_CHARSET, None, None),
    }


def test_the_expected_baselines() -> None:
    """Pin the fault-free results themselves (the same numbers as tests/test_crawl.py)."""
    x34_posts, x34_failures, x34_threads = baseline("x34")
    x35_posts, x35_failures, x35_threads = baseline("x35")
    assert (len(x34_posts), len(x34_threads), len(x35_posts), len(x35_threads)) == (41, 12, 23, 6)
    assert x34_failures == [
        ("board", "http://forum.test/forum.php?mod=forumdisplay&fid=9&page=1", "LoginRequired"),
        ("thread", "http://forum.test/forum.php?mod=viewthread&tid=1012&page=1", "PermissionDenied"),
        ("thread", "http://forum.test/forum.php?mod=viewthread&tid=1099&page=1", "NotFound"),
    ]
    assert x35_failures == []


def test_crawl_over_loopback_under_random_faults() -> None:
    """Real sockets: resets are RSTs, truncation a short body with Content-Length, slow a real delay."""
    seed = 8
    print(f"FaultPlan seed={seed} site=x35 loopback")
    # Handler threads make the request order (so the random draws) vary from run to run: scripted
    # rules guarantee each socket-level kind once, the random plan adds the rest.
    plan = (
        FaultPlan(seed=seed, rates=RATES)
        .on("/bbs/forum.php?mod=viewthread&tid=2001&page=2", Fault.reset(), nth=1)
        .on("/bbs/forum.php?mod=viewthread&tid=2001&page=3", Fault.truncated(), nth=1)
        .on("/bbs/forum.php?mod=viewthread&tid=2002", Fault.wrong_charset(), nth=1)
        .on("/bbs/forum.php?mod=viewthread&tid=2003", Fault.rate_limited(2), nth=1)
        .on("/bbs/forum.php?mod=viewthread&tid=2004", Fault.slow(0.01), nth=1)
    )
    forum = default_forum(faults=plan)  # no fake server clock: slow faults really wait 10 ms
    waits: list[float] = []
    with LoopbackServer(forum) as server:
        origin = server.base_url.rstrip("/")
        result = outcome(crawl(server.site_url("x35"), None, waits, timeout=10.0), origin)
    kinds = {f.kind for _, _, f in plan.history}
    assert {FaultKind.RESET, FaultKind.TRUNCATED, FaultKind.WRONG_CHARSET, FaultKind.RATE_LIMITED} <= kinds
    assert result == baseline("x35")
    assert_waits_honour_retry_after(plan, waits)


@pytest.mark.parametrize("site", sorted(SITES))
def test_every_page_with_a_lying_charset_header_still_gives_the_same_crawl(site: str) -> None:
    """Every response mislabelled (GBK pages as UTF-8, UTF-8 pages as GBK): nothing may differ."""
    plan = FaultPlan().on(None, Fault.wrong_charset())
    forum = default_forum(faults=plan)
    waits: list[float] = []
    assert outcome(crawl(SITES[site], forum.mock_transport(), waits)) == baseline(site)
    assert waits == []
    assert len(plan.history) == len(forum.request_log) > 10


# --- the charset rule behind it ---------------------------------------------------------------

GBK_PAGE = (fixtures_root() / "thread/x34/t1001-p1.html").read_bytes()
UTF8_PAGE = (fixtures_root() / "thread/x35/t2001-p1.html").read_bytes()
# The one fixture page whose UTF-8 bytes happen to decode as GB18030 without a single error.
UTF8_PAGE_VALID_AS_GB18030 = (fixtures_root() / "board/x35_forum7_p1.html").read_bytes()


def test_the_fixture_pages_declare_their_own_charset() -> None:
    assert detect_charset(GBK_PAGE) == "gb18030"
    assert detect_charset(UTF8_PAGE) == "utf-8"
    assert detect_charset(UTF8_PAGE_VALID_AS_GB18030) == "utf-8"
    UTF8_PAGE_VALID_AS_GB18030.decode("gb18030")  # strict: no error, only mojibake


@pytest.mark.parametrize(
    ("body", "header", "codec"),
    [
        (GBK_PAGE, "text/html; charset=utf-8", "gb18030"),  # not valid UTF-8 → the meta's GBK
        (UTF8_PAGE, "text/html; charset=gbk", "utf-8"),  # valid UTF-8 → UTF-8
        (UTF8_PAGE_VALID_AS_GB18030, "text/html; charset=gbk", "utf-8"),  # valid UTF-8 wins a tie
        (GBK_PAGE, "text/html; charset=gbk", "gb18030"),  # agreeing labels: unchanged
        (UTF8_PAGE, "text/html; charset=utf-8", "utf-8"),
    ],
    ids=["gbk-page-as-utf8", "utf8-page-as-gbk", "utf8-page-valid-gb18030-as-gbk", "gbk-agree", "utf8-agree"],
)
def test_a_lying_header_loses_to_the_document_when_the_bytes_say_so(
    body: bytes, header: str, codec: str
) -> None:
    assert detect_charset(body, header) == codec
    text, used = decode_body(body, header)
    assert used == codec and "\ufffd" not in text


def test_header_wins_when_the_document_declaration_is_the_liar() -> None:
    # A transcoding proxy: the body is UTF-8 and says so in the header, the meta still says GBK.
    page = '<head><meta charset="gbk"></head><p>茶馆 论坛</p>'
    assert decode_body(page.encode(), "text/html; charset=utf-8") == (page, "utf-8")
    # A stale meta saying UTF-8 on a GBK body: the bytes are not UTF-8, the GBK header decodes them.
    gbk = '<head><meta charset="utf-8"></head><p>茶馆 论坛</p>'.encode("gbk")
    assert decode_body(gbk, "text/html; charset=gbk")[1] == "gb18030"
    # Neither label decodes cleanly: the header stands, undecodable bytes become U+FFFD as before.
    junk = b'<head><meta charset="gbk"></head><p>\xff\xff\x80</p>'
    assert decode_body(junk, "text/html; charset=utf-8")[1] == "utf-8"
