"""Exports: JSONL envelopes and round trips, JSON, CSV columns and values, Parquet, DataFrames, schemas."""

from __future__ import annotations

import csv
import json
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import get_args

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from discuz_scraper.client import DiscuzClient
from discuz_scraper.errors import ExportError
from discuz_scraper.export import (
    AUTHOR_COLUMNS,
    COLUMNS,
    IMAGE_COLUMNS,
    POST_COLUMNS,
    THREAD_COLUMNS,
    export,
    json_schemas,
    read_jsonl,
    to_dataframe,
)
from discuz_scraper.models import SCHEMA_VERSION, PostStatus
from discuz_scraper.store import SQLiteStore
from discuz_scraper.testing import default_forum

FETCHED = datetime(2026, 11, 25, 12, 0, tzinfo=timezone.utc)
CST = timezone(timedelta(hours=8))
WHATS = ("posts", "threads", "authors", "images")


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory):
    """Threads 1001 (http://forum.test/) and 2001 (http://forum.test/bbs/), fetched at FETCHED."""
    transport = default_forum().mock_transport()
    with SQLiteStore(tmp_path_factory.mktemp("export") / "forum.db") as opened:
        for base, tid in (("http://forum.test/", 1001), ("http://forum.test/bbs/", 2001)):
            with DiscuzClient(base, transport=transport, rate=None) as dz:
                opened.save_site(dz.site())
                opened.save_thread(dz.thread(tid).model_copy(update={"fetched_at": FETCHED}), base)
        yield opened


def _names(columns) -> list[str]:
    return [name for name, _ in columns]


def test_jsonl_envelope_and_round_trip(store: SQLiteStore, tmp_path: Path):
    path = tmp_path / "posts.jsonl"
    assert export(store, path, format="jsonl", what="posts") == 25
    lines = path.read_text(encoding="utf-8").splitlines()
    first = json.loads(lines[0])
    assert list(first) == ["schema_version", "type", "site", "fetched_at", "item"]
    assert first["schema_version"] == SCHEMA_VERSION == "1.0"
    assert (first["type"], first["site"], first["fetched_at"]) == (
        "post", "http://forum.test/", "2026-11-25T12:00:00+00:00"
    )
    opening = next(store.iter_posts("http://forum.test/", 1001))
    assert first["item"] == opening.model_dump(mode="json")
    assert first["item"]["author"]["name"] == "竹影清风"
    assert "竹影清风" in lines[0]  # readable UTF-8, not \\u escapes
    assert json.loads(lines[-1])["site"] == "http://forum.test/bbs/"
    assert list(read_jsonl(path)) == list(store.iter_posts())


@pytest.mark.parametrize(
    ("what", "count", "reader"),
    [
        ("threads", 2, lambda s: list(s.iter_threads())),
        ("authors", 8, lambda s: list(s.iter_authors())),
        ("images", 4, lambda s: list(s.iter_images())),
    ],
)
def test_jsonl_round_trips_every_kind(store: SQLiteStore, tmp_path: Path, what, count, reader):
    path = tmp_path / f"{what}.jsonl"
    assert export(store, path, format="jsonl", what=what) == count
    assert list(read_jsonl(path)) == reader(store)
    assert len(reader(store)) == count


def test_thread_lines_carry_metadata_without_posts(store: SQLiteStore, tmp_path: Path):
    path = tmp_path / "threads.jsonl"
    export(store, path, format="jsonl", what="threads", site="http://forum.test/bbs/")
    (line,) = path.read_text(encoding="utf-8").splitlines()
    envelope = json.loads(line)
    assert (envelope["type"], envelope["item"]["tid"], envelope["item"]["title"]) == (
        "thread", 2001, "周末徒步：青龙峡环线实测"
    )
    assert envelope["item"]["posts"] == []


def test_json_is_one_array_of_the_same_envelopes(store: SQLiteStore, tmp_path: Path):
    for what in WHATS:
        export(store, tmp_path / f"{what}.jsonl", format="jsonl", what=what)
        assert export(store, tmp_path / f"{what}.json", format="json", what=what) > 0
        lines = (tmp_path / f"{what}.jsonl").read_text(encoding="utf-8").splitlines()
        loaded = json.loads((tmp_path / f"{what}.json").read_text(encoding="utf-8"))
        assert loaded == [json.loads(line) for line in lines]


