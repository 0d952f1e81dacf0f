"""The login form and what the site answers to a login (tpl ``member/login.htm``, ``on_login``).

:func:`parse_login_form` reads ``member.php?mod=logging&action=login``: where to POST, the hidden
fields, whether the site wants a ``loginfield`` choice, a security question, a captcha (seccode) or
a verification question (secqaa). :func:`parse_login_result` maps the answer to the POST to a
:class:`LoginResult` or raises the matching error; :func:`parse_api_login_result` does the same for
the mobile API's ``Message.messageval``. Passwords never pass through this module's outputs except
:meth:`LoginForm.payload`, whose dict is for the request body only.
"""

from __future__ import annotations

import html as html_lib
import json
import re
from typing import Any
from urllib.parse import urljoin

from pydantic import BaseModel, ConfigDict

from ..errors import CaptchaRequired, DiscuzError, LoginFailed, LoginLocked, NotDiscuz, ParseError
from ._dom import Node, Tree, absolute, attr, parse_html, text
from .shell import decode_page, parse_shell

__all__ = [
    "LOCK_SECONDS",
    "LoginForm",
    "LoginResult",
    "login_error",
    "parse_api_login_result",
    "parse_login_form",
    "parse_login_result",
]

LOCK_SECONDS = 15 * 60
"""How long ``login_strike`` locks logins out (the message says 15 minutes; ``logincheck``)."""

_SECCODE_MODID = "member::logging"


class LoginForm(BaseModel):
    """The desktop login form.

    ``loginfield`` is what to send as ``loginfield``: ``"auto"`` when the site has ``autoidselect``
    on (no select), else ``"username"``; ``loginfield_options`` lists the select's values.
    ``seccode_url``/``secqaa_url`` are the ajax URLs that render the captcha / question (§10.3),
    ``seccode_idhash``/``secqaa_idhash`` the ids they are keyed by.
    """

    model_config = ConfigDict(frozen=True)

    action_url: str
    loginhash: str | None
    formhash: str | None
    referer: str | None
    hidden: dict[str, str]
    loginfield: str
    loginfield_options: list[str]
    has_question: bool
    seccode: bool
    seccode_idhash: str | None
    seccode_url: str | None
    secqaa: bool
    secqaa_idhash: str | None
    secqaa_url: str | None
    cookietime: str | None

    def payload(
        self,
        username: str,
        password: str,
        *,
        questionid: int = 0,
        answer: str = "",
        remember: bool = True,
    ) -> dict[str, str]:
        """The POST body for this form (hidden fields included). Keep it out of logs."""
        body = dict(self.hidden)
        body.update(
            username=username,
            password=password,
            questionid=str(questionid),
            answer=answer,
            loginfield=self.loginfield,
            loginsubmit="true",
        )
        if remember and self.cookietime:
            body["cookietime"] = self.cookietime
        return body


class LoginResult(BaseModel):
    """A successful login. ``key`` is the site's message key (``login_succeed``,
    ``location_login_succeed``, or ``logged_in`` for a page that simply shows the member)."""

    model_config = ConfigDict(frozen=True)

    key: str
    message: str | None = None
    uid: int | None = None
    username: str | None = None
    usergroup: str | None = None
    redirect_url: str | None = None
    formhash: str | None = None


def _login_form_node(tree: Tree) -> Node | None:
    for form in tree.css('form[name="login"], form[id^="loginform_"]'):
        if form.css_first('input[name="password"]') is not None:
            return form
    return None


def _sec_update(form: Node, tree: Tree, kind: str, base: str) -> tuple[bool, str | None, str | None]:
    """(present, idhash, update URL) for ``seccode`` (span ``seccode_c…``) or ``secqaa``."""
    prefix = "seccode_" if kind == "seccode" else "secqaa_"
    span = form.css_first(f'span[id^="{prefix}"]') or tree.css_first(f'span[id^="{prefix}"]')
    if span is None:
        return False, None, None
    idhash = (span.attributes.get("id") or "")[len(prefix):] or None
    if idhash is None:
        return True, None, None
    # seccheck.htm: update…('IDHASH', 'TEMPLATE', 'MODID'); the template argument may contain
    # escaped quotes, so only the last argument is read.
    scripts = " ".join(s.text() for s in tree.css("script"))
    call = re.search(rf"update{kind}\('{re.escape(idhash)}',.*,\s*'([^']*)'\)", scripts)
    modid = call.group(1) if call else _SECCODE_MODID
    return True, idhash, urljoin(base, f"misc.php?mod={kind}&action=update&idhash={idhash}&modid={modid}")


