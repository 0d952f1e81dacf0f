"""The page shell (head, inline script, footer) and page classification.

Every parser starts here: :func:`check_page` decides whether a response is a normal Discuz page,
and raises the matching typed error when it is a showmessage notice, a login wall, an
anti-collection script, a Discuz system error, or not a Discuz page at all. :func:`parse_shell`
reads what every desktop page says about its site: version, charset, ``<base href>``, timezone,
``discuz_uid``, ``cookiepre``, ``formhash``.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

from ..charset import decode_body
from ..errors import (
    AntiCrawlChallenge,
    DiscuzError,
    LoginRequired,
    NotDiscuz,
    NotFound,
    PermissionDenied,
    ServerError,
    SiteClosed,
)
from ..models import PageShell
from ..urls import site_base
from ._dom import Tree, attr, parse_html, text
from .dates import parse_footer_offset

__all__ = ["check_page", "decode_page", "is_login_url", "parse_shell"]

_INLINE_VAR = re.compile(
    r"\b(discuz_uid|cookiepre|cookiedomain|cookiepath|charset|STYLEID|STATICURL|IMGDIR|VERHASH|SITEURL)"
    r"\s*=\s*(?:'([^']*)'|(\d+))"
)
_GENERATOR_VERSION = re.compile(r"Discuz!\s*(\S+)")
_TITLE_SUFFIX = re.compile(r"\s*-?\s*Powered by Discuz!.*$", re.S)


def decode_page(html: str | bytes) -> str:
    """Text of a page given as text or as raw bytes (charset sniffed from meta / JS var)."""
    if isinstance(html, bytes):
        return decode_body(html)[0]
    return html


def _inline_vars(tree: Tree) -> dict[str, str]:
    found: dict[str, str] = {}
    for script in tree.css("script"):
        body = script.text(deep=True)
        if "discuz_uid" not in body and "cookiepre" not in body:
            continue
        for m in _INLINE_VAR.finditer(body):
            found.setdefault(m.group(1), m.group(2) if m.group(2) is not None else m.group(3))
        break
    return found


def parse_shell(tree: Tree, url: str) -> PageShell:
    """Read the site facts every desktop Discuz page carries. Never raises on missing parts."""
    evidence: list[str] = []
    generator = attr(tree.css_first('meta[name="generator"]'), "content")
    version: str | None = None
    if generator and generator.startswith("Discuz!"):
        evidence.append("generator")
        m = _GENERATOR_VERSION.search(generator)
        version = m.group(1) if m else None
    title_node = tree.css_first("title")
    title = text(title_node) or None
    site_name: str | None = None
    if title and "Powered by Discuz!" in title:
        evidence.append("title")
        # "SUBJECT - 第2页 - FORUM - BBNAME - Powered by Discuz!": the site name is the last part.
        parts = [p.strip() for p in _TITLE_SUFFIX.sub("", title).split(" - ") if p.strip()]
        site_name = parts[-1] if parts else None
    footer_version = text(tree.css_first("#frt em")) or None
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

    charset = variables.get("charset")
    meta = tree.css_first("meta[charset]")
    if meta is not None:
        charset = charset or attr(meta, "charset")
    else:
        http_equiv = attr(tree.css_first('meta[http-equiv="Content-Type" i]'), "content")
        if http_equiv and "charset=" in http_equiv.lower():
            charset = charset or http_equiv.lower().split("charset=", 1)[1].strip()

    offset: int | None = None
    for node in tree.css("#flk p, #ft p, #ft"):
        offset = parse_footer_offset(text(node))
        if offset is not None:
            break

    uid_text = variables.get("discuz_uid")
    formhash = attr(tree.css_first('input[name="formhash"]'), "value")
    if formhash is None:
        logout = tree.css_first('a[href*="action=logout"]')
        if logout is not None:
            formhash = parse_qs(urlsplit(logout.attributes.get("href") or "").query).get("formhash", [None])[0]
    logged_in_name = text(tree.css_first("#um .vwmy a")) or None

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
        formhash=formhash,
        logged_in_name=logged_in_name,
        evidence=evidence,
    )


def is_login_url(url: str) -> bool:
    """True for ``member.php?mod=logging&action=login`` (where guest-forbidden sites redirect)."""
    parts = urlsplit(url)
    if not parts.path.endswith(("member.php", "logging.php")):
        return False
    query = parse_qs(parts.query)
    return query.get("action", [""])[0] == "login"


# Message texts (zh_CN defaults, lang_message.php) mapped to the error they mean. Matched as
# substrings, in order; sites may edit them, so the messagetext class is the fallback.
_MESSAGES: tuple[tuple[str, type[DiscuzError], str], ...] = (
    ("指定的主题不存在", NotFound, "thread_nonexistence"),
    ("指定的版块不存在", NotFound, "forum_nonexistence"),
    ("指定的用户空间不存在", NotFound, "space_does_not_exist"),
    ("该用户已被删除", NotFound, "space_deleted"),
    ("尚未登录", LoginRequired, "viewperm_login_nopermission"),
    ("需要先登录", LoginRequired, "to_login"),
    ("需要登录后才能", LoginRequired, "login_required"),
    ("本站点暂时关闭", SiteClosed, "board_closed"),
    ("IP 地址不在允许范围内", SiteClosed, "user_banned"),
    ("账号被禁用", SiteClosed, "user_banned"),
    ("阅读权限高于", PermissionDenied, "thread_nopermission"),
    ("没有权限访问该版块", PermissionDenied, "viewperm_none"),
    ("升级您所在的用户组", PermissionDenied, "viewperm_upgrade"),
    ("无法进行此操作", PermissionDenied, "group_nopermission"),
    ("没有权限进行此操作", PermissionDenied, "forum_access_view_disallow"),
    ("特定用户组可以访问", PermissionDenied, "forum_nopermission"),
    ("本版块需要密码", PermissionDenied, "forum_passwd"),
    ("无权进行当前操作", PermissionDenied, "no_permission"),
    ("秒内只能进行一次搜索", PermissionDenied, "search_ctrl"),
)
_ANTITHEFT_MARKERS = ("function getName()", "getName.caller")
_SYSTEM_ERROR_TITLES = ("System Error", "Database Error")


def _raise_showmessage(message: str, css_class: str, url: str, status: int) -> None:
    for needle, error, key in _MESSAGES:
        if needle in message:
            raise error(message, url=url, site_message=message, key=key, status_code=status)
    if "alert_info" in css_class and ("登录" in message or "login" in message.lower()):
        raise LoginRequired(message, url=url, site_message=message, key="to_login", status_code=status)
    if "alert_right" in css_class:
        raise NotDiscuz(
            "expected content, got a success notice", url=url, site_message=message, status_code=status
        )
    raise PermissionDenied(message or "the site refused the request", url=url, site_message=message,
                           status_code=status)


def check_page(
    html: str | bytes | Tree,
    url: str,
    *,
    status: int = 200,
    retry_after: float | None = None,
) -> tuple[Tree, PageShell]:
    """Classify a desktop page; return its tree and shell when it is a normal Discuz page.

    ``url`` is the final URL after redirects and ``status`` the HTTP status. Raises
    :class:`LoginRequired` for a redirect to the login form, the showmessage error matching the
    site's message, :class:`AntiCrawlChallenge` for the anti-collection script page,
    :class:`ServerError` for 5xx pages (Discuz's "System Error" / "Database Error" text kept),
    :class:`NotDiscuz` when nothing marks the page as Discuz.
    """
    if isinstance(html, Tree):
        tree = html
        raw = tree.html or ""
    else:
        raw = decode_page(html)
        tree = parse_html(raw)

    if is_login_url(url):
        raise LoginRequired("the site asks to log in first", url=url, key="to_login", status_code=status)

    head = raw[:4096]
    if "<html" not in head.lower() and any(marker in raw for marker in _ANTITHEFT_MARKERS):
        raise AntiCrawlChallenge(
            "the site's anti-collection script page stands in for the thread (see AntiCrawlChallenge docs)",
            url=url,
            status_code=status,
        )

    message_node = tree.css_first("#messagetext")
    if message_node is not None and tree.css_first("#postlist, #threadlist") is None:
        first_p = message_node.css_first("p")
        message = text(first_p) if first_p is not None else text(message_node)
        _raise_showmessage(message, message_node.attributes.get("class") or "", url, status)

    if status >= 500:
        page_title = text(tree.css_first("title"))
        body_text = text(tree.body) if tree.body is not None else ""
        site_message: str | None = None
        if any(t in page_title or t in body_text for t in _SYSTEM_ERROR_TITLES):
            site_message = _system_error_text(tree) or body_text[:300] or None
        raise ServerError(
            f"HTTP {status} from the server",
            url=url,
            site_message=site_message,
            status_code=status,
            retry_after=retry_after,
        )

    shell = parse_shell(tree, url)
    if not shell.evidence:
        raise NotDiscuz("no Discuz! markers on the page", url=url, status_code=status)
    if status == 404:
        raise NotFound(f"HTTP {status}", url=url, status_code=status)
    if status >= 400:
        raise DiscuzError(f"HTTP {status}", url=url, status_code=status)
    return tree, shell


def _system_error_text(tree: Tree) -> str | None:
    # Discuz's error pages put the reason in the first <div class="info">, else in the body text.
    info = tree.css_first("div.info") or tree.css_first("#container") or tree.body
    value = text(info)
    return value or None
