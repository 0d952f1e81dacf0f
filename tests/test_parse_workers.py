"""``parse_workers``: pages parsed in worker processes give exactly what parsing in place gives.

Each pool is started with ``spawn`` (about a second), so the suite keeps to a few pools.
"""

from __future__ import annotations

import asyncio
import os
import pickle
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any

import pytest

from discuz_scraper import AsyncDiscuzClient, Board, DiscuzClient, Thread, ThreadSummary, errors
from discuz_scraper.backends import ParseJob
from discuz_scraper.cli import main
from discuz_scraper.crawl import CrawlEvent, CrawlReport
from discuz_scraper.errors import ConfigError, DiscuzError, NotFound, UnsupportedVersion
from discuz_scraper.store import SQLiteStore
from discuz_scraper.testing import default_forum

X34 = "http://forum.test/"
X35 = "http://forum.test/bbs/"


def _crawl(client: DiscuzClient | AsyncDiscuzClient) -> list[CrawlEvent]:
    if isinstance(client, DiscuzClient):
        with client:
            return list(client.crawl_forum(concurrency=3))

    async def run() -> list[CrawlEvent]:
        async with client:
            return [event async for event in client.crawl_forum(concurrency=3)]

    return asyncio.run(run())


def _outcome(events: list[CrawlEvent]) -> dict[str, Any]:
    """Everything a crawl produced, in a stable order (pages arrive in any order), without the
    fetch times."""
    report = events[-1]
    assert isinstance(report, CrawlReport)
    threads = sorted((e for e in events if isinstance(e, Thread)), key=lambda t: t.tid)
    return {
        "boards": sorted(e.model_dump_json() for e in events if isinstance(e, Board)),
        "rows": sorted(e.model_dump_json() for e in events if isinstance(e, ThreadSummary)),
        "threads": [t.model_dump(mode="json", exclude={"fetched_at"}) for t in threads],
        "failures": sorted((f.kind, f.url, f.error_type, f.message) for f in report.failures),
        "skipped": report.skipped,
        "counts": (report.boards, report.thread_rows, report.threads, report.posts, report.requests),
    }


def test_async_crawl_with_worker_processes_equals_parsing_in_place() -> None:
    in_place = _outcome(_crawl(AsyncDiscuzClient(X34, transport=default_forum().mock_transport(), rate=None)))
    client = AsyncDiscuzClient(X34, transport=default_forum().mock_transport(), rate=None, parse_workers=2)
    with_workers = _outcome(_crawl(client))
    assert with_workers == in_place
    assert len(in_place["threads"]) == 12 and in_place["counts"][3] == 41
    # The failures raised inside the workers came back with their type and message.
    assert [f[2] for f in with_workers["failures"]] == ["LoginRequired", "PermissionDenied", "NotFound"]
    assert client._pool is None, "aclose() shuts the pool down"


def test_sync_crawl_passes_parse_workers_to_its_async_engine() -> None:
    in_place = _outcome(_crawl(DiscuzClient(X35, transport=default_forum().mock_transport(), rate=None)))
    with_workers = _outcome(
        _crawl(DiscuzClient(X35, transport=default_forum().mock_transport(), rate=None, parse_workers=1))
    )
    assert with_workers == in_place
    assert [t["tid"] for t in in_place["threads"]] == [2001, 2002, 2003, 2004, 2005, 2006]


def test_an_error_raised_in_a_worker_keeps_its_type_and_fields() -> None:
    async def fetch(workers: int) -> DiscuzError:
        async with AsyncDiscuzClient(
            X34, transport=default_forum().mock_transport(), rate=None, parse_workers=workers
        ) as client:
            with pytest.raises(NotFound) as info:
                await client.thread(1099)
            return info.value

    in_place, from_worker = asyncio.run(fetch(0)), asyncio.run(fetch(1))
    assert type(from_worker) is NotFound
    assert vars(from_worker) == vars(in_place)
    assert from_worker.key == "thread_nonexistence"
    assert from_worker.url == "http://forum.test/forum.php?mod=viewthread&tid=1099&page=1"


def test_a_worker_that_dies_ends_with_a_pointer_to_the_entry_point_guard() -> None:
    async def run() -> None:
        async with AsyncDiscuzClient(X34, rate=None, parse_workers=1) as client:
            await client._run(ParseJob(os._exit, (3,), {}))  # what a worker that cannot start does

    with pytest.raises(BrokenProcessPool) as info:
        asyncio.run(run())
    assert str(info.value) == (
        "a parse worker process stopped abruptly; with parse_workers, run from a file whose "
        'entry point is guarded by if __name__ == "__main__":'
    )


@pytest.mark.parametrize(
    "error",
    [
        errors.ParseError("no posts", url="http://forum.test/t", status_code=200),
        errors.NotFound("gone", url="http://forum.test/t", key="thread_nonexistence", site_message="不存在"),
        errors.RateLimited("slow down", url="http://forum.test/s", key="search_ctrl", retry_after=30.0),
        errors.AntiCrawlChallenge("challenge", url="http://forum.test/t", key="attackevasive_1"),
        UnsupportedVersion("Discuz! 7.2 thread pages are not supported", version="7.2", url="http://x/"),
    ],
    ids=lambda error: type(error).__name__,
)
def test_parser_errors_cross_a_process_boundary_intact(error: DiscuzError) -> None:
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is type(error)
    assert vars(copy) == vars(error)
    assert str(copy) == str(error)


@pytest.mark.parametrize("value", [-1, True, 1.5, "2"])
def test_parse_workers_must_be_a_whole_number(value: object) -> None:
    with pytest.raises(ConfigError) as info:
        AsyncDiscuzClient(X34, parse_workers=value)  # type: ignore[arg-type]
    assert info.value.message == f"parse_workers must be a whole number >= 0, got {value!r}"


def test_cli_crawl_with_parse_workers_stores_what_a_plain_crawl_stores(tmp_path: Path) -> None:
    stored = []
    with default_forum().serve() as server:
        for workers in ("0", "2"):
            db = tmp_path / f"crawl-{workers}.db"
            argv = ["crawl", server.site_url("x35"), "--db", str(db), "--rate", "0", "-q"]
            assert main([*argv, "--parse-workers", workers]) == 0
            with SQLiteStore(db) as store:
                stored.append([post.model_dump_json(exclude={"fetched_at"}) for post in store.iter_posts()])
    assert stored[0] == stored[1]
    assert len(stored[0]) == 23