def parse_login_form(html: str | bytes | Tree, url: str, *, content_type: str | None = None) -> LoginForm:
    """Read the login form of ``member.php?mod=logging&action=login`` (``url`` = that page's URL).

    Raises :class:`ParseError` when the page holds no login form (already logged in, a notice, or
    a template this parser does not know).
    """
    tree = html if isinstance(html, Tree) else parse_html(decode_page(html, content_type))
    form = _login_form_node(tree)
    if form is None:
        raise ParseError("the page holds no login form", url=url)
    base = parse_shell(tree, url).base_url
    action = absolute(base, form.attributes.get("action"))
    if action is None:
        raise ParseError("the login form has no action URL", url=url)
    hidden: dict[str, str] = {}
    for node in form.css('input[type="hidden"]'):
        name = attr(node, "name")
        if name:
            hidden[name] = node.attributes.get("value") or ""
    hash_match = re.search(r"[?&]loginhash=(\w+)", action)
    options = [o.attributes.get("value") or "" for o in form.css('select[name="loginfield"] option')]
    seccode, seccode_idhash, seccode_url = _sec_update(form, tree, "seccode", base)
    secqaa, secqaa_idhash, secqaa_url = _sec_update(form, tree, "secqaa", base)
    cookietime = form.css_first('input[name="cookietime"]')
    return LoginForm(
        action_url=action,
        loginhash=hash_match.group(1) if hash_match else None,
        formhash=hidden.get("formhash"),
        referer=hidden.get("referer"),
        hidden=hidden,
        loginfield=(options[0] or "username") if options else "auto",
        loginfield_options=options,
        has_question=form.css_first('select[name="questionid"]') is not None,
        seccode=seccode,
        seccode_idhash=seccode_idhash,
        seccode_url=seccode_url,
        secqaa=secqaa,
        secqaa_idhash=secqaa_idhash,
        secqaa_url=secqaa_url,
        cookietime=(cookietime.attributes.get("value") or "2592000") if cookietime is not None else None,
    )


# (needle in the site's zh_CN text, key). lang_message.php strings; first hit wins.
_FAILURES: tuple[tuple[str, str], ...] = (
    ("密码错误次数过多", "login_strike"),
    ("请选择安全提问以及填写正确的答案", "login_question_empty"),
    ("安全提问答案", "login_question_invalid"),
    ("验证码填写错误", "submit_seccode_invalid"),
    ("验证问答填写错误", "submit_secqaa_invalid"),
    ("请输入验证码后继续登录", "login_seccheck2"),
    ("密码空或包含非法字符", "profile_passwd_illegal"),
    ("登录失败", "login_invalid"),
)
_CAPTCHA_KEYS = ("submit_seccode_invalid", "submit_secqaa_invalid", "login_seccheck2")
_TRIES = re.compile(r"尝试\s*(\d+)\s*次")
_LOGINPERM = re.compile(r"['\"]loginperm['\"]\s*:\s*['\"]?(\d+)")
_WELCOME = re.compile(r"欢迎您回来，(.+?)，现在将转入")
_JS_STRING = r"'((?:[^'\\]|\\.)*)'"
_SUCCEED_TEXT = re.compile(r"succeedlocation'\)\.innerHTML\s*=\s*" + _JS_STRING)
_REDIRECT = re.compile(r"(?:window\.)?location\.href\s*=\s*" + _JS_STRING)
_UPDATE_SECCODE = re.compile(r"updateseccode\('(\w+)'\)")
_CDATA = re.compile(r"<!\[CDATA\[(.*?)\]\]>", re.S)


def _js_unquote(value: str) -> str:
    return re.sub(r"\\(.)", r"\1", value)


