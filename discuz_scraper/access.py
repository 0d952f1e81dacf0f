"""Access: login, board passwords, robots.txt, and getting through anti-collection and CC pages.

The decisions live in *flows*: generators that yield the requests (and waits) they need and receive
the answers, without doing any I/O themselves (the sans-I/O style of :mod:`discuz_scraper.parsers`).
:class:`AccessFetcher` and :class:`AsyncAccessFetcher` run them, so the sync and async clients share
every decision and differ only in how a step is sent:

- :func:`page_flow` wraps every page GET of a client: robots.txt (when enabled), the cached
  ``_dsign`` of a thread's page 1, solving the anti-collection script once, waiting out the
  CC-defence reload pages, answering the CC question, and posting a configured board password.
- :func:`login_flow` drives the desktop login form (or the mobile API's ``module=login``) and
  confirms the result on the next page; :func:`whoami_flow` reads the logged-in member.

:class:`AccessPolicy` is the per-site state both flows read: options and the caches (``_dsign`` per
tid, robots.txt rules). A sync client and the async twin its crawls run on share one policy.
Passwords and cookie values never leave the request bodies: nothing here logs or stores them.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import re
import threading
from collections.abc import Awaitable, Generator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar
from urllib.parse import parse_qsl, urljoin, urlsplit

from pydantic import BaseModel, ConfigDict

from .antitheft import parse_cc_page, solve_antitheft
from .errors import (
    AntiCrawlChallenge,
    CaptchaRequired,
    ConfigError,
    DiscuzError,
    LoginFailed,
    NotDiscuz,
    ParseError,
    PermissionDenied,
)
from .http import AsyncFetcher, FetchConfig, Fetcher, Response
from .parsers._dom import attr, parse_html
from .parsers.login import parse_api_login_result, parse_login_form, parse_login_result
from .parsers.shell import check_page, parse_shell
from .urls import api_url, parse_url

__all__ = [
    "CC_RETRIES",
    "AccessFetcher",
    "AccessPolicy",
    "AsyncAccessFetcher",
    "LoggedInUser",
    "RobotsRules",
    "crawling",
    "login_flow",
    "page_flow",
    "whoami_flow",
]

logger = logging.getLogger("discuz_scraper")

CC_RETRIES = 3
"""How many CC-defence pages one request gets through before giving up."""

_CC_MIN_WAIT = 1.0  # misc_security.php refuses two requests less than a second apart
_SECCODE_MODID = "member::logging"
_DSIGN = re.compile(r"[?&]_dsign=([0-9a-fA-F]{8})")
# Bare CC pages and the anti-collection script are a few KB; normal pages are far larger and carry
# the generator meta, so only small meta-less pages are worth classifying here.
_SMALL_PAGE = 16_384

crawling: contextvars.ContextVar[bool] = contextvars.ContextVar("discuz_scraper_crawling", default=False)
"""True inside a crawl's workers: requests there follow the crawl's robots.txt default."""

T = TypeVar("T")


class LoggedInUser(BaseModel):
    """The member a client is logged in as (``client.whoami()``, ``client.login()``)."""

    model_config = ConfigDict(frozen=True)

    uid: int
    name: str | None = None


# -- steps a flow yields -------------------------------------------------------------------------


@dataclass(frozen=True)
class Get:
    """GET ``url``. ``raw`` steps go straight to the fetcher; others pass through :func:`page_flow`."""

    url: str
    params: Mapping[str, str | int] | None = None
    headers: Mapping[str, str] | None = None
    raw: bool = False


@dataclass(frozen=True)
class Post:
    """POST ``data`` form-encoded to ``url`` (always straight to the fetcher)."""

    url: str
    data: Mapping[str, str] = field(repr=False)
    headers: Mapping[str, str] | None = None
    encoding: str | None = None  # the charset of the page holding the form


@dataclass(frozen=True)
class Wait:
    """Sleep ``seconds`` through the client's injected sleep."""

    seconds: float


