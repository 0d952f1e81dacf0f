"""Fuzzing every public parser: mutated fixture pages, swapped charsets, huge attributes, deep
nesting, random bytes, random text and random JSON.

The contract under test: a parser either returns its model or raises a :class:`DiscuzError`
subclass; never another exception, never a hang (hypothesis ``deadline`` bounds each input).

Bounded for CI: ``max_examples`` per property keeps the file well under 60 s on 2 cores, and
hypothesis prints the failing example and the ``@reproduce_failure`` blob on failure. Each run
draws one seed for every property (printed in pytest's summary; ``DISCUZ_FUZZ_SEED=N`` replays a
run). Any input
that makes a target raise something else is written to ``tests/fuzz_corpus/`` by
:func:`_call` before the test fails, and :func:`test_corpus_replays` replays the corpus forever.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import re
import tracemalloc
from collections.abc import Callable
from datetime import timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

from discuz_scraper.charset import decode_body
from discuz_scraper.errors import DiscuzError
from discuz_scraper.parsers import api
from discuz_scraper.parsers._dom import parse_html
from discuz_scraper.parsers.board import parse_board_page
from discuz_scraper.parsers.content import parse_message
from discuz_scraper.parsers.index import parse_forum_index
from discuz_scraper.parsers.profile import parse_profile
from discuz_scraper.parsers.shell import check_page
from discuz_scraper.parsers.thread import parse_thread_page
from discuz_scraper.urls import parse_url

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
CORPUS = Path(__file__).resolve().parent / "fuzz_corpus"
TZ = timezone(timedelta(hours=8))

FUZZ_SEED = int(os.environ.get("DISCUZ_FUZZ_SEED") or random.SystemRandom().randrange(2**32))
# Printed by conftest's terminal summary, so a failing CI run names the seed that replays it.
RELIABILITY_SEEDS = {"fuzz (hypothesis, replay with DISCUZ_FUZZ_SEED)": (FUZZ_SEED,)}
_SETTINGS = settings(
    max_examples=200,
    deadline=timedelta(seconds=2),  # generous for a slow CI core; a hang is minutes, not seconds
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    derandomize=False,
    print_blob=True,
)


def fuzz(test: Callable[..., None]) -> Callable[..., None]:
    """The shared bounds, and this run's seed, for one property."""
    return seed(FUZZ_SEED)(_SETTINGS(test))


def _message(html: str | bytes, url: str) -> object:
    """``parse_message`` takes a node: wrap the input in a message element of a fresh tree."""
    body = html.decode("utf-8", "replace") if isinstance(html, bytes) else html
    node = parse_html(f'<div id="postmessage_1" class="t_f">{body}</div>').css_first("#postmessage_1")
    assert node is not None
    return parse_message(node, base_url="http://forum.test/", tz=TZ, tid=1)


def _decode(html: str | bytes, url: str) -> object:
    data = html.encode("utf-8", "surrogatepass") if isinstance(html, str) else html
    text, charset = decode_body(data, url or None)  # the url stands in for a junk Content-Type
    assert isinstance(text, str) and isinstance(charset, str)
    return text


def _url(html: str | bytes, url: str) -> object:
    value = html.decode("latin-1") if isinstance(html, bytes) else html
    return parse_url(value[:4096])


# name -> (callable taking (input, url), the URL the fixture pages of that kind stand for)
TARGETS: dict[str, Callable[[Any, str], object]] = {
    "thread": parse_thread_page,
    "board": parse_board_page,
    "index": parse_forum_index,
    "profile": parse_profile,
    "check": check_page,
    "message": _message,
    "decode": _decode,
    "url": _url,
    "api_check": api.parse_api_check,
    "api_thread": api.parse_api_thread_page,
    "api_board": api.parse_api_board_page,
    "api_index": api.parse_api_forum_index,
    "api_profile": api.parse_api_profile,
}
HTML_TARGETS = ("thread", "board", "index", "profile", "check", "message")
API_TARGETS = ("api_check", "api_thread", "api_board", "api_index", "api_profile")


