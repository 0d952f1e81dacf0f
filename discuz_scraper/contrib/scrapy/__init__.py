"""Scrapy integration: crawl Discuz forums with Scrapy (and scrapy-redis) using the library's parsers.

``pip install "discuz-scraper[scrapy]"``; see ``docs/scrapy.md``.

- :class:`DiscuzSpider` (``scrapy crawl discuz -a url=...``) yields the library's models as items;
- :class:`DiscuzRedisSpider` (``scrapy crawl discuz_redis``) is the same spider for N workers sharing
  one Redis queue and duplicate filter (:mod:`.distributed`, needs scrapy-redis);
- :class:`SQLiteStorePipeline` saves the items into :class:`~discuz_scraper.store.SQLiteStore`;
- :class:`AntiTheftMiddleware` and :class:`DiscuzCookiesMiddleware` handle ``_dsign`` and cookie
  import; :data:`DEFAULT_SETTINGS` are the politeness defaults the spiders apply.
"""

from __future__ import annotations

from .middlewares import AntiTheftMiddleware, DiscuzCookiesMiddleware
from .pipelines import SQLiteStorePipeline
from .settings import DEFAULT_SETTINGS, DOWNLOADER_MIDDLEWARES, ITEM_PIPELINES
from .spider import DiscuzSpider, Item, apply_default_settings

__all__ = [
    "DEFAULT_SETTINGS",
    "DOWNLOADER_MIDDLEWARES",
    "ITEM_PIPELINES",
    "AntiTheftMiddleware",
    "DiscuzCookiesMiddleware",
    "DiscuzRedisSpider",
    "DiscuzSpider",
    "Item",
    "SQLiteStorePipeline",
    "apply_default_settings",
]


def __getattr__(name: str) -> object:
    # scrapy-redis is only needed for the distributed spider: import it on first use.
    if name == "DiscuzRedisSpider":
        from .distributed import DiscuzRedisSpider

        return DiscuzRedisSpider
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