@dataclass(frozen=True)
class LoadRobots:
    """Fetch and parse robots.txt unless already done (the driver makes it happen once)."""


@dataclass(frozen=True)
class Solve:
    """Run the anti-collection script of ``page`` (fetched from ``url``); answers the target URL.

    A step of its own because V8 must not run on an event loop's thread (mini-racer refuses)."""

    page: str = field(repr=False)
    url: str


Step = Get | Post | Wait | LoadRobots | Solve
Flow = Generator[Step, Any, T]


# -- robots.txt ------------------------------------------------------------------------------------


class RobotsRules:
    """The ``Allow``/``Disallow`` rules of robots.txt that apply to one user agent (RFC 9309).

    The group naming a token contained in the user agent wins over ``*``; within the group the
    longest matching rule decides and ``Allow`` wins a tie. ``*`` and a final ``$`` work as in
    Google's and Discuz's own robots.txt (``Disallow: /forum.php?mod=redirect*``).
    """

    def __init__(self, rules: list[tuple[bool, str]], *, disallow_all: bool = False) -> None:
        self._rules = [(allow, path, _robots_pattern(path)) for allow, path in rules if path]
        self.disallow_all = disallow_all

    @classmethod
    def parse(cls, text: str, user_agent: str) -> RobotsRules:
        """The rules of ``text`` for ``user_agent`` (its product tokens, case-insensitively)."""
        agent = user_agent.lower()
        groups: list[tuple[list[str], list[tuple[bool, str]]]] = []
        current: tuple[list[str], list[tuple[bool, str]]] | None = None
        for raw in text.splitlines():
            line = raw.split("#", 1)[0].strip()
            name, sep, value = line.partition(":")
            if not sep:
                continue
            name, value = name.strip().lower(), value.strip()
            if name == "user-agent":
                if current is None or current[1]:
                    current = ([], [])
                    groups.append(current)
                current[0].append(value.lower())
            elif name in ("allow", "disallow") and current is not None:
                current[1].append((name == "allow", value))
        specific = [rules for agents, rules in groups if any(a != "*" and a in agent for a in agents)]
        chosen = specific or [rules for agents, rules in groups if "*" in agents]
        return cls([rule for rules in chosen for rule in rules])

    def allowed(self, url: str) -> bool:
        """Whether ``url``'s path and query may be fetched."""
        if self.disallow_all:
            return False
        if not self._rules:
            return True
        parts = urlsplit(url)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        best: tuple[int, bool] | None = None
        for allow, path, pattern in self._rules:
            if pattern.match(target):
                rank = (len(path), allow)
                if best is None or rank > best:
                    best = rank
        return True if best is None else best[1]


def _robots_pattern(path: str) -> re.Pattern[str]:
    anchored = path.endswith("$")
    body = path[:-1] if anchored else path
    regex = ".*".join(re.escape(piece) for piece in body.split("*"))
    return re.compile(regex + ("$" if anchored else ""))


# -- the policy ------------------------------------------------------------------------------------