def _save(target: str, data: str | bytes) -> Path:
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data
    CORPUS.mkdir(exist_ok=True)
    path = CORPUS / f"{target}-{hashlib.sha1(raw).hexdigest()[:12]}.bin"
    path.write_bytes(raw)
    return path


def _call(target: str, data: str | bytes, url: str) -> None:
    """Run one target; a non-Discuz exception saves the input to the corpus and fails."""
    try:
        TARGETS[target](data, url)
    except DiscuzError:
        pass
    except Exception as exc:
        saved = _save(target, data)
        raise AssertionError(f"{target} raised {type(exc).__name__}: {exc!r} (saved to {saved})") from exc


# --- fixture pages and their mutations ------------------------------------------------------

FIXTURE_PAGES: list[tuple[str, str, str]] = [
    ("thread", "thread/x34/t1001-p1.html", "http://forum.test/thread-1001-1-1.html"),
    ("thread", "thread/x34/t1004-body-variants.html", "http://forum.test/thread-1004-1-1.html"),
    ("thread", "thread/x34/t1006-authors.html", "http://forum.test/thread-1006-1-1.html"),
    ("thread", "thread/x35/t2001-p1.html", "http://forum.test/bbs/thread-2001-1-1.html"),
    ("thread", "thread/x35/t2003-imagepoll-pending.html", "http://forum.test/bbs/thread-2003-1-1.html"),
    ("thread", "thread/x34/t1002-poll.html", "http://forum.test/thread-1002-1-1.html"),
    ("board", "board/x34_forum2_p1.html", "http://forum.test/forum-2-1.html"),
    ("board", "board/x35_forum3_p1.html", "http://forum.test/bbs/forum-3-1.html"),
    ("index", "index/x34_index.html", "http://forum.test/forum.php"),
    ("index", "index/x35_index.html", "http://forum.test/bbs/forum.php"),
    ("profile", "profile/x34_space_uid5.html", "http://forum.test/home.php?mod=space&uid=5&do=profile"),
    ("profile", "profile/x35_space_uid3.html", "http://forum.test/bbs/home.php?mod=space&uid=3&do=profile"),
    ("check", "errors/x34_thread_nonexistence.html", "http://forum.test/thread-9-1-1.html"),
    ("check", "errors/x34_cc_refresh.html", "http://forum.test/forum.php"),
]
_PAGES = {path: (FIXTURES / path).read_bytes() for _, path, _ in FIXTURE_PAGES}
_TEXT = {path: decode_body(raw, None)[0] for path, raw in _PAGES.items()}
# Tags and the text between them: the units the mutations move around.
_TOKEN = re.compile(r"(<[^>]*>)")


def _tokens(path: str) -> list[str]:
    return [t for t in _TOKEN.split(_TEXT[path]) if t]


_TOKENS = {path: _tokens(path) for path in _TEXT}


@st.composite
def mutated_pages(draw: st.DrawFn) -> tuple[str, str, str]:
    """A fixture page with 1-4 structural edits: delete, duplicate, move a run of tokens, or
    truncate; tags are cut loose from their partners, as broken templates and dropped
    connections do."""
    kind, path, url = draw(st.sampled_from(FIXTURE_PAGES))
    tokens = list(_TOKENS[path])
    for _ in range(draw(st.integers(1, 4))):
        if len(tokens) < 2:
            break
        start = draw(st.integers(0, len(tokens) - 1))
        end = draw(st.integers(start + 1, min(len(tokens), start + 200)))
        op = draw(st.sampled_from(["delete", "duplicate", "move", "truncate"]))
        run = tokens[start:end]
        if op == "delete":
            del tokens[start:end]
        elif op == "duplicate":
            tokens[end:end] = run * draw(st.integers(1, 3))
        elif op == "move":
            del tokens[start:end]
            at = draw(st.integers(0, len(tokens)))
            tokens[at:at] = run
        else:
            tokens = tokens[:start]
    return kind, "".join(tokens), url


