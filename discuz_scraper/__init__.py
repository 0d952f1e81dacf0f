"""discuz-scraper: turn any Discuz! forum into clean, typed data.

>>> from discuz_scraper import DiscuzClient
>>> with DiscuzClient("https://bbs.example.com/") as dz:   # doctest: +SKIP
...     for post in dz.iter_posts(123):
...         print(post.floor, post.author.name, post.created_at, post.text)
"""

from __future__ import annotations

__version__ = "0.1.0"

from .client import AsyncDiscuzClient, DiscuzClient
from .errors import (
    AntiCrawlChallenge,
    DiscuzError,
    FetchError,
    LoginRequired,
    NotDiscuz,
    NotFound,
    ParseError,
    PermissionDenied,
    RateLimited,
    ServerError,
    SiteClosed,
    UnsupportedVersion,
)
from .models import (
    SCHEMA_VERSION,
    Attachment,
    Author,
    Board,
    BoardPage,
    Breadcrumb,
    Category,
    Comment,
    ForumIndex,
    ForumStats,
    Image,
    PageShell,
    Poll,
    PollOption,
    Post,
    Quote,
    RateEntry,
    Rating,
    Site,
    Thread,
    ThreadPage,
    ThreadSummary,
    ThreadType,
    UserProfile,
)

__all__ = [
    "SCHEMA_VERSION",
    "AntiCrawlChallenge",
    "AsyncDiscuzClient",
    "Attachment",
    "Author",
    "Board",
    "BoardPage",
    "Breadcrumb",
    "Category",
    "Comment",
    "DiscuzClient",
    "DiscuzError",
    "FetchError",
    "ForumIndex",
    "ForumStats",
    "Image",
    "LoginRequired",
    "NotDiscuz",
    "NotFound",
    "PageShell",
    "ParseError",
    "PermissionDenied",
    "Poll",
    "PollOption",
    "Post",
    "Quote",
    "RateEntry",
    "RateLimited",
    "Rating",
    "ServerError",
    "Site",
    "SiteClosed",
    "Thread",
    "ThreadPage",
    "ThreadSummary",
    "ThreadType",
    "UnsupportedVersion",
    "UserProfile",
    "__version__",
]