def test_empty_exports_are_valid_files(tmp_path: Path):
    with SQLiteStore(tmp_path / "empty.db") as empty:
        assert export(empty, tmp_path / "e.json", format="json", what="posts") == 0
        assert json.loads((tmp_path / "e.json").read_text(encoding="utf-8")) == []
        assert export(empty, tmp_path / "e.csv", format="csv", what="images") == 0
        header = ",".join(_names(IMAGE_COLUMNS))
        assert (tmp_path / "e.csv").read_text(encoding="utf-8-sig").splitlines() == [header]
        assert export(empty, tmp_path / "e.parquet", format="parquet", what="authors") == 0
        assert pq.read_table(tmp_path / "e.parquet").num_rows == 0


def _csv(path: Path) -> list[list[str]]:
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")  # BOM: spreadsheets detect UTF-8
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.reader(handle))


def test_csv_headers_are_the_documented_columns(store: SQLiteStore, tmp_path: Path):
    assert _names(POST_COLUMNS) == [
        "site", "tid", "pid", "floor", "floor_label", "page", "author_uid", "author_name", "author_group",
        "created_at", "edited_at", "edited_by", "subject", "text", "content_html", "status", "is_first",
        "image_count", "attachment_count", "quote_count", "permalink", "source", "fetched_at",
    ]
    assert _names(THREAD_COLUMNS) == [
        "site", "tid", "fid", "board_name", "title", "type_name", "special", "author_uid", "author_name",
        "views", "replies", "page_count", "closed", "tags", "url", "source", "fetched_at",
    ]
    assert _names(AUTHOR_COLUMNS) == [
        "site", "uid", "name", "group", "group_id", "threads", "posts", "replies", "credits", "avatar_url",
        "is_anonymous", "is_guest", "is_deleted", "fetched_at",
    ]
    assert _names(IMAGE_COLUMNS) == [
        "site", "tid", "pid", "floor", "position", "url", "thumb_url", "aid", "filename", "size_bytes",
        "width", "height", "kind", "in_quote", "fetched_at",
    ]
    for what in WHATS:
        export(store, tmp_path / f"{what}.csv", format="csv", what=what)
        assert _csv(tmp_path / f"{what}.csv")[0] == _names(COLUMNS[what])


def test_csv_post_row_values(store: SQLiteStore, tmp_path: Path):
    assert export(store, tmp_path / "posts.csv", format="csv", what="posts") == 25
    header, *rows = _csv(tmp_path / "posts.csv")
    assert len(rows) == 25
    opening = next(store.iter_posts("http://forum.test/", 1001))
    assert dict(zip(header, rows[0], strict=True)) == {
        "site": "http://forum.test/", "tid": "1001", "pid": "3101", "floor": "1", "floor_label": "楼主",
        "page": "1", "author_uid": "5", "author_name": "竹影清风", "author_group": "中级会员",
        "created_at": "2026-11-02T20:14:02+08:00", "edited_at": "2026-11-03T08:30:00+08:00",
        "edited_by": "竹影清风", "subject": "", "text": opening.text, "content_html": opening.content_html,
        "status": "normal", "is_first": "true", "image_count": "2", "attachment_count": "3",
        "quote_count": "0", "permalink": opening.permalink, "source": "html",
        "fetched_at": "2026-11-25T12:00:00+00:00",
    }
    assert opening.text == (
        "去年秋天砍了几根毛竹，晾了三个月，终于动手做灯罩了。\n材料：毛竹两根、砂纸、清漆。\n\n图纸在附件里，欢迎拍砖。"
    )
    reply = dict(zip(header, rows[2], strict=True))
    assert (reply["pid"], reply["is_first"], reply["quote_count"], reply["edited_at"]) == (
        "3103", "false", "1", ""
    )