@fuzz
@given(mutated_pages())
def test_mutated_fixture_pages(page: tuple[str, str, str]) -> None:
    kind, html, url = page
    _call(kind, html, url)
    _call("check", html, url)
    _call("decode", html, url)


@fuzz
@given(st.sampled_from(FIXTURE_PAGES), st.data())
def test_truncated_bytes(page: tuple[str, str, str], data: st.DataObject) -> None:
    """A download cut anywhere, even inside a multi-byte GBK / UTF-8 character."""
    kind, path, url = page
    raw = _PAGES[path]
    _call(kind, raw[: data.draw(st.integers(0, len(raw)))], url)


@pytest.mark.parametrize(("kind", "path", "url"), FIXTURE_PAGES)
def test_swapped_charsets(kind: str, path: str, url: str) -> None:
    """UTF-8 pages re-encoded as GBK and GBK pages as UTF-8: the declared charset now lies."""
    text = _TEXT[path]
    for encoding in ("gbk", "utf-8", "big5", "latin-1"):
        _call(kind, text.encode(encoding, "replace"), url)


@pytest.mark.parametrize(("kind", "path", "url"), FIXTURE_PAGES[::3])
def test_huge_attribute(kind: str, path: str, url: str) -> None:
    """A 1 MB attribute on the body and on a post element; Python-side memory stays bounded."""
    blob = "x" * (1 << 20)
    html = _TEXT[path].replace("<body", f'<body data-x="{blob}"', 1)
    html = html.replace('<div id="post_', f'<div title="{blob}" id="post_', 1)
    html = html.replace("<img ", f'<img src="{blob}" ', 1)
    tracemalloc.start()
    try:
        _call(kind, html, url)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # A handful of copies of the 1-3 MB input is fine; a blow-up per node is not.
    assert peak < 64 * (1 << 20)


@pytest.mark.parametrize("target", HTML_TARGETS)
def test_deep_nesting(target: str) -> None:
    """10,000 nested elements inside a real page and inside a message: no RecursionError."""
    deep = "<div>" * 10_000 + "deep" + "</div>" * 10_000
    quotes = '<div class="quote"><blockquote>' * 2_000 + "q" + "</blockquote></div>" * 2_000
    path, url = "thread/x34/t1001-p1.html", "http://forum.test/thread-1001-1-1.html"
    cell = '<td class="t_f" id="postmessage_3101">'
    html = _TEXT[path].replace(cell, cell + deep + quotes, 1)
    _call(target, html if target != "message" else deep + quotes, url)


# --- random input ---------------------------------------------------------------------------

_HTMLISH = st.lists(
    st.one_of(
        st.sampled_from([
            "<div id=\"postlist\">", "<div id=\"post_1\">", "<table id=\"pid1\" class=\"plhin\">",
            "<td class=\"t_f\" id=\"postmessage_1\">", "</div>", "</td>", "</table>", "<br>",
            '<meta name="generator" content="Discuz! X3.4">', '<img src="x" zoomfile="y" aid="1">',
            '<div class="quote"><blockquote>', '<a href="forum.php?mod=redirect&goto=findpost&pid=1">',
            "<em id=\"authorposton1\">发表于 2026-1-1 10:00</em>", "<font class=\"jammer\">", "<script>",
            '<span id="attach_1"><a href="forum.php?mod=attachment&aid=MXwy">f</a></span>',
            '<table id="threadlisttableid"><tbody id="normalthread_1"><th><a class="xst">',
            '<div id="messagetext" class="alert_error"><p>', "<?xml", "{", '<div id="category_1">',
        ]),
        st.text(max_size=20),
    ),
    max_size=60,
).map("".join)


@fuzz
@given(st.sampled_from(sorted(TARGETS)), st.binary(max_size=4096))
def test_random_bytes(target: str, data: bytes) -> None:
    _call(target, data, "http://forum.test/forum.php?mod=viewthread&tid=1")


