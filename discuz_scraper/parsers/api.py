"""The mobile JSON API (``api/mobile/index.php?version=4&module=…``, reference §13).

Pure functions ``(json text/bytes/dict, url) -> model``; every model they return has
``source="api"``. The API comes from the bundled "mobile" plugin, which most forums leave off:
probe with :func:`parse_api_check` before relying on the others.

Decoding is lenient on purpose, because the plugin is loose: every scalar may arrive as a string
(``format()`` casts ints and bools, ``true`` -> ``"1"``, ``false`` -> ``""``), empty fields are
dropped from the answer, PHP arrays turn into JSON objects or lists depending on their keys, and
some fields change type with the site's configuration (``threadtypes``). So a missing, empty or
oddly typed field reads as ``None`` (never a ``KeyError``), and unknown fields are ignored. What a
page *must* hold (a ``thread``, a ``postlist``, a ``forum``…) is checked, and its absence raises
:class:`~discuz_scraper.errors.ParseError`.

Errors answer like HTML pages do: ``Message.messagestr`` goes through the same
:func:`~.shell.message_error` table (so ``thread_nonexistence`` is :class:`NotFound` either way),
and the API's own hard errors (``{"error": "to_login"}`` …) map through :data:`_API_ERRORS`.

Times: the API gives unix seconds (``dbdateline``), exact in any timezone but silent about the
site's offset. They are expressed in ``default_tz`` (Discuz's install default +08:00, like the
HTML parsers' fallback) so both backends print the same wall-clock time; pass the site's offset
(read from an HTML page footer, ``Site.utc_offset_minutes``) when it differs.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, tzinfo
from functools import cached_property
from typing import Any, Literal
from urllib.parse import parse_qs, urljoin, urlsplit

from pydantic import BaseModel, ConfigDict, Field

from ..errors import DiscuzError, LoginRequired, NotDiscuz, NotFound, ParseError, PermissionDenied, SiteClosed
from ..models import (
    Attachment,
    Author,
    Board,
    BoardPage,
    Category,
    Comment,
    ForumIndex,
    Image,
    Poll,
    PollOption,
    Post,
    PostStatus,
    ThreadPage,
    ThreadSummary,
    ThreadType,
    UserProfile,
)
from ..urls import findpost_url, site_base
from ._dom import absolute, parse_html, text
from .content import parse_message
from .dates import DEFAULT_TZ, parse_datetime
from .shell import check_page, message_error
from .thread import _LOCKED_STATUS

__all__ = [
    "ApiCheck",
    "parse_api_board_page",
    "parse_api_check",
    "parse_api_forum_index",
    "parse_api_profile",
    "parse_api_thread_page",
]

ApiInput = str | bytes | Mapping[str, Any]
"""A raw answer body (text or bytes) or the already-decoded JSON object."""

Special = Literal["poll", "trade", "reward", "activity", "debate"]

# The API's own hard errors, printed as {"error": KEY} without an envelope (mobile.class.php).
# Any other value of "error" is the admin's closed-site reason (the site is closed).
_API_ERRORS: dict[str, tuple[type[DiscuzError], str]] = {
    "to_login": (LoginRequired, "the mobile API requires a logged-in member"),
    "mobile_is_closed": (PermissionDenied, "mobile access (手机版访问) is switched off on this site"),
    "module_not_exists": (NotFound, "this mobile API module does not exist on the site"),
    "param_error": (NotFound, "the mobile API rejected the request parameters"),
    "user_banned": (SiteClosed, "this user or IP is banned from the site"),
    "user_banned_has_expiry": (SiteClosed, "this user is banned from the site for now"),
    "board_closed": (SiteClosed, "the site is closed"),
}
# ``messageval`` keys for messages whose text a site edited beyond recognition; the text table of
# shell.message_error is tried first and carries the same keys.
_MESSAGE_KEYS: dict[str, type[DiscuzError]] = {
    "thread_nonexistence": NotFound,
    "forum_nonexistence": NotFound,
    "space_does_not_exist": NotFound,
    "member_nonexistence": NotFound,
    "to_login": LoginRequired,
    "not_loggedin": LoginRequired,
    "viewperm_login_nopermission": LoginRequired,
    "board_closed": SiteClosed,
    "user_banned": SiteClosed,
}
# ``showmessage`` appends "//1" to messageval when logging in would help.
_LOGIN_SUFFIX = "//1"
_SPECIALS: dict[int, Special] = {1: "poll", 2: "trade", 3: "reward", 4: "activity", 5: "debate"}
# A masked post's message is replaced by the notice alone; a long message that merely mentions the
# notice words is a real post (the longest notice, the pay one, stays well under this).
_NOTICE_MAX_CHARS = 80
_TAGS = re.compile(r"<[^>]+>")
_INT = re.compile(r"^\s*(-?\d+)\s*$")
_EPOCH_MIN = 100_000_000  # a bare number this large in a date field is unix seconds, not a year


# --- the check module -----------------------------------------------------------------------


class ApiCheck(BaseModel):
    """What ``module=check`` says about a site's mobile API."""

    model_config = ConfigDict(extra="forbid")

    url: str
    available: bool = Field(description="the mobile plugin answered (the other parsers can be used)")
    discuz_version: str | None = Field(
        default=None,
        description="truediscuzversion (X3.5+) over discuzversion (hard-coded X3.2 by the plugin)",
    )
    reported_version: str | None = Field(default=None, description="discuzversion exactly as sent")
    charset: str | None = None
    api_version: str | None = Field(default=None, description="the plugin's API version, e.g. 4")
    plugin_version: str | None = None
    site_name: str | None = None
    total_posts: int | None = None
    total_members: int | None = None
    ucenter_url: str | None = None
    source: Literal["api"] = "api"


