"""A fixture forum: a directory of saved pages served as Discuz sites, with scripted faults.

Use it to test code that talks to Discuz without touching the internet, either in-process through
:meth:`FixtureForum.mock_transport` (an ``httpx.MockTransport`` for ``httpx.Client`` and
``httpx.AsyncClient``) or over a real socket with :meth:`FixtureForum.serve` (a threaded HTTP server
on ``127.0.0.1``, port 0). Both paths share one request handler, :meth:`FixtureForum.handle`, one
:class:`FaultPlan` and one :attr:`FixtureForum.request_log`::

    forum = default_forum()
    with httpx.Client(transport=forum.mock_transport()) as http:
        page = http.get(forum.site_url("x34") + "thread-1001-2-1.html")
    with forum.serve() as server, httpx.Client() as http:
        page = http.get(server.site_url("x35") + "forum.php?mod=viewthread&tid=2001")

Routes manifest (``routes.json``; file paths are relative to the fixtures root)::

    {
      "host": "http://forum.test",                # the made-up origin every page links to
      "sites": {
        "x34": {
          "prefix": "/",                          # where the site lives on the host
          "charset": "gbk",                       # Content-Type charset of its HTML pages
          "thread_missing": "errors/x.html",      # served with 404 for an undeclared tid
          "board_missing": "errors/y.html",       # optional, served with 200 for an undeclared fid
          "index": "index/x34.html",              # optional: forum.php / index.php / the site root
          "system_error": "errors/z.html",        # optional body for Fault.server_error(discuz_page=True)
          "guest_forbidden": [                    # optional: 302 to the login page for these
            {"path": "forum.php", "query": {"mod": "forumdisplay", "fid": "9"}}
          ]
        }
      },
      "threads": [{"site": "x34", "tid": 1001, "pages": ["thread/x34/t1001-p1.html", "..."]}],
      "boards":  [{"site": "x34", "fid": 2, "pages": ["board/x34/f2-p1.html"]}],
      "routes": [
        {"site": "x34", "path": "member.php", "query": {"mod": "logging", "action": "login"},
         "file": "errors/login.html", "status": 200, "headers": {"X-Example": "1"}},
        {"site": "x34", "path": "forum.php", "query": {"gid": "1"}, "redirect": "forum.php"}
      ]
    }

Matching: a request belongs to the site with the longest matching ``prefix``; ``path`` is relative
to that prefix. A route's ``query`` is a subset match (extra parameters such as ``extra=`` or
``mobile=no`` are ignored) and the route naming the most parameters wins. Rewritten URLs are first
brought to their query form with :func:`discuz_scraper.urls.parse_url`: ``thread-T-P-L.html`` and
``viewthread.php?tid=T`` become ``forum.php?mod=viewthread&tid=T&page=P``, ``forum-F-P.html`` becomes
``forum.php?mod=forumdisplay&fid=F&page=P``, ``space-uid-U.html`` becomes ``home.php?mod=space&uid=U``
and ``archiver/tid-T.html`` becomes ``archiver/?tid-T.html``. A route has either a ``file`` (status
200 unless given; ``Content-Type`` ``text/html`` in the site charset unless ``headers`` say
otherwise) or a ``redirect`` (relative to the site root; status 302 unless given).

Access (optional, per site): ``cookiepre`` names the cookies; ``members`` (``accounts`` with
``username``/``password``/``uid``/``name``/``auth``, optionally ``locked`` or ``question_id`` +
``answer``; ``pages`` for each login outcome; ``saltkey``; ``seccode``) makes
``member.php?mod=logging&action=login&loginsubmit=yes`` and the API's ``module=login`` log in:
the right password sets ``<pre>saltkey`` and ``<pre>auth``, a wrong one answers the
``invalid`` page and puts a captcha on the login form from then on. A request carrying a
member's auth cookie passes ``guest_forbidden``, matches routes marked ``"member": true`` and
sees its uid and name in every HTML page. ``board_passwords`` (``{"FID": "pw"}``, with
``board_password_page``) guard boards until the ``<pre>fidpwFID`` cookie a right POST to
``action=pwverify`` sets; ``antitheft`` (``{"authkey": ..., "tids": [...]}``) answers page 1
of those threads with :func:`antitheft_page` until ``_dsign`` is right. CC-defence pages are
faults: :meth:`Fault.cc_page`. :attr:`FixtureForum.cookie_log` records which cookies came with
each request, as names and a digest.

Declared threads behave like Discuz: a missing ``page`` is page 1, a page past the end is served as
the last page, an undeclared tid gets the site's ``thread_missing`` page with HTTP 404, and
``forum.php?mod=redirect&goto=findpost&ptid=T&pid=P`` answers 302 to the page whose HTML holds
``id="post_P"`` (the last such page: page 1 repeats hot and sticky replies), ``goto=lastpost`` to
the last page; an unknown pid gets the ``thread_missing`` page. Thread URLs carrying ``authorid``,
``ordertype`` or ``action`` change the content in Discuz, so they only match explicit routes.
Declared boards reset a page past the end to page 1, as Discuz does. Anything else is a plain 404.
Files named in the manifest but absent on disk do not stop loading: they are listed in
:attr:`FixtureForum.missing_files` (and warned about) and requests for them get a plain 500.
"""

from __future__ import annotations

import contextlib
import hashlib
import inspect
import json
import random
import re
import socket
import struct
import sys
import threading
import time
import warnings
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import parse_qs, quote, urljoin, urlsplit

import httpx

from .charset import normalize_charset
from .urls import parse_url

__all__ = [
    "Fault",
    "FaultKind",
    "FaultPlan",
    "FixtureForum",
    "ForumRequest",
    "ForumResponse",
    "LoggedRequest",
    "LoopbackServer",
    "Matcher",
    "SeenCookies",
    "antitheft_page",
    "cookie_digest",
    "default_forum",
    "fixtures_root",
]

