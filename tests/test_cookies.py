"""Cookie import (dict, header, cookies.txt, JSON exports), the 0600 jar file, and redaction."""

from __future__ import annotations

import json
import logging
import os
import stat
from pathlib import Path

import httpx
import pytest

from discuz_scraper.cookies import FILE_FORMAT, load_cookies, read_cookie_file, redact, save_cookies
from discuz_scraper.errors import CookieError, DiscuzError

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "cookies"


def _table(jar: httpx.Cookies) -> dict[str, tuple[str, str, str, int | None, bool, bool, bool]]:
    return {
        c.name: (c.value or "", c.domain, c.path, c.expires, c.secure, c.has_nonstandard_attr("HttpOnly"),
                 c.domain_specified)
        for c in jar.jar
    }


def _sent(jar: httpx.Cookies, url: str) -> str | None:
    with httpx.Client(cookies=jar) as client:
        return client.build_request("GET", url).headers.get("cookie")


def test_dict_bound_to_domain_is_sent_to_that_host_only():
    jar = load_cookies({"Ab3x_2132_auth": "tok123", "Ab3x_2132_saltkey": "salt99"}, domain="http://forum.test/")
    assert _table(jar) == {
        "Ab3x_2132_auth": ("tok123", "forum.test", "/", None, False, False, False),
        "Ab3x_2132_saltkey": ("salt99", "forum.test", "/", None, False, False, False),
    }
    assert _sent(jar, "http://forum.test/forum.php") == "Ab3x_2132_auth=tok123; Ab3x_2132_saltkey=salt99"
    assert _sent(jar, "http://evil.test/") is None


def test_dict_without_domain_goes_everywhere():
    jar = load_cookies({"a": "1"})
    assert _sent(jar, "http://anything.test/") == "a=1"


def test_cookie_header_string():
    jar = load_cookies("Cookie: Ab3x_2132_auth=tok%2B1; lastvisit=17000 ;  ; x=", domain="forum.test")
    assert {c.name: c.value for c in jar.jar} == {"Ab3x_2132_auth": "tok%2B1", "lastvisit": "17000", "x": ""}
    assert {c.domain for c in jar.jar} == {"forum.test"}


def test_netscape_cookies_txt():
    jar = load_cookies(FIXTURES / "cookies.txt")
    assert _table(jar) == {
        "Ab3x_2132_auth": ("fakeAuthToken0001", "forum.test", "/", 4102444800, False, True, False),
        "Ab3x_2132_saltkey": ("Fk3Salt9", "forum.test", "/", 4102444800, False, True, False),
        "Ab3x_2132_lastvisit": ("1700000000", ".forum.test", "/", None, False, False, True),
        "session": ("otherSiteValue", "other.test", "/", 4102444800, True, False, False),
    }
    # The expired cookie is gone; the other site's secure cookie stays with its site.
    assert _sent(jar, "http://forum.test/") == (
        "Ab3x_2132_auth=fakeAuthToken0001; Ab3x_2132_saltkey=Fk3Salt9; Ab3x_2132_lastvisit=1700000000"
    )
    assert _sent(jar, "http://elsewhere.test/") is None
    assert _sent(jar, "https://other.test/") == "session=otherSiteValue"


def test_netscape_path_given_as_str_and_as_text():
    path = str(FIXTURES / "cookies.txt")
    assert _table(load_cookies(path)) == _table(load_cookies(FIXTURES / "cookies.txt"))
    text = (FIXTURES / "cookies.txt").read_text()
    assert _table(load_cookies(text)) == _table(load_cookies(path))


def test_json_export_list():
    jar = load_cookies(FIXTURES / "export.json")
    assert _table(jar) == {
        "Ab3x_2132_auth": ("fakeAuthToken0001", "forum.test", "/", 4102444800, False, True, False),
        "Ab3x_2132_sid": ("fakeSid77", ".forum.test", "/", None, False, False, True),
    }


def test_json_string_playwright_state_and_domainless_items():
    state = json.dumps({"cookies": [
        {"name": "a", "value": "v1", "domain": "forum.test", "path": "/", "expires": -1, "httpOnly": False,
         "secure": False, "sameSite": "Lax"},
        {"name": "b", "value": "v2"},
    ], "origins": []})
    jar = load_cookies(state, domain="forum.test")
    assert _table(jar) == {
        "a": ("v1", "forum.test", "/", None, False, False, False),
        "b": ("v2", "forum.test", "/", None, False, False, False),
    }


def test_httpx_cookies_are_copied():
    source = httpx.Cookies()
    source.set("a", "1", domain="forum.test")
    jar = load_cookies(source)
    jar.set("b", "2")
    assert [c.name for c in source.jar] == ["a"]


