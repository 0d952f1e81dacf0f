"""The data contract: pydantic v2 models for everything discuz-scraper returns.

Rules every model keeps:

- datetimes are timezone-aware (the page's own ``GMT±H`` offset, or the client's default);
- URLs are absolute;
- ``None`` means "not shown on the page this came from", never a made-up default;
- counts are ``int`` (a ``12万`` shorthand is read from its exact ``title`` value).

``SCHEMA_VERSION`` changes whenever a field is renamed, removed or changes meaning; new optional
fields do not change it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "SCHEMA_VERSION",
    "Attachment",
    "Author",
    "Board",
    "BoardPage",
    "Breadcrumb",
    "Category",
    "Comment",
    "ForumIndex",
    "ForumStats",
    "Image",
    "PageShell",
    "Poll",
    "PollOption",
    "Post",
    "PostStatus",
    "Quote",
    "RateEntry",
    "Rating",
    "Site",
    "Source",
    "Thread",
    "ThreadPage",
    "ThreadSummary",
    "ThreadType",
    "UserProfile",
]

SCHEMA_VERSION = "1.0"

Source = Literal["html", "api", "archiver"]
"""Which backend produced a model: desktop HTML pages, the mobile JSON API, or the archiver."""

PostStatus = Literal[
    "normal",
    "banned",  # author banned or deleted: content masked for everyone
    "blocked",  # post blocked by a moderator
    "author_only",  # "replies visible to the thread author only"
    "password",  # password-protected post
    "pay",  # pay-to-read thread, content not bought
    "pending",  # awaiting moderation
    "deleted",  # deleted-floor placeholder of a thread with stored positions
    "masked",  # content withheld for a reason the page does not say (archiver: banned or blocked)
]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=False)


class Breadcrumb(_Model):
    """One link of the ``#pt`` navigation trail."""

    name: str
    url: str
    kind: Literal["home", "forum_index", "category", "board", "thread", "other"] = "other"
    id: int | None = Field(default=None, description="gid for a category, fid for a board, tid for a thread")


class Author(_Model):
    """A post's author as shown beside the post (or in a list row)."""

    uid: int | None = Field(default=None, description="None for anonymous and guest posts")
    name: str | None = Field(default=None, description="None for anonymous posts")
    avatar_url: str | None = None
    group: str | None = Field(default=None, description="user group title, e.g. 中级会员")
    group_id: int | None = None
    stats: dict[str, int] = Field(
        default_factory=dict, description="the author's stat box exactly as labelled, e.g. {'主题': 12}"
    )
    threads: int | None = Field(default=None, description="主题 count when shown")
    posts: int | None = Field(default=None, description="帖子 count when shown (older templates)")
    replies: int | None = Field(default=None, description="回帖 count when shown (X3.4 2022+ and X3.5)")
    credits: int | None = Field(default=None, description="积分 when shown")
    online: bool | None = None
    is_anonymous: bool = False
    is_guest: bool = Field(default=False, description="posted by a guest (authorid 0)")
    is_deleted: bool = Field(default=False, description="the user account was deleted")
    guest_ip: str | None = Field(default=None, description="masked IP shown for guest posts, e.g. 1.2.3.x")


class Image(_Model):
    """An image in a post: an attachment (``aid`` set) or a remote ``[img]`` (``aid`` None)."""

    url: str = Field(description="full-size URL (zoomfile > file > src), never the none.gif placeholder")
    thumb_url: str | None = None
    aid: int | None = None
    filename: str | None = None
    size_bytes: int | None = None
    width: int | None = None
    height: int | None = None
    kind: Literal["attachment", "remote"] = "remote"
    in_quote: bool = Field(default=False, description="the image sits inside a quoted block")


class Attachment(_Model):
    """A file attached to a post (images included, ``is_image``)."""

    aid: int | None = None
    filename: str
    url: str
    size_bytes: int | None = None
    downloads: int | None = None
    price: int | None = None
    price_unit: str | None = Field(default=None, description="credit name of the price, e.g. 金钱")
    read_perm: int | None = None
    is_image: bool = False
    inline: bool = Field(default=False, description="placed inside the message rather than in the list")
    uploaded_at: datetime | None = None


class Quote(_Model):
    """A ``[quote]`` block: who and what a reply quotes."""

    pid: int | None = Field(default=None, description="quoted post id, from the findpost link")
    tid: int | None = None
    author: str | None = None
    posted_at: datetime | None = None
    text: str = ""


class RateEntry(_Model):
    """One line of a post's rating table."""

    uid: int | None = None
    name: str | None = None
    scores: dict[str, int] = Field(default_factory=dict, description="credit name -> points given")
    reason: str | None = None


class Rating(_Model):
    """The rating (评分) summary under a post."""

    participants: int | None = None
    totals: dict[str, int] = Field(default_factory=dict, description="credit name -> total points")
    entries: list[RateEntry] = Field(default_factory=list, description="entries shown (last 20 by default)")


