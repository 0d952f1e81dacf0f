"""Recognise any Discuz URL a user might paste, and build canonical ones.

Pure string work, no network. Forms understood (see reference §14 and §15):

- threads: ``forum.php?mod=viewthread&tid=T&page=P``, ``thread-T-P-L.html``, ``viewthread.php?tid=T`` (7.2),
  ``forum.php?mod=redirect&tid=T&goto=lastpost``, printable view, ``archiver/?tid-T.html``,
  ``archiver/tid-T.html``, the X3.5 new mobile ``m/?a=viewthread&tid=T``;
- posts: ``forum.php?mod=redirect&goto=findpost&ptid=T&pid=P``;
- boards: ``forum.php?mod=forumdisplay&fid=F&page=P``, ``forum-F-P.html`` (F may be an alias),
  ``forumdisplay.php?fid=F`` (7.2), ``archiver/?fid-F.html``;
- categories ``forum.php?gid=G``; users ``home.php?mod=space&uid=U``, ``space-uid-U.html``,
  ``space.php?uid=U`` (7.2), by username; the index ``forum.php`` / the site root.

Sites installed under a sub-path (``https://host/bbs/``) keep that path in ``base_url``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal
from urllib.parse import SplitResult, unquote, urlencode, urljoin, urlsplit, urlunsplit

from .charset import normalize_charset
from .errors import DiscuzError

__all__ = [
    "DiscuzURL",
    "UrlKind",
    "api_url",
    "archiver_thread_url",
    "board_url",
    "findpost_url",
    "index_url",
    "normalize_base",
    "parse_url",
    "site_base",
    "thread_url",
    "user_url",
]

UrlKind = Literal["thread", "post", "board", "category", "user", "index", "other"]

_REWRITE_RULES: tuple[tuple[re.Pattern[str], UrlKind], ...] = (
    (re.compile(r"^thread-(?P<tid>\d+)-(?P<page>\d+)-(?P<prev>\d+)\.html$"), "thread"),
    (re.compile(r"^forum-(?P<fid>\w+)-(?P<page>\d+)\.html$"), "board"),
    (re.compile(r"^group-(?P<fid>\d+)-(?P<page>\d+)\.html$"), "board"),
    (re.compile(r"^space-uid-(?P<uid>\d+)\.html$"), "user"),
    (re.compile(r"^space-username-(?P<username>[^/]+)\.html$"), "user"),
)
_ARCHIVER_ITEM = re.compile(r"^(?P<what>tid|fid)-(?P<id>\d+)\.html$")
# Files that live in the site root; the directory holding them is the site's base URL.
_ROOT_SCRIPTS = frozenset(
    {"forum.php", "index.php", "home.php", "member.php", "misc.php", "search.php", "portal.php",
     "plugin.php", "group.php", "viewthread.php", "forumdisplay.php", "space.php", "redirect.php"}
)
_SUB_APPS = ("archiver/", "m/", "api/mobile/")
# parse_url's default charset, normalised once instead of on every call.
_UTF8 = normalize_charset("utf-8") or "utf-8"


@dataclass(frozen=True)
class DiscuzURL:
    """What a Discuz URL points at. Ids are ``None`` when the URL does not carry them."""

    kind: UrlKind
    base_url: str
    url: str
    tid: int | None = None
    pid: int | None = None
    fid: int | None = None
    forum_alias: str | None = None
    gid: int | None = None
    uid: int | None = None
    username: str | None = None
    page: int | None = None
    archiver: bool = False


def normalize_base(url: str) -> str:
    """Return the site root of ``url`` with a trailing slash (``https://`` added when missing)."""
    url = url.strip()
    if not url:
        raise DiscuzError("empty site URL")
    if "://" not in url:
        url = "https://" + url
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise DiscuzError(f"not an http(s) URL: {url!r}", url=url)
    return site_base(url)


def site_base(url: str) -> str:
    """The site root of an absolute Discuz URL: the folder of its script, above ``archiver/`` etc."""
    return _site_base(urlsplit(url))


def _site_base(parts: SplitResult) -> str:
    path = parts.path or "/"
    last = path.rsplit("/", 1)[-1]
    # "https://host/bbs" names the folder; "https://host/bbs/forum.php" names a script in it.
    if last and "." not in last:
        path += "/"
    if not path.endswith("/"):
        path = path.rsplit("/", 1)[0] + "/"
    for app in _SUB_APPS:
        if path.endswith("/" + app):
            path = path[: -len(app)]
            break
    if parts.scheme and parts.netloc:
        # What urlunsplit returns here (the path after a netloc starts with "/"), without its
        # argument coercion: parse_url builds a base for every link of a page.
        return f"{parts.scheme}://{parts.netloc}{path}"
    return urlunsplit((parts.scheme, parts.netloc, path, "", ""))


def _query_values(raw: str, codec: str) -> dict[str, str]:
    """``parse_qs(raw, keep_blank_values=True, encoding=codec)`` keeping each name's last value.

    The same split and decoding, with ``unquote`` called only on the parts that need it:
    parse_qs decoded every name and value and built a list per name, a third of parse_url's time
    on the board rows and post links it reads.
    """
    found: dict[str, str] = {}
    for field in raw.split("&"):
        if not field:
            continue
        name, _, value = field.partition("=")
        if "+" in name or "%" in name:
            name = unquote(name.replace("+", " "), encoding=codec, errors="replace")
        if "+" in value or "%" in value:
            value = unquote(value.replace("+", " "), encoding=codec, errors="replace")
        found[name] = value
    return found


def _int(value: str | None) -> int | None:
    if value is None:
        return None
    value = value.strip()
    if not value.isdigit():
        return None
    try:
        return int(value)
    except ValueError:  # "²" passes isdigit(); 4,300+ digits exceed int()'s limit (fuzzing)
        return None


def parse_url(url: str, *, charset: str = "utf-8") -> DiscuzURL:
    """Recognise a Discuz URL. Unknown pages get ``kind="other"``; a non-URL raises DiscuzError.

    ``charset`` is the site's: usernames in URLs are percent-encoded bytes of it (``%D5%C5`` on GBK).
    """
    if not isinstance(url, str):
        raise DiscuzError(f"a URL must be a string, not {type(url).__name__}")
    url = url.strip()
    try:
        parts = urlsplit(url)
    except ValueError as exc:  # "http://[" and other malformed netlocs (found by fuzzing)
        raise DiscuzError(f"not a valid URL: {url!r}", url=url) from exc
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise DiscuzError(f"not an absolute http(s) URL: {url!r}", url=url)
    base = _site_base(parts)
    name = parts.path.rsplit("/", 1)[-1]
    folder = parts.path[: len(parts.path) - len(name)]
    codec = _UTF8 if charset == "utf-8" else normalize_charset(charset) or "utf-8"
    query = _query_values(parts.query, codec)

    def make(kind: UrlKind, **ids: object) -> DiscuzURL:
        return DiscuzURL(kind=kind, base_url=base, url=url, **ids)  # type: ignore[arg-type]

    if folder.endswith("/archiver/"):
        return _parse_archiver(url, base, name, parts.query, query)

    # Every rewrite rule ends in ".html": other names skip the five regexes.
    for pattern, kind in _REWRITE_RULES if name.endswith(".html") else ():
        m = pattern.match(name)
        if m:
            groups = m.groupdict()
            if any(len(value) > 18 for key, value in groups.items() if key != "username" and value):
                # Ids are MySQL ints; a 4,300-digit one made int() raise ValueError (fuzzing).
                raise DiscuzError(f"not a Discuz id in {name!r}", url=url)
            if kind == "thread":
                return make("thread", tid=int(groups["tid"]), page=int(groups["page"]))
            if kind == "board":
                fid_text = groups["fid"]
                if fid_text.isdigit():
                    return make("board", fid=int(fid_text), page=int(groups["page"]))
                return make("board", forum_alias=fid_text, page=int(groups["page"]))
            if "uid" in groups:
                return make("user", uid=int(groups["uid"]))
            return make("user", username=unquote(groups["username"], encoding=codec))

    mod = query.get("mod", "")
    page = _int(query.get("page"))
    tid = _int(query.get("tid"))
    if folder.endswith("/m/") and query.get("a") == "viewthread" and tid is not None:
        return make("thread", tid=tid, page=page)
    if name in ("forum.php", "") or name == "index.php":
        if mod == "viewthread" and tid is not None:
            return make("thread", tid=tid, page=page)
        if mod == "redirect":
            if query.get("goto") == "findpost":
                return make("post", tid=_int(query.get("ptid")), pid=_int(query.get("pid")))
            if tid is not None:
                return make("thread", tid=tid)
        if mod in ("forumdisplay", "group"):
            fid_text = query.get("fid", "")
            if fid_text.isdigit():
                return make("board", fid=int(fid_text), page=page)
            if fid_text:
                return make("board", forum_alias=fid_text, page=page)
        if not mod and _int(query.get("gid")) is not None:
            return make("category", gid=_int(query.get("gid")))
        if not mod and not query:
            return make("index")
    if name == "viewthread.php" and tid is not None:
        return make("thread", tid=tid, page=page)
    if name == "redirect.php":
        if query.get("goto") == "findpost":
            return make("post", tid=_int(query.get("ptid")), pid=_int(query.get("pid")))
        if tid is not None:
            return make("thread", tid=tid)
    if name == "forumdisplay.php" and _int(query.get("fid")) is not None:
        return make("board", fid=_int(query.get("fid")), page=page)
    if (name == "home.php" and mod == "space") or name == "space.php":
        if _int(query.get("uid")) is not None:
            return make("user", uid=_int(query.get("uid")))
        if query.get("username"):
            return make("user", username=query["username"])
    return make("other")


def _parse_archiver(url: str, base: str, name: str, raw_query: str, query: dict[str, str]) -> DiscuzURL:
    # archiver/?tid-5.html&page=2 puts the item in the query's first key; archiver/tid-5.html in the path.
    item = name or raw_query.split("&", 1)[0]
    page = _int(query.get("page"))
    m = _ARCHIVER_ITEM.match(item)
    if m is None and query.get("action") in ("tid", "fid"):
        m = _ARCHIVER_ITEM.match(f"{query['action']}-{query.get('value', '')}.html")
    if m is None:
        return DiscuzURL(kind="index", base_url=base, url=url, archiver=True)
    ident = int(m.group("id"))
    if m.group("what") == "tid":
        return DiscuzURL(kind="thread", base_url=base, url=url, tid=ident, page=page, archiver=True)
    return DiscuzURL(kind="board", base_url=base, url=url, fid=ident, page=page, archiver=True)


def _with_query(base: str, script: str, params: dict[str, object]) -> str:
    query = urlencode({k: v for k, v in params.items() if v is not None})
    return urljoin(_checked_base(base), script) + "?" + query


def _checked_base(base: str) -> str:
    parts = urlsplit(base)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise DiscuzError(f"the site base must be an absolute http(s) URL: {base!r}", url=base)
    return base if base.endswith("/") else site_base(base)


def _positive(name: str, value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise DiscuzError(f"{name} must be a positive integer, got {value!r}")
    return value


def thread_url(base: str, tid: int, page: int = 1, *, legacy: bool = False) -> str:
    """Canonical viewthread URL (``viewthread.php`` for Discuz 7.2 sites when ``legacy``)."""
    _positive("tid", tid)
    _positive("page", page)
    if legacy:
        return _with_query(base, "viewthread.php", {"tid": tid, "page": page})
    return _with_query(base, "forum.php", {"mod": "viewthread", "tid": tid, "page": page})


def board_url(base: str, fid: int | str, page: int = 1, *, legacy: bool = False) -> str:
    """Canonical forumdisplay URL; ``fid`` may be a board alias (``forumdisplay.php`` when ``legacy``)."""
    if not isinstance(fid, str):
        _positive("fid", fid)
    elif not fid.isidentifier() and not fid.isalnum():
        raise DiscuzError(f"not a board id or alias: {fid!r}")
    _positive("page", page)
    if legacy:
        return _with_query(base, "forumdisplay.php", {"fid": fid, "page": page})
    return _with_query(base, "forum.php", {"mod": "forumdisplay", "fid": fid, "page": page})


def user_url(base: str, uid: int, *, profile: bool = True) -> str:
    """A member's space (``do=profile``: the profile page, which guests can often read)."""
    _positive("uid", uid)
    return _with_query(base, "home.php", {"mod": "space", "uid": uid, "do": "profile" if profile else None})


def findpost_url(base: str, tid: int, pid: int) -> str:
    """The redirect to the page holding post ``pid`` of thread ``tid`` (anchor ``#pidPID``)."""
    _positive("tid", tid)
    _positive("pid", pid)
    return _with_query(base, "forum.php", {"mod": "redirect", "goto": "findpost", "ptid": tid, "pid": pid})


def index_url(base: str) -> str:
    """The forum index (``forum.php``)."""
    return urljoin(_checked_base(base), "forum.php")


def archiver_thread_url(base: str, tid: int, page: int = 1) -> str:
    """A thread in the archiver (``archiver/?tid-T.html``, ``&page=P`` after page 1)."""
    _positive("tid", tid)
    _positive("page", page)
    url = urljoin(_checked_base(base), f"archiver/?tid-{tid}.html")
    return url if page == 1 else f"{url}&page={page}"


def api_url(base: str, module: str, **params: object) -> str:
    """Mobile API URL: ``api/mobile/index.php?version=4&module=…`` plus ``params``."""
    return _with_query(base, "api/mobile/index.php", {"version": 4, "module": module, **params})
