"""Site detection (``client.site()``): is this Discuz, which version, what does it offer.

Sans-I/O like every parser: the client fetches the index, the mobile API ``module=check`` probe and
the archiver index, and hands the answers here. Detection rests on several markers (reference §1)
so that a modified template without the version footer or the generator meta is still recognised:
the generator meta, the ``Powered by Discuz!`` title suffix, the footer version, the inline
``discuz_uid``/``cookiepre`` script, and the ``<pre>saltkey``/``lastvisit``/``sid`` cookie names.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass

from ..errors import NotDiscuz
from ..models import Site
from ._dom import Tree, attr
from .shell import check_page

__all__ = ["ApiCheck", "read_api_check", "read_archiver_index", "rewrite_rules", "site_from_index"]

# Cookie names Discuz sets on a guest's first visit (name = cookiepre + var, reference §12).
_COOKIE_SUFFIXES = ("_saltkey", "_lastvisit", "_lastact", "_sid")
# The default rewrite rules (admin-editable, reference §14) and the name each is reported under.
_REWRITE_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("forum", re.compile(r"(?:^|/)forum-\w+-\d+\.html$")),
    ("thread", re.compile(r"(?:^|/)thread-\d+-\d+-\d+\.html$")),
    ("space", re.compile(r"(?:^|/)space-(?:uid|username)-[^/]+\.html$")),
    ("group", re.compile(r"(?:^|/)group-\d+-\d+\.html$")),
    ("archiver", re.compile(r"(?:^|/)archiver/(?:tid|fid)-\d+\.html$")),
    ("article", re.compile(r"(?:^|/)article-\d+-\d+\.html$")),
    ("blog", re.compile(r"(?:^|/)blog-\d+-\d+\.html$")),
    ("topic", re.compile(r"(?:^|/)topic-[^/]+\.html$")),
)


@dataclass(frozen=True)
class ApiCheck:
    """What ``api/mobile/index.php?version=4&module=check`` answered."""

    available: bool
    """The mobile plugin answers (its JSON carries ``discuzversion``, or it asks to log in)."""
    login_required: bool = False
    version: str | None = None
    """``truediscuzversion`` (X3.5+); ``discuzversion`` is hard-coded ``X3.2`` and so not used."""


def read_api_check(status: int, body: str) -> ApiCheck:
    """Read the ``module=check`` probe. A disabled plugin answers ``{"testcookie":null}``, an
    HTML page or an error status; ``{"error":"to_login"}`` means it is on but wants a login."""
    if status != 200:
        return ApiCheck(available=False)
    try:
        payload = json.loads(body)
    except ValueError:
        return ApiCheck(available=False)
    if not isinstance(payload, dict):
        return ApiCheck(available=False)
    if payload.get("error") == "to_login":
        return ApiCheck(available=True, login_required=True)
    if not payload.get("discuzversion"):
        return ApiCheck(available=False)
    true_version = payload.get("truediscuzversion")
    return ApiCheck(available=True, version=true_version if isinstance(true_version, str) else None)


def read_archiver_index(status: int, body: str) -> bool:
    """Whether ``archiver/`` answered with the archiver (its title suffix or its board links)."""
    return status == 200 and ("Discuz! Archiver" in body or 'href="?fid-' in body)


def rewrite_rules(tree: Tree) -> list[str]:
    """Names of the URL rewrite rules the page's links use, in :data:`_REWRITE_PATTERNS` order."""
    paths = [(attr(a, "href") or "").split("?", 1)[0].split("#", 1)[0] for a in tree.css("a[href]")]
    return [name for name, pattern in _REWRITE_PATTERNS if any(pattern.search(p) for p in paths)]


def site_from_index(
    html: str | bytes,
    url: str,
    *,
    base_url: str,
    status: int = 200,
    encoding: str | None = None,
    cookie_names: Iterable[str] = (),
) -> Site:
    """A :class:`Site` from the forum index (``is_discuz=False`` when nothing marks it as Discuz).

    Other classified pages (a closed site, a login wall) raise their typed error, as in
    :func:`~discuz_scraper.parsers.shell.check_page`.
    """
    try:
        tree, shell = check_page(html, url, status=status)
    except NotDiscuz:
        return Site(base_url=base_url, is_discuz=False)
    evidence = list(shell.evidence)
    if any(name.endswith(_COOKIE_SUFFIXES) for name in cookie_names):
        evidence.append("cookies")
    return Site(
        base_url=base_url,
        is_discuz=True,
        evidence=evidence,
        name=shell.site_name,
        version=shell.version,
        charset=shell.charset or encoding,
        utc_offset_minutes=shell.utc_offset_minutes,
        cookie_prefix=shell.cookie_prefix,
        rewrite=rewrite_rules(tree),
        logged_in_uid=shell.discuz_uid or None,
        logged_in_name=shell.logged_in_name,
    )
