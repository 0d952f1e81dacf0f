"""Getting through Discuz's anti-collection script and CC-defence pages without a browser.

**Anti-collection (防采集, ``_dsign``).** Past a per-IP daily view limit, page 1 of a thread is one
obfuscated ``<script>`` that rebuilds the same URL plus ``&_dsign=`` and 8 hex characters from dozens
of string pieces and tiny functions, then redirects to it. Some pieces only come out right when a
function can read its caller's name (``getName.caller``), so string reassembly is fragile: the script
is *run* instead, in a JavaScript engine with a fake ``window``/``document``/``location`` that records
every redirect. The one carrying ``_dsign`` wins; the decoy assignment to ``window``'s own ``href``
that follows it is ignored.

The engine is **mini-racer** (V8), the optional extra ``pip install "discuz-scraper[js]"``, chosen
because:

- it ships one ``py3-none`` wheel per platform (manylinux x86_64 and aarch64, macOS, Windows), so the
  same wheel serves Python 3.10-3.13 and later, with nothing to compile;
- it is maintained (releases in 2025-2026) and is a full V8, so the non-standard
  ``Function.caller`` the challenge relies on behaves as in the browsers the site targets
  (QuickJS and Duktape do not implement it and would build a wrong URL);
- a bare V8 isolate has no network, file system, DOM or ``require``; each solve gets a fresh
  context, a wall-clock timeout and a heap cap.

Nothing is remembered here: the caller caches ``_dsign`` per thread.

**CC defence** (``security.attackevasive``, ``misc_security.php``): :func:`parse_cc_page` tells the
four bare pages apart and answers the arithmetic question form.
"""

from __future__ import annotations

import importlib
import json
import re
from typing import Any, Literal
from urllib.parse import urljoin, urlsplit

from pydantic import BaseModel, ConfigDict

from .errors import AntiCrawlChallenge, ParseError
from .parsers._dom import attr, parse_html, text
from .parsers.shell import decode_page

__all__ = ["DEFAULT_TIMEOUT", "CcChallenge", "parse_cc_page", "solve_antitheft"]

DEFAULT_TIMEOUT = 2.0
"""Seconds the challenge script may run; real ones finish in about a millisecond."""

# The real page is ~2.5 KB; anything far larger is not the challenge and is not worth running.
_MAX_SCRIPT_CHARS = 65_536
_MAX_HEAP_BYTES = 64 * 1024 * 1024
_SCRIPT_BODY = re.compile(r"<script\b[^>]*>(.*?)</script\s*>", re.S | re.I)
_DSIGN = re.compile(r"[?&]_dsign=[0-9a-fA-F]{8}(?:[&#]|$)")
_INSTALL_HINT = 'pip install "discuz-scraper[js]"'

# Runs before the page's script. Every way the challenge can redirect ends in `record`: assigning
# `location`/`window.location`/`document.location` (global accessors), assigning `href` on the
# location object or on window itself (the decoy), and calling `replace`/`assign` (directly or by
# a computed name). The page URL is what `location.href` reads back, as in a browser.
_PRELUDE = """
(function (pageUrl) {
  var g = globalThis;
  var seen = [];
  function record(value) { seen.push(String(value)); }
  var loc = {};
  Object.defineProperty(loc, "href", {get: function () { return pageUrl; }, set: record});
  loc.replace = record;
  loc.assign = record;
  loc.reload = function () {};
  loc.toString = function () { return pageUrl; };
  function locationSlot(target) {
    Object.defineProperty(target, "location", {get: function () { return loc; }, set: record});
  }
  locationSlot(g);
  Object.defineProperty(g, "href", {get: function () { return pageUrl; }, set: record});
  g.window = g; g.self = g; g.top = g; g.parent = g;
  g.document = {cookie: "", referrer: "", write: function () {}, writeln: function () {}};
  locationSlot(g.document);
  g.navigator = {userAgent: "Mozilla/5.0", language: "zh-CN", platform: "Win32"};
  g.__dzRedirects = seen;
})(%s);
"""


def _load_engine() -> Any:
    """The ``py_mini_racer`` module, or a clear error telling how to install it."""
    try:
        return importlib.import_module("py_mini_racer")
    except ImportError as exc:
        raise AntiCrawlChallenge(
            "the site's anti-collection script needs a JavaScript engine to solve; "
            f"install the optional extra: {_INSTALL_HINT}",
            key="antitheft",
        ) from exc


def _script_source(script_page: str, page_url: str) -> str:
    bodies = _SCRIPT_BODY.findall(script_page)
    if not bodies:
        raise ParseError("the anti-collection page holds no <script>", url=page_url, key="antitheft")
    source = "\n;\n".join(bodies)
    if len(source) > _MAX_SCRIPT_CHARS:
        raise AntiCrawlChallenge(
            f"the anti-collection script is {len(source)} characters, too large to run "
            f"(limit {_MAX_SCRIPT_CHARS})",
            url=page_url,
            key="antitheft",
        )
    return source