# Parameters that make Discuz render a different thread page (only-author view, reversed order,
# printable view): a page declared for the plain thread must not answer them.
_CONTENT_CHANGING = frozenset({"authorid", "ordertype", "action"})
_POST_ID = re.compile(rb'id="post_(\d+)"')
_PLAIN = "text/plain; charset=utf-8"


def fixtures_root() -> Path:
    """The fixtures directory: ``discuz_scraper/_fixtures`` in a wheel, else the repo's ``fixtures/``."""
    package = Path(__file__).resolve().parent
    installed = package / "_fixtures"
    return installed if installed.is_dir() else package.parent / "fixtures"


def default_forum(
    *, faults: FaultPlan | None = None, sleep: Callable[[float], Any] | None = None
) -> FixtureForum:
    """The project's fixture forum, loaded from ``forum/routes.json`` under :func:`fixtures_root`."""
    root = fixtures_root()
    return FixtureForum.from_file(root / "forum" / "routes.json", root=root, faults=faults, sleep=sleep)


# --------------------------------------------------------------------------------------------------
# Faults


class FaultKind(str, Enum):
    """What can go wrong with a response."""

    SERVER_ERROR = "server_error"
    RATE_LIMITED = "rate_limited"
    RESET = "reset"
    TRUNCATED = "truncated"
    SLOW = "slow"
    WRONG_CHARSET = "wrong_charset"
    CC_PAGE = "cc_page"


@dataclass(frozen=True)
class Fault:
    """One injected fault. Build it with the class methods rather than by hand.

    As a client sees it: ``server_error`` is a 500/502/503 answer (with the site's Discuz "System
    Error" page when ``discuz_page``); ``rate_limited`` is 429 with ``Retry-After``; ``reset`` is
    ``httpx.ReadError`` (the server resets the connection without answering); ``truncated`` is
    ``httpx.RemoteProtocolError`` (fewer body bytes than ``Content-Length``); ``slow`` delays the
    answer by ``delay`` seconds; ``wrong_charset`` labels the page with ``charset`` instead of the
    site's own (default: UTF-8 pages claim GBK and GBK pages claim UTF-8); ``cc_page`` answers with
    a CC-defence page of kind ``cc`` (see :meth:`cc_page`).
    """

    kind: FaultKind
    status: int | None = None
    retry_after: int | None = None
    discuz_page: bool = False
    delay: float = 0.0
    charset: str | None = None
    cc: str | None = None

    @classmethod
    def server_error(
        cls, status: int = 503, *, discuz_page: bool = False, retry_after: int | None = None
    ) -> Fault:
        """A 5xx answer."""
        if not 500 <= status <= 599:
            raise ValueError(f"not a server error status: {status}")
        return cls(FaultKind.SERVER_ERROR, status=status, discuz_page=discuz_page, retry_after=retry_after)

    @classmethod
    def rate_limited(cls, retry_after: int = 3) -> Fault:
        """A 429 answer carrying ``Retry-After: retry_after``."""
        return cls(FaultKind.RATE_LIMITED, status=429, retry_after=retry_after)

    @classmethod
    def reset(cls) -> Fault:
        """The connection is reset without any answer."""
        return cls(FaultKind.RESET)

    @classmethod
    def truncated(cls) -> Fault:
        """Headers promise the whole page, then the connection closes halfway through the body."""
        return cls(FaultKind.TRUNCATED)

    @classmethod
    def slow(cls, delay: float = 0.05) -> Fault:
        """The normal answer, ``delay`` seconds late."""
        return cls(FaultKind.SLOW, delay=delay)

    @classmethod
    def wrong_charset(cls, charset: str | None = None) -> Fault:
        """The normal page with a ``Content-Type`` charset that does not match its bytes."""
        return cls(FaultKind.WRONG_CHARSET, charset=charset)

    @classmethod
    def cc_page(cls, kind: str) -> Fault:
        """A ``misc_security.php`` CC-defence page instead of the answer (``errors/x34_cc_KIND.html``).

        ``refresh`` and ``proxy`` are served whenever the rule fires; ``reload`` sets the
        ``<pre>lastrequest`` cookie and is lifted for requests that send it back; ``question``
        is lifted by the ``<pre>visitcode`` cookie the forum sets for a right answer (POST
        ``answer`` + ``secqsubmit`` to the same URL).
        """
        if kind not in _CC_KINDS:
            raise ValueError(f"not a CC-defence page kind: {kind!r} (one of {sorted(_CC_KINDS)})")
        return cls(FaultKind.CC_PAGE, cc=kind)


_CC_KINDS = frozenset({"refresh", "reload", "proxy", "question"})
# The fixture's question page asks "7 + 13 + 2 = ?".
_CC_ANSWER = "22"

_DEFAULT_FAULTS: dict[FaultKind, Fault] = {
    FaultKind.SERVER_ERROR: Fault.server_error(503),
    FaultKind.RATE_LIMITED: Fault.rate_limited(),
    FaultKind.RESET: Fault.reset(),
    FaultKind.TRUNCATED: Fault.truncated(),
    FaultKind.SLOW: Fault.slow(),
    FaultKind.WRONG_CHARSET: Fault.wrong_charset(),
    FaultKind.CC_PAGE: Fault.cc_page("refresh"),
}


@dataclass(frozen=True)
class ForumRequest:
    """A request as the fixture forum sees it (host-independent).

    ``target`` is the path and query as sent; ``site`` is the manifest key of the site it falls
    under (``None`` outside every site); ``path``/``query`` are site-relative and already brought
    to the query form (``thread-1001-2-1.html`` -> ``forum.php`` + ``mod=viewthread&tid=1001&page=2``).
    """

    method: str
    url: str
    target: str
    site: str | None
    path: str
    query: Mapping[str, str]
    headers: Mapping[str, str]
    body: bytes


Matcher = Callable[[ForumRequest], bool]


@dataclass
class _Rule:
    matcher: Matcher
    fault: Fault
    hits: frozenset[int] | None
    seen: int = 0