def test_csv_thread_and_image_rows(store: SQLiteStore, tmp_path: Path):
    export(store, tmp_path / "threads.csv", format="csv", what="threads")
    header, bamboo, _ = _csv(tmp_path / "threads.csv")
    assert dict(zip(header, bamboo, strict=True)) == {
        "site": "http://forum.test/", "tid": "1001", "fid": "2", "board_name": "手工艺分享",
        "title": "自制竹编灯罩的全过程记录（附图纸）", "type_name": "", "special": "", "author_uid": "5",
        "author_name": "竹影清风", "views": "4567", "replies": "11", "page_count": "3", "closed": "false",
        "tags": "竹编,灯具", "url": "http://forum.test/forum.php?mod=viewthread&tid=1001&page=1",
        "source": "html", "fetched_at": "2026-11-25T12:00:00+00:00",
    }
    export(store, tmp_path / "images.csv", format="csv", what="images")
    header, first, *_ = _csv(tmp_path / "images.csv")
    assert dict(zip(header, first, strict=True)) == {
        "site": "http://forum.test/", "tid": "1001", "pid": "3101", "floor": "1", "position": "0",
        "url": "http://forum.test/data/attachment/forum/202611/02/201402bamboo301.jpg",
        "thumb_url": "http://forum.test/data/attachment/forum/202611/02/201402bamboo301.jpg.thumb.jpg",
        "aid": "301", "filename": "灯罩骨架.jpg", "size_bytes": "251187", "width": "600", "height": "",
        "kind": "attachment", "in_quote": "false", "fetched_at": "2026-11-25T12:00:00+00:00",
    }


def test_parquet_columns_types_and_values(store: SQLiteStore, tmp_path: Path):
    assert export(store, tmp_path / "posts.parquet", format="parquet", what="posts") == 25
    table = pq.read_table(tmp_path / "posts.parquet")
    assert table.column_names == _names(POST_COLUMNS)
    assert table.schema.field("pid").type == pa.int64()
    assert table.schema.field("is_first").type == pa.bool_()
    assert table.schema.field("created_at").type == pa.timestamp("us", tz="UTC")
    first = table.slice(0, 1).to_pylist()[0]
    assert (first["pid"], first["author_name"], first["image_count"]) == (3101, "竹影清风", 2)
    assert first["created_at"] == datetime(2026, 11, 2, 20, 14, 2, tzinfo=CST)
    assert first["subject"] is None
    assert table.column("tid").to_pylist() == [1001] * 12 + [2001] * 13
    for what in ("threads", "authors", "images"):
        export(store, tmp_path / f"{what}.parquet", format="parquet", what=what)
        assert pq.read_table(tmp_path / f"{what}.parquet").column_names == _names(COLUMNS[what])


def test_dataframe_from_store_and_from_models(store: SQLiteStore):
    frame = to_dataframe(store, what="authors")
    assert list(frame.columns) == _names(AUTHOR_COLUMNS)
    assert frame.shape == (8, 14)
    assert frame["name"].tolist() == [
        "竹影清风", "老木匠", "青竹", "阿土", "山猫", "行者无疆", "小雨", "背包客阿杰"
    ]
    assert str(frame["uid"].dtype) == "Int64"
    # 回帖 counts are shown by the X3.5 site (bbs/) only.
    assert frame["replies"].tolist() == [pd.NA] * 4 + [96, 10240, 5, 40]

    posts = list(store.iter_posts("http://forum.test/bbs/"))
    frame = to_dataframe(posts, what="posts")
    assert frame.shape == (13, 23)
    assert frame["pid"].tolist() == list(range(7101, 7114))
    assert frame["site"].isna().all()  # models alone do not say which site they came from
    assert frame["created_at"].iloc[0] == pd.Timestamp("2026-11-02T12:14:02", tz="UTC")
    with pytest.raises(ExportError, match="to_dataframe of Authors got a Post"):
        to_dataframe(posts, what="authors")


def test_missing_extras_name_the_pip_command(store: SQLiteStore, tmp_path: Path, monkeypatch):
    # A None entry in sys.modules makes ``import`` raise ImportError, as if the extra were absent.
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    monkeypatch.setitem(sys.modules, "pandas", None)
    with pytest.raises(ExportError, match=r'pip install "discuz-scraper\[parquet\]"'):
        export(store, tmp_path / "posts.parquet", format="parquet", what="posts")
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(ExportError, match=r'pip install "discuz-scraper\[pandas\]"'):
        to_dataframe(store, what="posts")


def test_bad_arguments_raise(store: SQLiteStore, tmp_path: Path):
    with pytest.raises(ExportError, match="unknown export format 'xlsx'"):
        export(store, tmp_path / "x.xlsx", format="xlsx", what="posts")
    with pytest.raises(ExportError, match="unknown item kind 'boards'"):
        export(store, tmp_path / "x.csv", format="csv", what="boards")
    assert list(tmp_path.iterdir()) == []


