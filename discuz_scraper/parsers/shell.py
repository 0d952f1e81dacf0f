"""The page shell (head, inline script, footer) and page classification.

Every parser starts here: :func:`check_page` decides whether a response is a normal Discuz page,
and raises the matching typed error when it is a showmessage notice, a login wall, a board
password form, an anti-collection script, a CC-defence page, a Discuz system error, or not a
Discuz page at all. :func:`parse_shell` reads what every desktop page says about its site:
version, charset, ``<base href>``, timezone, ``discuz_uid``, ``cookiepre``, ``formhash``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from datetime import tzinfo
from urllib.parse import parse_qs, urlsplit

from ..charset import decode_body
from ..errors import (
    AntiCrawlChallenge,
    DiscuzError,
    FetchError,
    LoginRequired,
    NotDiscuz,
    NotFound,
    PermissionDenied,
    RateLimited,
    ServerError,
    SiteClosed,
)
from ..models import Breadcrumb, PageShell
from ..urls import parse_url, site_base
from ._dom import Node, Tree, absolute, attr, parse_html, text
from .dates import parse_footer_offset, tz_from_minutes

__all__ = [
    "check_page",
    "decode_page",
    "is_login_url",
    "message_error",
    "page_timezone",
    "parse_breadcrumb",
    "parse_shell",
]

_INLINE_VAR = re.compile(
    r"\b(discuz_uid|cookiepre|cookiedomain|cookiepath|charset|STYLEID|STATICURL|IMGDIR|VERHASH|SITEURL"
    r"|JSPATH|CSSPATH)\s*=\s*(?:'([^']*)'|(\d+))"
)
_GENERATOR_VERSION = re.compile(r"Discuz!\s*(\S+)")
_TITLE_SUFFIX = re.compile(r"\s*-?\s*Powered by Discuz!.*$", re.S)
_FOOTER_VERSION = "#frt em, #footer .copyright em, #copyright em"
_FOOTER_VERSION_IDS = ("frt", "footer", "copyright")
_FOOTER_TIME = "#flk p, #ft p, #footlinks p, #footer p"
_FOOTER_TIME_IDS = ("flk", "ft", "footlinks", "footer")
# Every id that anchors a whole-tree query of the shell and the checks (see _Landmarks). All are
# letters only, so the candidate query can skip ids holding a digit or "_": most of a thread
# page's ids are per-post ones like post_123 or pid123.
_ANCHOR_IDS = frozenset(
    {"messagetext", "messagelogin", "container", "um", *_FOOTER_VERSION_IDS, *_FOOTER_TIME_IDS}
)
_ANCHOR_CANDIDATES = "[id]" + "".join(f':not([id*="{c}"])' for c in "_0123456789")
_MARKERS = 'div.box.message, form[action*="action=pwverify"], input[name="formhash"]'


def decode_page(html: str | bytes, content_type: str | None = None) -> str:
    """Text of a page given as text or as raw bytes (charset from ``content_type``, meta or JS var)."""
    if isinstance(html, bytes):
        return decode_body(html, content_type)[0]
    return html


class _Landmarks:
    """What the checks and the shell look up in the whole tree, found by two queries.

    On a long page each whole-tree query costs about a tenth of the parse whether it finds
    anything or not (lexbor walks every element; the footer's sit at the very end), and a
    selector list costs nearly the sum of its alternatives. So: one ``[id]`` query for the
    elements carrying one of :data:`_ANCHOR_IDS` (every match of a query whose alternatives all
    start with ``#ID`` lies inside such an element, see :meth:`select`), and one list for the
    three other markers, told apart by tag (each alternative names a different one).
    """

    def __init__(self, tree: Tree) -> None:
        self._ids: dict[str, list[tuple[int, Node]]] = {}
        for index, node in enumerate(tree.css(_ANCHOR_CANDIDATES)):
            # lower(): quirks-mode documents match ids ASCII-case-insensitively; _has_id decides.
            key = (node.id or "").lower()
            if key in _ANCHOR_IDS:
                self._ids.setdefault(key, []).append((index, node))
        self.box_message: Node | None = None
        self.password_form: Node | None = None
        self.formhash_input: Node | None = None
        for node in tree.css(_MARKERS):
            if node.tag == "form":
                self.password_form = self.password_form or node
            elif node.tag == "input":
                self.formhash_input = self.formhash_input or node
            else:
                self.box_message = self.box_message or node

    def first(self, name: str) -> Node | None:
        """``tree.css_first("#name")``."""
        return next((node for _, node in self._ids.get(name, ()) if _has_id(node, name)), None)

    def _anchors(self, names: tuple[str, ...]) -> list[Node]:
        hits = sorted(
            (pair for name in names for pair in self._ids.get(name, ()) if _has_id(pair[1], name)),
            key=lambda pair: pair[0],
        )
        return _outermost(node for _, node in hits)

    def select(self, query: str, names: tuple[str, ...]) -> Iterator[Node]:
        """``tree.css(query)``, lazily, for a query whose every alternative starts with ``#NAME``
        (``NAME`` in ``names``) followed by a descendant combinator."""
        for anchor in self._anchors(names):
            yield from anchor.css(query)

    def select_first(self, query: str, names: tuple[str, ...]) -> Node | None:
        """``tree.css_first(query)`` under the same condition as :meth:`select`."""
        for anchor in self._anchors(names):
            found = anchor.css_first(query)
            if found is not None:
                return found
        return None


def _outermost(nodes: Iterable[Node]) -> list[Node]:
    """``nodes`` (in document order) without those inside another of them.

    A query run from each node left finds, concatenated, what it finds from all of them: a
    nested node's matches are among its ancestor's, and the subtrees left are disjoint.
    """
    kept: list[Node] = []
    seen: set[int] = set()
    for node in nodes:
        parent = node.parent
        while parent is not None and parent.mem_id not in seen:
            parent = parent.parent
        if parent is None:
            kept.append(node)
            seen.add(node.mem_id)
    return kept


def _has_id(node: Node, name: str) -> bool:
    if node.id == name:
        return True
    # A case variant matches in quirks mode only: ask lexbor. The node is the first candidate
    # of its own subtree, so the query stops at once when it matches.
    found = node.css_first(f"#{name}")
    return found is not None and found.mem_id == node.mem_id


def _inline_vars(tree: Tree) -> dict[str, str]:
    # Discuz prints the variables in <head>, whose elements all precede <body>'s: a matching
    # script there is the page's first, found without walking the body.
    head = tree.head
    body = _vars_script(head.css("script") if head is not None else []) or _vars_script(tree.css("script"))
    found: dict[str, str] = {}
    for m in _INLINE_VAR.finditer(body or ""):
        found.setdefault(m.group(1), m.group(2) if m.group(2) is not None else m.group(3))
    return found


def _vars_script(scripts: list[Node]) -> str | None:
    for script in scripts:
        body = script.text(deep=True)
        if "discuz_uid" in body or "cookiepre" in body:
            return body
    return None


def _declared_charset(tree: Tree, variables: dict[str, str]) -> str | None:
    if variables.get("charset"):
        return variables["charset"]
    meta = attr(tree.css_first("meta[charset]"), "charset")
    if meta:
        return meta
    http_equiv = attr(tree.css_first('meta[http-equiv="Content-Type" i]'), "content")
    if http_equiv and "charset=" in http_equiv.lower():
        return http_equiv.lower().split("charset=", 1)[1].strip()
    return None


def _formhash(tree: Tree, field: Node | None) -> str | None:
    value = attr(field, "value")
    if value is not None:
        return value
    logout = tree.css_first('a[href*="action=logout"]')
    if logout is None:
        return None
    return parse_qs(urlsplit(logout.attributes.get("href") or "").query).get("formhash", [None])[0]


def parse_shell(tree: Tree, url: str) -> PageShell:
    """Read the site facts every desktop Discuz page carries. Never raises on missing parts.

    ``evidence`` lists the Discuz markers seen: ``generator``, ``title`` (``Powered by Discuz!``),
    ``footer`` (the version in the footer) and ``inline_vars`` (``discuz_uid``/``cookiepre``).
    Cookie names are the other strong marker but are not visible in HTML.
    """
    return _shell(tree, url, _Landmarks(tree))


def _shell(tree: Tree, url: str, marks: _Landmarks) -> PageShell:
    evidence: list[str] = []
    generator = attr(tree.css_first('meta[name="generator"]'), "content")
    version: str | None = None
    if generator and generator.startswith("Discuz!"):
        evidence.append("generator")
        m = _GENERATOR_VERSION.search(generator)
        version = m.group(1) if m else None
    title = text(tree.css_first("title")) or None
    site_name: str | None = None
    if title and "Powered by Discuz!" in title:
        evidence.append("title")
        # "SUBJECT - 第2页 - FORUM - BBNAME - Powered by Discuz!": the site name is the last part.
        parts = [p.strip() for p in _TITLE_SUFFIX.sub("", title).split(" - ") if p.strip()]
        site_name = parts[-1] if parts else None
    footer_version = text(marks.select_first(_FOOTER_VERSION, _FOOTER_VERSION_IDS)) or None
    if footer_version:
        evidence.append("footer")
        version = version or footer_version
    variables = _inline_vars(tree)
    if "discuz_uid" in variables or "cookiepre" in variables:
        evidence.append("inline_vars")

    base_href = attr(tree.css_first("base[href]"), "href")
    siteurl = variables.get("SITEURL")
    base_url = base_href or (siteurl if siteurl and siteurl.startswith("http") else None) or site_base(url)
    if not base_url.endswith("/"):
        base_url = base_url.rsplit("/", 1)[0] + "/"

    offset: int | None = None
    for node in marks.select(_FOOTER_TIME, _FOOTER_TIME_IDS):
        offset = parse_footer_offset(text(node))
        if offset is not None:
            break

    uid_text = variables.get("discuz_uid")
    charset = _declared_charset(tree, variables)
    return PageShell(
        url=url,
        base_url=base_url,
        title=title,
        site_name=site_name,
        generator=generator,
        version=version,
        charset=charset.lower() if charset else None,
        utc_offset_minutes=offset,
        discuz_uid=int(uid_text) if uid_text and uid_text.isdigit() else None,
        cookie_prefix=variables.get("cookiepre") or None,
        formhash=_formhash(tree, marks.formhash_input),
        logged_in_name=text(marks.select_first("#um .vwmy a", ("um",))) or None,
        evidence=evidence,
    )


def page_timezone(shell: PageShell, default_tz: tzinfo) -> tzinfo:
    """The page's own ``GMT±H`` offset, else ``default_tz`` (the caller's guess for the site)."""
    if shell.utc_offset_minutes is None:
        return default_tz
    return tz_from_minutes(shell.utc_offset_minutes)


def parse_breadcrumb(tree: Tree, base_url: str) -> list[Breadcrumb]:
    """The ``#pt`` navigation trail, each link typed (home, forum index, category, board, thread)."""
    crumbs: list[Breadcrumb] = []
    # The trail sits at the top, but "#pt .z a" tests every link of the page against its
    # ancestors; finding the #pt elements first costs one plain walk (see _outermost).
    links = [link for trail in _outermost(tree.css("#pt")) for link in trail.css("#pt .z a")]
    for index, link in enumerate(links):
        href = absolute(base_url, attr(link, "href"))
        name = text(link)
        if href is None or not name:
            continue
        crumbs.append(_crumb(name, href, is_home=index == 0 or "nvhm" in (attr(link, "class") or "")))
    return crumbs


def _crumb(name: str, href: str, *, is_home: bool) -> Breadcrumb:
    if is_home:
        return Breadcrumb(name=name, url=href, kind="home")
    found = parse_url(href)
    if found.kind == "board":
        return Breadcrumb(name=name, url=href, kind="board", id=found.fid)
    if found.kind == "category":
        return Breadcrumb(name=name, url=href, kind="category", id=found.gid)
    if found.kind == "thread":
        return Breadcrumb(name=name, url=href, kind="thread", id=found.tid)
    if found.kind == "index":
        return Breadcrumb(name=name, url=href, kind="forum_index")
    return Breadcrumb(name=name, url=href)


def is_login_url(url: str) -> bool:
    """True for ``member.php?mod=logging&action=login`` (7.2: ``logging.php?action=login``)."""
    parts = urlsplit(url)
    if not parts.path.endswith(("member.php", "logging.php")):
        return False
    query = parse_qs(parts.query)
    return query.get("action", [""])[0] == "login"


# Message texts (zh_CN defaults of lang_message.php; 7.2 variants end in "，请返回。") mapped to
# the error they mean. Matched as substrings, first hit wins, so the more specific needle of two
# overlapping messages comes first. Sites may edit them: the markup decides the fallback.
_MESSAGES: tuple[tuple[str, type[DiscuzError], str], ...] = (
    ("指定的主题不存在", NotFound, "thread_nonexistence"),
    ("指定的帖子不存在", NotFound, "post_check"),
    ("指定的版块不存在", NotFound, "forum_nonexistence"),
    ("指定的用户空间不存在", NotFound, "space_does_not_exist"),
    ("指定的用户不存在或被冻结", NotFound, "member_nonexistence"),
    ("您尚未登录，没有权限访问该版块", LoginRequired, "viewperm_login_nopermission"),
    ("您尚未登录，无法进行此操作", LoginRequired, "not_loggedin"),
    ("您需要先登录才能继续本操作", LoginRequired, "to_login"),
    ("您需要登录后才能查看", LoginRequired, "home_no_privilege"),
    ("请先登录后才能继续浏览", LoginRequired, "login_before_enter_home"),
    ("游客没有权限进行此操作", LoginRequired, "no_privilege_guest"),
    ("本站点暂时关闭", SiteClosed, "board_closed"),
    ("IP 地址不在允许范围内", SiteClosed, "user_banned"),
    ("您的账号被禁用，暂无法访问本站点", SiteClosed, "user_banned_has_expiry"),
    ("本帖要求阅读权限高于", PermissionDenied, "thread_nopermission"),
    ("您没有权限访问该版块", PermissionDenied, "viewperm_none"),
    ("升级您所在的用户组后才能访问该版块", PermissionDenied, "viewperm_upgrade"),
    (")无法进行此操作", PermissionDenied, "group_nopermission"),
    ("在本版没有权限进行此操作", PermissionDenied, "forum_access_view_disallow"),
    ("本版块只有特定用户组可以访问", PermissionDenied, "forum_nopermission"),
    ("本版块只有特定用户可以访问", PermissionDenied, "forum_permforum_disallow"),
    ("本版块需要密码", PermissionDenied, "forum_passwd"),
    ("秒内只能进行一次搜索", RateLimited, "search_ctrl"),
    ("每分钟系统最多响应搜索请求", RateLimited, "search_toomany"),
    ("不能进行此操作或访问此页面", PermissionDenied, "period_nopermission"),
)
# Not a core string (absent from X3.4/X3.5 language files) but printed by modified sites.
_NO_PERMISSION_VARIANT = "您无权进行当前操作"
_SEARCH_WAIT = re.compile(r"(\d+)\s*秒内只能进行一次搜索")
# discuz_error.php shows lang_error.php texts; the key is not in the page, so map the common ones.
_SYSTEM_ERRORS: tuple[tuple[str, str], ...] = (
    ("含有非法字符，已经被系统拒绝", "request_tainting"),
    ("Too many connections", "db_connect"),
)
# misc_security.php CC defence: page <title> (the subject) -> config bit.
_CC_SUBJECTS: tuple[tuple[str, str], ...] = (
    ("频繁刷新限制", "attackevasive_1"),
    ("代理服务器访问限制", "attackevasive_2"),
    ("页面重载开启", "attackevasive_4"),
)
_ANTITHEFT_MARKERS = ("getName.caller", "function getName()")
_ANTITHEFT_MAX_CHARS = 16_384


def _search_wait(message: str) -> float | None:
    m = _SEARCH_WAIT.search(message)
    return float(m.group(1)) if m else None


def message_error(
    message: str,
    url: str,
    *,
    status: int = 200,
    css_class: str = "",
    login_box: bool = False,
) -> DiscuzError:
    """The error a showmessage notice stands for (returned, not raised).

    ``message`` is the site's text, ``css_class`` the ``#messagetext`` class (``alert_error``,
    ``alert_info``, ``alert_right``) and ``login_box`` whether the page offers ``#messagelogin``.
    Known texts map to their ``lang_message.php`` key; unknown texts fall back on the markup.
    """
    for needle, error, key in _MESSAGES:
        if needle in message:
            retry_after = _search_wait(message) if key == "search_ctrl" else None
            if key == "search_toomany":
                retry_after = 60.0
            return error(message, url=url, site_message=message, key=key, status_code=status,
                         retry_after=retry_after)
    if _NO_PERMISSION_VARIANT in message:
        return PermissionDenied(message, url=url, site_message=message, status_code=status)
    if "alert_right" in css_class:
        return NotDiscuz("expected content, got a success notice", url=url, site_message=message,
                         status_code=status)
    if login_box and _is_site_entry(url):
        # Only two showmessage calls put a login box on the forum index: the closed-site notice
        # (its text replaced by the admin's closedreason) and none other in core; boards and
        # threads get custom per-board refusals the same way, so the URL tells them apart.
        return SiteClosed(message or "the site is closed", url=url, site_message=message,
                          key="board_closed", status_code=status)
    return PermissionDenied(message or "the site refused the request", url=url, site_message=message,
                            status_code=status)


def _is_site_entry(url: str) -> bool:
    try:
        return parse_url(url).kind in ("index", "category")
    except DiscuzError:
        return False


_SCRIPT = re.compile(r"<script\b.*?</script>", re.S | re.I)


def _text_without_scripts(node: Node) -> str:
    # Notices carry <script> blocks (history.back(), redirect timers) inside the text's element.
    return text(parse_html(_SCRIPT.sub(" ", node.html or "")).body)


def _message_text(node: Node) -> str:
    # The site's text is the first <p>: some messages embed "</p></div><div>" and every notice
    # ends with a script whose source must not leak into the text.
    first_p = node.css_first("p")
    if first_p is not None:
        first = _text_without_scripts(first_p)
        if first:
            return first
    return _text_without_scripts(node)


def _inside(node: Node, selector_ids: tuple[str, ...]) -> bool:
    parent = node.parent
    while parent is not None:
        if parent.attributes.get("id") in selector_ids:
            return True
        parent = parent.parent
    return False


def _showmessage_error(tree: Tree, marks: _Landmarks, url: str, status: int) -> DiscuzError | None:
    node = marks.first("messagetext")
    if node is not None and not _inside(node, ("postlist", "threadlist")):
        return message_error(
            _message_text(node),
            url,
            status=status,
            css_class=node.attributes.get("class") or "",
            login_box=marks.first("messagelogin") is not None,
        )
    # Discuz 7.2: showmessage.htm is a "box message" block under the #nav breadcrumb.
    old = marks.box_message
    if old is not None and not _inside(old, ("postlist", "threadlist")):
        login_form = old.css_first('form[action*="logging.php"]') is not None
        return message_error(_message_text(old), url, status=status, login_box=login_form)
    return None


def _forum_password_error(tree: Tree, marks: _Landmarks, url: str, status: int) -> DiscuzError | None:
    # tpl forum/forumdisplay_passwd.htm: a normal page whose only content is the password form.
    form = marks.password_form
    if form is None or form.css_first('input[name="pw"]') is None:
        return None
    box = tree.css_first("div.nfl h3") or form
    message = text(box)
    return PermissionDenied(message, url=url, site_message=message, key="forum_passwd", status_code=status)


def _login_page_error(tree: Tree, url: str, status: int) -> DiscuzError | None:
    body = tree.body
    if body is None or "pg_logging" not in (body.attributes.get("class") or "").split():
        return None
    if tree.css_first('#ct input[name="password"]') is None:
        return None
    return LoginRequired("the site answered with its login form", url=url, status_code=status)


def _antitheft_error(stripped: str, url: str, status: int) -> DiscuzError | None:
    # The challenge is a bare <script> (~2.5 KB) with no document around it; a normal page that
    # quotes the same JavaScript inside a post has <html> and is far larger.
    if len(stripped) > _ANTITHEFT_MAX_CHARS or stripped[:7].lower() != "<script":
        return None
    lowered = stripped.lower()
    if "<html" in lowered or "<body" in lowered:
        return None
    if not any(marker in stripped for marker in _ANTITHEFT_MARKERS):
        return None
    return AntiCrawlChallenge(
        "the site's anti-collection script stands in for the thread (a _dsign redirect)",
        url=url,
        key="antitheft",
        status_code=status,
    )


def _cc_defence_error(tree: Tree, url: str, status: int) -> DiscuzError | None:
    # misc_security.php prints bare pages: no generator, no shell; a subject in <title> and <b>.
    if tree.css_first('meta[name="generator"]') is not None:
        return None
    title = text(tree.css_first("title"))
    box = tree.css_first("td[bgcolor]") or tree.body
    body_text = _text_without_scripts(box) if box is not None else ""
    key: str | None = None
    if tree.css_first('input[name="secqsubmit"]') is not None:
        key = "attackevasive_8"
    else:
        for subject, bit in _CC_SUBJECTS:
            if subject in title:
                key = bit
                break
    if key is None:
        scripts = " ".join(s.text(deep=True) for s in tree.css("script"))
        if 'setTimeout("reload()", 1001)' not in scripts:
            return None
    return AntiCrawlChallenge(
        "the site's CC defence answered instead of the page; keep cookies and retry after >= 1 s",
        url=url,
        site_message=body_text or title or None,
        key=key,
        status_code=status,
    )


def _system_error(marks: _Landmarks, url: str, status: int, retry_after: float | None) -> DiscuzError | None:
    heading = text(marks.select_first("#container h1", ("container",)))
    if not heading.startswith("Discuz!") or not heading.endswith("Error"):
        return None
    info = marks.select_first("#container div.info", ("container",))
    message: str | None = None
    if info is not None:
        sql = info.css_first("div.sql")
        message = text(info)
        if sql is not None:
            message = message.replace(text(sql), "").strip()
    key = next((k for needle, k in _SYSTEM_ERRORS if message and needle in message), None)
    return ServerError(heading, url=url, site_message=message or None, key=key,
                       status_code=status, retry_after=retry_after)


def _fragment_error(stripped: str, url: str, status: int) -> DiscuzError | None:
    """``&ajaxdata=json`` and ``inajax=1`` answers: never a page, usually a showmessage."""
    if stripped.startswith("{"):
        try:
            payload = json.loads(stripped)
        except ValueError as exc:
            raise NotDiscuz("a JSON body that is not valid JSON", url=url, status_code=status) from exc
        if isinstance(payload, dict) and isinstance(payload.get("message"), str):
            return message_error(text(parse_html(payload["message"]).body), url, status=status)
        raise NotDiscuz("a JSON answer, not a Discuz page", url=url, status_code=status)
    if stripped.startswith("<?xml") or stripped.startswith("<root>"):
        m = re.search(r"<!\[CDATA\[(.*)\]\]>", stripped, re.S)
        fragment = parse_html(m.group(1) if m else "")
        cc = fragment.css_first('[id^="attackevasive_"]')
        if cc is not None:
            return AntiCrawlChallenge("the site's CC defence answered the ajax request", url=url,
                                      site_message=text(cc), key=cc.attributes.get("id"),
                                      status_code=status)
        alert = fragment.css_first('div[class^="alert_"], #messagetext')
        if alert is not None:
            return message_error(_message_text(alert), url, status=status,
                                 css_class=alert.attributes.get("class") or "")
        raise NotDiscuz("an ajax fragment, not a Discuz page", url=url, status_code=status)
    return None


def _status_error(status: int, url: str, retry_after: float | None) -> DiscuzError:
    if status in (404, 410):
        return NotFound(f"HTTP {status}", url=url, status_code=status)
    if status == 429:
        return RateLimited(f"HTTP {status}", url=url, status_code=status, retry_after=retry_after)
    if status >= 500:
        return ServerError(f"HTTP {status} from the server", url=url, status_code=status,
                           retry_after=retry_after)
    return FetchError(f"HTTP {status}", url=url, status_code=status, retry_after=retry_after)


def check_page(
    html: str | bytes | Tree,
    url: str,
    *,
    status: int = 200,
    retry_after: float | None = None,
    content_type: str | None = None,
) -> tuple[Tree, PageShell]:
    """Classify a desktop page; return its tree and shell when it is a normal Discuz page.

    ``url`` is the final URL after redirects, ``status`` the HTTP status, ``retry_after`` the
    ``Retry-After`` seconds and ``content_type`` the header (used to decode ``bytes``). Raises:
    :class:`LoginRequired` for the login form (a guest-forbidden site redirects there), the
    showmessage error matching the site's message (``key`` = its ``lang_message.php`` key,
    ``site_message`` = its text), :class:`PermissionDenied` for the board password form,
    :class:`AntiCrawlChallenge` for the anti-collection script and the CC-defence pages,
    :class:`ServerError` for Discuz's "System Error"/"Database Error" pages and other 5xx,
    :class:`NotFound`/:class:`RateLimited`/:class:`FetchError` for other error statuses, and
    :class:`NotDiscuz` when nothing marks the page as Discuz.
    """
    if isinstance(html, Tree):
        tree: Tree | None = html
        raw = html.html or ""
    else:
        raw = decode_page(html, content_type)
        tree = None

    if is_login_url(url):
        raise LoginRequired("the site asks to log in first", url=url, status_code=status)

    stripped = raw.lstrip("\ufeff \t\r\n")
    error = _fragment_error(stripped, url, status) or _antitheft_error(stripped, url, status)
    if error is not None:
        raise error

    tree = tree or parse_html(raw)
    marks = _Landmarks(tree)
    error = (
        _cc_defence_error(tree, url, status)
        or _showmessage_error(tree, marks, url, status)
        or _forum_password_error(tree, marks, url, status)
        or _login_page_error(tree, url, status)
        or _system_error(marks, url, status, retry_after)
    )
    if error is not None:
        raise error
    if status >= 400:
        raise _status_error(status, url, retry_after)

    shell = _shell(tree, url, marks)
    if not shell.evidence:
        raise NotDiscuz("no Discuz! markers on the page", url=url, status_code=status)
    return tree, shell
