"""Scrapy settings that mirror the library's politeness defaults (see :mod:`discuz_scraper.http`).

Two uses:

- :data:`DEFAULT_SETTINGS`, :data:`DOWNLOADER_MIDDLEWARES` and :data:`ITEM_PIPELINES` are what
  :class:`~discuz_scraper.contrib.scrapy.DiscuzSpider` adds under a project's own settings (any
  project, ``-s`` or ``CrawlerProcess`` value wins);
- this module is itself a settings module: ``SCRAPY_SETTINGS_MODULE=discuz_scraper.contrib.scrapy.settings
  scrapy crawl discuz -a url=...`` runs the spider without a Scrapy project.
"""

from __future__ import annotations

from typing import Any

from discuz_scraper.http import _BROWSER_HEADERS, DEFAULT_USER_AGENT, RETRY_STATUSES, FetchConfig

__all__ = ["DEFAULT_SETTINGS", "DOWNLOADER_MIDDLEWARES", "ITEM_PIPELINES"]

_FETCH = FetchConfig()

DOWNLOADER_MIDDLEWARES: dict[str, int] = {
    # Before Scrapy's CookiesMiddleware (700), which takes the imported cookies into its jar.
    "discuz_scraper.contrib.scrapy.middlewares.DiscuzCookiesMiddleware": 690,
    # Closer to the engine than RetryMiddleware (550) and RedirectMiddleware (600), so it sees the
    # final answer for the URL the spider asked for.
    "discuz_scraper.contrib.scrapy.middlewares.AntiTheftMiddleware": 540,
}
"""Our downloader middlewares and their orders (both do nothing unless needed / configured)."""

ITEM_PIPELINES: dict[str, int] = {
    # Inactive (NotConfigured) unless DISCUZ_STORE names a SQLite file.
    "discuz_scraper.contrib.scrapy.pipelines.SQLiteStorePipeline": 800,
}
"""Our item pipeline and its order."""

DEFAULT_SETTINGS: dict[str, Any] = {
    # Discuz serves trimmed HTML to bot-like user agents (reference §1): look like a desktop browser.
    "USER_AGENT": DEFAULT_USER_AGENT,
    "DEFAULT_REQUEST_HEADERS": dict(_BROWSER_HEADERS),
    # The client's default rate is 2 requests/s per host: 0.5 s between requests, which
    # AutoThrottle may stretch when the forum slows down but never shortens.
    "DOWNLOAD_DELAY": 1 / (_FETCH.rate or 2.0),
    "AUTOTHROTTLE_ENABLED": True,
    "AUTOTHROTTLE_START_DELAY": 1 / (_FETCH.rate or 2.0),
    "AUTOTHROTTLE_MAX_DELAY": _FETCH.backoff_max,
    "AUTOTHROTTLE_TARGET_CONCURRENCY": 1.0,
    "CONCURRENT_REQUESTS_PER_DOMAIN": _FETCH.concurrency,
    "RETRY_ENABLED": True,
    "RETRY_TIMES": _FETCH.retries,
    # 429 and the CDN 52x statuses included, as in the client.
    "RETRY_HTTP_CODES": sorted(RETRY_STATUSES),
    "DOWNLOAD_TIMEOUT": _FETCH.timeout,
    "DOWNLOAD_MAXSIZE": _FETCH.max_bytes,
    "REDIRECT_MAX_TIMES": _FETCH.max_redirects,
    "COOKIES_ENABLED": True,
    # The client's crawls honour robots.txt by default (discuz_scraper.access): so does the spider.
    "ROBOTSTXT_OBEY": True,
    # Items are pydantic models; the feed exporters write them as JSON via itemadapter.
    "FEED_EXPORT_ENCODING": "utf-8",
}
"""Plain settings the spider applies under the project's (see ``spider.SETTINGS_PRIORITY``)."""

# -- as a settings module -------------------------------------------------------------------------

BOT_NAME = "discuz_scraper"
SPIDER_MODULES = ["discuz_scraper.contrib.scrapy.spider", "discuz_scraper.contrib.scrapy.distributed"]
globals().update(DEFAULT_SETTINGS)