@pytest.mark.parametrize(
    ("source", "message"),
    [
        (FIXTURES / "bad_flag.txt", "bad_flag.txt' line 3: the include-subdomains and secure fields must be "
                                    "TRUE or FALSE"),
        (FIXTURES / "bad_missing_value.json", "bad_missing_value.json', cookie #2: field 'value' is missing "
                                              "or not a string"),
        ("forum.test\tFALSE\t/\tFALSE\tsoon\tauth\tsecretValue1\n", "cookies.txt text line 1: the expiry "
                                                                    "field is not an integer"),
        ("forum.test\tFALSE\t/\tsecretValue1\n", "cookies.txt text line 1: expected 7 tab-separated fields, "
                                                 "found 4"),
        ('[{"name": "a", "value": "secretValue1",', "cookie JSON: not valid JSON (line 1, column 40)"),
        ('{"name": "a"}', "cookie JSON: expected a list of cookies or an object with a 'cookies' list"),
        ('[{"name": "a", "value": "secretValue1", "secure": "yes"}]',
         "cookie JSON, cookie #1: field 'secure' must be true or false"),
        ('[{"name": "a", "value": "secretValue1", "expirationDate": "tomorrow"}]',
         "cookie JSON, cookie #1: field 'expirationDate' must be a number of seconds"),
        ("good=1; secretValue1", "Cookie header, part #2: expected name=value"),
        ({"bad name": "secretValue1"}, "cookie dict, cookie #1: invalid cookie name 'bad name'"),
        ({"auth": "secretValue1;x"}, "cookie dict, cookie #1: the value of cookie 'auth' holds ';' or "
                                     "control characters"),
        ("missing-cookies.txt", "cookie file 'missing-cookies.txt' does not exist"),
        (42, "cannot read cookies from a int"),
    ],
)
def test_bad_sources_raise_cookie_error_without_values(source, message):
    with pytest.raises(CookieError) as info:
        load_cookies(source)
    assert message in str(info.value)
    assert isinstance(info.value, DiscuzError)
    for secret in ("secretValue1", "secretBadLine", "secretFlagValue", "secretJsonValue"):
        assert secret not in str(info.value)
        assert secret not in repr(info.value)


def test_bad_domain_argument():
    with pytest.raises(CookieError, match="domain= must be a host name or a site URL"):
        load_cookies({"a": "1"}, domain="http://")


def test_save_and_read_round_trip_with_mode_0600(tmp_path):
    jar = load_cookies(FIXTURES / "cookies.txt")
    target = tmp_path / "jar.json"
    save_cookies(jar, target)
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o600
    payload = json.loads(target.read_text())
    assert payload["format"] == FILE_FORMAT
    assert payload["version"] == 1
    assert payload["cookies"][0] == {
        "name": "Ab3x_2132_auth", "value": "fakeAuthToken0001", "domain": "forum.test", "path": "/",
        "expires": 4102444800, "secure": False, "http_only": True, "host_only": True,
    }
    assert _table(read_cookie_file(target)) == _table(jar)
    # load_cookies reads the same file too.
    assert _table(load_cookies(target)) == _table(jar)
    assert [p.name for p in tmp_path.iterdir()] == ["jar.json"]


def test_save_tightens_an_existing_world_readable_file(tmp_path):
    target = tmp_path / "jar.json"
    target.write_text("{}")
    os.chmod(target, 0o644)
    save_cookies(load_cookies({"a": "v"}, domain="forum.test"), target)
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o600
    assert [(c.name, c.value) for c in read_cookie_file(target).jar] == [("a", "v")]


def test_save_to_missing_directory_raises_cookie_error(tmp_path):
    with pytest.raises(CookieError, match="cannot write cookie file"):
        save_cookies(httpx.Cookies(), tmp_path / "nope" / "jar.json")


def test_read_cookie_file_rejects_other_formats(tmp_path):
    with pytest.raises(CookieError, match=r"not a discuz-scraper-cookies file \(field 'format'\)"):
        read_cookie_file(FIXTURES / "export.json")
    other = tmp_path / "v2.json"
    other.write_text(json.dumps({"format": FILE_FORMAT, "version": 2, "cookies": []}))
    with pytest.raises(CookieError, match=r"unsupported version \(field 'version'\), expected 1"):
        read_cookie_file(other)


def test_redact_masks_values_in_text_and_logs(caplog):
    jar = load_cookies("Ab3x_2132_auth=fakeAuthToken0001; v=1", domain="forum.test")
    line = "sent Cookie: Ab3x_2132_auth=fakeAuthToken0001; v=1 (token fakeAuthToken0001) version=1"
    masked = redact(line, jar)
    assert masked == "sent Cookie: Ab3x_2132_auth=***; v=*** (token ***) version=1"
    with caplog.at_level(logging.INFO):
        logging.getLogger("discuz_scraper.test").info("%s", masked)
    assert "fakeAuthToken0001" not in caplog.text
    assert redact("auth=abcdef", {"auth": "abcdef"}) == "auth=***"