def parse_api_check(data: ApiInput, url: str) -> ApiCheck:
    """Read a ``module=check`` answer.

    With the plugin disabled the site answers ``{"testcookie": null}`` (or an HTML page): that is
    ``available=False``, not an error. ``{"error": "to_login"}`` raises :class:`LoginRequired`
    and the other ``{"error": …}`` answers their typed errors.
    """
    if isinstance(data, (str, bytes)) and _looks_like_html(_as_text(data)):
        return ApiCheck(url=url, available=False)
    payload = _payload(data, url)
    reported = _str(payload.get("discuzversion"))
    available = reported is not None or _str(payload.get("version")) is not None
    return ApiCheck(
        url=url,
        available=available,
        discuz_version=_str(payload.get("truediscuzversion")) or reported,
        reported_version=reported,
        charset=(_str(payload.get("charset")) or "").lower() or None,
        api_version=_str(payload.get("version")),
        plugin_version=_str(payload.get("pluginversion")),
        site_name=_str(payload.get("sitename")),
        total_posts=_int(payload.get("totalposts")),
        total_members=_int(payload.get("totalmembers")),
        ucenter_url=_str(payload.get("ucenterurl")),
    )


# --- viewthread -----------------------------------------------------------------------------


@dataclass(frozen=True)
class _ThreadContext:
    tid: int
    base_url: str
    tz: tzinfo
    now: datetime | None
    page: int
    ppp: int | None
    postno: list[str]

    def findpost(self, pid: int) -> str:
        """``findpost_url(base_url, tid, pid)``: built once per page (urlencode and urljoin cost as
        much as the rest of a short post), only the trailing pid differs between posts."""
        if pid < 1 or self.tid < 1:
            return findpost_url(self.base_url, self.tid, pid)  # raises the DiscuzError it always did
        return self._findpost_stem + str(pid)

    @cached_property
    def _findpost_stem(self) -> str:
        return findpost_url(self.base_url, self.tid, 1).removesuffix("1")