class Comment(_Model):
    """A short comment (点评) attached to a post."""

    author: Author
    text: str
    created_at: datetime | None = None


class PollOption(_Model):
    id: int | None = Field(default=None, description="polloptionid (the vote form's value)")
    text: str
    votes: int | None = None
    percent: float | None = None
    image_url: str | None = None


class Poll(_Model):
    multiple: bool = False
    max_choices: int | None = None
    voters: int | None = None
    closed: bool | None = None
    ends_in: str | None = Field(default=None, description="the remaining-time text as shown")
    results_visible: bool = True
    options: list[PollOption] = Field(default_factory=list)


class Post(_Model):
    """One post (floor) of a thread."""

    pid: int | None = Field(description="the post id; None only for archiver posts, which carry none")
    tid: int
    floor: int | None = Field(default=None, description="1 = the opening post; None when not shown")
    floor_label: str | None = Field(default=None, description="the floor text as shown, e.g. 沙发")
    author: Author
    created_at: datetime | None = None
    edited_at: datetime | None = None
    edited_by: str | None = None
    subject: str | None = Field(default=None, description="a reply's own subject line, when it has one")
    content_html: str | None = Field(default=None, description="cleaned message HTML; None when masked")
    text: str | None = Field(default=None, description="message text without noise; None when masked")
    images: list[Image] = Field(default_factory=list)
    attachments: list[Attachment] = Field(default_factory=list)
    quotes: list[Quote] = Field(default_factory=list)
    is_first: bool = False
    status: PostStatus = "normal"
    status_text: str | None = Field(default=None, description="the site's notice for a masked post")
    hidden_content: bool = Field(default=False, description="part of the message is hidden ([hide], credits)")
    auto_hidden: bool = Field(default=False, description="folded by the site as a low-value post")
    is_hot: bool = Field(default=False, description="a hot reply pulled to the top of page 1")
    is_sticky: bool = Field(default=False, description="a reply stuck to the top of the thread")
    from_mobile: bool = False
    signature: str | None = None
    rating: Rating | None = None
    comments: list[Comment] = Field(default_factory=list)
    permalink: str | None = None
    page: int | None = Field(default=None, description="the thread page this post was read from")
    source: Source = "html"


class Thread(_Model):
    """A whole thread: metadata from page 1 and the posts of every page fetched."""

    schema_version: str = SCHEMA_VERSION
    tid: int
    fid: int | None = None
    board_name: str | None = None
    breadcrumb: list[Breadcrumb] = Field(default_factory=list)
    title: str | None = None
    type_name: str | None = Field(default=None, description="thread type / prefix, e.g. 讨论")
    type_id: int | None = None
    views: int | None = None
    replies: int | None = None
    page_count: int | None = None
    closed: bool | None = None
    status_label: str | None = Field(default=None, description="e.g. 审核中 under the title")
    special: Literal["poll", "trade", "reward", "activity", "debate"] | None = None
    poll: Poll | None = None
    tags: list[str] = Field(default_factory=list)
    author: Author | None = Field(default=None, description="the opening post's author")
    posts: list[Post] = Field(default_factory=list)
    url: str
    fetched_at: datetime | None = None
    source: Source = "html"


class ThreadPage(_Model):
    """What one viewthread page holds (the parser's result; a client merges pages into a Thread)."""

    tid: int
    fid: int | None = None
    page: int = 1
    page_count: int | None = None
    board_name: str | None = None
    breadcrumb: list[Breadcrumb] = Field(default_factory=list)
    title: str | None = None
    type_name: str | None = None
    type_id: int | None = None
    views: int | None = Field(default=None, description="page 1 only")
    replies: int | None = Field(default=None, description="page 1 only")
    closed: bool | None = None
    status_label: str | None = None
    special: Literal["poll", "trade", "reward", "activity", "debate"] | None = None
    poll: Poll | None = None
    tags: list[str] = Field(default_factory=list)
    posts: list[Post] = Field(default_factory=list)
    url: str
    source: Source = "html"


class PageShell(_Model):
    """What every desktop Discuz page says about its site in the head, inline script and footer."""

    url: str
    base_url: str = Field(description="<base href> or the site root derived from the URL")
    title: str | None = None
    site_name: str | None = None
    generator: str | None = Field(default=None, description="the generator meta, e.g. 'Discuz! X3.4'")
    version: str | None = Field(default=None, description="e.g. X3.4, X3.5, X2.5, 7.2")
    charset: str | None = None
    utc_offset_minutes: int | None = Field(default=None, description="from the footer GMT±H")
    discuz_uid: int | None = None
    cookie_prefix: str | None = None
    formhash: str | None = Field(default=None, exclude=True, repr=False)
    logged_in_name: str | None = None
    evidence: list[str] = Field(default_factory=list, description="which Discuz markers were seen")


