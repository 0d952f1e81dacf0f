"""The one error hierarchy of discuz-scraper.

Every failure a caller can meet is a :class:`DiscuzError`. Each carries the URL it happened on and,
where the forum said something, the forum's own message text (``site_message``) and its message key
(``key``, e.g. ``thread_nonexistence``), so a caller can log or show what the site said.
"""

from __future__ import annotations

import re

__all__ = [
    "AntiCrawlChallenge",
    "BackendUnavailable",
    "CaptchaRequired",
    "ConfigError",
    "CookieError",
    "DiscuzError",
    "ExportError",
    "FetchError",
    "LoginFailed",
    "LoginLocked",
    "LoginRequired",
    "NotDiscuz",
    "NotFound",
    "ParseError",
    "PermissionDenied",
    "RateLimited",
    "ServerError",
    "SiteClosed",
    "StoreError",
    "UnsupportedVersion",
    "redact_url",
]


class DiscuzError(Exception):
    """Base class of every error raised by discuz-scraper.

    ``retry_after`` (seconds) is set when the server said how long to wait (``Retry-After``).
    """

    def __init__(
        self,
        message: str,
        *,
        url: str | None = None,
        site_message: str | None = None,
        key: str | None = None,
        status_code: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.retry_after = retry_after
        self.url = url
        self.site_message = site_message
        self.key = key
        self.status_code = status_code

    def __str__(self) -> str:
        parts = [self.message]
        if self.site_message and self.site_message not in self.message:
            parts.append(f"site said: {self.site_message}")
        if self.key:
            parts.append(f"key: {self.key}")
        if self.status_code is not None:
            parts.append(f"HTTP {self.status_code}")
        if self.url:
            parts.append(f"url: {redact_url(self.url)}")
        return " | ".join(parts)

    def __repr__(self) -> str:
        url = redact_url(self.url) if self.url else None
        return f"{type(self).__name__}({self.message!r}, url={url!r}, key={self.key!r})"


# Query parameters that carry a session or a form token: errors end up in logs and tracebacks,
# so their values are masked there (``.url`` itself stays exact for the caller).
_SECRET_PARAM = re.compile(
    r"([?&](?:formhash|sid|auth|saltkey|password|pw|secanswer|seccodeverify|seccodehash|token)=)[^&#]*",
    re.I,
)


def redact_url(url: str) -> str:
    """``url`` with the values of session and form-token parameters replaced by ``***``."""
    return _SECRET_PARAM.sub(r"\1***", url)


class NotFound(DiscuzError):
    """The thread, board, user or post does not exist (or is hidden from everyone)."""


class PermissionDenied(DiscuzError):
    """The site refuses this content to the current viewer (group, read level, password...)."""


class LoginRequired(PermissionDenied):
    """The content needs a logged-in member: pass cookies or log in."""


class SiteClosed(DiscuzError):
    """The forum is closed for maintenance (or banned this IP/user from the whole site)."""


class AntiCrawlChallenge(DiscuzError):
    """The site answered with an anti-collection or CC-defence page instead of content."""


class RateLimited(DiscuzError):
    """HTTP 429 (or an equivalent) outlasted the retries; ``retry_after`` is the server's wait."""


class NotDiscuz(DiscuzError):
    """The page is not a Discuz! page (or not the kind of page that was asked for)."""


class ParseError(DiscuzError):
    """The page is Discuz, but its markup does not hold what the parser needs."""


class UnsupportedVersion(ParseError):
    """The page comes from a Discuz version (or a template) this parser does not read."""

    def __init__(
        self,
        message: str,
        *,
        version: str | None = None,
        url: str | None = None,
        site_message: str | None = None,
    ) -> None:
        super().__init__(message, url=url, site_message=site_message)
        self.version = version


class FetchError(DiscuzError):
    """The request failed: network error, bad status, oversized or off-site response."""


class ServerError(FetchError):
    """The server answered 5xx, e.g. Discuz's own "System Error" / "Database Error" pages."""


class ConfigError(DiscuzError, ValueError):
    """A setting passed to discuz-scraper is out of range or malformed (e.g. ``FetchConfig(rate=0)``)."""


class CookieError(DiscuzError, ValueError):
    """A cookie source (dict, ``Cookie:`` header, cookies.txt, JSON export) is malformed.

    The message names the file, line or field, never a cookie value.
    """


class LoginFailed(DiscuzError):
    """The site refused the login (wrong password, security question...).

    ``tries_left`` is the number of attempts the site said remain, ``None`` when it did not say.
    """

    def __init__(
        self,
        message: str,
        *,
        tries_left: int | None = None,
        url: str | None = None,
        site_message: str | None = None,
        key: str | None = None,
        status_code: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, url=url, site_message=site_message, key=key, status_code=status_code,
                         retry_after=retry_after)
        self.tries_left = tries_left


class LoginLocked(LoginFailed):
    """Too many failed logins: the site blocks this account/IP for 15 minutes (``retry_after``)."""


class CaptchaRequired(DiscuzError):
    """The site wants a captcha (seccode) or a verification question answered first.

    ``captcha_url`` is where to fetch it (the seccode update URL or the login page that shows it),
    ``None`` when the page did not say.
    """

    def __init__(
        self,
        message: str,
        *,
        captcha_url: str | None = None,
        url: str | None = None,
        site_message: str | None = None,
        key: str | None = None,
        status_code: int | None = None,
    ) -> None:
        super().__init__(message, url=url, site_message=site_message, key=key, status_code=status_code)
        self.captcha_url = captcha_url


class StoreError(DiscuzError):
    """A store cannot do what was asked: unknown item, bad key, unreadable or too new database file."""


class ExportError(DiscuzError):
    """An export or import cannot be done: unknown format, bad file, or a missing optional extra."""


class BackendUnavailable(DiscuzError):
    """The backend asked for cannot answer on this site (no mobile plugin, the API off, an error
    status where its JSON should be)."""