def _run(source: str, page_url: str, timeout: float) -> list[str]:
    engine = _load_engine()
    ctx = engine.MiniRacer()
    try:
        ctx.eval(_PRELUDE % json.dumps(page_url))
        ctx.eval(source, timeout_sec=timeout, max_memory=_MAX_HEAP_BYTES)
        captured = ctx.eval("JSON.stringify(__dzRedirects)")
    except engine.JSTimeoutException as exc:
        # A short eval lets the engine deliver the terminated run's callback before close();
        # closing first makes mini-racer report it to a closed event loop.
        ctx.eval("0")
        raise AntiCrawlChallenge(
            f"the anti-collection script did not finish within {timeout:g} s", url=page_url, key="antitheft"
        ) from exc
    except engine.JSEvalException as exc:
        # The engine's message quotes the failing line of the script (site code, no secrets).
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise AntiCrawlChallenge(
            f"the anti-collection script failed to run: {first_line}", url=page_url, key="antitheft"
        ) from exc
    finally:
        ctx.close()
    return [str(item) for item in json.loads(captured)]


def solve_antitheft(script_page: str, page_url: str, *, timeout: float = DEFAULT_TIMEOUT) -> str:
    """The absolute URL (with ``_dsign=XXXXXXXX``) the anti-collection ``script_page`` redirects to.

    ``page_url`` is the URL that answered with the script (relative targets resolve against it, and
    the target must stay on its host). Runs the script in a sandboxed V8 context for at most
    ``timeout`` seconds. Raises :class:`AntiCrawlChallenge` when the optional ``js`` extra is not
    installed, when the script fails, times out or redirects nowhere with a ``_dsign``, or leads
    off-site; :class:`ParseError` when the page has no script.
    """
    source = _script_source(script_page, page_url)
    redirects = _run(source, page_url, timeout)
    target = next((r for r in redirects if _DSIGN.search(urljoin(page_url, r))), None)
    if target is None:
        raise AntiCrawlChallenge(
            f"the anti-collection script made {len(redirects)} redirect(s), none with a _dsign",
            url=page_url,
            key="antitheft",
        )
    absolute = urljoin(page_url, target)
    origin, dest = urlsplit(page_url), urlsplit(absolute)
    if (dest.scheme, dest.hostname, dest.port) != (origin.scheme, origin.hostname, origin.port):
        raise AntiCrawlChallenge(
            "the anti-collection script redirects off-site; not following it", url=page_url, key="antitheft"
        )
    return absolute


CcKind = Literal["refresh", "reload", "proxy", "question"]
"""``refresh``: two requests < 1 s apart (bit 1); ``proxy``: proxy headers refused (bit 2);
``reload``: first-visit reload (bit 4); ``question``: the visit question form (bit 8)."""

# misc_security.php subjects (zh_CN lang_security.php) -> kind; the question page's subject is the
# question itself, recognised by its form instead.
_CC_SUBJECTS: tuple[tuple[str, CcKind], ...] = (
    ("频繁刷新限制", "refresh"),
    ("代理服务器访问限制", "proxy"),
    ("页面重载开启", "reload"),
)
_ARITHMETIC = re.compile(r"^\s*(\d+(?:\s*\+\s*\d+)+)\s*=\s*\?\s*$")
_RELOAD_DELAY = re.compile(r"setTimeout\(\s*[\"']reload\(\)[\"']\s*,\s*(\d+)\s*\)")


class CcChallenge(BaseModel):
    """What a CC-defence page asks for.

    ``answer_form`` holds the fields to POST back to the same URL (``answer``, ``secqsubmit`` and
    any hidden inputs) when the page asks a question this module can answer, else ``None``.
    ``wait_seconds`` is the page's own reload delay (``refresh``/``reload``), ``question`` the
    question text and ``message`` the page's explanation.
    """

    model_config = ConfigDict(frozen=True)

    kind: CcKind
    answer_form: dict[str, str] | None = None
    question: str | None = None
    message: str | None = None
    wait_seconds: float | None = None


def _answer(question: str) -> str | None:
    """The sum ``N + M (+ ...) = ?`` asks for; ``None`` for any other (admin-written) question."""
    m = _ARITHMETIC.match(question)
    if m is None:
        return None
    return str(sum(int(term) for term in m.group(1).split("+")))


def parse_cc_page(html: str | bytes, *, content_type: str | None = None) -> CcChallenge:
    """Read a CC-defence page (``attackevasive``): which kind, and the answer form for a question.

    ``html`` may be bytes (decoded with ``content_type``; these pages carry no meta charset).
    Raises :class:`ParseError` when the page is not one of the four CC-defence pages.
    """
    tree = parse_html(decode_page(html, content_type))
    title = text(tree.css_first("title"))
    subject = text(tree.css_first("td[bgcolor] b")) or title
    box = tree.css_first("td[bgcolor]")
    submit = tree.css_first('input[name="secqsubmit"]')
    if submit is not None:
        form: dict[str, str] = {}
        for hidden in tree.css('input[type="hidden"]'):
            name = attr(hidden, "name")
            if name:
                form[name] = hidden.attributes.get("value") or ""
        answer = _answer(subject)
        if answer is not None:
            form["answer"] = answer
            # The server only checks that secqsubmit is non-empty.
            form["secqsubmit"] = attr(submit, "value") or "yes"
        return CcChallenge(kind="question", answer_form=form if answer is not None else None,
                           question=subject)
    kind = next((k for needle, k in _CC_SUBJECTS if needle in title or needle in subject), None)
    if kind is None:
        raise ParseError("not a CC-defence page (no known subject, no question form)")
    message = text(box).replace(subject, "", 1).strip() if box is not None else None
    delay = _RELOAD_DELAY.search(" ".join(s.text(deep=True) for s in tree.css("script")))
    return CcChallenge(
        kind=kind,
        message=message or None,
        wait_seconds=int(delay.group(1)) / 1000 if delay else None,
    )