def parse_api_thread_page(
    data: ApiInput,
    url: str,
    *,
    default_tz: tzinfo = DEFAULT_TZ,
    now: datetime | None = None,
) -> ThreadPage:
    """Read a ``module=viewthread`` answer into a :class:`ThreadPage` (``source="api"``).

    ``url`` is the API URL asked for: its ``page`` is the page number (the answer does not echo
    it; a page past the end is served as the last page, so it is clamped to ``page_count``).
    ``page_count`` is ``ceil((replies + 1) / ppp)``. ``now`` (aware) lets relative comment times be
    read. Floors come from ``position`` (the stored floor), else ``number``. A hot reply
    (``number`` = -1) is flagged ``is_hot``; a reply on page 1 whose floor lies beyond the page is
    a sticky reply pulled up (``is_sticky``): only sticky replies are placed out of their range.
    The API answers each pid once per page, so de-duplication across pages is the caller's job
    (:func:`~.thread.build_thread`).
    """
    variables = _variables(data, url)
    thread = _mapping(variables.get("thread"))
    postlist = _list(variables.get("postlist"))
    tid = _int(thread.get("tid")) or _query_int(url, "tid")
    if not thread or tid is None:
        raise ParseError("viewthread answer without Variables.thread (tid)", url=url)
    if not postlist:
        raise ParseError("viewthread answer without posts (Variables.postlist is empty)", url=url)
    ppp = _int(variables.get("ppp"))
    replies = _int(thread.get("replies"))
    page_count = math.ceil((replies + 1) / ppp) if replies is not None and ppp else None
    page = max(_query_int(url, "page") or 1, 1)
    if page_count is not None:
        page = min(page, page_count)
    ctx = _ThreadContext(
        tid=tid,
        base_url=site_base(url),
        tz=default_tz,
        now=now,
        page=page,
        ppp=ppp,
        postno=[_html_text(label) for label in _list(variables.get("cache_custominfo_postno"))
                if isinstance(label, str)],
    )
    comments = _mapping(variables.get("comments"))
    posts = [_post(_mapping(raw), comments, ctx, url) for raw in postlist]
    special = _SPECIALS.get(_int(thread.get("special")) or 0)
    poll_data = _mapping(variables.get("special_poll"))
    return ThreadPage(
        tid=tid,
        fid=_int(thread.get("fid")) or _int(variables.get("fid")),
        page=page,
        page_count=page_count,
        title=_str(thread.get("subject")),
        type_id=_int(thread.get("typeid")) or None,
        views=_int(thread.get("views")),
        replies=replies,
        # closed > 1 is the tid a moved thread points to: still closed here.
        closed=_bool(thread.get("closed")),
        special=special,
        poll=_poll(poll_data, ctx.base_url) if poll_data else None,
        posts=posts,
        url=url,
        source="api",
    )


def _post(raw: Mapping[str, Any], comments: Mapping[str, Any], ctx: _ThreadContext, url: str) -> Post:
    pid = _int(raw.get("pid"))
    if pid is None:
        raise ParseError("viewthread post without a pid", url=url)
    number = _int(raw.get("number"))
    position = _int(raw.get("position"))
    is_hot = number == -1
    floor = position if position and position > 0 else (number if number and number > 0 else None)
    is_first = _bool(raw.get("first")) is True
    is_sticky = (
        not is_hot and ctx.page == 1 and ctx.ppp is not None and floor is not None and floor > ctx.ppp
    )
    message = _str(raw.get("message")) or ""
    status, status_text = _masked(message)
    content = None
    if status == "normal":
        holder = parse_html(f"<div>{message}</div>").css_first("body > div")
        if holder is None:  # a <frameset> in the message replaces the body, wrapper and all
            raise ParseError("could not read a post message", url=url)
        content = parse_message(holder, base_url=ctx.base_url, tz=ctx.tz, tid=ctx.tid, now=ctx.now)
    attachments, listed_images = _attachments(raw, ctx)
    return Post(
        pid=pid,
        tid=ctx.tid,
        floor=floor,
        floor_label=_floor_label(floor, ctx.postno),
        author=_post_author(raw),
        created_at=_time(raw.get("dbdateline"), raw.get("dateline"), ctx.tz, ctx.now),
        edited_at=content.edited_at if content else None,
        edited_by=content.edited_by if content else None,
        content_html=content.content_html if content else None,
        text=content.text if content else None,
        images=(list(content.images) if content else []) + listed_images,
        attachments=(list(content.attachments) if content else []) + attachments,
        quotes=content.quotes if content else [],
        is_first=is_first,
        status=status,
        status_text=status_text,
        hidden_content=content.hidden_content if content else False,
        is_hot=is_hot,
        is_sticky=is_sticky,
        comments=[_comment(_mapping(c), ctx) for c in _list(comments.get(str(pid)))],
        permalink=(
            urljoin(ctx.base_url, f"forum.php?mod=viewthread&tid={ctx.tid}")
            if is_first
            else ctx.findpost(pid)
        ),
        page=ctx.page,
        source="api",
    )


