"""The error hierarchy: what str/repr say, what they hide, and how the classes nest."""

from __future__ import annotations

import pytest

from discuz_scraper.errors import (
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
    redact_url,
)


def test_str_carries_message_site_text_key_status_and_url():
    exc = NotFound(
        "thread gone",
        url="http://forum.test/forum.php?mod=viewthread&tid=9",
        site_message="抱歉，指定的主题不存在或已被删除或正在被审核",
        key="thread_nonexistence",
        status_code=404,
    )
    assert str(exc) == (
        "thread gone | site said: 抱歉，指定的主题不存在或已被删除或正在被审核"
        " | key: thread_nonexistence | HTTP 404 | url: http://forum.test/forum.php?mod=viewthread&tid=9"
    )
    assert repr(exc) == (
        "NotFound('thread gone', url='http://forum.test/forum.php?mod=viewthread&tid=9',"
        " key='thread_nonexistence')"
    )


def test_site_message_equal_to_message_is_not_repeated():
    assert str(PermissionDenied("本版块需要密码", site_message="本版块需要密码")) == "本版块需要密码"


def test_secrets_in_urls_are_masked_in_str_and_repr_but_kept_on_the_attribute():
    url = "http://forum.test/member.php?mod=logging&action=logout&formhash=9c1e7a2b&sid=Qa1Zx"
    exc = DiscuzError("boom", url=url)
    assert "9c1e7a2b" not in str(exc) and "Qa1Zx" not in str(exc)
    assert "9c1e7a2b" not in repr(exc)
    assert (
        str(exc) == "boom | url: http://forum.test/member.php?mod=logging&action=logout&formhash=***&sid=***"
    )
    assert exc.url == url


def test_redact_url_leaves_ordinary_parameters():
    assert redact_url("http://f.test/forum.php?mod=viewthread&tid=3#pid5") == (
        "http://f.test/forum.php?mod=viewthread&tid=3#pid5"
    )
    assert (
        redact_url("http://f.test/x.php?PW=abc&auth=x%2Fy&page=2")
        == "http://f.test/x.php?PW=***&auth=***&page=2"
    )


@pytest.mark.parametrize(
    ("cls", "parents"),
    [
        (LoginRequired, (PermissionDenied, DiscuzError)),
        (ServerError, (FetchError, DiscuzError)),
        (UnsupportedVersion, (ParseError, DiscuzError)),
        (NotFound, (DiscuzError,)),
        (SiteClosed, (DiscuzError,)),
        (AntiCrawlChallenge, (DiscuzError,)),
        (RateLimited, (DiscuzError,)),
        (NotDiscuz, (DiscuzError,)),
    ],
)
def test_hierarchy(cls, parents):
    assert all(issubclass(cls, parent) for parent in parents)
    assert issubclass(DiscuzError, Exception)


def test_login_required_is_caught_as_permission_denied():
    with pytest.raises(PermissionDenied) as info:
        raise LoginRequired("log in", key="to_login")
    assert (type(info.value), info.value.key) == (LoginRequired, "to_login")


def test_attributes_and_retry_after():
    exc = RateLimited("slow", url="http://forum.test/", status_code=429, retry_after=30.0)
    assert (exc.message, exc.url, exc.status_code, exc.retry_after, exc.key, exc.site_message) == (
        "slow",
        "http://forum.test/",
        429,
        30.0,
        None,
        None,
    )
    assert exc.args == ("slow",)


def test_unsupported_version_keeps_version():
    exc = UnsupportedVersion("old", version="6.0", url="http://forum.test/")
    assert (exc.version, exc.url, str(exc)) == ("6.0", "http://forum.test/", "old | url: http://forum.test/")