class Site(_Model):
    """What ``client.site()`` learns about a forum."""

    schema_version: str = SCHEMA_VERSION
    base_url: str
    is_discuz: bool
    evidence: list[str] = Field(default_factory=list)
    name: str | None = None
    version: str | None = None
    charset: str | None = None
    utc_offset_minutes: int | None = None
    cookie_prefix: str | None = None
    rewrite: list[str] = Field(default_factory=list, description="rewrite rules seen in links, e.g. thread")
    archiver: bool | None = None
    mobile_api: bool | None = None
    logged_in_uid: int | None = None
    logged_in_name: str | None = None


class ThreadType(_Model):
    id: int
    name: str
    count: int | None = None


class ThreadSummary(_Model):
    """One row of a board's thread list."""

    tid: int
    fid: int | None = None
    title: str
    url: str
    highlight: str | None = Field(default=None, description="inline style of the title (colour, bold)")
    type_name: str | None = None
    type_id: int | None = None
    sticky: int = Field(default=0, description="0 normal, 1 board, 2 category, 3 global sticky")
    digest: int = Field(default=0, description="digest level 0-3")
    closed: bool | None = None
    moved: bool = False
    special: Literal["poll", "trade", "reward", "activity", "debate"] | None = None
    has_image: bool = Field(default=False, description="an image attachment icon is shown")
    has_attachment: bool = Field(default=False, description="any attachment icon is shown (image or file)")
    read_perm: int | None = None
    price: int | None = Field(default=None, description="售价 in credits (pay-to-read threads)")
    reward: int | None = Field(default=None, description="悬赏 in credits (open reward threads)")
    author: Author | None = None
    created_at: datetime | None = Field(default=None, description="date only on list pages (midnight)")
    replies: int | None = None
    views: int | None = None
    last_poster: str | None = None
    last_post_at: datetime | None = None
    page_count: int | None = None
    source: Source = "html"


class Board(_Model):
    """A board (版块) as listed on the index or as a sub-board."""

    fid: int | None = Field(default=None, description="None only when the board is addressed by alias")
    alias: str | None = None
    name: str
    url: str
    description: str | None = None
    icon_url: str | None = None
    threads: int | None = None
    posts: int | None = None
    today_posts: int | None = None
    moderators: list[str] = Field(default_factory=list)
    last_post_subject: str | None = None
    last_post_tid: int | None = None
    last_post_at: datetime | None = None
    last_poster: str | None = None
    sub_boards: list[Board] = Field(default_factory=list)
    is_redirect: bool = False
    is_private: bool = False
    source: Source = "html"


class Category(_Model):
    gid: int | None = Field(description="None only on archiver indexes, which do not link categories")
    name: str
    url: str | None = Field(description="None only on archiver indexes, which do not link categories")
    moderators: list[str] = Field(default_factory=list)
    boards: list[Board] = Field(default_factory=list)


class ForumStats(_Model):
    today_posts: int | None = None
    yesterday_posts: int | None = None
    posts: int | None = None
    members: int | None = None
    newest_member: str | None = None
    online_total: int | None = None
    online_members: int | None = None
    online_guests: int | None = None
    online_invisible: int | None = Field(default=None, description="隐身 members (expanded online view)")
    online_record: int | None = None
    online_record_at: datetime | None = Field(default=None, description="date of the online record")


class ForumIndex(_Model):
    schema_version: str = SCHEMA_VERSION
    url: str
    site_name: str | None = None
    gid: int | None = Field(default=None, description="set for a category page (forum.php?gid=N)")
    categories: list[Category] = Field(default_factory=list)
    stats: ForumStats | None = None
    source: Source = "html"


class BoardPage(_Model):
    """One page of a board's thread list, with the board's own info."""

    fid: int
    name: str | None = None
    url: str
    page: int = 1
    requested_page: int = Field(default=1, description="the page the URL asked for")
    past_the_end: bool = Field(
        default=False, description="a page > 1 was asked for and Discuz answered with page 1: stop paging"
    )
    page_count: int | None = None
    filter_type_id: int | None = Field(default=None, description="the thread type the list is filtered by")
    today_posts: int | None = None
    thread_count: int | None = Field(default=None, description="主题 count in the board header")
    moderators: list[str] = Field(default_factory=list)
    rules_html: str | None = None
    sub_boards: list[Board] = Field(default_factory=list)
    thread_types: list[ThreadType] = Field(default_factory=list)
    breadcrumb: list[Breadcrumb] = Field(default_factory=list)
    rows: list[ThreadSummary] = Field(default_factory=list, description="thread rows, announcement excluded")
    source: Source = "html"


class UserProfile(_Model):
    schema_version: str = SCHEMA_VERSION
    uid: int
    name: str
    url: str
    group: str | None = None
    group_id: int | None = None
    admin_group: str | None = Field(default=None, description="管理组 title for staff, e.g. 版主")
    avatar_url: str | None = None
    credits: int | None = None
    stats: dict[str, int] = Field(default_factory=dict, description="every counter shown, by its label")
    online_hours: int | None = None
    registered_at: datetime | None = None
    last_visit_at: datetime | None = None
    last_active_at: datetime | None = None
    last_post_at: datetime | None = None
    signature: str | None = None
    source: Source = "html"