def _floor_label(floor: int | None, postno: list[str]) -> str | None:
    """The site's floor name (``cache_custominfo_postno``: ``[suffix, 楼主, 沙发, …]``), as the
    desktop page prints it; ``None`` when the answer does not carry the names."""
    if floor is None or not postno:
        return None
    if 0 < floor < len(postno) and postno[floor]:
        return postno[floor]
    return f"{floor}{postno[0]}"


def _post_author(raw: Mapping[str, Any]) -> Author:
    """Anonymous (the plugin zeroes authorid), guest (authorid 0), deleted (no username) or member."""
    if _bool(raw.get("anonymous")):
        return Author(is_anonymous=True)
    uid = _int(raw.get("authorid"))
    name = _str(raw.get("author"))
    if not uid:
        return Author(is_guest=True)
    if _str(raw.get("username")) is None:
        return Author(name=name, is_deleted=True)
    return Author(uid=uid, name=name, group_id=_int(raw.get("groupid")))


def _masked(message: str) -> tuple[PostStatus, str | None]:
    """A notice replacing the whole message (reference §2.5: same texts as the desktop page)."""
    notice = " ".join(_TAGS.sub(" ", message).split())
    if len(notice) > _NOTICE_MAX_CHARS:
        return "normal", None
    for needle, status in _LOCKED_STATUS:
        if needle in notice:
            return status, notice
    return "normal", None


def _attachments(raw: Mapping[str, Any], ctx: _ThreadContext) -> tuple[list[Attachment], list[Image]]:
    """The ``attachments`` map (files not placed inline) and the images ``imagelist`` names."""
    files = _mapping(raw.get("attachments"))
    shown = {aid for aid in (_int(a) for a in _list(raw.get("imagelist"))) if aid is not None}
    attachments: list[Attachment] = []
    images: list[Image] = []
    for key, value in files.items():
        item = _mapping(value)
        aid = _int(item.get("aid")) or _int(key)
        file_url = _file_url(item, ctx.base_url)
        filename = _str(item.get("filename"))
        if file_url is None or filename is None:
            continue
        is_image = (_int(item.get("isimage")) or 0) != 0
        price = _int(item.get("price"))
        read_perm = _int(item.get("readperm"))
        attachments.append(Attachment(
            aid=aid,
            filename=filename,
            url=file_url,
            size_bytes=_int(item.get("filesize")),
            downloads=_int(item.get("downloads")),
            price=price or None,
            read_perm=read_perm or None,
            is_image=is_image,
            uploaded_at=_time(item.get("dbdateline"), item.get("dateline"), ctx.tz, ctx.now),
        ))
        if is_image and aid in shown:
            images.append(Image(
                url=file_url,
                thumb_url=f"{file_url}.thumb.jpg" if _bool(item.get("thumb")) else None,
                aid=aid,
                filename=filename,
                size_bytes=_int(item.get("filesize")),
                width=_int(item.get("width")) or None,
                kind="attachment",
            ))
    return attachments, images


def _file_url(item: Mapping[str, Any], base_url: str) -> str | None:
    """``url`` + ``attachment``: ``url`` is the site's attachment folder, relative to the site
    root, or an absolute URL for remote (FTP) attachments, kept as it is."""
    path = _str(item.get("attachment"))
    if path is None:
        return None
    return absolute(base_url, (_str(item.get("url")) or "") + path)


