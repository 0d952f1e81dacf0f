"""Exports of stored items: JSONL, JSON, CSV, Parquet and pandas DataFrames, plus the JSON Schemas.

``export(store, path, format=..., what=...)`` writes one kind of item (``posts``, ``threads``,
``authors`` or ``images``) from a :class:`~discuz_scraper.store.Store`:

- **jsonl**: one :class:`Envelope` per line,
  ``{"schema_version", "type", "site", "fetched_at", "item"}``; ``item`` is the full model
  (:class:`~discuz_scraper.models.Post`, :class:`~discuz_scraper.models.Thread` without its posts,
  :class:`~discuz_scraper.models.Author`, :class:`~discuz_scraper.store.PostImage`).
  :func:`read_jsonl` reads the models back, equal to the store's.
- **json**: the same envelopes as one JSON array.
- **csv**: flat rows, UTF-8 with a BOM (so spreadsheet programs detect the encoding of Chinese
  text), one column per name in :data:`COLUMNS` ``[what]``, in that order: the column lists are
  part of the stable contract and only ever grow at the end. Empty cell = ``None``; booleans are
  ``true`` / ``false``; datetimes ISO 8601 with the forum's own offset; ``tags`` joined with ``,``
  (Discuz splits tags on commas, so a tag never holds one).
- **parquet** (extra ``discuz-scraper[parquet]``): the CSV columns with real types (int64,
  float64, bool, string, UTC timestamps).

:func:`to_dataframe` gives the same columns as a pandas DataFrame (extra ``discuz-scraper[pandas]``).
"""

from __future__ import annotations

import csv
import importlib
import json
import os
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime, timezone
from pathlib import Path
from types import ModuleType
from typing import IO, Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, ValidationError

from .errors import ExportError
from .models import (
    SCHEMA_VERSION,
    Attachment,
    Author,
    Board,
    BoardPage,
    ForumIndex,
    Image,
    Post,
    Quote,
    Site,
    Thread,
    ThreadSummary,
    UserProfile,
)
from .store import ItemKind, PostImage, Record, Store

__all__ = [
    "AUTHOR_COLUMNS",
    "COLUMNS",
    "IMAGE_COLUMNS",
    "POST_COLUMNS",
    "THREAD_COLUMNS",
    "Envelope",
    "ExportFormat",
    "export",
    "json_schemas",
    "read_jsonl",
    "to_dataframe",
]

ExportFormat = Literal["jsonl", "json", "csv", "parquet"]

ColumnType = Literal["int", "float", "str", "bool", "datetime"]
Columns = tuple[tuple[str, ColumnType], ...]

POST_COLUMNS: Columns = (
    ("site", "str"),  # the site's base URL
    ("tid", "int"),
    ("pid", "int"),
    ("floor", "int"),
    ("floor_label", "str"),  # e.g. 沙发
    ("page", "int"),  # the thread page the post was read from
    ("author_uid", "int"),
    ("author_name", "str"),
    ("author_group", "str"),
    ("created_at", "datetime"),
    ("edited_at", "datetime"),
    ("edited_by", "str"),
    ("subject", "str"),
    ("text", "str"),
    ("content_html", "str"),
    ("status", "str"),  # normal / banned / blocked / ... (see models.PostStatus)
    ("is_first", "bool"),
    ("image_count", "int"),
    ("attachment_count", "int"),
    ("quote_count", "int"),
    ("permalink", "str"),
    ("source", "str"),  # html / api / archiver
    ("fetched_at", "datetime"),
)
"""Columns of a ``posts`` export (CSV, Parquet, DataFrame), in order."""

THREAD_COLUMNS: Columns = (
    ("site", "str"),
    ("tid", "int"),
    ("fid", "int"),
    ("board_name", "str"),
    ("title", "str"),
    ("type_name", "str"),
    ("special", "str"),  # poll / trade / reward / activity / debate
    ("author_uid", "int"),
    ("author_name", "str"),
    ("views", "int"),
    ("replies", "int"),
    ("page_count", "int"),
    ("closed", "bool"),
    ("tags", "str"),  # joined with ","
    ("url", "str"),
    ("source", "str"),
    ("fetched_at", "datetime"),
)
"""Columns of a ``threads`` export, in order (thread metadata; posts are exported with ``posts``)."""

