"""Which backend answers a request: desktop HTML, the mobile JSON API or the archiver.

Pure decisions shared by :class:`~discuz_scraper.client.DiscuzClient` and
:class:`~discuz_scraper.client.AsyncDiscuzClient`; the clients only send the requests these
decisions name. Every model records the backend that produced it in its ``source`` field.

``backend=`` (a client option):

- ``"html"`` (the default): the desktop pages only (the reference: every field the forum shows).
- ``"api"``: the mobile API only (``api/mobile/index.php?version=4``). ``module=check`` is probed
  once per client; a site without the plugin raises :class:`BackendUnavailable`. Thread page
  numbers are pages of ``api_ppp`` posts. Profiles come from ``module=profile``.
- ``"archiver"``: the archiver only (``archiver/?tid-N.html``…): fewer fields, the missing ones
  ``None`` (see :mod:`discuz_scraper.parsers.archiver`). The archiver has no profile pages, so
  :meth:`user` reads the desktop profile.
- ``"auto"``: per request, the first backend that answers, in this order:

  - a whole thread (``thread()``, and ``iter_posts()`` / ``iter_pages()`` without ``pages=``),
    a board page by fid, the forum index: api → html → archiver;
  - a thread page chosen by number (``thread_page()``, any ``pages=`` selection): html →
    archiver, because the numbers follow the desktop's page size, which the API does not share;
  - a board by alias: html (the API and the archiver need a fid);
  - a profile (``user()``): html (the API's profile lacks the avatar and most of the stats).

  The API is only tried when ``module=check`` (probed once per client, lazily, with the client's
  cookies) said the plugin is on and did not ask for a login.

Falling back (``auto`` only; an explicit backend never falls back):

- from the API to HTML on :class:`~discuz_scraper.errors.PermissionDenied` (``mobile_is_closed``,
  ``to_login``, a permission message the mobile group may not share with the desktop one),
  :class:`~discuz_scraper.errors.NotDiscuz` (an HTML or non-JSON answer: the plugin is gone),
  :class:`~discuz_scraper.errors.ParseError` (an answer in a shape not understood),
  :class:`BackendUnavailable` (a non-200 answer) and the API's own ``module_not_exists`` /
  ``param_error`` (:class:`~discuz_scraper.errors.NotFound` with that ``key``);
- from HTML to the archiver on :class:`~discuz_scraper.errors.ParseError` only (a template modified
  beyond what the HTML parsers read).

Everything else propagates: a real :class:`~discuz_scraper.errors.NotFound` (``thread_nonexistence``
is the same database row for every backend), a closed site, rate limits, fetch errors. When every
backend failed, the HTML backend's error is raised (it is the reference), else the last one.

For a whole thread the backend is chosen on its first page; later pages stay on that backend
(their page numbers belong to it) and their errors propagate.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, Literal, TypeVar, cast, get_args
from urllib.parse import urljoin

from .errors import (
    BackendUnavailable,
    ConfigError,
    DiscuzError,
    NotDiscuz,
    NotFound,
    ParseError,
    PermissionDenied,
)
from .http import Response
from .models import Source
from .parsers.site import ApiCheck, read_api_check
from .urls import api_url, archiver_thread_url, board_url, index_url, thread_url, user_url

__all__ = [
    "DEFAULT_API_PPP",
    "MAX_API_PPP",
    "Attempts",
    "Backend",
    "BackendRequest",
    "BackendSelector",
    "RequestKind",
    "falls_back",
    "request_url",
]

Backend = Literal["auto", "html", "api", "archiver"]
"""The ``backend=`` client option (see the module docstring)."""

RequestKind = Literal["thread", "thread_page", "board", "board_alias", "index", "user"]
"""What a request asks for: a whole thread (or its first page), a thread page the caller chose by
number, a board page by fid or by alias, the forum index, a profile."""

DEFAULT_API_PPP = 50
"""Posts per API page: a 120-post thread takes 3 requests instead of the desktop's 6 to 12."""
MAX_API_PPP = 100
"""The plugin has no cap, but a very large page costs the forum one heavy query and us one huge
answer; 100 keeps both reasonable."""

T = TypeVar("T")

_API_PREFERRED: frozenset[RequestKind] = frozenset({"thread", "board", "index"})
_ARCHIVER_KINDS: frozenset[RequestKind] = frozenset({"thread", "thread_page", "board", "index"})
# NotFound keys the API uses for its own failures (an old plugin without the module, a parameter
# it does not take), not for a missing thread or board: the desktop page may still answer.
_API_OWN_NOT_FOUND = frozenset({"module_not_exists", "param_error"})


def falls_back(source: Source, error: DiscuzError) -> bool:
    """Whether ``auto`` tries the next backend after ``source`` failed with ``error``."""
    if source == "api":
        if isinstance(error, NotFound):
            return error.key in _API_OWN_NOT_FOUND
        return isinstance(error, (PermissionDenied, NotDiscuz, ParseError, BackendUnavailable))
    if source == "html":
        return isinstance(error, ParseError)
    return False


@dataclass(frozen=True)
class ParseJob(Generic[T]):
    """One parser call on an answer, with plain picklable arguments (its text, URL and the client's
    clock and timezone), so that the client can run it in place or in a worker process."""

    parser: Callable[..., T]
    args: tuple[object, ...]
    kwargs: dict[str, object]

    def __call__(self) -> T:
        return self.parser(*self.args, **self.kwargs)


@dataclass(frozen=True)
class BackendRequest(Generic[T]):
    """One request to a forum, independent of the backend: where to ask (:func:`request_url`) and
    how to read the answer (``parse``, given the backend that answered: checks the answer and
    returns the parser call to run).

    ``pinned`` fixes the backend (the later pages of a thread stay on the first page's backend).
    """

    kind: RequestKind
    target: int | str | None
    page: int
    parse: Callable[[Response, Source], ParseJob[T]]
    pinned: Source | None = None