def _comment(raw: Mapping[str, Any], ctx: _ThreadContext) -> Comment:
    uid = _int(raw.get("authorid"))
    avatar = absolute(ctx.base_url, _str(raw.get("avatar")))
    name = _str(raw.get("author"))
    author = Author(uid=uid, name=name, avatar_url=avatar) if uid else Author(is_guest=True)
    comment_html = _str(raw.get("comment")) or ""
    return Comment(
        author=author,
        text=_html_text(comment_html),
        created_at=_time(None, raw.get("dateline"), ctx.tz, ctx.now),
    )


def _poll(raw: Mapping[str, Any], base_url: str) -> Poll:
    """``special_poll``: options keyed by polloptionid; ``visiblepoll`` 1 = results hidden;
    ``remaintime`` present while the poll runs (``expirations`` is its end)."""
    hidden = _bool(raw.get("visiblepoll")) is True
    options: list[PollOption] = []
    for value in _list(raw.get("polloptions")):
        option = _mapping(value)
        label = _str(option.get("polloption"))
        if label is None:
            continue
        image = _mapping(option.get("imginfo"))
        options.append(PollOption(
            id=_int(option.get("polloptionid")),
            text=_html_text(label),
            votes=None if hidden else _int(option.get("votes")),
            percent=None if hidden else _float(option.get("percent")),
            image_url=absolute(base_url, _str(image.get("big")) or _str(image.get("small"))),
        ))
    multiple = _bool(raw.get("multiple")) is True
    running = bool(_list(raw.get("remaintime")))
    ends = _int(raw.get("expirations"))
    return Poll(
        multiple=multiple,
        max_choices=_int(raw.get("maxchoices")) if multiple else None,
        voters=_int(raw.get("voterscount")),
        closed=False if running else (True if ends else None),
        results_visible=not hidden,
        options=options,
    )


# --- forumdisplay ---------------------------------------------------------------------------


def parse_api_board_page(data: ApiInput, url: str, *, default_tz: tzinfo = DEFAULT_TZ) -> BoardPage:
    """Read a ``module=forumdisplay`` answer into a :class:`BoardPage` (``source="api"``).

    Sticky rows (``displayorder`` 1-3) are ordinary rows with ``sticky`` set; rows waiting in
    moderation or the recycle bin (negative ``displayorder``) count as not sticky. A page past the
    end is answered with page 1 (``Variables.page``), which sets ``past_the_end``.
    """
    variables = _variables(data, url)
    forum = _mapping(variables.get("forum"))
    fid = _int(forum.get("fid")) or _query_int(url, "fid")
    if not forum or fid is None:
        raise ParseError("forumdisplay answer without Variables.forum (fid)", url=url)
    base = site_base(url)
    types = _thread_types(variables.get("threadtypes"))
    names = {t.id: t.name for t in types}
    requested = max(_query_int(url, "page") or 1, 1)
    page = _int(variables.get("page")) or requested
    tpp = _int(variables.get("tpp"))
    listed = _int(forum.get("threadcount"))
    rows = [_row(_mapping(r), fid, base, names, default_tz) for r in _list(variables.get("forum_threadlist"))]
    rules = _str(forum.get("rules"))
    return BoardPage(
        fid=fid,
        name=_str(forum.get("name")),
        url=url,
        page=page,
        requested_page=requested,
        past_the_end=requested > 1 and page == 1,
        page_count=max(math.ceil(listed / tpp), 1) if listed is not None and tpp else None,
        filter_type_id=_query_int(url, "typeid"),
        thread_count=_int(forum.get("threads")),
        rules_html=rules,
        sub_boards=[_board(_mapping(b), base) for b in _list(variables.get("sublist"))],
        thread_types=types,
        rows=rows,
        source="api",
    )


