"""The baseline: the same extraction written the way most existing Discuz scrapers are written,
with BeautifulSoup over lxml (``BeautifulSoup(html, "lxml")`` + ``select``/``find``).

It reads the same fields as the benchmark compares (see ``README.md``):

- thread page, per post: pid, floor, author uid/name, post time, text without jammer noise and
  without quotes, image URLs (zoomfile > file > src, no placeholder, no smilies), attachments
  (aid, filename, url), quotes (quoted pid, author, text);
- board page, per row: tid, title, author uid/name, created date, replies, views, last poster;
- forum index, per board: fid, name, threads, posts, last-post tid.

It is an honest, idiomatic implementation, not a straw man: one parse, CSS selectors scoped to
the post, in-place ``decompose()`` of noise (the soup is ours), no needless copies. Values are
plain dicts: the benchmark compares extraction work, and pydantic validation is part of *our*
parser's cost, so leaving it out here only makes the baseline faster.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import urljoin

from bs4 import BeautifulSoup, Tag

_POST_ID = re.compile(r"^post_(\d+)$")
_UID = re.compile(r"uid[=-](\d+)")
_FLOOR_LABELS = {"楼主": 1, "沙发": 2, "板凳": 3, "地板": 4}
_DATE = re.compile(r"(\d{4}-\d{1,2}-\d{1,2}(?: \d{1,2}:\d{2}(?::\d{2})?)?)")
_GMT = re.compile(r"GMT([+-]\d+)")
_NOISE = (
    "font.jammer, span[style*='display:none'], span[style*='display: none'], div.tip, script, style,"
    " div.a_pr, i.pstatus, div.blockcode > em"
)
_PID = re.compile(r"pid=(\d+)")
_TID = re.compile(r"(?:tid=|thread-)(\d+)")
_FID = re.compile(r"(?:fid=|forum-)(\d+)")
_AID = re.compile(r"^(?:aid|attach_)(\d+)$")


def _int(value: str | None) -> int | None:
    m = re.search(r"\d[\d,]*", value or "")
    return int(m.group(0).replace(",", "")) if m else None


def _uid(link: Tag | None) -> int | None:
    m = _UID.search(str(link.get("href", ""))) if link is not None else None
    return int(m.group(1)) if m else None


def _time(value: str | None, tz: timezone) -> datetime | None:
    m = _DATE.search(value or "")
    if m is None:
        return None
    stamp = m.group(1)
    fmt = {0: "%Y-%m-%d", 1: "%Y-%m-%d %H:%M", 2: "%Y-%m-%d %H:%M:%S"}[stamp.count(":")]
    return datetime.strptime(stamp, fmt).replace(tzinfo=tz)


def _page_tz(soup: BeautifulSoup) -> timezone:
    footer = soup.select_one("#flk p, #ft p")
    m = _GMT.search(footer.get_text() if footer else "")
    return timezone(timedelta(hours=int(m.group(1)))) if m else timezone(timedelta(hours=8))


def _base(soup: BeautifulSoup, url: str) -> str:
    base = soup.find("base", href=True)
    return str(base["href"]) if base else urljoin(url, "./")


def parse_thread(html: str, url: str) -> list[dict[str, Any]]:
    soup = BeautifulSoup(html, "lxml")
    base = _base(soup, url)
    tz = _page_tz(soup)
    posts = []
    for div in soup.select("#postlist > div[id^=post_]"):
        m = _POST_ID.match(div.get("id", ""))
        if m is None:
            continue
        pid = m.group(1)
        table = div.find("table", id=f"pid{pid}")
        if table is None:
            continue
        posts.append(_post(table, pid, base, tz))
    return posts


def _post(table: Tag, pid: str, base: str, tz: timezone) -> dict[str, Any]:
    postnum = table.find("a", id=f"postnum{pid}")
    floor = None
    if postnum is not None:
        em = postnum.find("em")
        label = postnum.get_text(strip=True)
        floor = _int(em.get_text()) if em is not None else _FLOOR_LABELS.get(label)
    author = table.select_one(f"#favatar{pid} div.authi a.xw1") or table.select_one("td.plc div.authi a.xi2")
    posted = table.find("em", id=f"authorposton{pid}")
    stamp = posted.find("span", title=True) if posted is not None else None
    created = _time(stamp["title"] if stamp is not None else (posted.get_text() if posted else None), tz)
    message = table.find(id=f"postmessage_{pid}")
    text, images, attachments, quotes = "", [], [], []
    if message is not None:
        # Inline image attachments: their file name lives in the hover tip, read before noise goes.
        for img in message.find_all("img", attrs={"aid": True}):
            tip = message.find("div", id=f"aimg_{img['aid']}_menu")
            name = tip.find("strong") if tip is not None else None
            link = tip.find("a", href=re.compile("mod=attachment")) if tip is not None else None
            if name is not None:
                attachments.append({"aid": int(img["aid"]), "filename": name.get_text(strip=True),
                                    "url": urljoin(base, link["href"] if link else img.get("zoomfile", ""))})
        for noise in message.select(_NOISE):
            noise.decompose()
        for img in message.find_all("img"):
            if img.has_attr("smilieid") or "static/image/smiley" in img.get("src", ""):
                continue
            for name in ("zoomfile", "file", "src"):
                value = img.get(name)
                if value and not value.endswith("none.gif"):
                    images.append(urljoin(base, value))
                    break
        for span in message.select("span[id^=attach_]"):
            link = span.find("a", href=re.compile("mod=attachment"))
            if link is not None:
                attachments.append({"aid": _int(span["id"]), "filename": link.get_text(strip=True),
                                    "url": urljoin(base, link["href"])})
        for box in message.select("div.quote"):
            link = box.find("a", href=re.compile("findpost"))
            header = box.find("font", color="#999999")
            who = header.get_text(strip=True).split("发表于")[0].strip() if header is not None else None
            pid_match = _PID.search(link["href"]) if link is not None else None
            if link is not None:
                link.decompose()
            if header is not None:
                header.decompose()
            quotes.append({"pid": int(pid_match.group(1)) if pid_match else None, "author": who,
                           "text": box.get_text("\n", strip=True)})
            box.decompose()
        text = message.get_text("\n", strip=True)
    pcb = table.find("div", class_="pattl")
    if pcb is not None:
        for dl in pcb.find_all("dl", class_="tattl"):
            link = dl.find("a", id=_AID) or dl.find("a", href=re.compile("mod=attachment"))
            if link is None:
                continue
            aid = _AID.match(link.get("id", ""))
            if aid is not None and any(a["aid"] == int(aid.group(1)) for a in attachments):
                continue
            attachments.append({"aid": int(aid.group(1)) if aid else None,
                                "filename": link.get_text(strip=True), "url": urljoin(base, link["href"])})
            img = dl.find("img", attrs={"aid": True})
            if img is not None:
                src = img.get("zoomfile") or img.get("file") or img.get("src")
                images.append(urljoin(base, src))
    return {
        "pid": int(pid),
        "floor": floor,
        "author_uid": _uid(author),
        "author_name": author.get_text(strip=True) if author else None,
        "created_at": created,
        "text": text,
        "images": images,
        "attachments": attachments,
        "quotes": quotes,
    }


def parse_board(html: str, url: str) -> list[dict[str, Any]]:
    soup = BeautifulSoup(html, "lxml")
    tz = _page_tz(soup)
    rows = []
    table = soup.find("table", id="threadlisttableid")
    if table is None:
        return rows
    for tbody in table.find_all("tbody", id=re.compile(r"^(stick|normal)thread_")):
        link = tbody.select_one("th a.xst")
        if link is None:
            continue
        by = tbody.find_all("td", class_="by")
        author = by[0].find("cite").find("a") if by and by[0].find("cite") else None
        created = by[0].find("em") if by else None
        if created is not None and created.find("span", title=True) is not None:
            created = created.find("span", title=True)["title"]
        elif created is not None:
            created = created.get_text()
        num = tbody.find("td", class_="num")
        last = by[-1].find("cite") if len(by) > 1 else None
        tid = _TID.search(link["href"])
        rows.append({
            "tid": int(tid.group(1)) if tid else None,
            "title": link.get_text(strip=True),
            "author_uid": _uid(author),
            "author_name": author.get_text(strip=True) if author else None,
            "created_at": _time(created, tz),
            "replies": _int(num.find("a").get_text()) if num and num.find("a") else None,
            "views": _int(num.find("em").get_text()) if num and num.find("em") else None,
            "last_poster": last.get_text(strip=True) if last else None,
        })
    return rows


def parse_index(html: str, url: str) -> list[dict[str, Any]]:
    soup = BeautifulSoup(html, "lxml")
    boards = []
    for box in soup.select("div[id^=category_]"):
        if box["id"] in ("category_0", "category_-1"):
            continue
        for row in box.select("table.fl_tb tr"):
            link = row.select_one("h2 a")
            if link is None:
                continue
            fid = _FID.search(link["href"])
            counts = row.find("td", class_="fl_i")
            threads = counts.find("span", class_="xi2") if counts else None
            posts = counts.find("span", class_="xg1") if counts else None
            last = row.select_one("td.fl_by a[href*=tid], td.fl_by a[href*=thread-]")
            tid = _TID.search(last["href"]) if last else None
            boards.append({
                "fid": int(fid.group(1)) if fid else None,
                "name": link.get_text(strip=True),
                "threads": _int(threads.get("title") or threads.get_text()) if threads else None,
                # dnumber() shorthand ("1万") keeps the exact count in an inner span's title.
                "posts": _int((posts.find("span", title=True) or posts).get("title") or posts.get_text())
                if posts else None,
                "last_tid": int(tid.group(1)) if tid else None,
            })
    return boards
