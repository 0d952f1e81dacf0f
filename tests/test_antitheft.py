"""Solving the anti-collection script (generated obfuscations + the fixture) and CC-defence pages."""

from __future__ import annotations

import random
import string
import sys
from pathlib import Path

import pytest

from discuz_scraper.antitheft import CcChallenge, parse_cc_page, solve_antitheft
from discuz_scraper.errors import AntiCrawlChallenge, ParseError

ERRORS = Path(__file__).resolve().parent.parent / "fixtures" / "errors"
PAGE = "http://forum.test/forum.php?mod=viewthread&tid=3"
TARGET_PATH = "/forum.php?mod=viewthread&tid=3&_dsign=4be07c1d"
GBK = "text/html; charset=gbk"

# The eight ways the challenge writes its redirect (§17); {L} is an alias bound to `location`,
# {H}/{R}/{A} variables holding "href"/"replace"/"assign".
FORMS = (
    "location.href={U};",
    "location={U};",
    "{L}[{H}]={U};",
    "location[{H}]={U};",
    "location.replace({U});",
    "location.assign({U});",
    "location[{A}]({U});",
    "location[{R}]({U});",
)
DECOYS = ("{W}[{H}]={P};", "{W}['href']={P};", "{W}.href={P};")


class Obfuscator:
    """Builds a challenge script in the style of the real one: the URL cut into 1-3 character
    pieces, each produced by one of several tricks (plain strings, functions, immediately-invoked
    closures, and functions whose *name* is the piece, read back through ``getName.caller``)."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.used: set[str] = set()

    def name(self) -> str:
        while True:
            n = self.rng.choice("_" + string.ascii_letters) + "".join(
                self.rng.choices(string.ascii_letters + string.digits, k=self.rng.randint(2, 5)))
            if n not in self.used:
                self.used.add(n)
                return n

    def piece(self, val: str, codes: list[str]) -> str:
        trick = self.rng.randint(1, 6)
        var = self.name()
        named = val.isalnum() and val.isascii() and not val[0].isdigit() and val not in ("if", "for", "new")
        if trick == 1:
            codes.append(f"{var}='{val}';")
            return var
        if trick == 2 and named:
            codes.append(f"function {var}(){{function {val}(){{return getName();}};return {val}();}}")
            return f"{var}()"
        if trick == 3:
            codes.append(f"{var}=function({var}_){{'return {var}';return {var}_;}};")
            return f"{var}('{val}')"
        if trick == 4:
            return f"(function(){{'return {var}';return '{val}'}})()"
        if trick == 5:
            chars = "+".join(f"String.fromCharCode({ord(c)})" for c in val)
            codes.append(f"function {var}(){{var w=getName();return w.length>0?{chars}:''}}")
            return f"{var}()"
        return f"'{val}'"

    def script(self, url: str, form: int, decoy: bool) -> str:
        codes = [
            'function getName(){var caller=getName.caller;if(caller.name){return caller.name}'
            'var str=caller.toString().replace(/[\\s]*/g,"");var name=str.match(/^function([^\\(]+?)\\(/);'
            "if(name&&name[1]){return name[1]}else{return ''}}",
        ]
        names = {k: self.name() for k in "WLHRA"}
        codes += [f"{names['W']}=window;", f"{names['L']}=location;", f"{names['H']}='hr'+'ef';",
                  f"{names['R']}=['re','pl','ace'].join('');", f"{names['A']}='ass'+'ign';"]
        parts: list[str] = []
        i = 0
        while i < len(url):
            size = self.rng.randint(1, 3)
            parts.append(self.piece(url[i:i + size], codes))
            i += size
        head, *rest = codes
        self.rng.shuffle(rest)
        js = head + "".join(rest) + FORMS[form].format(U="+".join(parts), **names)
        if decoy:
            js += self.rng.choice(DECOYS).format(P="+".join(parts[:8]), **names)
        return f'<script type="text/javascript">{js}</script>'


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("form", range(len(FORMS)))
def test_generated_obfuscations_solve_to_the_exact_url(form, seed):
    script = Obfuscator(seed * 10 + form).script(TARGET_PATH, form, decoy=seed != 3)
    assert "_dsign" not in script  # the marker is always split up
    assert solve_antitheft(script, PAGE) == "http://forum.test" + TARGET_PATH


def test_name_trick_and_decoy_really_appear():
    scripts = [Obfuscator(s).script(TARGET_PATH, 7, decoy=True) for s in range(5)]
    assert any("return getName();" in s for s in scripts)
    assert all(".href=" in s or "['href']=" in s or "]=" in s for s in scripts)


def test_fixture_page():
    page = (ERRORS / "x34_antitheft.html").read_bytes().decode("gbk")
    assert solve_antitheft(page, PAGE) == "http://forum.test/forum.php?mod=viewthread&tid=3&_dsign=4be07c1d"


def test_relative_target_resolves_against_a_subdirectory_site():
    script = Obfuscator(7).script("forum.php?mod=viewthread&tid=9&_dsign=0a1b2c3d", 0, decoy=True)
    assert solve_antitheft(script, "http://forum.test/bbs/forum.php?mod=viewthread&tid=9") == (
        "http://forum.test/bbs/forum.php?mod=viewthread&tid=9&_dsign=0a1b2c3d"
    )


def test_without_the_js_extra_explains_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "py_mini_racer", None)
    page = (ERRORS / "x34_antitheft.html").read_bytes().decode("gbk")
    with pytest.raises(AntiCrawlChallenge) as info:
        solve_antitheft(page, PAGE)
    assert 'pip install "discuz-scraper[js]"' in str(info.value)
    assert info.value.key == "antitheft"


@pytest.mark.parametrize(
    ("page", "message"),
    [
        ("<script>while(true){}</script>", "did not finish within 0.3 s"),
        ("<script>location.href='/forum.php?tid=3';window.href='x';</script>",
         "made 2 redirect(s), none with a _dsign"),
        ("<script>location.replace('http://evil.test/?_dsign=0a1b2c3d');</script>", "redirects off-site"),
        ("<script>var a = ;</script>", "failed to run: "),
        ("<script>" + "var x=1;" * 9000 + "</script>", "too large to run"),
    ],
)
def test_scripts_that_do_not_solve(page, message):
    with pytest.raises(AntiCrawlChallenge, match=message.replace("(", r"\(").replace(")", r"\)")) as info:
        solve_antitheft(page, PAGE, timeout=0.3)
    assert info.value.url == PAGE


def test_page_without_script_is_a_parse_error():
    with pytest.raises(ParseError, match="holds no <script>"):
        solve_antitheft("<html><body>hello</body></html>", PAGE)


def test_each_solve_runs_in_a_fresh_context():
    solve_antitheft("<script>leak='x';location.href='/forum.php?tid=3&_dsign=00000000';</script>", PAGE)
    with pytest.raises(AntiCrawlChallenge, match=r"failed to run: .*leak"):
        solve_antitheft("<script>location.href=leak+'?_dsign=11111111';</script>", PAGE)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("x34_cc_refresh.html", CcChallenge(
            kind="refresh", message="您访问本站速度过快或者刷新间隔时间小于两秒！请等待页面自动跳转 ...",
            wait_seconds=1.001)),
        ("x34_cc_reload.html", CcChallenge(
            kind="reload", message="欢迎光临本站，页面正在重新载入，请稍候 ...", wait_seconds=1.001)),
        ("x34_cc_proxy.html", CcChallenge(
            kind="proxy", message="本站现在限制使用代理服务器访问，请去除您的代理设置，直接访问本站。")),
        ("x34_cc_question.html", CcChallenge(
            kind="question", question="7 + 13 + 2 = ?",
            answer_form={"answer": "22", "secqsubmit": "Submit"})),
    ],
)
def test_cc_pages(name, expected):
    assert parse_cc_page((ERRORS / name).read_bytes(), content_type=GBK) == expected


def test_cc_question_keeps_hidden_inputs_and_leaves_free_text_questions_unanswered():
    page = ('<html><head><title>5 + 20 = ?</title></head><body><form action="" method="post">'
            '<input type="hidden" name="formhash" value="ab12cd34" /><table><tr><td bgcolor="#EBEBEB">'
            '<b>5 + 20 = ?</b><input type="text" name="answer" /><input type="submit" name="secqsubmit" '
            'value="" /></td></tr></table></form></body></html>')
    assert parse_cc_page(page).answer_form == {"formhash": "ab12cd34", "answer": "25", "secqsubmit": "yes"}
    free = page.replace("5 + 20 = ?", "本站的站长是谁？")
    assert parse_cc_page(free) == CcChallenge(kind="question", question="本站的站长是谁？", answer_form=None)


def test_not_a_cc_page():
    with pytest.raises(ParseError, match="not a CC-defence page"):
        parse_cc_page("<html><head><title>Hello</title></head><body></body></html>")