def _row(
    raw: Mapping[str, Any], fid: int, base: str, type_names: dict[int, str], tz: tzinfo
) -> ThreadSummary:
    tid = _int(raw.get("tid"))
    title = _str(raw.get("subject"))
    if tid is None or title is None:
        raise ParseError("forum_threadlist row without tid and subject", url=base)
    special = _SPECIALS.get(_int(raw.get("special")) or 0)
    price = _int(raw.get("price")) or 0
    attachment = _int(raw.get("attachment")) or 0
    type_id = _int(raw.get("typeid")) or None
    uid = _int(raw.get("authorid"))
    return ThreadSummary(
        tid=tid,
        fid=fid,
        title=_html_text(title),
        url=urljoin(base, f"forum.php?mod=viewthread&tid={tid}"),
        type_id=type_id,
        type_name=type_names.get(type_id) if type_id is not None else None,
        sticky=min(max(_int(raw.get("displayorder")) or 0, 0), 3),
        digest=min(max(_int(raw.get("digest")) or 0, 0), 3),
        special=special,
        # pre_forum_thread.attachment: 1 = files, 2 = image files.
        has_image=attachment == 2,
        has_attachment=attachment != 0,
        read_perm=_int(raw.get("readperm")) or None,
        # A reward thread keeps its reward in price (negative once resolved).
        price=price if price > 0 and special != "reward" else None,
        reward=price if price > 0 and special == "reward" else None,
        # The plugin reports anonymous and guest authors alike: authorid 0, the anonymous text.
        author=Author(uid=uid, name=_str(raw.get("author"))) if uid else Author(is_anonymous=True),
        created_at=_time(raw.get("dbdateline"), raw.get("dateline"), tz, None),
        replies=_int(raw.get("replies")),
        views=_int(raw.get("views")),
        last_poster=_str(raw.get("lastposter")),
        last_post_at=_time(raw.get("dblastpost"), raw.get("lastpost"), tz, None),
        source="api",
    )


def _thread_types(value: object) -> list[ThreadType]:
    """``threadtypes`` in the shapes seen: the forum's setting (``{"types": {id: name}, …}``),
    a bare ``{id: name}`` map, or a list of ``{typeid, name}`` rows. Other shapes give none."""
    found: list[ThreadType] = []
    if isinstance(value, Mapping) and isinstance(value.get("types"), (Mapping, list)):
        value = value["types"]
    if isinstance(value, Mapping):
        pairs = [(key, name) for key, name in value.items()]
    elif isinstance(value, list):
        rows = [_mapping(row) for row in value]
        pairs = [(row.get("typeid") or row.get("id"), row.get("name")) for row in rows]
    else:
        return found
    for key, name in pairs:
        type_id = _int(key)
        label = _str(name) if isinstance(name, (str, int)) else None
        if type_id is not None and label is not None:
            found.append(ThreadType(id=type_id, name=_html_text(label)))
    return found


# --- forumindex -----------------------------------------------------------------------------


def parse_api_forum_index(data: ApiInput, url: str) -> ForumIndex:
    """Read a ``module=forumindex`` answer: ``catlist`` gives the categories and the order of their
    boards, ``forumlist`` the boards (with their ``sublist``). Boards no category names are left out
    (Discuz lists only what the viewer may see in both)."""
    variables = _variables(data, url)
    catlist = _list(variables.get("catlist"))
    if not catlist and not _list(variables.get("forumlist")):
        raise ParseError("forumindex answer without Variables.catlist / forumlist", url=url)
    base = site_base(url)
    boards: dict[int, Board] = {}
    for raw in _list(variables.get("forumlist")):
        board = _board(_mapping(raw), base)
        if board.fid is not None:
            boards[board.fid] = board
    categories: list[Category] = []
    for raw in catlist:
        cat = _mapping(raw)
        gid = _int(cat.get("fid"))
        name = _str(cat.get("name"))
        if gid is None or name is None:
            raise ParseError("forumindex category without fid and name", url=url)
        members = [boards[fid] for fid in (_int(f) for f in _list(cat.get("forums"))) if fid in boards]
        link = urljoin(base, f"forum.php?gid={gid}")
        categories.append(Category(gid=gid, name=name, url=link, boards=members))
    return ForumIndex(url=url, categories=categories, source="api")