class AccessPolicy:
    """Per-site access options and caches, shared by a client and its crawl twin.

    ``board_passwords`` maps a fid to its password (posted when the board asks for it);
    ``respect_robots`` is ``True``/``False`` for every request, or ``None`` for the default: only
    crawls honour robots.txt. The repr shows neither passwords nor cached signatures.
    """

    def __init__(
        self,
        base_url: str,
        *,
        user_agent: str,
        board_passwords: Mapping[int, str] | None = None,
        respect_robots: bool | None = None,
        cc_retries: int = CC_RETRIES,
    ) -> None:
        passwords = dict(board_passwords or {})
        for fid, pw in passwords.items():
            if isinstance(fid, bool) or not isinstance(fid, int) or fid < 1 or not isinstance(pw, str):
                raise ConfigError("board_password must map positive board ids (int) to passwords (str)")
        if respect_robots not in (True, False, None):
            raise ConfigError(f"respect_robots must be True, False or None, got {respect_robots!r}")
        self.base_url = base_url
        self.user_agent = user_agent
        self.respect_robots = respect_robots
        self.cc_retries = cc_retries
        self._board_passwords = passwords
        self._dsign: dict[int, str] = {}
        self.robots: RobotsRules | None = None
        self.formhash: str | None = None

    def __repr__(self) -> str:
        return (
            f"AccessPolicy({self.base_url!r}, boards_with_password={sorted(self._board_passwords)}, "
            f"respect_robots={self.respect_robots!r})"
        )

    def board_password(self, fid: int) -> str | None:
        """The configured password of board ``fid``."""
        return self._board_passwords.get(fid)

    def dsign(self, tid: int) -> str | None:
        """The ``_dsign`` learnt for thread ``tid`` this session."""
        return self._dsign.get(tid)

    def knows_dsigns(self) -> bool:
        """Whether any ``_dsign`` was learnt this session (the site guards threads with one)."""
        return bool(self._dsign)

    def remember_dsign(self, tid: int, dsign: str) -> None:
        """Keep ``dsign`` for ``tid`` (stable per thread for the site's key)."""
        self._dsign[tid] = dsign

    def robots_enabled(self) -> bool:
        """Whether the current request must honour robots.txt (crawls by default)."""
        return crawling.get() if self.respect_robots is None else self.respect_robots

    @property
    def robots_url(self) -> str:
        """robots.txt lives at the host root, whatever folder the forum is in."""
        return urljoin(self.base_url, "/robots.txt")

    def read_robots(self, response: Response | None) -> RobotsRules:
        """Rules from the robots.txt answer (``None``: it could not be fetched), RFC 9309 style:
        4xx means no rules, a server error or no answer means everything is disallowed."""
        if response is None or response.status_code >= 500:
            logger.warning("robots.txt unreachable: treating every URL as disallowed")
            return RobotsRules([], disallow_all=True)
        if response.status_code >= 400:
            return RobotsRules([])
        return RobotsRules.parse(response.text, self.user_agent)


# -- page flow -------------------------------------------------------------------------------------


def _thread_page_one(url: str) -> int | None:
    """The tid when ``url`` is page 1 of a thread (the only page anti-collection guards)."""
    try:
        parsed = parse_url(url)
    except DiscuzError:
        return None
    if parsed.kind != "thread" or parsed.tid is None or (parsed.page or 1) != 1 or parsed.archiver:
        return None
    return parsed.tid


def _challenge(response: Response) -> DiscuzError | None:
    """The anti-collection / CC-defence / board-password error ``response`` stands for, if any.

    Cheap checks first: only small pages without the generator meta, a bare script, or a page
    holding the board password form are classified (normal pages are left to the parsers).
    """
    body = response.text
    head = body.lstrip("\ufeff \t\r\n")[:8].lower()
    suspicious = (
        head.startswith("<script")
        or (len(body) < _SMALL_PAGE and 'name="generator"' not in body and "<html" in body.lower())
        or "action=pwverify" in body
    )
    if not suspicious:
        return None
    try:
        check_page(body, response.url, status=response.status_code, retry_after=response.retry_after)
    except AntiCrawlChallenge as exc:
        return exc
    except PermissionDenied as exc:
        return exc if exc.key == "forum_passwd" else None
    except DiscuzError:
        return None
    return None


def _password_form(response: Response) -> tuple[int, str, dict[str, str]] | None:
    """(fid, action URL, hidden fields) of the board password form (tpl forumdisplay_passwd)."""
    tree = parse_html(response.text)
    form = tree.css_first('form[action*="action=pwverify"]')
    action = attr(form, "action")
    if form is None or action is None:
        return None
    base = attr(tree.css_first("base[href]"), "href") or response.url
    target = urljoin(base, action)
    fid = dict(parse_qsl(urlsplit(target).query)).get("fid", "")
    if not fid.isdigit():
        return None
    hidden = {
        name: node.attributes.get("value") or ""
        for node in form.css('input[type="hidden"]')
        if (name := attr(node, "name"))
    }
    return int(fid), target, hidden


