"""``DiscuzRedisSpider``: :class:`DiscuzSpider` for N workers sharing one Redis (scrapy-redis).

Every worker runs ``scrapy crawl discuz_redis`` with the same settings; scrapy-redis's scheduler
keeps one request queue and one duplicate filter in Redis, so each page is fetched by exactly one
worker. The start URL is pushed once into the list ``<spider name>:start_urls``
(``redis-cli lpush discuz_redis:start_urls https://bbs.example.com/``); whichever worker is idle
first takes it. A thread's pages form a chain of requests carrying the pages read so far
(see :mod:`.spider`), so any worker can fetch any page and the last one still builds the whole
:class:`~discuz_scraper.models.Thread`.

A worker closes after ``MAX_IDLE_TIME_BEFORE_CLOSE`` seconds with nothing to do: no request of its
own in flight and nothing in the shared queue (0 = wait for more start URLs forever). Scrapy checks
an idle spider every 5 seconds, so a worker may close up to that much later.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any, ClassVar

from scrapy import Request, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import DontCloseSpider
from scrapy.http import Response
from scrapy.settings import BaseSettings
from scrapy_redis.spiders import RedisMixin

from .spider import SETTINGS_PRIORITY, DiscuzSpider

__all__ = ["REDIS_SETTINGS", "DiscuzRedisSpider"]

REDIS_SETTINGS: dict[str, Any] = {
    "SCHEDULER": "scrapy_redis.scheduler.Scheduler",
    "DUPEFILTER_CLASS": "scrapy_redis.dupefilter.RFPDupeFilter",
    # Kept after a worker closes: flushing would wipe the duplicate filter under the workers still
    # running (they would then fetch again what was already fetched). Clear the keys between crawls.
    "SCHEDULER_PERSIST": True,
    # Scheduler priorities (a thread's next page first) need the priority queue, the default.
    "SCHEDULER_QUEUE_CLASS": "scrapy_redis.queue.PriorityQueue",
    "MAX_IDLE_TIME_BEFORE_CLOSE": 30,
}
"""What :class:`DiscuzRedisSpider` sets under the project's settings (``REDIS_URL`` is yours to set)."""


class DiscuzRedisSpider(RedisMixin, DiscuzSpider):  # type: ignore[misc]
    """:class:`DiscuzSpider` whose start URLs come from Redis and whose requests are shared.

    Takes the same ``-a`` options as :class:`DiscuzSpider` (give every worker the same ones); the
    start URL comes from Redis, as a plain URL or as JSON ``{"url": "..."}``.
    """

    name = "discuz_redis"
    custom_settings: ClassVar[dict[str, Any] | None] = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._last_active = time.monotonic()

    @classmethod
    def update_settings(cls, settings: BaseSettings) -> None:
        settings.setdict(REDIS_SETTINGS, priority=SETTINGS_PRIORITY)
        super().update_settings(settings)

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> DiscuzRedisSpider:
        spider = super().from_crawler(crawler, *args, **kwargs)
        spider.setup_redis(crawler)
        # Activity is what this worker received; the idle clock restarts with each response.
        crawler.signals.connect(spider._touch, signal=signals.response_received)
        return spider  # type: ignore[no-any-return]

    async def start(self) -> AsyncIterator[Request]:
        """Start URLs already waiting in Redis (later ones are read when the worker is idle)."""
        for request in self.next_requests():
            yield request

    def start_requests(self) -> Iterator[Request]:
        return self.next_requests()  # type: ignore[no-any-return]

    def make_request_from_data(self, data: bytes) -> Request | list[Request]:
        """A start URL from Redis (plain or JSON ``{"url": ...}``) → the first request for it."""
        text = data.decode(self.redis_encoding or "utf-8").strip()
        url = text
        if text.startswith("{"):
            url = str(json.loads(text).get("url") or "")
        if not url:
            self.logger.warning("discuz: ignoring a start entry without a URL: %r", text[:200])
            return []
        return self.request_for(url)

    def _touch(self, response: Response, request: Request, spider: Any) -> None:
        self._last_active = time.monotonic()

    def spider_idle(self) -> None:
        """Take new start URLs; close only after ``max_idle_time`` seconds of real idleness.

        scrapy-redis measures idleness from the last time the start-URL list was non-empty, which
        would close a worker that has been busy all along; here the clock restarts with every
        response this worker receives and whenever start URLs are waiting.
        """
        if self.server is not None and self.count_size(self.redis_key) > 0:
            self._last_active = time.monotonic()
        self.schedule_next_requests()
        idle = time.monotonic() - self._last_active
        if self.max_idle_time and idle >= self.max_idle_time:
            return
        raise DontCloseSpider