class FaultPlan:
    """Which requests fail and how: scripted rules first, then seeded random faults.

    Scripted: ``plan.on("/forum.php?mod=viewthread&tid=1001&page=2", Fault.rate_limited(3), first=2)``
    fails the first two requests for that page (in any URL form); ``nth=2`` fails only the second.
    ``match`` is an absolute path with an optional query (a subset match, like routes) or a callable
    taking a :class:`ForumRequest`; ``None`` matches every request.

    Random: ``FaultPlan(seed=7, rates={FaultKind.SERVER_ERROR: 0.1, Fault.reset(): 0.05})`` draws one
    number per request, so the faults depend only on the seed and the order of requests. Without a
    seed one is chosen, printed to stderr and kept in :attr:`seed` so a failing run can be replayed.
    :attr:`history` records ``(request number, target, fault)`` for every injected fault.
    """

    def __init__(
        self, *, seed: int | None = None, rates: Mapping[Fault | FaultKind, float] | None = None
    ) -> None:
        self._rates: list[tuple[Fault, float]] = []
        for key, rate in (rates or {}).items():
            if rate < 0:
                raise ValueError(f"negative fault rate: {rate}")
            self._rates.append((_DEFAULT_FAULTS[key] if isinstance(key, FaultKind) else key, rate))
        if sum(rate for _, rate in self._rates) > 1:
            raise ValueError("fault rates add up to more than 1")
        if seed is None and self._rates:
            seed = random.SystemRandom().randrange(2**32)
            print(f"FaultPlan seed={seed}", file=sys.stderr)
        self.seed = seed
        self._random = random.Random(seed)
        self._rules: list[_Rule] = []
        self._count = 0
        self._lock = threading.Lock()
        self.history: list[tuple[int, str, Fault]] = []

    def on(
        self,
        match: str | Matcher | None,
        fault: Fault,
        *,
        nth: int | Iterable[int] | None = None,
        first: int | None = None,
    ) -> FaultPlan:
        """Script ``fault`` for the matching requests (``nth``: 1-based among them; ``first``: 1..N)."""
        if nth is not None and first is not None:
            raise ValueError("give nth or first, not both")
        hits: frozenset[int] | None = None
        if first is not None:
            hits = frozenset(range(1, first + 1))
        elif nth is not None:
            hits = frozenset([nth] if isinstance(nth, int) else nth)
        matcher = match if callable(match) else _path_matcher(match)
        self._rules.append(_Rule(matcher, fault, hits))
        return self

    def decide(self, request: ForumRequest) -> Fault | None:
        """The fault for the next request, if any (called once per request, in arrival order)."""
        with self._lock:
            self._count += 1
            draw = self._random.random()
            chosen: Fault | None = None
            for rule in self._rules:
                if rule.matcher(request):
                    rule.seen += 1
                    if chosen is None and (rule.hits is None or rule.seen in rule.hits):
                        chosen = rule.fault
            if chosen is None:
                edge = 0.0
                for fault, rate in self._rates:
                    edge += rate
                    if draw < edge:
                        chosen = fault
                        break
            if chosen is not None:
                self.history.append((self._count, request.target, chosen))
            return chosen


def _path_matcher(match: str | None) -> Matcher:
    if match is None:
        return lambda request: True
    # Any origin will do: only the path and query of the pattern are compared.
    path, query = _query_form("http://fixture.invalid" + match, default_page=False)
    return lambda request: request.path == path and _subset(query, request.query)


# --------------------------------------------------------------------------------------------------
# Requests, responses, the log


@dataclass(frozen=True)
class ForumResponse:
    """What :meth:`FixtureForum.handle` answers; ``fault`` tells the transports what to break and
    ``cookies`` are ``Set-Cookie`` header values (one header each)."""

    status: int
    headers: dict[str, str]
    body: bytes
    fault: Fault | None = None
    cookies: tuple[str, ...] = ()

    def header_list(self) -> list[tuple[str, str]]:
        """Every header to send, ``Set-Cookie`` lines included."""
        return [*self.headers.items(), *(("Set-Cookie", cookie) for cookie in self.cookies)]


class LoggedRequest(NamedTuple):
    """One line of :attr:`FixtureForum.request_log`; ``status`` is ``None`` when nothing was sent."""

    method: str
    target: str
    status: int | None
    fault: FaultKind | None = None


class SeenCookies(NamedTuple):
    """One line of :attr:`FixtureForum.cookie_log`: which cookies a request carried, never their
    values: ``digest`` is :func:`cookie_digest` of them (``None`` without a ``Cookie`` header) and
    ``member`` the account whose auth cookie came with it."""

    target: str
    names: tuple[str, ...]
    digest: str | None
    member: str | None


def cookie_digest(cookies: Mapping[str, str]) -> str:
    """SHA-256 of ``name=value`` pairs in name order: compare cookies without keeping them."""
    joined = "; ".join(f"{name}={cookies[name]}" for name in sorted(cookies))
    return hashlib.sha256(joined.encode("utf-8")).hexdigest()


def _request_cookies(headers: Mapping[str, str]) -> dict[str, str]:
    pairs: dict[str, str] = {}
    for part in headers.get("cookie", "").split(";"):
        name, sep, value = part.strip().partition("=")
        if sep:
            pairs[name] = value
    return pairs


def antitheft_page(target: str, *, seed: int = 0) -> bytes:
    """An anti-collection script page (reference §10.2) that redirects to ``target``.

    Each three characters of ``target`` come from their own randomly named function that only
    answers when it can read its caller's name (``getName.caller``), so the literal ``_dsign``
    never appears and only running the script rebuilds the URL.
    """
    rng = random.Random(seed)
    names: list[str] = []
    parts: list[str] = []
    for start in range(0, len(target), 3):
        name = f"f{rng.randrange(16**6):06x}{start}"
        codes = "+".join(f"String.fromCharCode({ord(ch)})" for ch in target[start : start + 3])
        parts.append(f"function {name}(){{var w=getName();return w.length>0?{codes}:''}}")
        names.append(name)
    caller = (
        "function getName(){var c=getName.caller;if(c.name){return c.name}"
        "var m=c.toString().replace(/\\s*/g,'').match(/^function([^(]+?)\\(/);return m&&m[1]?m[1]:''}"
    )
    redirect = "+".join(f"{name}()" for name in names)
    script = f"{caller}{''.join(parts)}location.replace({redirect});"
    return f'<script type="text/javascript">{script}</script>'.encode()