def _board(raw: Mapping[str, Any], base: str) -> Board:
    fid = _int(raw.get("fid"))
    name = _str(raw.get("name"))
    if fid is None or name is None:
        raise ParseError("board entry without fid and name", url=base)
    description = _str(raw.get("description"))
    return Board(
        fid=fid,
        name=_html_text(name),
        url=urljoin(base, f"forum.php?mod=forumdisplay&fid={fid}"),
        description=_html_text(description) or None if description else None,
        icon_url=absolute(base, _str(raw.get("icon"))),
        threads=_int(raw.get("threads")),
        posts=_int(raw.get("posts")),
        today_posts=_int(raw.get("todayposts")),
        sub_boards=[_board(_mapping(sub), base) for sub in _list(raw.get("sublist"))],
        is_redirect=_str(raw.get("redirect")) is not None,
        source="api",
    )


# --- profile --------------------------------------------------------------------------------

# space fields -> the labels the desktop profile page shows them under (zh_CN defaults).
_PROFILE_COUNTERS = (("friends", "好友数"), ("posts", "回帖数"), ("threads", "主题数"), ("credits", "积分"))


def parse_api_profile(
    data: ApiInput, url: str, *, default_tz: tzinfo = DEFAULT_TZ, now: datetime | None = None
) -> UserProfile:
    """Read a ``module=profile`` answer (``Variables.space``) into a :class:`UserProfile`.

    Counters go into ``stats`` under the desktop page's labels, extended credits under their
    names from ``Variables.extcredits``. Dates are the site's formatted texts (or unix seconds).
    """
    variables = _variables(data, url)
    space = _mapping(variables.get("space"))
    uid = _int(space.get("uid"))
    name = _str(space.get("username"))
    if uid is None or name is None:
        raise ParseError("profile answer without Variables.space (uid, username)", url=url)
    stats: dict[str, int] = {}
    for field, label in _PROFILE_COUNTERS:
        value = _int(space.get(field))
        if value is not None:
            stats[label] = value
    for key, setting in _mapping(variables.get("extcredits")).items():
        title = _str(_mapping(setting).get("title"))
        value = _int(space.get(f"extcredits{key}"))
        if title is not None and value is not None:
            stats[title] = value
    signature = _str(space.get("sightml"))
    return UserProfile(
        uid=uid,
        name=name,
        url=url,
        group=_str(_mapping(space.get("group")).get("grouptitle")),
        group_id=_int(space.get("groupid")),
        admin_group=_str(_mapping(space.get("admingroup")).get("grouptitle")),
        credits=_int(space.get("credits")),
        stats=stats,
        online_hours=_int(space.get("oltime")),
        registered_at=_time(None, space.get("regdate"), default_tz, now),
        last_visit_at=_time(None, space.get("lastvisit"), default_tz, now),
        last_active_at=_time(None, space.get("lastactivity"), default_tz, now),
        last_post_at=_time(None, space.get("lastpost"), default_tz, now),
        signature=_html_text(signature) or None if signature else None,
        source="api",
    )


# --- envelope, errors and lenient scalars ---------------------------------------------------


def _as_text(data: str | bytes) -> str:
    if isinstance(data, str):
        return data
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        # The JSON is ASCII-escaped; raw GBK bytes only come from HTML answers of GBK sites.
        return data.decode("gb18030", "replace")


def _looks_like_html(body: str) -> bool:
    return body.lstrip("\ufeff \t\r\n").startswith("<")


def _payload(data: ApiInput, url: str) -> Mapping[str, Any]:
    """The decoded JSON object; HTML and ``{"error": …}`` answers raise their typed errors."""
    if isinstance(data, Mapping):
        payload: object = data
    else:
        body = _as_text(data)
        if _looks_like_html(body):
            # A forum without the plugin answers with a normal page or a showmessage notice:
            # the notice raises its own error; any other page means there is no API here.
            check_page(body, url)
            raise NotDiscuz("the mobile API answered with an HTML page (is the mobile plugin enabled?)",
                            url=url)
        try:
            payload = json.loads(body)
        except ValueError as exc:
            raise NotDiscuz("the mobile API answer is not valid JSON", url=url) from exc
    if not isinstance(payload, Mapping):
        raise NotDiscuz("the mobile API answer is not a JSON object", url=url)
    error = payload.get("error")
    if isinstance(error, str) and error:
        known = _API_ERRORS.get(error)
        if known is None:
            # bbclosed: mobile.class.php prints the admin's closed reason as the error value.
            raise SiteClosed("the site is closed", url=url, site_message=error, key="board_closed")
        cls, message = known
        raise cls(message, url=url, site_message=error, key=error)
    return payload


