"""Downloader middlewares: the ``_dsign`` anti-collection script and cookie import.

Both reuse the library's own code: :func:`~discuz_scraper.antitheft.solve_antitheft` runs the
challenge script (optional ``js`` extra) and :func:`~discuz_scraper.cookies.load_cookies` reads any
cookie source (``Cookie:`` header, Netscape ``cookies.txt``, browser JSON export, a saved jar).
"""

from __future__ import annotations

from http.cookiejar import Cookie, CookieJar
from typing import Any
from urllib.parse import urlsplit
from urllib.request import Request as UrllibRequest

from scrapy import Request, Spider
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.http import Response

from discuz_scraper.antitheft import solve_antitheft
from discuz_scraper.charset import decode_body
from discuz_scraper.cookies import load_cookies
from discuz_scraper.errors import AntiCrawlChallenge, DiscuzError
from discuz_scraper.parsers.shell import check_page

__all__ = ["AntiTheftMiddleware", "DiscuzCookiesMiddleware"]

# The challenge page is ~2.5 KB of bare <script>; anything larger, or not starting with a script,
# is a normal page and is not parsed here a second time.
_CHALLENGE_MAX_BYTES = 16 * 1024
_MAX_SOLVES = 2


class AntiTheftMiddleware:
    """Answers Discuz's anti-collection page (a bare ``<script>`` standing in for a thread).

    The script is run (:func:`~discuz_scraper.antitheft.solve_antitheft`) and the request is sent
    again to the URL it redirects to (the same URL plus ``&_dsign=``). At most
    ``DISCUZ_ANTITHEFT_MAX_SOLVES`` (2) times per request: after that, or when solving fails (no
    ``js`` extra, script error), the challenge goes to the spider, whose parser reports it as an
    :class:`~discuz_scraper.errors.AntiCrawlChallenge` failure. ``DISCUZ_ANTITHEFT_ENABLED=False``
    turns it off.
    """

    def __init__(self, max_solves: int = _MAX_SOLVES) -> None:
        self.max_solves = max_solves

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> AntiTheftMiddleware:
        if not crawler.settings.getbool("DISCUZ_ANTITHEFT_ENABLED", True):
            raise NotConfigured("DISCUZ_ANTITHEFT_ENABLED is off")
        return cls(crawler.settings.getint("DISCUZ_ANTITHEFT_MAX_SOLVES", _MAX_SOLVES))

    def process_response(
        self, request: Request, response: Response, spider: Spider | None = None
    ) -> Request | Response:
        """The solved request when ``response`` is the challenge, else ``response`` untouched."""
        body = response.body
        if response.status != 200 or len(body) > _CHALLENGE_MAX_BYTES:
            return response
        if body.lstrip(b"\xef\xbb\xbf \t\r\n")[:7].lower() != b"<script":
            return response
        raw = response.headers.get(b"Content-Type")
        text, _ = decode_body(body, raw.decode("latin-1") if raw else None)
        try:
            check_page(text, response.url, status=response.status)
        except AntiCrawlChallenge as exc:
            if exc.key != "antitheft":
                return response
        except DiscuzError:
            return response
        else:
            return response
        solved = request.meta.get("discuz_dsign_solves", 0)
        if solved >= self.max_solves:
            return response
        try:
            target = solve_antitheft(text, response.url)
        except DiscuzError as exc:
            if spider is not None:
                spider.logger.warning("discuz: cannot answer the anti-collection script: %s", exc)
            return response
        # dont_filter: the signed URL is new, but a retried solve must not be dropped as a repeat.
        return request.replace(
            url=target, dont_filter=True, meta={**request.meta, "discuz_dsign_solves": solved + 1}
        )


class DiscuzCookiesMiddleware:
    """Imports cookies (``DISCUZ_COOKIES``) into Scrapy's cookie handling.

    ``DISCUZ_COOKIES`` is anything :func:`~discuz_scraper.cookies.load_cookies` reads: a path to a
    ``cookies.txt`` / JSON export / saved jar, or a ``Cookie:`` header string
    (``DISCUZ_COOKIES_DOMAIN`` binds domain-less cookies to a host). On the first request to each
    host the cookies that apply to it (domain, path, secure, expiry, as a browser decides) are
    attached to the request; Scrapy's ``CookiesMiddleware`` then keeps them in its jar with the
    cookies the site sets, so a cookie the site renews is not overwritten again.
    """

    def __init__(self, cookies: list[Cookie]) -> None:
        self._cookies = cookies
        self._jar = CookieJar()
        for cookie in cookies:
            self._jar.set_cookie(cookie)
        self._seeded: set[str] = set()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> DiscuzCookiesMiddleware:
        source = crawler.settings.get("DISCUZ_COOKIES")
        if not source:
            raise NotConfigured("no DISCUZ_COOKIES")
        jar = load_cookies(source, domain=crawler.settings.get("DISCUZ_COOKIES_DOMAIN") or None)
        return cls(list(jar.jar))

    def process_request(self, request: Request, spider: Spider | None = None) -> None:
        """Attach the imported cookies that apply to ``request`` (first request per host only)."""
        host = urlsplit(request.url).hostname or ""
        if host in self._seeded:
            return
        self._seeded.add(host)
        found = self.cookies_for(request.url)
        if not found:
            return
        current: Any = request.cookies
        existing = (
            [{"name": k, "value": v} for k, v in current.items()]
            if isinstance(current, dict)
            else list(current or [])
        )
        named = {str(c.get("name")) for c in existing}
        request.cookies = existing + [c for c in found if c["name"] not in named]

    def cookies_for(self, url: str) -> list[dict[str, str]]:
        """The imported cookies a browser would send to ``url``, as Scrapy cookie dicts."""
        probe = UrllibRequest(url)
        # The standard policy decides domain, path, secure and expiry exactly as for a browser.
        self._jar.add_cookie_header(probe)
        sent = {
            part.split("=", 1)[0].strip() for part in (probe.get_header("Cookie") or "").split(";") if part
        }
        picked: list[dict[str, str]] = []
        for cookie in self._cookies:
            if cookie.name in sent and all(c["name"] != cookie.name for c in picked):
                entry = {"name": cookie.name, "value": cookie.value or "", "path": cookie.path}
                if cookie.domain_specified:
                    entry["domain"] = cookie.domain
                picked.append(entry)
        return picked