def page_flow(
    policy: AccessPolicy,
    url: str,
    *,
    params: Mapping[str, str | int] | None = None,
    headers: Mapping[str, str] | None = None,
) -> Flow[Response]:
    """GET ``url`` the way a patient browser would; returns the first answer that is not a
    challenge this flow can pass (the parsers classify everything else).

    Raises :class:`PermissionDenied` (key ``robots_txt``) for a URL robots.txt disallows when
    robots are honoured, and :class:`AntiCrawlChallenge` when the anti-collection script comes
    back after being solved, when CC pages outlast :data:`CC_RETRIES`, for the proxy refusal and
    for a question this module cannot answer.
    """
    if policy.robots_enabled():
        if policy.robots is None:  # loaded once per policy: later requests skip the driver's lock
            yield LoadRobots()
        assert policy.robots is not None
        if not policy.robots.allowed(url):
            raise PermissionDenied("robots.txt disallows this URL for our user agent", url=url,
                                   key="robots_txt")
    merged: dict[str, str | int] = dict(params or {})
    # Parsing the URL costs as much as the rest of this flow; until the site has served its
    # anti-collection script there is no _dsign to look up, and solving it looks the tid up then.
    tid = _thread_page_one(url) if policy.knows_dsigns() else None
    if tid is not None and "_dsign" not in url and "_dsign" not in merged:
        cached = policy.dsign(tid)
        if cached is not None:
            merged["_dsign"] = cached
    step: Step = Get(url, merged or None, headers, raw=True)
    solved = False
    cc_pages = 0
    board_tried = False
    while True:
        response: Response = yield step
        error = _challenge(response)
        if error is None:
            return response
        if error.key == "antitheft":
            if solved:
                raise AntiCrawlChallenge(
                    "the anti-collection script came back after solving it once", url=response.url,
                    key="antitheft",
                )
            target: str = yield Solve(response.text, response.url)
            solved = True
            tid = _thread_page_one(url)
            found = _DSIGN.search(target)
            if tid is not None and found is not None:
                policy.remember_dsign(tid, found.group(1))
            logger.debug("anti-collection script solved for tid %s", tid)
            step = Get(target, None, headers, raw=True)
            continue
        if error.key == "forum_passwd":
            form = _password_form(response)
            password = policy.board_password(form[0]) if form is not None else None
            if form is None or password is None or board_tried:
                return response  # the board parser raises the site's PermissionDenied
            board_tried = True
            fid, action, hidden = form
            logger.debug("posting the password of board %d", fid)
            yield Post(action, {**hidden, "pw": password, "loginsubmit": "true"}, encoding=response.encoding)
            step = Get(url, merged or None, headers, raw=True)
            continue
        cc_pages += 1
        step = _cc_answer(policy, response, error, cc_pages, url, merged, headers)
        if isinstance(step, Wait):
            yield step
            step = Get(url, merged or None, headers, raw=True)


def _cc_answer(
    policy: AccessPolicy,
    response: Response,
    error: DiscuzError,
    count: int,
    url: str,
    params: Mapping[str, str | int],
    headers: Mapping[str, str] | None,
) -> Step:
    """What to do about the ``count``-th CC-defence page of one request: wait, answer or give up."""
    if count > policy.cc_retries:
        raise AntiCrawlChallenge(
            f"the site's CC defence still answers after {policy.cc_retries} retries",
            url=response.url, key=error.key, site_message=error.site_message,
        )
    try:
        challenge = parse_cc_page(response.content, content_type=response.headers.get("content-type"))
    except ParseError:
        raise error from None  # an ajax fragment or a variant this module cannot read
    if challenge.kind == "proxy":
        raise AntiCrawlChallenge(
            "the site refuses requests that look proxied (CC defence, attackevasive bit 2); "
            "connect without a proxy that adds X-Forwarded-For/Via headers",
            url=response.url, key=error.key, site_message=challenge.message,
        )
    if challenge.kind == "question":
        if challenge.answer_form is None:
            raise AntiCrawlChallenge(
                "the site's CC defence asks a question this library cannot answer",
                url=response.url, key=error.key, site_message=challenge.question,
            )
        logger.debug("answering the CC-defence question")
        return Post(response.url, challenge.answer_form, encoding=response.encoding)
    wait = max(_CC_MIN_WAIT, challenge.wait_seconds or 0.0)
    logger.debug("CC-defence %s page: waiting %.2fs before retrying", challenge.kind, wait)
    return Wait(wait)