AUTHOR_COLUMNS: Columns = (
    ("site", "str"),
    ("uid", "int"),
    ("name", "str"),
    ("group", "str"),
    ("group_id", "int"),
    ("threads", "int"),
    ("posts", "int"),
    ("replies", "int"),
    ("credits", "int"),
    ("avatar_url", "str"),
    ("is_anonymous", "bool"),
    ("is_guest", "bool"),
    ("is_deleted", "bool"),
    ("fetched_at", "datetime"),  # when the author was last seen
)
"""Columns of an ``authors`` export, in order."""

IMAGE_COLUMNS: Columns = (
    ("site", "str"),
    ("tid", "int"),
    ("pid", "int"),
    ("floor", "int"),
    ("position", "int"),  # the image's index within its post
    ("url", "str"),  # full size
    ("thumb_url", "str"),
    ("aid", "int"),
    ("filename", "str"),
    ("size_bytes", "int"),
    ("width", "int"),
    ("height", "int"),
    ("kind", "str"),  # attachment / remote
    ("in_quote", "bool"),
    ("fetched_at", "datetime"),
)
"""Columns of an ``images`` export, in order."""

COLUMNS: dict[str, Columns] = {
    "posts": POST_COLUMNS,
    "threads": THREAD_COLUMNS,
    "authors": AUTHOR_COLUMNS,
    "images": IMAGE_COLUMNS,
}
"""The column list of each item kind."""

_TYPE_NAMES: dict[str, str] = {"posts": "post", "threads": "thread", "authors": "author", "images": "image"}
_MODELS: dict[str, type[BaseModel]] = {"post": Post, "thread": Thread, "author": Author, "image": PostImage}


class Envelope(BaseModel):
    """One JSONL line (or JSON array entry) of an export: the item and where it came from."""

    model_config = ConfigDict(extra="forbid")

    schema_version: str
    type: Literal["post", "thread", "author", "image"]
    site: str | None
    fetched_at: datetime | None
    item: dict[str, Any]


# --- flattening -----------------------------------------------------------------------------------

Row = dict[str, Any]


def _post_row(site: str | None, fetched_at: datetime | None, post: Post) -> Row:
    return {
        "site": site, "tid": post.tid, "pid": post.pid, "floor": post.floor,
        "floor_label": post.floor_label, "page": post.page, "author_uid": post.author.uid,
        "author_name": post.author.name, "author_group": post.author.group, "created_at": post.created_at,
        "edited_at": post.edited_at, "edited_by": post.edited_by, "subject": post.subject, "text": post.text,
        "content_html": post.content_html, "status": post.status, "is_first": post.is_first,
        "image_count": len(post.images), "attachment_count": len(post.attachments),
        "quote_count": len(post.quotes), "permalink": post.permalink, "source": post.source,
        "fetched_at": fetched_at,
    }


def _thread_row(site: str | None, fetched_at: datetime | None, thread: Thread) -> Row:
    author = thread.author or Author()
    return {
        "site": site, "tid": thread.tid, "fid": thread.fid, "board_name": thread.board_name,
        "title": thread.title, "type_name": thread.type_name, "special": thread.special,
        "author_uid": author.uid, "author_name": author.name, "views": thread.views,
        "replies": thread.replies, "page_count": thread.page_count, "closed": thread.closed,
        "tags": ",".join(thread.tags), "url": thread.url, "source": thread.source,
        "fetched_at": thread.fetched_at,
    }


def _author_row(site: str | None, fetched_at: datetime | None, author: Author) -> Row:
    return {
        "site": site, "uid": author.uid, "name": author.name, "group": author.group,
        "group_id": author.group_id, "threads": author.threads, "posts": author.posts,
        "replies": author.replies, "credits": author.credits, "avatar_url": author.avatar_url,
        "is_anonymous": author.is_anonymous, "is_guest": author.is_guest, "is_deleted": author.is_deleted,
        "fetched_at": fetched_at,
    }