def _query_dict(query: str, encoding: str = "utf-8") -> dict[str, str]:
    return {k: v[-1] for k, v in parse_qs(query, keep_blank_values=True, encoding=encoding).items()}


def _subset(required: Mapping[str, str], query: Mapping[str, str]) -> bool:
    return all(query.get(k) == v for k, v in required.items())


def _query_form(url: str, *, default_page: bool = True) -> tuple[str, dict[str, str]]:
    """Path and query of ``url`` with rewritten and legacy forms turned into the X3 query form.

    ``default_page`` fills in ``page=1`` for threads and boards, as Discuz reads a missing page.
    """
    parts = urlsplit(url)
    query = _query_dict(parts.query)
    info = parse_url(url)
    base = urlsplit(info.base_url).path
    name = parts.path[len(base) :]
    page = {"page": str(info.page or 1)} if info.page or default_page else {}
    if info.archiver and info.kind in ("thread", "board"):
        item = f"tid-{info.tid}.html" if info.kind == "thread" else f"fid-{info.fid}.html"
        return base + "archiver/", {item: "", **({"page": str(info.page)} if info.page else {})}
    for key in ("tid", "fid", "uid", "page"):
        query.pop(key, None)
    if info.kind == "thread" and (
        name.startswith("thread-")
        or name == "viewthread.php"
        or (name == "forum.php" and query.get("mod") == "viewthread")
    ):
        return base + "forum.php", {**query, "mod": "viewthread", "tid": str(info.tid), **page}
    if info.kind == "board" and (info.fid is not None or info.forum_alias):
        fid = str(info.fid) if info.fid is not None else str(info.forum_alias)
        return base + "forum.php", {**query, "mod": "forumdisplay", "fid": fid, **page}
    if info.kind == "user" and info.uid is not None:
        return base + "home.php", {**query, "mod": "space", "uid": str(info.uid)}
    return parts.path, _query_dict(parts.query)


# --------------------------------------------------------------------------------------------------
# The forum


@dataclass(frozen=True)
class _Site:
    key: str
    prefix: str
    charset: str
    thread_missing: str
    board_missing: str | None
    index: str | None
    system_error: str | None
    guest_forbidden: tuple[tuple[str, dict[str, str]], ...]
    cookiepre: str = "discuz_2132_"
    members: _Members | None = None
    board_passwords: Mapping[str, str] = field(default_factory=dict)
    board_password_page: str | None = None
    antitheft_key: str | None = None
    antitheft_tids: frozenset[int] = frozenset()


@dataclass(frozen=True)
class _Account:
    username: str
    password: str
    uid: int
    name: str
    auth: str
    locked: bool = False
    question_id: int = 0
    answer: str = ""


@dataclass(frozen=True)
class _Members:
    accounts: tuple[_Account, ...]
    pages: Mapping[str, str]
    saltkey: str
    seccode: str


@dataclass(frozen=True)
class _Route:
    site: str
    path: str
    query: dict[str, str]
    status: int
    headers: dict[str, str]
    file: str | None
    redirect: str | None
    member: bool = False


@dataclass
class _Paged:
    files: list[str]
    pids: dict[int, int] = field(default_factory=dict)