def _failure_key(message: str) -> str | None:
    return next((k for needle, k in _FAILURES if needle in message), None)


def login_error(
    key: str | None,
    message: str,
    url: str,
    *,
    status: int = 200,
    tries_left: int | None = None,
    captcha_url: str | None = None,
) -> DiscuzError:
    """The error a failed login's message ``key`` stands for (returned, not raised).

    ``key`` ``None`` (an unknown message) gives a plain :class:`LoginFailed`.
    """
    if key == "login_strike":
        return LoginLocked(message or "too many failed logins: locked for 15 minutes", url=url,
                           site_message=message or None, key=key, status_code=status, tries_left=0,
                           retry_after=float(LOCK_SECONDS))
    if key in _CAPTCHA_KEYS:
        return CaptchaRequired(message or "the site wants a captcha answered", url=url,
                               site_message=message or None, key=key, status_code=status,
                               captcha_url=captcha_url)
    return LoginFailed(message or "the site refused the login", url=url, site_message=message or None,
                       key=key, status_code=status, tries_left=tries_left)


def _tries_left(message: str, scripts: str) -> int | None:
    m = _TRIES.search(message) or _LOGINPERM.search(scripts)
    return int(m.group(1)) if m else None


def _welcome(message: str) -> tuple[str | None, str | None]:
    """(usergroup, username) from ``欢迎您回来，GROUP NAME，…``; a group title has no spaces."""
    m = _WELCOME.search(message)
    if m is None:
        return None, None
    group, _, name = m.group(1).partition(" ")
    return (group or None, name or None) if name else (None, group or None)


def _message_parts(tree: Tree) -> tuple[str, str, str, str | None] | None:
    """(message text, alert class, script text, link href) of a showmessage page or ajax answer."""
    node = tree.css_first("#messagetext")
    if node is None:
        return None
    scripts = " ".join(s.text(deep=True) for s in node.css("script"))
    first_p = node.css_first("p")
    message = text(parse_html(re.sub(r"<script\b.*?</script>", " ", (first_p or node).html or "",
                                     flags=re.S | re.I)).body)
    link = node.css_first("p.alert_btnleft a[href], a[href]")
    return message, node.attributes.get("class") or "", scripts, attr(link, "href")


def _result_from_message(message: str, css_class: str, scripts: str, link: str | None,
                         url: str, base: str, status: int, uid: int | None,
                         formhash: str | None) -> LoginResult:
    success_text = _SUCCEED_TEXT.search(scripts)
    if success_text is not None or "alert_right" in css_class or _WELCOME.search(message):
        key = "location_login_succeed" if success_text is not None else "login_succeed"
        if success_text is not None:
            message = text(parse_html(_js_unquote(html_lib.unescape(success_text.group(1)))).body)
        redirect = _REDIRECT.search(scripts)
        target = _js_unquote(redirect.group(1)) if redirect else link
        group, name = _welcome(message)
        return LoginResult(key=key, message=message or None, uid=uid, username=name, usergroup=group,
                           redirect_url=absolute(base, target), formhash=formhash)
    key = _failure_key(message)
    captcha_url: str | None = None
    if key == "login_seccheck2":
        redirect = _REDIRECT.search(scripts)
        captcha_url = absolute(base, _js_unquote(redirect.group(1))) if redirect else None
    elif key == "submit_seccode_invalid":
        update = _UPDATE_SECCODE.search(scripts)
        if update is not None:
            captcha_url = urljoin(base, f"misc.php?mod=seccode&action=update&idhash={update.group(1)}"
                                        f"&modid={_SECCODE_MODID}")
    raise login_error(key, message, url, status=status, tries_left=_tries_left(message, scripts),
                      captcha_url=captcha_url)