def request_url(
    request: BackendRequest[T], source: Source, base: str, *, api_ppp: int, legacy: bool = False
) -> str:
    """The URL that asks ``source`` for ``request`` on the site at ``base``."""
    kind, target, page = request.kind, request.target, request.page
    if kind == "index":
        return {
            "html": index_url(base),
            "api": api_url(base, "forumindex"),
            "archiver": urljoin(base, "archiver/"),
        }[source]
    if not isinstance(target, (int, str)):
        raise ConfigError(f"a {kind} request needs a target id")
    if kind in ("thread", "thread_page"):
        tid = int(target)
        if source == "api":
            return api_url(base, "viewthread", tid=tid, page=page, ppp=api_ppp)
        if source == "archiver":
            return archiver_thread_url(base, tid, page)
        return thread_url(base, tid, page, legacy=legacy)
    if kind in ("board", "board_alias"):
        if source == "html":
            return board_url(base, target, page, legacy=legacy)
        if not isinstance(target, int):
            raise ConfigError(f"the {source} backend addresses boards by fid, not by alias {target!r}")
        if source == "api":
            return api_url(base, "forumdisplay", fid=target, page=page)
        url = urljoin(base, f"archiver/?fid-{target}.html")
        return url if page == 1 else f"{url}&page={page}"
    if source == "api":
        return api_url(base, "profile", uid=target)
    return user_url(base, int(target))


class Attempts:
    """The backends still to try for one request, and the errors met so far.

    Drive it as ``while True: source = attempts.next_source(); try: … return; except DiscuzError
    as exc: attempts.failed(exc)``: :meth:`failed` raises unless there is a next backend to try, so
    :meth:`next_source` is never asked past the last one.
    """

    def __init__(self, sources: tuple[Source, ...]) -> None:
        self._sources = sources
        self._index = -1
        self._errors: dict[Source, DiscuzError] = {}

    def next_source(self) -> Source:
        """The next backend to try."""
        self._index += 1
        return self._sources[self._index]

    def failed(self, error: DiscuzError) -> None:
        """Record that the current backend failed; raise when no backend is left to try.

        An error that does not fall back is raised as it is. When the last backend fails too, the
        HTML backend's error is raised if HTML was tried (the reference backend says best what is
        wrong: a last-resort archiver that is switched off is not the news), else the last error.
        """
        source = self._sources[self._index]
        if not falls_back(source, error):
            html = self._errors.get("html")
            if html is not None and self._index == len(self._sources) - 1:
                raise html from error
            raise error
        if self._index == len(self._sources) - 1:
            raise error
        self._errors[source] = error


class BackendSelector:
    """The ``backend=`` option of one client and what its ``module=check`` probe learnt.

    The probe result is cached for the client's lifetime (and shared with a sync client's crawl
    twin), so ``module=check`` is asked at most once.
    """

    def __init__(self, backend: str = "html", api_ppp: int = DEFAULT_API_PPP) -> None:
        if backend not in get_args(Backend):
            raise ConfigError(f"backend must be one of {', '.join(get_args(Backend))}, not {backend!r}")
        if isinstance(api_ppp, bool) or not isinstance(api_ppp, int) or not 1 <= api_ppp <= MAX_API_PPP:
            raise ConfigError(f"api_ppp must be an integer from 1 to {MAX_API_PPP}, not {api_ppp!r}")
        self.backend = cast(Backend, backend)  # checked against Backend's values above
        self.api_ppp = api_ppp
        self.api: ApiCheck | None = None
        self._probe_error: str | None = None

    def __repr__(self) -> str:
        return f"BackendSelector(backend={self.backend!r}, api_ppp={self.api_ppp}, api={self.api!r})"

    def wants_probe(self, request: BackendRequest[T]) -> bool:
        """Whether ``module=check`` must be asked before ``request`` can be routed."""
        if self.api is not None or request.pinned is not None or request.kind == "board_alias":
            return False
        return self.backend == "api" or (self.backend == "auto" and request.kind in _API_PREFERRED)

    def learn(self, answer: Response | None) -> None:
        """Record the ``module=check`` answer (``None``: it could not be fetched at all)."""
        if answer is None:
            self.api = ApiCheck(available=False)
            self._probe_error = "module=check could not be fetched"
        else:
            self.api = read_api_check(answer.status_code, answer.text)
            self._probe_error = None if self.api.available else (
                f"module=check answered HTTP {answer.status_code} without the plugin's version "
                "(the mobile plugin is off or not installed)"
            )

    def sources(self, request: BackendRequest[T]) -> tuple[Source, ...]:
        """The backends to try for ``request``, in order (see the module docstring)."""
        kind = request.kind
        if request.pinned is not None:
            return (request.pinned,)
        if self.backend == "html":
            return ("html",)
        if self.backend == "archiver":
            # The archiver has no profile pages; a board alias reaches request_url's ConfigError.
            return ("html",) if kind == "user" else ("archiver",)
        if self.backend == "api":
            if kind != "board_alias" and (self.api is None or not self.api.available):
                raise BackendUnavailable(
                    f"backend='api' but the site has no usable mobile API: {self._probe_error}"
                )
            return ("api",)
        fallback: tuple[Source, ...] = ("html", "archiver") if kind in _ARCHIVER_KINDS else ("html",)
        usable = self.api is not None and self.api.available and not self.api.login_required
        if kind in _API_PREFERRED and usable:
            return ("api", *fallback)
        return fallback

    def attempts(self, request: BackendRequest[T]) -> Attempts:
        """A fresh :class:`Attempts` over :meth:`sources`."""
        return Attempts(self.sources(request))