def test_read_jsonl_rejects_bad_lines(tmp_path: Path):
    good = {"schema_version": "1.0", "type": "author", "site": None, "fetched_at": None,
            "item": {"uid": 5, "name": "竹影清风"}}
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps(good) + "\n\n{not json\n", encoding="utf-8")
    models = read_jsonl(path)
    assert next(models).model_dump(include={"uid", "name"}) == {"uid": 5, "name": "竹影清风"}
    with pytest.raises(ExportError, match="line 3 is not a discuz-scraper export line"):
        next(models)
    path.write_text(json.dumps({**good, "schema_version": "2.0"}) + "\n", encoding="utf-8")
    with pytest.raises(ExportError, match=r"line 1 has schema version 2\.0; this discuz-scraper reads 1\.x"):
        list(read_jsonl(path))
    path.write_text(json.dumps({**good, "type": "post"}) + "\n", encoding="utf-8")
    with pytest.raises(ExportError, match="line 1: the post does not validate"):
        list(read_jsonl(path))


def _refs(node: object) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return found + [ref for value in node.values() for ref in _refs(value)]
    if isinstance(node, list):
        return [ref for value in node for ref in _refs(value)]
    return []


def test_json_schemas_of_every_public_model():
    schemas = json_schemas()
    assert sorted(schemas) == sorted([
        "Site", "ForumIndex", "Board", "BoardPage", "ThreadSummary", "Thread", "Post", "Author", "Image",
        "Attachment", "Quote", "UserProfile", "PostImage", "Envelope",
    ])
    for name, schema in schemas.items():
        # A recursive model (Board has sub_boards) is a reference to its own definition.
        body = schema["$defs"][name] if schema.get("$ref") == f"#/$defs/{name}" else schema
        assert body["type"] == "object", name
        assert body["title"] == name
        assert body["properties"], name
        json.dumps(schema)  # plain JSON, printable by the CLI
        # Every reference resolves inside the schema itself (self-contained documents).
        for ref in _refs(schema):
            assert ref.startswith("#/$defs/"), (name, ref)
            assert ref.removeprefix("#/$defs/") in schema["$defs"], (name, ref)
    thread = schemas["Thread"]
    assert {"Post", "Author", "Image", "Attachment", "Quote", "Breadcrumb", "Poll"} <= set(thread["$defs"])
    assert thread["properties"]["posts"] == {
        "items": {"$ref": "#/$defs/Post"}, "title": "Posts", "type": "array"
    }
    assert "tid" in thread["required"]
    assert schemas["Post"]["properties"]["status"]["enum"] == list(get_args(PostStatus))
    assert schemas["Post"]["properties"]["status"]["enum"][:3] == ["normal", "banned", "blocked"]
    assert "$defs" not in schemas["Quote"]
    assert set(schemas["Envelope"]["properties"]) == {"schema_version", "type", "site", "fetched_at", "item"}



def test_every_format_from_a_crawled_store(tmp_path: Path):
    """A store written by a crawl (page by page, with list rows and crawl marks) exports like one
    written whole: documented columns and types in CSV and Parquet, JSONL equal to the store."""
    transport = default_forum().mock_transport()
    with SQLiteStore(tmp_path / "crawl.db") as crawled:
        for base in ("http://forum.test/", "http://forum.test/bbs/"):
            with DiscuzClient(base, transport=transport, rate=None) as dz:
                list(dz.crawl_forum(store=crawled))
        readers = {
            "posts": list(crawled.iter_posts()),
            "threads": list(crawled.iter_threads()),
            "authors": list(crawled.iter_authors()),
            "images": list(crawled.iter_images()),
        }
        assert {what: len(items) for what, items in readers.items()} == {
            "posts": 64, "threads": 18, "authors": 16, "images": 4
        }
        arrow_types = {"int": "int64", "float": "double", "str": "string", "bool": "bool",
                       "datetime": "timestamp[us, tz=UTC]"}
        for what, items in readers.items():
            assert export(crawled, tmp_path / f"{what}.jsonl", format="jsonl", what=what) == len(items)
            assert list(read_jsonl(tmp_path / f"{what}.jsonl")) == items
            export(crawled, tmp_path / f"{what}.csv", format="csv", what=what)
            rows = _csv(tmp_path / f"{what}.csv")
            assert (rows[0], len(rows)) == (_names(COLUMNS[what]), 1 + len(items))
            export(crawled, tmp_path / f"{what}.parquet", format="parquet", what=what)
            table = pq.read_table(tmp_path / f"{what}.parquet")
            assert [(field.name, str(field.type)) for field in table.schema] == [
                (name, arrow_types[kind]) for name, kind in COLUMNS[what]
            ]
            assert table.num_rows == len(items)