def parse_login_result(html: str | bytes, url: str, status: int = 200, *,
                       content_type: str | None = None) -> LoginResult:
    """Map the answer to a login POST to a :class:`LoginResult`, or raise what went wrong.

    ``url`` is the final URL of the answer and ``status`` its HTTP status. Handles the desktop
    showmessage page, the ``inajax=1`` XML answer and a plain page showing the logged-in member.
    Raises :class:`LoginLocked` (``login_strike``, ``retry_after`` = 900 s), :class:`LoginFailed`
    (``login_invalid`` with ``tries_left``, ``login_question_empty``, ``login_question_invalid``...),
    :class:`CaptchaRequired` (``submit_seccode_invalid``, ``submit_secqaa_invalid``,
    ``login_seccheck2``) and :class:`NotDiscuz` / :class:`ParseError` for unrelated pages.
    """
    raw = decode_page(html, content_type)
    stripped = raw.lstrip("\ufeff \t\r\n")
    if stripped.startswith(("<?xml", "<root>")):
        cdata = _CDATA.search(stripped)
        fragment = cdata.group(1) if cdata else ""
        scripts = " ".join(re.findall(r"<script\b[^>]*>(.*?)</script>", fragment, re.S | re.I))
        message = text(parse_html(re.sub(r"<script\b.*?</script>", " ", fragment, flags=re.S | re.I)).body)
        handler = re.search(r"succeedhandle_\w*\(" + _JS_STRING + r",\s*" + _JS_STRING, scripts)
        if handler is not None:
            message = _js_unquote(handler.group(2))
        css = "alert_right" if handler is not None else ""
        link = _js_unquote(handler.group(1)) if handler else None
        return _result_from_message(message, css, scripts, link, url, url, status, None, None)
    tree = parse_html(raw)
    shell = parse_shell(tree, url)
    parts = _message_parts(tree)
    if parts is not None:
        message, css_class, scripts, link = parts
        all_scripts = scripts + " " + " ".join(s.text(deep=True) for s in tree.css("script"))
        return _result_from_message(message, css_class, all_scripts, link, url, shell.base_url, status,
                                    shell.discuz_uid or None, shell.formhash)
    if shell.discuz_uid:
        return LoginResult(key="logged_in", uid=shell.discuz_uid, username=shell.logged_in_name,
                           formhash=shell.formhash)
    if _login_form_node(tree) is not None:
        raise LoginFailed("the site answered with its login form again", url=url, status_code=status)
    if not shell.evidence:
        raise NotDiscuz("the answer to the login is not a Discuz page", url=url, status_code=status)
    raise ParseError("the answer to the login shows neither a message nor a logged-in member", url=url,
                     status_code=status)


def parse_api_login_result(payload: str | bytes | dict[str, Any], url: str) -> LoginResult:
    """Map the mobile API's login answer (``module=login``) to a :class:`LoginResult` or raise.

    Success is ``Message.messageval`` ``login_succeed`` / ``location_login_succeed*`` (or a
    ``member_uid`` > 0); failures raise as :func:`parse_login_result` does. The ``auth`` and
    ``saltkey`` values the API returns are not copied anywhere.
    """
    if not isinstance(payload, dict):
        try:
            payload = json.loads(payload)
        except ValueError as exc:
            raise NotDiscuz("the API login answer is not JSON", url=url) from exc
    if not isinstance(payload, dict):
        raise NotDiscuz("the API login answer is not a JSON object", url=url)
    if isinstance(payload.get("error"), str):
        raise login_error(payload["error"], payload["error"], url)
    variables = payload.get("Variables") if isinstance(payload.get("Variables"), dict) else {}
    message = payload.get("Message") if isinstance(payload.get("Message"), dict) else {}
    key = str(message.get("messageval") or "").split("//", 1)[0]
    text_ = str(message.get("messagestr") or "")
    uid_raw = str(variables.get("member_uid") or "")
    uid = int(uid_raw) if uid_raw.isdigit() and int(uid_raw) > 0 else None
    if key.startswith(("login_succeed", "location_login_succeed")) or (not key and uid):
        group, name = _welcome(text_)
        return LoginResult(key=key or "logged_in", message=text_ or None, uid=uid,
                           username=str(variables.get("member_username") or "") or name,
                           usergroup=group, formhash=str(variables.get("formhash") or "") or None)
    if not key:
        raise ParseError("the API login answer has no Message and no member", url=url)
    raise login_error(key, text_, url, tries_left=_tries_left(text_, ""))
