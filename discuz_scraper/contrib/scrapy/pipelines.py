"""Item pipeline writing the spider's models into :class:`~discuz_scraper.store.SQLiteStore`.

Enable it with the ``DISCUZ_STORE`` setting (a file path); :class:`DiscuzSpider` lists it in
``ITEM_PIPELINES`` already. Any other Scrapy pipeline or feed export works on the same items (they
are pydantic models, read through itemadapter): ``-O items.jsonl`` writes them as JSON lines.
"""

from __future__ import annotations

from typing import Any

from scrapy import Spider
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured

from discuz_scraper import errors
from discuz_scraper.crawl import CrawlFailure
from discuz_scraper.errors import DiscuzError
from discuz_scraper.models import Board, Thread, ThreadSummary
from discuz_scraper.store import SQLiteStore
from discuz_scraper.urls import site_base

__all__ = ["SQLiteStorePipeline"]


def _error_for(failure: CrawlFailure) -> DiscuzError:
    """The typed error a failure item names, rebuilt so the store records the same error type."""
    cls = getattr(errors, failure.error_type, None)
    if not (isinstance(cls, type) and issubclass(cls, DiscuzError)):
        # A download error (Twisted's TimeoutError, DNSLookupError...): keep its name in the store.
        cls = type(failure.error_type, (DiscuzError,), {})
    return cls(failure.message, url=failure.url)


class SQLiteStorePipeline:
    """Saves boards, thread rows, threads (with their posts) and failures; passes every item on.

    Items are keyed by their site (the base URL of the item's own URL), so one store can hold
    several forums. Writes are synchronous SQLite transactions (one per item), short enough not to
    hold Scrapy's reactor back on a local disk.
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self.store: SQLiteStore | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> SQLiteStorePipeline:
        path = crawler.settings.get("DISCUZ_STORE")
        if not path:
            raise NotConfigured("no DISCUZ_STORE")
        return cls(str(path))

    def open_spider(self, spider: Spider | None = None) -> None:
        self.store = SQLiteStore(self.path)

    def close_spider(self, spider: Spider | None = None) -> None:
        if self.store is not None:
            self.store.close()
            self.store = None

    def process_item(self, item: Any, spider: Spider | None = None) -> Any:
        """Save ``item`` when it is one of the library's models; return it for the next pipeline."""
        store = self.store
        if store is None:
            raise RuntimeError("SQLiteStorePipeline used before open_spider")
        if isinstance(item, Thread):
            store.save_thread(item, site_base(item.url))
        elif isinstance(item, ThreadSummary):
            store.save_thread_summary(item, site_base(item.url))
        elif isinstance(item, Board):
            store.save_board(item, site_base(item.url))
        elif isinstance(item, CrawlFailure):
            store.record_failure(site_base(item.url), item.kind, item.url, _error_for(item))
        return item
