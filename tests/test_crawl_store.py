"""The async client crawling into a store writes the same database as the sync client: the same
threads, posts, images, crawl marks and failures, on a first crawl and on an incremental one."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from test_incremental import fixture_forum

from discuz_scraper import AsyncDiscuzClient, DiscuzClient
from discuz_scraper.crawl import CrawlReport
from discuz_scraper.store import SQLiteStore
from discuz_scraper.testing import FixtureForum

SITES = ("http://forum.test/", "http://forum.test/bbs/")

Contents = dict[str, list[tuple[Any, ...]]]


def contents(db: Path) -> Contents:
    """Every table that holds crawled data, without the times that say when it was fetched."""

    def without_fetch_time(text: str | None) -> object:
        if text is None:
            return None
        data = json.loads(text)
        data.pop("fetched_at", None)
        return data

    queries = {
        "posts": "SELECT site, pid, tid, floor, page, position, edited_at, json FROM posts ORDER BY 1, 2",
        "images": "SELECT site, pid, position, json FROM images ORDER BY 1, 2, 3",
        "attachments": "SELECT site, pid, position, json FROM attachments ORDER BY 1, 2, 3",
        # An author row is the author as last written, and with four workers which thread is
        # written last varies (the fixture forum shows uid 21 with other stats in other threads).
        "authors": "SELECT site, uid FROM authors ORDER BY 1, 2",
        "boards": "SELECT site, fid, json, page_json FROM boards ORDER BY 1, 2",
        "crawl_state": "SELECT site, kind, key, replies, last_post_at FROM crawl_state ORDER BY 1, 2, 3",
        "failures": "SELECT site, url, kind, error_type, message, attempts FROM failures ORDER BY 1, 2",
    }
    with sqlite3.connect(db) as conn:
        found = {table: conn.execute(query).fetchall() for table, query in queries.items()}
        threads = conn.execute("SELECT site, tid, json, summary_json FROM threads ORDER BY 1, 2").fetchall()
    found["threads"] = [(site, tid, without_fetch_time(meta), row) for site, tid, meta, row in threads]
    return found


def last_report(events: list[Any]) -> CrawlReport:
    report = events[-1]
    assert isinstance(report, CrawlReport)
    return report


def sync_crawl(forum: FixtureForum, store: SQLiteStore) -> list[CrawlReport]:
    """Both fixture sites, one after the other, with the sync client (its default four workers)."""
    reports = []
    for site in SITES:
        with DiscuzClient(site, transport=forum.mock_transport(), rate=None) as client:
            reports.append(last_report(list(client.crawl_forum(store=store))))
    return reports


def async_crawl(forum: FixtureForum, store: SQLiteStore) -> list[CrawlReport]:
    """The same with the async client."""

    async def run() -> list[CrawlReport]:
        reports = []
        for site in SITES:
            async with AsyncDiscuzClient(site, transport=forum.mock_transport(), rate=None) as client:
                reports.append(last_report([event async for event in client.crawl_forum(store=store)]))
        return reports

    return asyncio.run(run())


def sorted_log(forum: FixtureForum) -> list[tuple[str, str, int | None]]:
    # Four workers: the order of requests varies from run to run, the requests do not.
    return sorted((entry.method, entry.target, entry.status) for entry in forum.request_log)


@pytest.mark.parametrize("changed", [False, True], ids=["first-crawl", "incremental"])
def test_async_and_sync_crawls_write_the_same_database(changed: bool, tmp_path: Path) -> None:
    results = {}
    for name, crawl in (("sync", sync_crawl), ("async", async_crawl)):
        db = tmp_path / f"{name}.db"
        with SQLiteStore(db) as store:
            if changed:
                crawl(fixture_forum(changed=False), store)
            forum = fixture_forum(changed=changed)
            reports = crawl(forum, store)
        results[name] = (contents(db), sorted_log(forum), reports)

    sync_contents, sync_log, sync_reports = results["sync"]
    async_contents, async_log, async_reports = results["async"]
    assert async_contents == sync_contents
    assert async_log == sync_log
    assert [r.model_dump(exclude={"failures"}) for r in async_reports] == [
        r.model_dump(exclude={"failures"}) for r in sync_reports
    ]
    assert [sorted(r.failures, key=lambda f: f.url) for r in async_reports] == [
        sorted(r.failures, key=lambda f: f.url) for r in sync_reports
    ]
    assert {pid for site, pid, *_ in sync_contents["posts"] if site == SITES[1]} >= {7101, 20061}
    assert len(sync_contents["posts"]) == (68 if changed else 64)
    assert [row[2] for row in sync_contents["failures"]] == ["board", "thread", "thread"]