def _variables(data: ApiInput, url: str) -> Mapping[str, Any]:
    """``Variables`` of an enveloped answer, after raising the error a ``Message`` stands for."""
    payload = _payload(data, url)
    message = _mapping(payload.get("Message"))
    if message:
        raise _message_error(message, url)
    variables = payload.get("Variables")
    if not isinstance(variables, Mapping):
        raise ParseError("mobile API answer without a Variables object", url=url)
    return variables


def _message_error(message: Mapping[str, Any], url: str) -> DiscuzError:
    """The error a ``Message`` stands for: the same text table as HTML notices, then its key."""
    raw_key = _str(message.get("messageval")) or ""
    key = raw_key.removesuffix(_LOGIN_SUFFIX)
    text_value = _html_text(_str(message.get("messagestr")) or "")
    error = message_error(text_value, url)
    if error.key is None:
        cls = LoginRequired if raw_key.endswith(_LOGIN_SUFFIX) else _MESSAGE_KEYS.get(key, type(error))
        error = cls(text_value or key or "the site refused the request", url=url,
                    site_message=text_value or None)
    error.key = error.key or key or None
    return error


def _mapping(value: object) -> Mapping[str, Any]:
    """A JSON object as a mapping; an empty or absent one (``""``, ``[]``, ``null``) as ``{}``.
    A list becomes ``{"0": …, "1": …}``: PHP encodes an array with keys 0..n-1 as a list."""
    if isinstance(value, Mapping):
        return value
    if isinstance(value, list):
        return {str(index): item for index, item in enumerate(value)}
    return {}


def _list(value: object) -> list[Any]:
    """A JSON list; an object's values in order (PHP arrays with gaps in their keys); else ``[]``."""
    if isinstance(value, list):
        return value
    if isinstance(value, Mapping):
        return list(value.values())
    return []


def _str(value: object) -> str | None:
    """A scalar as stripped text; ``None`` for null, empty, lists and objects."""
    if isinstance(value, bool) or value is None or isinstance(value, (list, dict)):
        return None
    result = str(value).strip()
    return result or None


def _int(value: object) -> int | None:
    """An integer from an int or a string of digits; anything else is ``None``."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        if value.isdecimal():  # the common case; what \d matches, so the same int as below
            return int(value)
        m = _INT.match(value)
        return int(m.group(1)) if m else None
    return None


def _float(value: object) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        return float(str(value).strip())
    except ValueError:
        return None


def _bool(value: object) -> bool | None:
    """``"1"``/``1``/``true`` -> True, ``"0"``/``""``/``0``/``false`` -> False, absent -> None."""
    if value is None:
        return None
    if isinstance(value, bool):
        return value
    number = _int(value)
    if number is not None:
        return number != 0
    return bool(_str(value))


def _time(stamp: object, shown: object, tz: tzinfo, now: datetime | None) -> datetime | None:
    """Unix seconds when given (exact), else the formatted text (absolute, or relative to ``now``)."""
    seconds = _int(stamp)
    if seconds is None:
        seconds = _int(shown)
        if seconds is not None and seconds < _EPOCH_MIN:
            seconds = None
    if seconds is not None and seconds > 0:
        return datetime.fromtimestamp(seconds, tz)
    value = _str(shown)
    if value is None:
        return None
    return parse_datetime(_html_text(value), tz, now=now)


def _html_text(fragment: str) -> str:
    """The text of an HTML fragment (names and subjects may carry entities or markup)."""
    return text(parse_html(f"<div>{fragment}</div>").body)


def _query_int(url: str, key: str) -> int | None:
    values = parse_qs(urlsplit(url).query).get(key)
    return _int(values[-1]) if values else None