# -- login -----------------------------------------------------------------------------------------


def _login_url(base_url: str) -> str:
    return urljoin(base_url, "member.php?mod=logging&action=login")


def whoami_flow(policy: AccessPolicy) -> Flow[LoggedInUser | None]:
    """Read the login page and return the member its header shows, ``None`` for a guest.

    A guest gets the login form, a member the "already logged in" notice; both carry the shell's
    ``discuz_uid`` and ``#um`` box, and the page is small. Keeps the page's ``formhash`` (it
    changes with the login) for later form posts.
    """
    response: Response = yield Get(_login_url(policy.base_url))
    if response.status_code >= 400:
        check_page(response.text, response.url, status=response.status_code,
                   retry_after=response.retry_after)
    shell = parse_shell(parse_html(response.text), response.url)
    if not shell.evidence:
        raise NotDiscuz("the login page is not a Discuz page", url=response.url,
                        status_code=response.status_code)
    policy.formhash = shell.formhash
    if not shell.discuz_uid:
        return None
    return LoggedInUser(uid=shell.discuz_uid, name=shell.logged_in_name)


def login_flow(
    policy: AccessPolicy,
    username: str,
    password: str,
    *,
    question_id: int = 0,
    answer: str | None = None,
    seccode: str | None = None,
    via: Literal["form", "api"] = "form",
) -> Flow[LoggedInUser]:
    """Log in and confirm it on the next page; see :meth:`discuz_scraper.DiscuzClient.login`."""
    if not isinstance(username, str) or not username.strip():
        raise ConfigError("username must be a non-empty string")
    if not isinstance(password, str) or not password:
        raise ConfigError("password must be a non-empty string")
    if isinstance(question_id, bool) or not isinstance(question_id, int) or not 0 <= question_id <= 7:
        raise ConfigError("question_id must be an int from 0 (none) to 7")
    if via not in ("form", "api"):
        raise ConfigError(f"via must be 'form' or 'api', got {via!r}")
    if via == "api":
        body = {
            "username": username, "password": password, "questionid": str(question_id),
            "answer": answer or "", "loginsubmit": "yes",
        }
        url = api_url(policy.base_url, "login", loginsubmit="yes", loginfield="auto")
        reply: Response = yield Post(url, body)
        parse_api_login_result(reply.text, reply.url)
    else:
        page: Response = yield Get(_login_url(policy.base_url))
        form = parse_login_form(page.text, page.url)
        if (form.seccode or form.secqaa) and seccode is None:
            kind = "seccode" if form.seccode else "secqaa"
            raise CaptchaRequired(
                "the login form asks for a captcha; fetch captcha_url, solve it and pass seccode=",
                url=page.url, key=kind, captcha_url=form.seccode_url or form.secqaa_url,
            )
        body = form.payload(username, password, questionid=question_id, answer=answer or "")
        if seccode is not None and form.seccode:
            body.update(seccodeverify=seccode, seccodehash=form.seccode_idhash or "",
                        seccodemodid=_SECCODE_MODID)
        elif seccode is not None and form.secqaa:
            body.update(secanswer=seccode, secqaahash=form.secqaa_idhash or "")
        reply = yield Post(form.action_url, body, {"Referer": page.url}, encoding=page.encoding)
        parse_login_result(reply.text, reply.url, reply.status_code,
                           content_type=reply.headers.get("content-type"))
    user = yield from whoami_flow(policy)
    if user is None:
        raise LoginFailed("the site accepted the login, but the next page still shows a guest",
                          url=_login_url(policy.base_url))
    logger.info("logged in as uid %d", user.uid)
    return user