class FixtureForum:
    """Discuz sites served from fixture files; see the module docstring for the manifest.

    ``sleep`` performs :meth:`Fault.slow` delays. By default the in-process transport does not wait
    (the fault is still logged) and the loopback server uses ``time.sleep``; pass a callable to take
    over both (in the async transport an awaitable result is awaited).
    """

    def __init__(
        self,
        manifest: Mapping[str, Any],
        root: Path,
        *,
        faults: FaultPlan | None = None,
        sleep: Callable[[float], Any] | None = None,
    ) -> None:
        self.root = root
        self.host: str = manifest.get("host", "http://forum.test").rstrip("/")
        self.faults = faults or FaultPlan()
        self.sleep = sleep
        self._lock = threading.Lock()
        self._log: list[LoggedRequest] = []
        self._cookie_log: list[SeenCookies] = []
        # Failed password logins per site: after one, the login form asks for a captcha (the
        # "seccode after N failures" setting).
        self._failed_logins: dict[str, int] = {}
        self._files: dict[str, bytes | None] = {}
        self.sites: dict[str, _Site] = {
            key: self._load_site(key, spec) for key, spec in manifest.get("sites", {}).items()
        }
        self._threads: dict[tuple[str, int], _Paged] = {}
        for spec in manifest.get("threads", []):
            thread = _Paged([self._need(p) for p in spec["pages"]])
            for number, path in enumerate(thread.files, start=1):
                for pid in _POST_ID.findall(self._files[path] or b""):
                    # Page 1 repeats hot and sticky replies from later pages: the later page is the real one.
                    thread.pids[int(pid)] = number
            self._threads[(self._site_key(spec), int(spec["tid"]))] = thread
        self._boards: dict[tuple[str, str], _Paged] = {
            (self._site_key(spec), str(spec["fid"])): _Paged([self._need(p) for p in spec["pages"]])
            for spec in manifest.get("boards", [])
        }
        self._routes = [self._load_route(spec) for spec in manifest.get("routes", [])]
        # Longest prefix first, so /bbs/ wins over / for /bbs/forum.php.
        self._by_prefix = sorted(self.sites.values(), key=lambda s: len(s.prefix), reverse=True)
        if self.missing_files:
            warnings.warn(f"fixture forum: missing files {list(self.missing_files)}", stacklevel=2)

    @classmethod
    def from_file(
        cls,
        manifest: Path,
        *,
        root: Path | None = None,
        faults: FaultPlan | None = None,
        sleep: Callable[[float], Any] | None = None,
    ) -> FixtureForum:
        """Load a manifest; file paths in it are relative to ``root`` (default: its parent's parent)."""
        data = json.loads(manifest.read_text(encoding="utf-8"))
        return cls(data, root or manifest.resolve().parent.parent, faults=faults, sleep=sleep)

    # -- loading -----------------------------------------------------------------------------------

    def _need(self, path: str) -> str:
        if path not in self._files:
            file = self.root / path
            self._files[path] = file.read_bytes() if file.is_file() else None
        return path

    def _site_key(self, spec: Mapping[str, Any]) -> str:
        key = spec["site"]
        if key not in self.sites:
            raise ValueError(f"fixture forum: unknown site {key!r} in {dict(spec)}")
        return str(key)

    def _load_site(self, key: str, spec: Mapping[str, Any]) -> _Site:
        inner = spec.get("prefix", "/").strip("/")
        prefix = f"/{inner}/" if inner else "/"
        forbidden = tuple(
            _query_form(
                f"{self.host}{prefix}{rule['path']}?{_encode(rule.get('query', {}))}", default_page=False
            )
            for rule in spec.get("guest_forbidden", [])
        )
        optional = {
            name: self._need(spec[name]) if spec.get(name) else None
            for name in ("board_missing", "index", "system_error", "board_password_page")
        }
        antitheft = spec.get("antitheft") or {}
        return _Site(
            key=key,
            prefix=prefix,
            charset=spec.get("charset", "utf-8"),
            thread_missing=self._need(spec["thread_missing"]),
            guest_forbidden=forbidden,
            cookiepre=spec.get("cookiepre", "discuz_2132_"),
            members=self._load_members(spec["members"]) if spec.get("members") else None,
            board_passwords={str(fid): str(pw) for fid, pw in spec.get("board_passwords", {}).items()},
            antitheft_key=antitheft.get("authkey"),
            antitheft_tids=frozenset(int(tid) for tid in antitheft.get("tids", [])),
            **optional,
        )

    def _load_members(self, spec: Mapping[str, Any]) -> _Members:
        accounts = tuple(
            _Account(
                username=item["username"],
                password=item["password"],
                uid=int(item["uid"]),
                name=item.get("name", item["username"]),
                auth=item["auth"],
                locked=bool(item.get("locked", False)),
                question_id=int(item.get("question_id", 0)),
                answer=item.get("answer", ""),
            )
            for item in spec["accounts"]
        )
        pages = {kind: self._need(path) for kind, path in spec["pages"].items()}
        return _Members(accounts, pages, spec["saltkey"], spec["seccode"])

    def _load_route(self, spec: Mapping[str, Any]) -> _Route:
        site = self.sites[self._site_key(spec)]
        path, query = _query_form(f"{self.host}{site.prefix}{spec['path']}?{_encode(spec.get('query', {}))}")
        redirect = spec.get("redirect")
        if (redirect is None) == (spec.get("file") is None):
            raise ValueError(f"fixture forum: a route needs exactly one of file/redirect: {dict(spec)}")
        return _Route(
            site=site.key,
            path=path,
            query=query,
            status=int(spec.get("status", 302 if redirect else 200)),
            headers=dict(spec.get("headers", {})),
            redirect=redirect,
            file=self._need(spec["file"]) if spec.get("file") else None,
            member=bool(spec.get("member", False)),
        )

    @property
    def missing_files(self) -> tuple[str, ...]:
        """Manifest files (relative to :attr:`root`) that do not exist."""
        return tuple(sorted(path for path, data in self._files.items() if data is None))

    # -- public helpers ----------------------------------------------------------------------------

    def site_url(self, site: str) -> str:
        """The base URL of ``site`` on the made-up host (``http://forum.test/bbs/``)."""
        return self.host + self.sites[site].prefix

    @property
    def request_log(self) -> list[LoggedRequest]:
        """A copy of every request answered so far, by either transport, in order."""
        with self._lock:
            return list(self._log)

    @property
    def cookie_log(self) -> list[SeenCookies]:
        """For each request, in order: the cookie names it carried, a digest of their values and the
        member they authenticate (values themselves are never kept)."""
        with self._lock:
            return list(self._cookie_log)

    def clear_log(self) -> None:
        """Forget the requests logged so far."""
        with self._lock:
            self._log.clear()
            self._cookie_log.clear()

    def mock_transport(self) -> httpx.MockTransport:
        """An in-process transport for ``httpx.Client`` and ``httpx.AsyncClient`` on :attr:`host`."""
        return _ForumTransport(self)

    def serve(self, *, port: int = 0) -> LoopbackServer:
        """A started loopback server on ``127.0.0.1``; use it as a context manager to stop it."""
        return LoopbackServer(self, port=port)

    # -- the one handler ---------------------------------------------------------------------------

    def handle(
        self, method: str, url: str, headers: Mapping[str, str] | None = None, body: bytes = b""
    ) -> ForumResponse:
        """Answer one request for ``url`` (on :attr:`host`), applying the fault plan and logging it."""
        parts = urlsplit(url)
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        site = next((s for s in self._by_prefix if parts.path.startswith(s.prefix)), None)
        path, query = _query_form(self.host + target) if site else (parts.path, _query_dict(parts.query))
        request = ForumRequest(
            method=method.upper(),
            url=self.host + target,
            target=target,
            site=site.key if site else None,
            path=path,
            query=query,
            headers={k.lower(): v for k, v in (headers or {}).items()},
            body=body,
        )
        cookies = _request_cookies(request.headers)
        member = self._member(site, cookies)
        with self._lock:
            if site is not None and request.method == "POST" and b"secqsubmit" in body:
                fault, response = None, self._cc_answer(request, site)  # answering is never faulted
            else:
                fault = self.faults.decide(request)
                response = self._as_member(self._route(request, site, member, cookies), site, member)
            if fault is not None:
                response = self._break(response, fault, site, cookies)
                fault = response.fault  # None when a cookie lifted a CC page
            sent = None if fault is not None and fault.kind is FaultKind.RESET else response.status
            self._log.append(LoggedRequest(request.method, target, sent, fault.kind if fault else None))
            self._cookie_log.append(SeenCookies(
                target,
                tuple(sorted(cookies)),
                cookie_digest(cookies) if cookies else None,
                member.username if member else None,
            ))
        return response

    # -- members, passwords, challenges -----------------------------------------------------------

    @staticmethod
    def _member(site: _Site | None, cookies: Mapping[str, str]) -> _Account | None:
        if site is None or site.members is None:
            return None
        token = cookies.get(site.cookiepre + "auth")
        return next((a for a in site.members.accounts if token and a.auth == token), None)

    def _as_member(
        self, response: ForumResponse, site: _Site | None, member: _Account | None
    ) -> ForumResponse:
        """Pages a member sees carry its uid in ``discuz_uid`` and its name in the ``#um`` box."""
        html = response.headers.get("Content-Type", "").startswith("text/html")
        if member is None or site is None or not html:
            return response
        body = response.body.replace(b"discuz_uid = '0'", f"discuz_uid = '{member.uid}'".encode())
        box = (
            f'<div id="um"><p><strong class="vwmy"><a href="home.php?mod=space&amp;uid={member.uid}">'
            f"{member.name}</a></strong></p></div>"
        ).encode(site.charset)
        body = re.sub(rb"(<body\b[^>]*>)", lambda m: m.group(1) + box, body, count=1)
        return ForumResponse(response.status, response.headers, body, response.fault, response.cookies)

    def _login(self, request: ForumRequest, site: _Site, members: _Members, *, api: bool) -> ForumResponse:
        # Discuz reads a form's bytes in the site charset (the mobile API assumes UTF-8).
        charset = "utf-8" if api else normalize_charset(site.charset) or "utf-8"
        form = _query_dict(request.body.decode("ascii", "replace"), charset)
        account = next((a for a in members.accounts if a.username == form.get("username")), None)
        prefix = "api_" if api else ""
        if not api and self._failed_logins.get(site.key, 0) and form.get("seccodeverify") != members.seccode:
            return self._file(site, members.pages["seccode_invalid"])
        if account is not None and account.locked:
            return self._file(site, members.pages[prefix + "strike"])
        if account is None or form.get("password") != account.password:
            self._failed_logins[site.key] = self._failed_logins.get(site.key, 0) + 1
            return self._file(site, members.pages[prefix + "invalid"])
        if account.question_id and (
            form.get("questionid") != str(account.question_id) or form.get("answer") != account.answer
        ):
            return self._file(site, members.pages["question"])
        page = self._file(site, members.pages[prefix + "succeed"])
        cookies = (
            f"{site.cookiepre}saltkey={members.saltkey}; path=/; HttpOnly",
            f"{site.cookiepre}auth={account.auth}; path=/; HttpOnly",
        )
        return ForumResponse(page.status, page.headers, page.body, cookies=cookies)

    def _board_password(
        self, request: ForumRequest, site: _Site, fid: str, cookies: Mapping[str, str]
    ) -> ForumResponse | None:
        """The password form for a locked board, the cookie for a right password, else ``None``."""
        password = site.board_passwords[fid]
        cookie = f"{site.cookiepre}fidpw{fid}"
        if request.query.get("action") == "pwverify" and request.method == "POST":
            if _query_dict(request.body.decode("ascii", "replace")).get("pw") == password:
                board = f"{self.host}{site.prefix}forum.php?mod=forumdisplay&fid={fid}"
                return ForumResponse(302, {"Location": board, "Content-Type": _PLAIN}, b"",
                                     cookies=(f"{cookie}={password}; path=/",))
        elif cookies.get(cookie) == password:
            return None
        return self._file(site, site.board_password_page or site.thread_missing)

    def _antitheft(self, request: ForumRequest, site: _Site) -> ForumResponse | None:
        """The script page for page 1 of a protected thread without the right ``_dsign``."""
        tid = int(request.query["tid"])
        if tid not in site.antitheft_tids or _page(request.query) != 1 or site.antitheft_key is None:
            return None
        dsign = hashlib.md5(f"{tid}tid{site.antitheft_key}".encode()).hexdigest()[:8]
        if request.query.get("_dsign") == dsign:
            return None
        separator = "&" if "?" in request.target else "?"
        page = antitheft_page(f"{request.target}{separator}_dsign={dsign}", seed=tid)
        return ForumResponse(200, {"Content-Type": f"text/html; charset={site.charset}"}, page)

    def _cc_answer(self, request: ForumRequest, site: _Site) -> ForumResponse:
        if _query_dict(request.body.decode("ascii", "replace")).get("answer") != _CC_ANSWER:
            return self._cc_file(site, "question")
        cookie = f"{site.cookiepre}visitcode=v{_CC_ANSWER}ok; path=/"
        return ForumResponse(302, {"Location": request.url, "Content-Type": _PLAIN}, b"", cookies=(cookie,))

    def _cc_file(self, site: _Site | None, kind: str) -> ForumResponse:
        path = self._need(f"errors/x34_cc_{kind}.html")
        data = self._files.get(path) or b""
        charset = site.charset if site else "gbk"
        return ForumResponse(200, {"Content-Type": f"text/html; charset={charset}"}, data)

    def _route(
        self, request: ForumRequest, site: _Site | None, member: _Account | None, cookies: Mapping[str, str]
    ) -> ForumResponse:
        if site is None:
            return _plain(404, "no fixture site here")
        path, query = request.path, request.query
        base = self.host + site.prefix
        script = path[len(site.prefix) :]
        members = site.members
        if members is not None and request.method == "POST":
            if script == "member.php" and query.get("mod") == "logging" and "loginsubmit" in query:
                return self._login(request, site, members, api=False)
            if script == "api/mobile/index.php" and query.get("module") == "login":
                return self._login(request, site, members, api=True)
        if (
            members is not None
            and script == "member.php"
            and query.get("action") == "login"
            and self._failed_logins.get(site.key, 0)
        ):
            return self._file(site, members.pages["captcha_form"])
        if member is None and any(p == path and _subset(q, query) for p, q in site.guest_forbidden):
            login = f"{base}member.php?mod=logging&action=login&referer={quote(request.url, safe='')}"
            return ForumResponse(302, {"Location": login, "Content-Type": _PLAIN}, b"")
        board = query.get("fid") if script == "forum.php" and query.get("mod") == "forumdisplay" else None
        if board in site.board_passwords:
            locked = self._board_password(request, site, str(board), cookies)
            if locked is not None:
                return locked
        if script == "forum.php" and query.get("mod") == "viewthread" and query.get("tid", "").isdigit():
            challenge = self._antitheft(request, site)
            if challenge is not None:
                return challenge
        if (
            script == "forum.php"
            and query.get("mod") == "redirect"
            and query.get("goto") in ("findpost", "lastpost")
        ):
            return self._redirect_to_post(site, query)
        candidates = [
            r
            for r in self._routes
            if r.site == site.key and r.path == path and _subset(r.query, query)
            and (member is not None or not r.member)
        ]
        if candidates:
            route = max(candidates, key=lambda r: (r.member, len(r.query)))
            if route.redirect is not None:
                return ForumResponse(
                    route.status, {"Location": urljoin(base, route.redirect), "Content-Type": _PLAIN}, b""
                )
            return self._file(site, route.file or "", route.status, route.headers)
        mod = query.get("mod")
        if (
            script in ("", "index.php", "forum.php")
            and not {"mod", "gid", "fid"} & query.keys()
            and site.index
        ):
            return self._file(site, site.index)
        if script == "forum.php" and mod == "viewthread" and query.get("tid", "").isdigit():
            thread = self._threads.get((site.key, int(query["tid"])))
            if thread is None:
                return self._file(site, site.thread_missing, 404)
            if not _CONTENT_CHANGING & query.keys():
                # Discuz serves the last page for any page past the end.
                return self._file(site, thread.files[min(_page(query), len(thread.files)) - 1])
        if script == "forum.php" and mod == "forumdisplay" and "fid" in query:
            board = self._boards.get((site.key, query["fid"]))
            if board is not None:
                # Discuz resets a board page past the end to page 1.
                page = _page(query)
                return self._file(site, board.files[page - 1 if page <= len(board.files) else 0])
            if site.board_missing:
                return self._file(site, site.board_missing)
        return _plain(404, "no fixture for this URL")

    def _redirect_to_post(self, site: _Site, query: Mapping[str, str]) -> ForumResponse:
        tid = query.get("ptid") if query.get("goto") == "findpost" else query.get("tid")
        if not tid and query.get("goto") == "findpost":
            # Discuz looks the thread up from the pid alone when the link carries no ptid.
            tid = next(
                (str(t) for (key, t), found in self._threads.items()
                 if key == site.key and int(query.get("pid", "0") or 0) in found.pids),
                None,
            )
        thread = self._threads.get((site.key, int(tid))) if tid and tid.isdigit() else None
        if thread is None:
            return self._file(site, site.thread_missing, 404)
        if query.get("goto") == "lastpost":
            page = len(thread.files)
            pids = [pid for pid, number in thread.pids.items() if number == page]
            anchor = f"#pid{pids[-1]}" if pids else ""
        else:
            pid = query.get("pid", "")
            if not pid.isdigit() or int(pid) not in thread.pids:
                return self._file(site, site.thread_missing, 404)
            page, anchor = thread.pids[int(pid)], f"#pid{pid}"
        location = f"{self.host}{site.prefix}forum.php?mod=viewthread&tid={tid}&page={page}{anchor}"
        return ForumResponse(302, {"Location": location, "Content-Type": _PLAIN}, b"")

    def _file(
        self, site: _Site, path: str, status: int = 200, headers: Mapping[str, str] | None = None
    ) -> ForumResponse:
        data = self._files.get(path)
        if data is None:
            return _plain(500, f"fixture file missing: {path}")
        return ForumResponse(
            status, {"Content-Type": f"text/html; charset={site.charset}", **(headers or {})}, data
        )

    def _break(
        self, response: ForumResponse, fault: Fault, site: _Site | None, cookies: Mapping[str, str]
    ) -> ForumResponse:
        if fault.kind is FaultKind.CC_PAGE:
            pre = site.cookiepre if site else ""
            lifted = {"reload": pre + "lastrequest", "question": pre + "visitcode"}.get(fault.cc or "")
            if lifted is not None and lifted in cookies:
                return response
            page = self._cc_file(site, fault.cc or "refresh")
            extra = (f"{pre}lastrequest=r1; path=/",) if fault.cc == "reload" else ()
            return ForumResponse(page.status, page.headers, page.body, fault, extra)
        if fault.kind is FaultKind.SERVER_ERROR or fault.kind is FaultKind.RATE_LIMITED:
            status = fault.status or 503
            if fault.discuz_page and site is not None and site.system_error:
                broken = self._file(site, site.system_error, status)
            else:
                broken = _plain(status, f"injected fault: HTTP {status}")
            extra = {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else {}
            return ForumResponse(broken.status, {**broken.headers, **extra}, broken.body, fault)
        if fault.kind is FaultKind.WRONG_CHARSET:
            declared = response.headers.get("Content-Type", "")
            wrong = fault.charset or ("utf-8" if "gbk" in declared.lower() else "gbk")
            kind = declared.split(";", 1)[0] or "text/html"
            return ForumResponse(
                response.status,
                {**response.headers, "Content-Type": f"{kind}; charset={wrong}"},
                response.body,
                fault,
            )
        return ForumResponse(response.status, response.headers, response.body, fault)


def _encode(query: Mapping[str, Any]) -> str:
    return "&".join(
        f"{quote(str(k), safe='-.')}={quote(str(v), safe='')}" if v != "" else quote(str(k), safe="-.")
        for k, v in query.items()
    )


def _page(query: Mapping[str, str]) -> int:
    # Discuz takes max(1, intval(page)): junk and zero are page 1.
    page = query.get("page", "")
    return max(1, int(page)) if page.isdigit() else 1


def _plain(status: int, text: str) -> ForumResponse:
    return ForumResponse(status, {"Content-Type": _PLAIN}, text.encode())


# --------------------------------------------------------------------------------------------------
# In-process transport


class _ForumTransport(httpx.MockTransport):
    """``MockTransport`` whose sync and async paths share :meth:`_answer`; only the sleep differs."""

    def __init__(self, forum: FixtureForum) -> None:
        super().__init__(self._answer_sync)
        self.forum = forum

    def _answer(self, request: httpx.Request) -> tuple[ForumResponse, httpx.Response]:
        origin = f"{request.url.scheme}://{request.url.netloc.decode('ascii')}"
        if origin != self.forum.host:
            raise httpx.ConnectError(f"fixture forum: unknown host {origin}", request=request)
        answer = self.forum.handle(request.method, str(request.url), dict(request.headers), request.content)
        kind = answer.fault.kind if answer.fault else None
        if kind is FaultKind.RESET:
            raise httpx.ReadError("[fixture fault] connection reset by peer", request=request)
        if kind is FaultKind.TRUNCATED:
            raise httpx.RemoteProtocolError(
                "[fixture fault] peer closed connection without sending complete message body",
                request=request,
            )
        return answer, httpx.Response(
            answer.status, headers=answer.header_list(), content=answer.body, request=request
        )

    def _answer_sync(self, request: httpx.Request) -> httpx.Response:
        answer, response = self._answer(request)
        if answer.fault and answer.fault.delay and self.forum.sleep is not None:
            self.forum.sleep(answer.fault.delay)
        return response

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await request.aread()
        answer, response = self._answer(request)
        if answer.fault and answer.fault.delay and self.forum.sleep is not None:
            waited = self.forum.sleep(answer.fault.delay)
            if inspect.isawaitable(waited):
                await waited
        return response


# --------------------------------------------------------------------------------------------------
# Loopback server


class _Server(ThreadingHTTPServer):
    """Tracks open connections so that stopping can unblock keep-alive handler threads."""

    daemon_threads = False  # server_close() joins the handler threads
    allow_reuse_address = False

    def __init__(self, address: tuple[str, int], forum: FixtureForum) -> None:
        self.forum = forum
        self.open_sockets: set[socket.socket] = set()
        self.sockets_lock = threading.Lock()
        self.public_origin = ""
        super().__init__(address, _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self.sockets_lock:
            self.open_sockets.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self.sockets_lock:
            self.open_sockets.discard(request)
        super().shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that gave up (timeout, reset) is part of the tests, not a server bug.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)

    def rewrite(self, data: bytes) -> bytes:
        """Point the made-up host at this server, in plain, JSON-escaped and percent-encoded forms."""
        host = self.forum.host
        for old, new in (
            (host, self.public_origin),
            (host.replace("/", "\\/"), self.public_origin.replace("/", "\\/")),
            (quote(host, safe=""), quote(self.public_origin, safe="")),
        ):
            data = data.replace(old.encode("ascii"), new.encode("ascii"))
        return data


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def do_GET(self) -> None:
        self._answer()

    def do_POST(self) -> None:
        self._answer()

    def log_message(self, format: str, *args: Any) -> None:
        """Silenced: the forum's request_log is the record."""

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        forum = self.server.forum
        answer = forum.handle(self.command, forum.host + self.path, dict(self.headers.items()), body)
        fault = answer.fault
        if fault is not None and fault.delay:
            (forum.sleep or time.sleep)(fault.delay)
        if fault is not None and fault.kind is FaultKind.RESET:
            # SO_LINGER 0 makes close() send RST, which the client reads as "connection reset".
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.rfile.close()
            self.connection.close()
            self.close_connection = True
            return
        payload = self.server.rewrite(answer.body)
        self.send_response(answer.status)
        for name, value in answer.header_list():
            self.send_header(name, self.server.rewrite(value.encode("latin-1")).decode("latin-1"))
        self.send_header("Content-Length", str(len(payload)))
        if fault is not None and fault.kind is FaultKind.TRUNCATED:
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(payload[: len(payload) // 2])
            self.close_connection = True
            return
        self.end_headers()
        self.wfile.write(payload)


class LoopbackServer:
    """A :class:`FixtureForum` on a real socket: ``ThreadingHTTPServer`` in a daemon thread.

    Pages keep their made-up host in the fixture files; the server rewrites ``http://forum.test``
    to :attr:`base_url`'s origin in bodies and ``Location`` headers as it sends them.
    """

    def __init__(self, forum: FixtureForum, *, port: int = 0) -> None:
        self.forum = forum
        self._server = _Server(("127.0.0.1", port), forum)
        self.port: int = self._server.server_address[1]
        self._server.public_origin = f"http://127.0.0.1:{self.port}"
        self.base_url = self._server.public_origin + "/"
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"fixture-forum-{self.port}",
            daemon=True,
        )
        self._thread.start()

    def site_url(self, site: str) -> str:
        """The base URL of ``site`` on this server (``http://127.0.0.1:PORT/bbs/``)."""
        return self._server.public_origin + self.forum.sites[site].prefix

    @property
    def running(self) -> bool:
        """Whether the serving thread is alive."""
        return self._thread.is_alive()

    def stop(self) -> None:
        """Stop accepting, cut open keep-alive connections, join every thread, close the socket."""
        if not self._thread.is_alive():
            return
        self._server.shutdown()
        with self._server.sockets_lock:
            for sock in self._server.open_sockets:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
        self._server.server_close()
        self._thread.join()

    def __enter__(self) -> LoopbackServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