@fuzz
@given(st.sampled_from(sorted(TARGETS)), st.text(max_size=2048))
def test_random_text(target: str, data: str) -> None:
    _call(target, data, "http://forum.test/thread-1-1-1.html")


@fuzz
@given(st.sampled_from(HTML_TARGETS), _HTMLISH)
def test_random_discuz_like_markup(target: str, html: str) -> None:
    _call(target, html, "http://forum.test/thread-1-1-1.html")


@fuzz
@given(st.sampled_from(["http://", "https://", "", "//", "forum.php?", "thread-"]), st.text(max_size=200))
def test_random_urls(prefix: str, rest: str) -> None:
    _call("url", prefix + rest, "")


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=12), inner, max_size=6),
    max_leaves=40,
)
_API_KEYS = ["Variables", "Message", "error", "thread", "postlist", "forum", "forum_threadlist",
             "forumlist", "catlist", "space", "member_uid", "tid", "pid", "fid", "message", "dateline",
             "attachments", "special_poll", "ppp", "page", "version", "charset", "messageval"]


@st.composite
def api_payloads(draw: st.DrawFn) -> dict[str, Any]:
    """Random JSON shaped like an API answer: known keys at random places with random values."""
    def node(depth: int) -> Any:
        if depth > 3 or draw(st.booleans()):
            return draw(_JSON)
        keys = draw(st.lists(st.sampled_from(_API_KEYS) | st.text(max_size=8), max_size=6))
        return {key: node(depth + 1) for key in keys}

    payload = {"Version": draw(st.sampled_from(["4", 4, None])), "Variables": node(0)}
    if draw(st.booleans()):
        payload["Message"] = draw(_JSON)
    return payload


@fuzz
@given(st.sampled_from(API_TARGETS), api_payloads(), st.booleans())
def test_random_api_json(target: str, payload: dict[str, Any], as_text: bool) -> None:
    data: Any = json.dumps(payload) if as_text else payload
    _call(target, data, "http://forum.test/api/mobile/index.php?version=4&module=viewthread&tid=1")


@fuzz
@given(st.sampled_from(sorted((FIXTURES / "api").glob("*.json"))), st.data())
def test_mutated_api_fixtures(path: Path, data: st.DataObject) -> None:
    """Real API answers with one value replaced by a random JSON value, at any depth."""
    payload = json.loads(path.read_text("utf-8"))
    rng = random.Random(data.draw(st.integers(0, 2**32)))
    holder: Any = payload
    for _ in range(rng.randint(1, 6)):
        if isinstance(holder, dict) and holder:
            key = rng.choice(sorted(holder))
        elif isinstance(holder, list) and holder:
            key = rng.randrange(len(holder))
        else:
            break
        if rng.random() < 0.35 or not isinstance(holder[key], (dict, list)):
            holder[key] = data.draw(_JSON)
            break
        holder = holder[key]
    for target in API_TARGETS:
        _call(target, payload, "http://forum.test/bbs/api/mobile/index.php?version=4")


# --- the regression corpus ------------------------------------------------------------------


def _corpus() -> list[Path]:
    return sorted(CORPUS.glob("*.bin"))


def test_corpus_is_not_empty() -> None:
    # The corpus holds every input that ever broke a parser; an empty one means it was lost.
    assert _corpus(), "tests/fuzz_corpus/ lost its regression inputs"


@pytest.mark.parametrize("path", _corpus(), ids=lambda p: p.name)
def test_corpus_replays(path: Path) -> None:
    """Every saved input, through its target (file name ``TARGET-HASH.bin``), as bytes and text."""
    target = path.name.split("-", 1)[0]
    raw = path.read_bytes()
    url = "http://forum.test/thread-1-1-1.html"
    if target in API_TARGETS:
        _call(target, raw, url)
        return
    _call(target, raw, url)
    _call(target, raw.decode("utf-8", "replace"), url)