# -- the drivers -----------------------------------------------------------------------------------


class AccessFetcher(Fetcher):
    """A :class:`~discuz_scraper.http.Fetcher` whose :meth:`get` runs :func:`page_flow`."""

    def __init__(self, config: FetchConfig | None, policy: AccessPolicy, **kwargs: Any) -> None:
        super().__init__(config, **kwargs)
        self.access = policy
        self._robots_lock = threading.Lock()

    def get(
        self,
        url: str,
        *,
        params: Mapping[str, str | int] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Response:
        """GET ``url`` through :func:`page_flow` (robots, anti-collection, CC pages, board passwords)."""
        return self.run(page_flow(self.access, url, params=params, headers=headers))

    def run(self, flow: Flow[T]) -> T:
        """Drive ``flow`` to its result, sending each step."""
        reply: Any = None
        while True:
            try:
                step = flow.send(reply)
            except StopIteration as stop:
                return stop.value  # type: ignore[no-any-return]
            reply = self._send(step)

    def _send(self, step: Step) -> Any:
        if isinstance(step, Wait):
            self._sleep(step.seconds)
            return None
        if isinstance(step, Solve):
            return solve_antitheft(step.page, step.url)
        if isinstance(step, LoadRobots):
            with self._robots_lock:
                if self.access.robots is None:
                    self.access.robots = self.access.read_robots(self._robots())
            return None
        if isinstance(step, Post):
            return self.post(step.url, data=step.data, headers=step.headers, encoding=step.encoding)
        if step.raw:
            return super().get(step.url, params=step.params, headers=step.headers)
        return self.get(step.url, params=step.params, headers=step.headers)

    def _robots(self) -> Response | None:
        try:
            return super().get(self.access.robots_url)
        except DiscuzError:
            return None


class AsyncAccessFetcher(AsyncFetcher):
    """An :class:`~discuz_scraper.http.AsyncFetcher` whose :meth:`get` runs :func:`page_flow`."""

    def __init__(self, config: FetchConfig | None, policy: AccessPolicy, **kwargs: Any) -> None:
        super().__init__(config, **kwargs)
        self.access = policy
        self._robots_lock: asyncio.Lock | None = None

    async def get(
        self,
        url: str,
        *,
        params: Mapping[str, str | int] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Response:
        """GET ``url`` through :func:`page_flow` (robots, anti-collection, CC pages, board passwords)."""
        return await self.run(page_flow(self.access, url, params=params, headers=headers))

    async def run(self, flow: Flow[T]) -> T:
        """Drive ``flow`` to its result, sending each step."""
        reply: Any = None
        while True:
            try:
                step = flow.send(reply)
            except StopIteration as stop:
                return stop.value  # type: ignore[no-any-return]
            reply = await self._send(step)

    async def _send(self, step: Step) -> Any:
        if isinstance(step, Wait):
            waited: Awaitable[None] = self._sleep(step.seconds)
            await waited
            return None
        if isinstance(step, Solve):
            return await asyncio.to_thread(solve_antitheft, step.page, step.url)
        if isinstance(step, LoadRobots):
            # Made on first use, inside the running loop; crawl workers queue behind one fetch.
            if self._robots_lock is None:
                self._robots_lock = asyncio.Lock()
            async with self._robots_lock:
                if self.access.robots is None:
                    self.access.robots = self.access.read_robots(await self._robots())
            return None
        if isinstance(step, Post):
            return await self.post(step.url, data=step.data, headers=step.headers, encoding=step.encoding)
        if step.raw:
            return await super().get(step.url, params=step.params, headers=step.headers)
        return await self.get(step.url, params=step.params, headers=step.headers)

    async def _robots(self) -> Response | None:
        try:
            return await super().get(self.access.robots_url)
        except DiscuzError:
            return None