def _image_row(site: str | None, fetched_at: datetime | None, ref: PostImage) -> Row:
    image = ref.image
    return {
        "site": site, "tid": ref.tid, "pid": ref.pid, "floor": ref.floor, "position": ref.position,
        "url": image.url, "thumb_url": image.thumb_url, "aid": image.aid, "filename": image.filename,
        "size_bytes": image.size_bytes, "width": image.width, "height": image.height, "kind": image.kind,
        "in_quote": image.in_quote, "fetched_at": fetched_at,
    }


# The thread row ignores ``fetched_at``: a Thread carries its own.
_ROWS: dict[str, Callable[[str | None, datetime | None, Any], Row]] = {
    "posts": _post_row,
    "threads": _thread_row,
    "authors": _author_row,
    "images": _image_row,
}


def _check(what: str, format: str | None = None) -> None:
    if what not in COLUMNS:
        raise ExportError(f"unknown item kind {what!r}; expected one of {get_args(ItemKind)}")
    if format is not None and format not in get_args(ExportFormat):
        raise ExportError(f"unknown export format {format!r}; expected one of {get_args(ExportFormat)}")


def _optional(module: str, extra: str) -> ModuleType:
    """Import an optional extra's module, or say exactly how to install it."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise ExportError(
            f"{module} is not installed: pip install \"discuz-scraper[{extra}]\""
        ) from exc


# --- writers --------------------------------------------------------------------------------------


def _envelope(what: str, record: Record[Any]) -> dict[str, Any]:
    return {
        "schema_version": SCHEMA_VERSION,
        "type": _TYPE_NAMES[what],
        "site": record.site,
        "fetched_at": record.fetched_at.isoformat() if record.fetched_at else None,
        "item": record.item.model_dump(mode="json"),
    }


def _dumps(value: object) -> str:
    # ensure_ascii=False: Chinese text stays readable (and half the size) in the files.
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _write_jsonl(out: IO[str], what: str, records: Iterable[Record[Any]]) -> int:
    count = 0
    for record in records:
        out.write(_dumps(_envelope(what, record)) + "\n")
        count += 1
    return count


def _write_json(out: IO[str], what: str, records: Iterable[Record[Any]]) -> int:
    # Streamed element by element so a large store never has to fit in memory as one list.
    count = 0
    out.write("[")
    for record in records:
        out.write(("," if count else "") + "\n" + _dumps(_envelope(what, record)))
        count += 1
    out.write("\n]\n" if count else "]\n")
    return count


def _csv_cell(value: object) -> object:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def _write_csv(out: IO[str], what: str, records: Iterable[Record[Any]]) -> int:
    names = [name for name, _ in COLUMNS[what]]
    writer = csv.writer(out)
    writer.writerow(names)
    count = 0
    for record in records:
        row = _ROWS[what](record.site, record.fetched_at, record.item)
        writer.writerow([_csv_cell(row[name]) for name in names])
        count += 1
    return count


def _utc(value: datetime | None) -> datetime | None:
    if value is None or value.tzinfo is None:
        return value
    return value.astimezone(timezone.utc)


_PARQUET_BATCH = 5000


def _write_parquet(path: str, what: str, records: Iterable[Record[Any]]) -> int:
    pa = _optional("pyarrow", "parquet")
    pq = importlib.import_module("pyarrow.parquet")
    types = {
        "int": pa.int64(), "float": pa.float64(), "str": pa.string(), "bool": pa.bool_(),
        "datetime": pa.timestamp("us", tz="UTC"),
    }
    schema = pa.schema([(name, types[kind]) for name, kind in COLUMNS[what]])
    dated = [name for name, kind in COLUMNS[what] if kind == "datetime"]
    count = 0
    # Written in batches: memory stays bounded however many items the store holds.
    with pq.ParquetWriter(path, schema) as writer:
        batch: list[Row] = []
        for record in records:
            row = _ROWS[what](record.site, record.fetched_at, record.item)
            for name in dated:
                row[name] = _utc(row[name])
            batch.append(row)
            if len(batch) == _PARQUET_BATCH:
                writer.write_table(pa.Table.from_pylist(batch, schema=schema))
                count += len(batch)
                batch = []
        if batch:
            writer.write_table(pa.Table.from_pylist(batch, schema=schema))
            count += len(batch)
    return count


def export(
    store: Store,
    path: str | os.PathLike[str],
    *,
    format: ExportFormat,
    what: ItemKind,
    site: Site | str | None = None,
) -> int:
    """Write every stored item of kind ``what`` (of one ``site``, or all) to ``path``; returns the count.

    The file appears complete or not at all: it is written beside ``path`` and renamed into place.
    """
    _check(what, format)
    target = Path(path)
    partial = target.with_name(target.name + ".part")
    records = store.iter_records(what, site)
    try:
        if format == "parquet":
            count = _write_parquet(str(partial), what, records)
        else:
            writers = {"jsonl": _write_jsonl, "json": _write_json, "csv": _write_csv}
            encoding = "utf-8-sig" if format == "csv" else "utf-8"
            with partial.open("w", encoding=encoding, newline="") as out:
                count = writers[format](out, what, records)
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    return count


# --- readers --------------------------------------------------------------------------------------


def read_jsonl(path: str | os.PathLike[str]) -> Iterator[BaseModel]:
    """The models of a JSONL export, in file order (Post, Thread, Author or PostImage by line type).

    A malformed line, an unknown type or a file from another major schema version raises
    :class:`~discuz_scraper.errors.ExportError` naming the line.
    """
    major = SCHEMA_VERSION.split(".")[0]
    with Path(path).open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            where = f"{os.fspath(path)} line {number}"
            try:
                envelope = Envelope.model_validate_json(line)
            except ValidationError as exc:
                raise ExportError(f"{where} is not a discuz-scraper export line: {exc}") from exc
            if envelope.schema_version.split(".")[0] != major:
                raise ExportError(
                    f"{where} has schema version {envelope.schema_version}; this discuz-scraper reads "
                    f"{major}.x"
                )
            try:
                yield _MODELS[envelope.type].model_validate(envelope.item)
            except ValidationError as exc:
                raise ExportError(f"{where}: the {envelope.type} does not validate: {exc}") from exc


def to_dataframe(source: Store | Iterable[BaseModel], *, what: ItemKind = "posts") -> Any:
    """A pandas DataFrame with the :data:`COLUMNS` of ``what`` (nullable dtypes, UTC datetimes).

    ``source`` is a store (every stored item of that kind) or models you already have (their
    ``site`` and ``fetched_at`` columns are then empty, except a thread's own ``fetched_at``).
    """
    _check(what)
    pd = _optional("pandas", "pandas")
    flatten = _ROWS[what]
    if isinstance(source, Store):
        rows = [flatten(record.site, record.fetched_at, record.item) for record in source.iter_records(what)]
    else:
        rows = [flatten(None, None, _expect(item, _MODELS[_TYPE_NAMES[what]])) for item in source]
    dtypes = {"int": "Int64", "float": "Float64", "str": "string", "bool": "boolean"}
    columns: dict[str, Any] = {}
    for name, kind in COLUMNS[what]:
        values = [row[name] for row in rows]
        if kind == "datetime":
            stamps = pd.to_datetime(pd.Series(values, dtype=object), utc=True)
            columns[name] = stamps.astype("datetime64[us, UTC]")
        else:
            columns[name] = pd.array(values, dtype=dtypes[kind])
    return pd.DataFrame(columns)


def _expect(item: BaseModel, model: type[BaseModel]) -> BaseModel:
    if not isinstance(item, model):
        raise ExportError(f"to_dataframe of {model.__name__}s got a {type(item).__name__}")
    return item


# --- schemas --------------------------------------------------------------------------------------

_PUBLIC_MODELS: tuple[type[BaseModel], ...] = (
    Site, ForumIndex, Board, BoardPage, ThreadSummary, Thread, Post, Author, Image, Attachment, Quote,
    UserProfile, PostImage, Envelope,
)


def json_schemas() -> dict[str, dict[str, Any]]:
    """The JSON Schema (draft 2020-12, as pydantic writes it) of every public model, by model name.

    These describe the data as exported (serialization mode), e.g. for validating JSONL downstream.
    """
    return {model.__name__: model.model_json_schema(mode="serialization") for model in _PUBLIC_MODELS}
