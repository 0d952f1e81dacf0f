"""Cookies in, cookies out: browser exports, ``Cookie:`` headers, and the jar saved between runs.

:func:`load_cookies` turns any common cookie source into an :class:`httpx.Cookies` jar:

- a ``dict`` of name -> value, or a browser ``Cookie:`` header string (``a=1; b=2``);
- a Netscape ``cookies.txt`` (curl, wget, yt-dlp, the "cookies.txt" extensions), including
  ``#HttpOnly_`` lines, expiry times and the include-subdomains flag;
- a JSON export, as a path or a string: a list of cookie objects as browser extensions write them
  (``name``, ``value``, ``domain``, ``path``, ``expirationDate``/``expires``/``expiry``, ``secure``,
  ``httpOnly``, ``hostOnly``), or an object with such a list under ``"cookies"`` (Playwright's
  storage state, and the file :func:`save_cookies` writes).

Cookies that name a domain keep it, so httpx only sends them to that site. Domain-less cookies
(dict, header) are bound to ``domain=`` when given, else sent everywhere. Expired cookies are dropped.

:func:`save_cookies` / :func:`read_cookie_file` persist a jar as JSON (the format below) in a file
only its owner may read (mode 0600)::

    {"format": "discuz-scraper-cookies", "version": 1,
     "cookies": [{"name": "...", "value": "...", "domain": "forum.test", "path": "/",
                  "expires": 1767225600, "secure": false, "http_only": true, "host_only": true}]}

Errors are :class:`~discuz_scraper.errors.CookieError` naming the file, line or field; cookie values
never appear in messages. :func:`redact` masks a jar's values in any text bound for a log.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import time
from collections.abc import Iterable, Mapping
from http.cookiejar import Cookie, CookieJar
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from .errors import CookieError

__all__ = ["FILE_FORMAT", "CookieSource", "load_cookies", "read_cookie_file", "redact", "save_cookies"]

FILE_FORMAT = "discuz-scraper-cookies"
_FILE_VERSION = 1

CookieSource = Mapping[str, str] | str | os.PathLike[str] | httpx.Cookies | CookieJar
"""Anything :func:`load_cookies` accepts."""

# RFC 6265 cookie-name token characters; values may not hold ';', ',' is tolerated as browsers do.
_NAME = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
_BAD_VALUE = re.compile(r"[;\x00-\x1f\x7f]")
_TRUE_FALSE = {"TRUE": True, "FALSE": False}
_HTTPONLY_PREFIX = "#HttpOnly_"
# Short values are flags (`1`, `0`, `yes`): masking them would garble logs and hide nothing.
_MIN_REDACTED_LEN = 4


def _make_cookie(
    where: str,
    name: str,
    value: str,
    *,
    domain: str,
    path: str = "/",
    expires: int | None = None,
    secure: bool = False,
    http_only: bool = False,
    host_only: bool = True,
) -> Cookie:
    """A validated cookiejar ``Cookie``; ``where`` (file/line/field) prefixes any error."""
    if not _NAME.match(name):
        raise CookieError(f"{where}: invalid cookie name {name[:40]!r}")
    if _BAD_VALUE.search(value):
        raise CookieError(f"{where}: the value of cookie {name!r} holds ';' or control characters")
    domain = domain.strip().lower()
    if host_only:
        domain = domain.lstrip(".")
    elif domain and not domain.startswith("."):
        domain = "." + domain
    return Cookie(
        version=0,
        name=name,
        value=value,
        port=None,
        port_specified=False,
        domain=domain,
        domain_specified=bool(domain) and not host_only,
        domain_initial_dot=domain.startswith("."),
        path=path or "/",
        path_specified=True,
        secure=secure,
        expires=expires,
        discard=expires is None,
        comment=None,
        comment_url=None,
        rest={"HttpOnly": ""} if http_only else {},
    )


def _host_of(domain: str | None) -> str:
    if domain is None:
        return ""
    host = urlsplit(domain).hostname if "://" in domain else domain.strip().lstrip(".")
    if not host:
        raise CookieError(f"domain= must be a host name or a site URL, got {domain!r}")
    return host.lower()


def _from_pairs(pairs: Iterable[tuple[str, str]], domain: str, what: str) -> list[Cookie]:
    return [
        _make_cookie(f"{what}, cookie #{i}", name.strip(), value, domain=domain)
        for i, (name, value) in enumerate(pairs, 1)
    ]


def _header_pairs(header: str) -> list[tuple[str, str]]:
    if header.lower().startswith("cookie:"):
        header = header[len("cookie:"):]
    pairs: list[tuple[str, str]] = []
    for i, part in enumerate(header.split(";"), 1):
        part = part.strip()
        if not part:
            continue
        name, sep, value = part.partition("=")
        if not sep:
            raise CookieError(f"Cookie header, part #{i}: expected name=value")
        pairs.append((name.strip(), value.strip()))
    return pairs


def _parse_netscape(content: str, source: str, now: float) -> list[Cookie]:
    cookies: list[Cookie] = []
    for lineno, raw in enumerate(content.splitlines(), 1):
        line = raw.rstrip("\r\n")
        http_only = line.startswith(_HTTPONLY_PREFIX)
        if http_only:
            line = line[len(_HTTPONLY_PREFIX):]
        elif not line.strip() or line.lstrip().startswith("#"):
            continue
        where = f"{source} line {lineno}"
        fields = line.split("\t")
        if len(fields) == 6:  # a cookie with an empty value loses its trailing tab in some tools
            fields.append("")
        if len(fields) != 7:
            raise CookieError(f"{where}: expected 7 tab-separated fields, found {len(fields)}")
        domain, subdomains, path, secure, expiry, name, value = fields
        if subdomains.upper() not in _TRUE_FALSE or secure.upper() not in _TRUE_FALSE:
            raise CookieError(f"{where}: the include-subdomains and secure fields must be TRUE or FALSE")
        try:
            expires = int(expiry)
        except ValueError:
            raise CookieError(f"{where}: the expiry field is not an integer") from None
        if 0 < expires <= now:
            continue
        cookies.append(_make_cookie(
            where, name, value, domain=domain, path=path, expires=expires or None,
            secure=_TRUE_FALSE[secure.upper()], http_only=http_only,
            host_only=not _TRUE_FALSE[subdomains.upper()],
        ))
    return cookies


def _json_expiry(item: Mapping[str, Any], where: str) -> int | None:
    for key in ("expirationDate", "expires", "expiry"):
        raw = item.get(key)
        if raw is None:
            continue
        if isinstance(raw, bool) or not isinstance(raw, (int, float)):
            raise CookieError(f"{where}: field {key!r} must be a number of seconds")
        # Playwright writes -1 for session cookies.
        return int(raw) if raw > 0 else None
    return None


def _json_flag(item: Mapping[str, Any], keys: tuple[str, ...], where: str, default: bool) -> bool:
    for key in keys:
        if key in item:
            if not isinstance(item[key], bool):
                raise CookieError(f"{where}: field {key!r} must be true or false")
            return bool(item[key])
    return default


def _parse_json(payload: Any, source: str, domain: str, now: float) -> list[Cookie]:
    items = payload.get("cookies") if isinstance(payload, dict) else payload
    if not isinstance(items, list):
        raise CookieError(f"{source}: expected a list of cookies or an object with a 'cookies' list")
    cookies: list[Cookie] = []
    for i, item in enumerate(items, 1):
        where = f"{source}, cookie #{i}"
        if not isinstance(item, dict):
            raise CookieError(f"{where}: expected an object")
        for key in ("name", "value"):
            if not isinstance(item.get(key), str):
                raise CookieError(f"{where}: field {key!r} is missing or not a string")
        own_domain = item.get("domain")
        if own_domain is not None and not isinstance(own_domain, str):
            raise CookieError(f"{where}: field 'domain' must be a string")
        path = item.get("path", "/")
        if not isinstance(path, str):
            raise CookieError(f"{where}: field 'path' must be a string")
        expires = _json_expiry(item, where)
        if expires is not None and expires <= now:
            continue
        host_only_default = not (own_domain or "").startswith(".")
        cookies.append(_make_cookie(
            where, item["name"], item["value"],
            domain=own_domain or domain,
            path=path,
            expires=expires,
            secure=_json_flag(item, ("secure",), where, False),
            http_only=_json_flag(item, ("httpOnly", "http_only"), where, False),
            host_only=_json_flag(item, ("hostOnly", "host_only"), where, host_only_default),
        ))
    return cookies


def _parse_text(content: str, source: str, domain: str, now: float) -> list[Cookie]:
    if content.lstrip("\ufeff \t\r\n").startswith(("[", "{")):
        try:
            payload = json.loads(content.lstrip("\ufeff"))
        except json.JSONDecodeError as exc:
            # Position only: the excerpt of a broken export could be a cookie value.
            raise CookieError(f"{source}: not valid JSON (line {exc.lineno}, column {exc.colno})") from None
        return _parse_json(payload, source, domain, now)
    return _parse_netscape(content, source, now)


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CookieError(f"cookie file {str(path)!r} does not exist") from None
    except UnicodeDecodeError:
        raise CookieError(f"cookie file {str(path)!r} is not UTF-8 text") from None
    except OSError as exc:
        raise CookieError(f"cookie file {str(path)!r} cannot be read: {exc.strerror}") from None


def load_cookies(source: CookieSource, *, domain: str | None = None) -> httpx.Cookies:
    """An :class:`httpx.Cookies` jar from a dict, ``Cookie:`` header, cookie file or JSON export.

    A ``str`` is read as JSON when it starts with ``[``/``{``, as cookies.txt text when it has
    several lines, as a path when it has no ``=`` or names an existing file, else as a ``Cookie:``
    header. ``domain`` (a host name or a site URL) binds cookies that carry
    no domain of their own (dict, header, JSON items without ``domain``) to that host only.
    Raises :class:`CookieError` naming the line or field at fault.
    """
    host = _host_of(domain)
    now = time.time()
    if isinstance(source, httpx.Cookies):
        return httpx.Cookies(source)
    if isinstance(source, CookieJar):
        return httpx.Cookies(source)
    if isinstance(source, Mapping):
        cookies = _from_pairs(((str(k), str(v)) for k, v in source.items()), host, "cookie dict")
    elif isinstance(source, os.PathLike):
        path = Path(source)
        cookies = _parse_text(_read_text(path), f"cookie file {str(path)!r}", host, now)
    elif isinstance(source, str):
        stripped = source.strip()
        if stripped.startswith(("[", "{")):
            cookies = _parse_text(stripped, "cookie JSON", host, now)
        elif "\n" in stripped or "\t" in stripped:
            cookies = _parse_text(stripped, "cookies.txt text", host, now)
        elif "=" not in stripped or os.path.isfile(stripped):
            path = Path(stripped)
            cookies = _parse_text(_read_text(path), f"cookie file {str(path)!r}", host, now)
        else:
            cookies = _from_pairs(_header_pairs(stripped), host, "Cookie header")
    else:
        raise CookieError(f"cannot read cookies from a {type(source).__name__}")
    jar = httpx.Cookies()
    for cookie in cookies:
        jar.jar.set_cookie(cookie)
    return jar


def read_cookie_file(path: str | os.PathLike[str]) -> httpx.Cookies:
    """Load a jar written by :func:`save_cookies` (this module's JSON format only)."""
    file = Path(path)
    source = f"cookie file {str(file)!r}"
    content = _read_text(file)
    try:
        payload = json.loads(content)
    except json.JSONDecodeError as exc:
        raise CookieError(f"{source}: not valid JSON (line {exc.lineno}, column {exc.colno})") from None
    if not isinstance(payload, dict) or payload.get("format") != FILE_FORMAT:
        raise CookieError(f"{source}: not a {FILE_FORMAT} file (field 'format')")
    if payload.get("version") != _FILE_VERSION:
        raise CookieError(f"{source}: unsupported version (field 'version'), expected {_FILE_VERSION}")
    jar = httpx.Cookies()
    for cookie in _parse_json(payload, source, "", time.time()):
        jar.jar.set_cookie(cookie)
    return jar


def _record(cookie: Cookie) -> dict[str, Any]:
    return {
        "name": cookie.name,
        "value": cookie.value or "",
        "domain": cookie.domain,
        "path": cookie.path,
        "expires": cookie.expires,
        "secure": bool(cookie.secure),
        "http_only": cookie.has_nonstandard_attr("HttpOnly"),
        "host_only": not cookie.domain_specified,
    }


def save_cookies(cookies: httpx.Cookies | CookieJar, path: str | os.PathLike[str]) -> None:
    """Write ``cookies`` to ``path`` as this module's JSON format, readable by its owner only.

    The file is written to a temporary file created with mode 0600 and then renamed over
    ``path``, so a crash never leaves a half-written jar and the secrets are never world-readable.
    Session cookies are kept (a scraper's "session" spans runs). Raises :class:`CookieError` when
    the file cannot be written.
    """
    jar = cookies.jar if isinstance(cookies, httpx.Cookies) else cookies
    payload = {
        "format": FILE_FORMAT,
        "version": _FILE_VERSION,
        "cookies": [_record(c) for c in jar],
    }
    target = Path(path)
    tmp = target.with_name(f".{target.name}.{secrets.token_hex(4)}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(payload, fh, ensure_ascii=False, indent=1)
        os.replace(tmp, target)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise CookieError(f"cannot write cookie file {str(target)!r}: {exc.strerror}") from None


def redact(text: str, cookies: httpx.Cookies | CookieJar | Mapping[str, str]) -> str:
    """``text`` with every value of ``cookies`` replaced by ``***``, for logs and reprs.

    Masks ``name=value`` pairs by name whatever the value's length, and bare occurrences of
    values of 4 characters or more (shorter ones are flags like ``1`` and would garble the text).
    """
    if isinstance(cookies, Mapping):
        pairs = [(str(k), str(v)) for k, v in cookies.items()]
    else:
        jar = cookies.jar if isinstance(cookies, httpx.Cookies) else cookies
        pairs = [(c.name, c.value or "") for c in jar]
    for name in {name for name, _ in pairs}:
        text = re.sub(rf"(?<![\w-]){re.escape(name)}=[^;&\s\"']*", f"{name}=***", text)
    for value in sorted({v for _, v in pairs if len(v) >= _MIN_REDACTED_LEN}, key=len, reverse=True):
        text = text.replace(value, "***")
    return text
