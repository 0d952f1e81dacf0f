"""Message bodies: text, cleaned HTML, images, attachments, quotes, edit marker, hidden content."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from discuz_scraper.errors import ParseError
from discuz_scraper.models import Attachment, Image, Quote
from discuz_scraper.parsers._dom import Node, parse_html
from discuz_scraper.parsers.content import (
    MessageContent,
    aid_from_url,
    parse_attachment_list,
    parse_message,
)
from discuz_scraper.parsers.dates import tz_from_minutes

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "content"
BASE = "http://forum.test/bbs/"
TZ = tz_from_minutes(480)
ATTACH = "http://forum.test/bbs/data/attachment/forum/202403/06/"
AID88 = "ODh8YTFiMmMzZDR8MTcwOTY4NzU2NHw1fDEyMw%3D%3D"
AID90 = "OTB8NWU2ZjdhOGJ8MTcwOTY4NzU2NHw1fDEyMw%3D%3D"


def _at(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=TZ)


def _node(html: str, selector: str = "[id^=postmessage_]") -> Node:
    found = parse_html(html).css_first(selector)
    assert found is not None
    return found


def _message(name: str, *, tid: int | None = 123, now: datetime | None = None) -> MessageContent:
    node = _node((FIXTURES / name).read_text(encoding="utf-8"))
    return parse_message(node, base_url=BASE, tz=TZ, tid=tid, now=now)


# --- text and noise -------------------------------------------------------------------------


def test_text_drops_noise_edit_marker_and_smilies() -> None:
    msg = _message("x34_text.html")
    assert msg.text == (
        "周末骑行计划\n"
        "从 东门出发， 沿河一直到湖边。\n"
        "\n"
        "装备清单：\n"
        "头盔\n"
        "水壶\n"
        "补胎工具\n"
        "缩进的一段话，不是引用。\n"
        "详情见 上次的帖子\n"
        "欢迎报名！"
    )
    assert msg.edited_by == "alice"
    assert msg.edited_at == _at(2024, 3, 7, 10, 5)
    assert msg.edited_at.isoformat() == "2024-03-07T10:05:00+08:00"
    assert msg.images == []  # the smilie is not an image
    assert msg.quotes == []  # [indent] renders a bare blockquote, which quotes nothing
    assert msg.attachments == []
    assert msg.hidden_content is False


def test_content_html_is_cleaned_and_absolute() -> None:
    html = _message("x34_text.html").content_html
    assert html.startswith("<strong>周末骑行</strong>计划<br>\n从&nbsp; &nbsp;东门出发")
    assert html.endswith("</div>\n欢迎报名！")
    noise = ("本帖最后由", "pstatus", "Zq7xB", "k2Lm9", "Wp03s", "广告位招租", "replyreload", "font-size")
    for gone in noise:
        assert gone not in html
    assert '<a href="http://forum.test/bbs/forum.php?mod=viewthread&amp;tid=77" target="_blank">' in html
    assert 'src="http://forum.test/bbs/static/image/smiley/default/smile.gif" smilieid="1"' in html
    assert "<blockquote>缩进的一段话，不是引用。</blockquote>" in html


def test_table_rows_and_code_lines() -> None:
    msg = _message("x34_table_code.html")
    assert msg.text == (
        "路线对比：\n"
        "路线 | 距离 | 爬升\n"
        "河边线 | 32 km | 120 m\n"
        "山路线 | | 860 m\n"
        "\n"
        "配置文件：\n"
        "route:\n"
        "    name: river\n"
        "    km: 32\n"
        "以上。"
    )
    assert "复制代码" not in msg.content_html
    assert '<ol><li>route:</li><li>&nbsp; &nbsp; name: river</li>' in msg.content_html


def test_bracketed_edit_marker_of_no_bbcode_posts() -> None:
    msg = _message("edit_plain.html")
    assert msg.edited_by == "carol"
    assert msg.edited_at == _at(2024, 3, 8, 8, 30)
    assert msg.content_html == "收费内容之前的免费部分。<br>\n第二行 &lt;不是标签&gt;"
    assert msg.text == "收费内容之前的免费部分。\n第二行 <不是标签>"


# --- images and inline attachments ----------------------------------------------------------


def test_images_remote_sized_lazy_and_attachment_deduplicated() -> None:
    msg = _message("x34_images.html")
    assert msg.images == [
        Image(url="https://img.example.org/lake/1.jpg"),
        Image(url="http://forum.test/pics/bridge.png", width=640, height=480),
        Image(url="http://cdn.example.net/sunset.jpg"),
        Image(
            url=ATTACH + "091244abc.jpg",
            thumb_url=ATTACH + "091244abc.jpg.thumb.jpg",
            aid=88,
            filename="lake-panorama.jpg",
            size_bytes=251187,
            width=600,
            kind="attachment",
        ),
    ]
    assert msg.attachments == [
        Attachment(
            aid=88,
            filename="lake-panorama.jpg",
            url=f"http://forum.test/bbs/forum.php?mod=attachment&aid={AID88}&nothumb=yes",
            size_bytes=251187,
            downloads=12,
            is_image=True,
            inline=True,
            uploaded_at=_at(2024, 3, 6, 9, 12),
        )
    ]
    assert msg.text == "湖边的照片：\n\n同一张再贴一次：\n\n开心"


def test_content_html_replaces_placeholders_and_lazy_images() -> None:
    html = _message("x34_images.html").content_html
    assert "none.gif" not in html
    assert "aimg_88_menu" not in html and "下载附件" not in html
    assert f'<img id="aimg_88" aid="88" src="{ATTACH}091244abc.jpg.thumb.jpg"' in html
    # Event handlers are dropped from content_html (see test_hostile.py); the file URL stays.
    assert 'file="http://cdn.example.net/sunset.jpg" lazyloadthumb="1"' in html
    assert "onmouseover" not in html and "onclick" not in html
    assert 'lazyloadthumb="1" border="0" alt="" src="http://cdn.example.net/sunset.jpg">' in html


def test_x35_anti_leech_image_and_inline_file_attachment() -> None:
    msg = _message("x35_member_images.html")
    link = f"http://forum.test/bbs/forum.php?mod=attachment&aid={AID90}"
    assert msg.images == [
        Image(
            url=link + "&noupdate=yes&nothumb=yes",
            thumb_url=link + "&noupdate=yes",
            aid=90,
            filename="new-bike.png",
            size_bytes=1268777,
            width=400,
            kind="attachment",
        )
    ]
    assert msg.attachments == [
        Attachment(
            aid=90,
            filename="new-bike.png",
            url=link + "&nothumb=yes",
            size_bytes=1268777,
            downloads=3,
            is_image=True,
            inline=True,
            uploaded_at=_at(2026, 11, 21, 17, 29),
        ),
        Attachment(
            aid=91,
            filename="manual-v2.zip",
            url="http://forum.test/bbs/forum.php?mod=attachment&aid=OTF8YmFkfDE3MDk2ODc1NjR8NXwxMjM%3D",
            size_bytes=524288,
            downloads=7,
            inline=True,
            uploaded_at=_at(2026, 11, 20, 8, 5),
        ),
    ]
    assert msg.text == "新车到了\n\n说明书也传上来了：\nmanual-v2.zip"


def test_guest_thumbnail_and_permission_box() -> None:
    msg = _message("guest_view.html")
    assert msg.images == [
        Image(url=ATTACH + "101010xyz.jpg.thumb.jpg", aid=95, kind="attachment"),
    ]
    assert msg.text == "看看这张：\n\n很美吧。"
    assert "attach_nopermission" not in msg.content_html
    assert "登录" not in msg.content_html
    assert f'src="{ATTACH}101010xyz.jpg.thumb.jpg"' in msg.content_html


def test_robot_view_plain_image() -> None:
    msg = _message("robot_view.html")
    assert msg.images == [Image(url=ATTACH + "091244abc.jpg")]
    assert msg.text == "给蜘蛛看的页面："


# --- quotes ---------------------------------------------------------------------------------


def test_quotes_with_and_without_source_link() -> None:
    msg = _message("x34_quotes.html")
    assert msg.quotes == [
        Quote(
            pid=1001,
            tid=123,
            author="alice",
            posted_at=_at(2024, 3, 6, 9, 12),
            text="周末骑行计划\n从东门出发 ...",
        ),
        Quote(text="没有出处的一句话"),
        Quote(pid=1005, tid=123, author="bob", posted_at=_at(2024, 3, 6, 21, 40), text="我带打气筒"),
    ]
    assert msg.text == "算我一个！\n那我就不带了。"
    assert msg.images == [Image(url="https://img.example.org/lake/1.jpg", in_quote=True)]
    assert (
        '<a href="http://forum.test/bbs/forum.php?mod=redirect&amp;goto=findpost&amp;pid=1001&amp;ptid=123"'
        in msg.content_html
    )


def test_quote_link_without_ptid_and_no_thread_id_known() -> None:
    msg = _message("x34_quotes.html", tid=None)
    assert [(q.pid, q.tid) for q in msg.quotes] == [(1001, 123), (None, None), (1005, None)]


def test_discuz72_quote_and_smilie() -> None:
    msg = _message("d72_message.html")
    assert msg.quotes == [
        Quote(pid=480, tid=66, author="erin", posted_at=_at(2010, 10, 1, 12, 0), text="老版本也能引用吗"),
    ]
    assert msg.text == "当然可以。"
    assert msg.images == []  # back.gif arrow and the smilie are site UI


def test_a_box_of_both_quote_classes_is_one_quote() -> None:
    # A selector list lists such a box once per class; it used to come out as two quotes.
    node = _node(
        '<div id="postmessage_1"><div class="quote reply_wrap"><blockquote>'
        '<font color="#999999">erin 发表于 2024-3-6 21:40</font><br>一次就够</blockquote></div>好的</div>'
    )
    msg = parse_message(node, base_url=BASE, tz=TZ, tid=7)
    assert msg.quotes == [Quote(author="erin", posted_at=_at(2024, 3, 6, 21, 40), text="一次就够")]
    assert msg.text == "好的"


def test_mobile_api_message() -> None:
    msg = _message("api_message.html")
    assert msg.quotes == [Quote(author="dave", posted_at=_at(2024, 3, 9, 20, 41), text="原帖说装备要轻")]
    assert msg.images == [
        Image(
            url="http://forum.test/bbs/data/attachment/forum/202403/09/204100pack.jpg",
            thumb_url="http://forum.test/bbs/data/attachment/forum/202403/09/204100pack.jpg.thumb.jpg",
            kind="attachment",
        ),
        Image(url="https://img.example.org/map.png", width=320),
    ]
    assert msg.text == "同意，我只带一个包。\npack = light\n    weight = 3kg\n收工"


# --- hidden content -------------------------------------------------------------------------


def test_hidden_content_notices_are_not_content() -> None:
    msg = _message("hide_locked.html")
    assert msg.hidden_content is True
    assert msg.text == "集合地点在下面：\n\n高级路线：\n到时见。"
    for gone in ("隐藏", "积分", "locked", "replyreload"):
        assert gone not in msg.content_html
        assert gone not in msg.text


def test_revealed_hidden_content_is_kept() -> None:
    msg = _message("hide_revealed.html")
    assert msg.hidden_content is False
    assert msg.text == (
        "集合地点在下面：\n东门停车场，早上七点。\n\n高级路线：\n翻过北山，再绕水库一圈。\n\n到时见。"
    )
    assert '<div class="showhide">东门停车场，早上七点。<br>' in msg.content_html
    assert "本帖隐藏的内容" not in msg.content_html
    assert "以下内容" not in msg.content_html


# --- attachment list ------------------------------------------------------------------------


def test_attachment_list_items() -> None:
    html = (FIXTURES / "pattl.html").read_text(encoding="utf-8")
    attachments, images = parse_attachment_list(_node(html, "div.pattl"), base_url=BASE, tz=TZ)
    link = "http://forum.test/bbs/forum.php?mod=attachment&aid="
    assert attachments == [
        Attachment(
            aid=89,
            filename="route-map.jpg",
            url=link + "ODl8MGY5ZThkN2N8MTcwOTY4NzU2NHw1fDEyMw%3D%3D&nothumb=yes",
            size_bytes=251187,
            downloads=12,
            is_image=True,
            uploaded_at=_at(2024, 3, 6, 9, 12),
        ),
        Attachment(
            aid=201,
            filename="gpx-tracks.zip",
            url=link + "MjAxfDc3YWE4OGJifDE3MDk2ODc1NjR8NXwxMjM%3D",
            size_bytes=1258291,
            downloads=30,
            price=2,
            price_unit="金钱",
            uploaded_at=_at(2024, 3, 7, 18, 30),
        ),
        Attachment(
            aid=202,
            filename="safety-rules.pdf",
            url=link + "MjAyfDEyMzRhYmNkfDE3MDk2ODc1NjR8NXwxMjM%3D",
            size_bytes=980,
            downloads=0,
            read_perm=20,
        ),
        Attachment(filename="notes.txt", url=link + "%%%not-base64", size_bytes=3072),
    ]
    assert images == [
        Image(
            url=ATTACH + "091200route.jpg",
            aid=89,
            filename="route-map.jpg",
            size_bytes=251187,
            width=600,
            kind="attachment",
        )
    ]


def test_attachment_list_relative_upload_time_uses_now() -> None:
    html = (
        '<div class="pattl"><dl class="tattl"><dd><p class="attnm">'
        '<a href="forum.php?mod=attachment&amp;aid=7" id="aid7">a.rar</a></p>'
        '<div class="tip tip_4" id="aid7_menu"><p class="y">昨天&nbsp;21:05 上传</p></div>'
        "<p>12 KB, 下载次数: 1</p></dd></dl></div>"
    )
    attachments, images = parse_attachment_list(
        _node(html, "div.pattl"), base_url=BASE, tz=TZ, now=_at(2024, 3, 9, 8, 0)
    )
    assert attachments == [
        Attachment(
            aid=7,
            filename="a.rar",
            url="http://forum.test/bbs/forum.php?mod=attachment&aid=7",
            size_bytes=12288,
            downloads=1,
            uploaded_at=_at(2024, 3, 8, 21, 5),
        )
    ]
    assert images == []


@pytest.mark.parametrize(
    ("url", "aid"),
    [
        ("forum.php?mod=attachment&aid=ODh8YTFiMmMzZDR8MTcwOTY4NzU2NHw1fDEyMw%3D%3D&nothumb=yes", 88),
        ("forum.php?mod=attachment&aid=MjAxfDc3YWE4OGJifDE3MDk2ODc1NjR8NXwxMjM", 201),  # padding lost
        ("forum.php?mod=misc&action=attachpay&aid=201&tid=123", 201),
        ("forum.php?mod=attachment&aid=%%%not-base64", None),
        ("forum.php?mod=attachment&aid=aGVsbG98d29ybGQ%3D", None),  # base64 of "hello|world"
        ("forum.php?mod=attachment", None),
        (None, None),
    ],
)
def test_aid_from_url(url: str | None, aid: int | None) -> None:
    assert aid_from_url(url) == aid


# --- contract -------------------------------------------------------------------------------


def test_caller_tree_is_not_modified() -> None:
    tree = parse_html((FIXTURES / "x34_images.html").read_text(encoding="utf-8"))
    node = tree.css_first("[id^=postmessage_]")
    assert node is not None
    before = tree.html
    parse_message(node, base_url=BASE, tz=TZ)
    assert tree.html == before
    assert node.css_first("div.aimg_tip") is not None


def test_bad_input_raises_parse_error() -> None:
    node = _node((FIXTURES / "edit_plain.html").read_text(encoding="utf-8"))
    with pytest.raises(ParseError, match="message element"):
        parse_message(None, base_url=BASE, tz=TZ)  # type: ignore[arg-type]
    with pytest.raises(ParseError, match="base_url must be an absolute"):
        parse_message(node, base_url="bbs/", tz=TZ)
    with pytest.raises(ParseError, match=r"div\.pattl"):
        parse_attachment_list(None, base_url=BASE, tz=TZ)  # type: ignore[arg-type]
