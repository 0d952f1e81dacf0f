"""The command line over the loopback fixture forum: output lines and exit codes."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from discuz_scraper import cli
from discuz_scraper.cli import main
from discuz_scraper.export import read_jsonl
from discuz_scraper.store import SQLiteStore
from discuz_scraper.testing import FixtureForum, LoopbackServer


def test_detect_prints_what_site_found(loopback: LoopbackServer, capsys: pytest.CaptureFixture[str]) -> None:
    base = loopback.site_url("x34")
    assert main(["detect", base, "--rate", "100"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        f"site: {base}",
        "discuz: yes",
        "evidence: generator, title, footer, inline_vars",
        "name: 竹林茶社",
        "version: X3.4",
        "charset: gbk",
        "timezone: UTC+8",
        "rewrite: forum",
        "archiver: yes",
        "mobile api: no",
        "logged in: 竹影清风 (uid 5)",
    ]


def test_detect_a_site_that_is_not_discuz(
    loopback: LoopbackServer, capsys: pytest.CaptureFixture[str]
) -> None:
    base = loopback.base_url + "plain/"
    assert main(["detect", base, "--rate", "100"]) == 1
    assert capsys.readouterr().out.splitlines() == [f"site: {base}", "discuz: no"]


def test_forum_and_user_write_json(loopback: LoopbackServer, capsys: pytest.CaptureFixture[str]) -> None:
    base = loopback.site_url("x35")
    assert main(["forum", base + "forum.php", "--rate", "100"]) == 0
    index = json.loads(capsys.readouterr().out)
    assert [c["gid"] for c in index["categories"]] == [2, 4]
    assert main(["user", base + "space-uid-3.html", "--rate", "100"]) == 0
    assert json.loads(capsys.readouterr().out)["uid"] == 3


def test_board_rows_then_posts(
    loopback: LoopbackServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    board = loopback.site_url("x35") + "forum-3-1.html"
    rows_file = tmp_path / "rows.jsonl"
    argv = ["board", board, "--pages", "1-2", "-o", str(rows_file), "--rate", "100", "--backend", "html"]
    assert main(argv) == 0
    assert sorted(json.loads(line)["tid"] for line in rows_file.read_text("utf-8").splitlines()) == [
        2001,
        2002,
        2003,
        2004,
    ]
    err = capsys.readouterr().err
    assert "board: 1 boards, 4 threads listed, 0 fetched, 0 posts, 3 requests, 0 failures, 0 skipped" in err
    assert "boards 1, rows 4, threads fetched 0, posts 0" in err, "progress on stderr"

    posts_file = tmp_path / "posts.jsonl"
    assert (
        main(["board", board, "--pages", "1", "--with-posts", "-o", str(posts_file), "-q", "--rate", "100"])
        == 0
    )
    pids = sorted(json.loads(line)["pid"] for line in posts_file.read_text("utf-8").splitlines())
    assert pids == [*range(7101, 7114), 7201, 7202, 7301, 7302]


def test_board_with_failures_exits_3(loopback: LoopbackServer, capsys: pytest.CaptureFixture[str]) -> None:
    board = loopback.site_url("x34") + "forum-6-1.html"
    assert main(["board", board, "--with-posts", "-q", "--rate", "100"]) == 3
    err = capsys.readouterr().err.splitlines()
    assert err[-1] == (
        f"  failed thread {loopback.site_url('x34')}forum.php?mod=viewthread&tid=1099&page=1: "
        "NotFound: 抱歉，指定的主题不存在或已被删除或正在被审核"
    )


def test_bad_pages_and_unknown_board_exit_codes(
    loopback: LoopbackServer, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["board", loopback.site_url("x34") + "forum-2-1.html", "--pages", "5-2"])
    assert caught.value.code == 2
    assert main(["user", loopback.site_url("x34") + "forum-2-1.html"]) == 1
    assert "error: DiscuzError: not a user URL with a uid" in capsys.readouterr().err


def test_demo_crawls_the_whole_fixture_forum(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "-o", str(tmp_path), "-q"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert [line.split(": ", 1)[1] for line in out if line.startswith("  http")] == [
        "2 boards, 12 threads, 41 posts, 3 failures, 2 skipped",
        "3 boards, 6 threads, 23 posts, 0 failures, 0 skipped",
    ]
    assert out[-4:-1] == [
        f"  database -> {tmp_path / 'demo.db'}",
        f"  posts    -> {tmp_path / 'posts.jsonl'}",
        f"  posts    -> {tmp_path / 'posts.csv'}",
    ]
    lines = (tmp_path / "posts.jsonl").read_text("utf-8").splitlines()
    assert len(lines) == len({json.loads(line)["item"]["pid"] for line in lines}) == 64
    with (tmp_path / "posts.csv").open(encoding="utf-8-sig", newline="") as table:
        assert len(list(csv.reader(table))) == 1 + 64


def test_crawl_then_incremental_export_and_schema(
    loopback: LoopbackServer, forum: FixtureForum, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "crawl.db"
    base = loopback.site_url("x34")
    crawl = ["crawl", base + "forum-6-1.html", "--db", str(db), "--rate", "0", "--backend", "html", "-q"]
    assert main(crawl) == 3, "thread 1099 is missing: finished with failures"
    err = capsys.readouterr().err.splitlines()
    assert f"  failed thread {base}forum.php?mod=viewthread&tid=1099&page=1: NotFound: " \
        "抱歉，指定的主题不存在或已被删除或正在被审核" in err
    with SQLiteStore(db) as store:
        assert [(f.url, f.error_type, f.attempts) for f in store.failures()] == [
            (f"{base}forum.php?mod=viewthread&tid=1099&page=1", "NotFound", 1)
        ]
    forum.clear_log()
    assert main([*crawl[:-1], "--retry-failed", "-q"]) == 3
    assert "crawl: 0 boards, 0 threads listed, 0 fetched, 0 posts, 2 requests, 1 failures, 0 skipped" in (
        capsys.readouterr().err.splitlines()
    )
    assert [entry.target for entry in forum.request_log] == [
        "/robots.txt",  # every crawl's client reads it once
        "/forum.php?mod=viewthread&tid=1099&page=1",
    ]
    with SQLiteStore(db) as store:
        assert [f.attempts for f in store.failures()] == [2]

    forum.clear_log()
    assert main(crawl) == 3
    assert [entry.target for entry in forum.request_log] == [
        "/robots.txt",
        "/forum.php?mod=forumdisplay&fid=6&page=1",
        "/forum.php?mod=viewthread&tid=1099&page=1",
    ], "a second run reads the list again and fetches only what is not stored"
    assert "  3 threads unchanged since the last crawl" in capsys.readouterr().err.splitlines()

    out = tmp_path / "posts.jsonl"
    assert main(["export", "--db", str(db), "--format", "jsonl", "-o", str(out)]) == 0
    with SQLiteStore(db) as store:
        assert list(read_jsonl(out)) == list(store.iter_posts())
    assert main(["export", "--db", str(tmp_path / "missing.db"), "--format", "csv", "-o", str(out)]) == 2
    assert capsys.readouterr().err.splitlines()[-1].startswith("error: no such database: ")

    assert main(["schema"]) == 0
    schemas = json.loads(capsys.readouterr().out)
    assert {"Post", "Thread", "Author", "PostImage", "Envelope"} <= set(schemas)
    assert schemas["Post"]["properties"]["pid"]["anyOf"] == [{"type": "integer"}, {"type": "null"}]


def test_usage_errors_exit_2(
    loopback: LoopbackServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = str(tmp_path / "x.db")
    for argv in (
        ["crawl", loopback.site_url("x34"), "--db", db, "--stop-after", "0"],
        ["crawl", loopback.site_url("x34"), "--db", db, "--rate", "-1"],
        ["export", "--db", db, "--format", "xml", "-o", "x"],
        ["crawl", loopback.site_url("x34")],
    ):
        with pytest.raises(SystemExit) as caught:
            main(argv)
        assert caught.value.code == 2
    assert main(["crawl", loopback.site_url("x34"), "--db", db, "--pages", "2"]) == 2
    assert capsys.readouterr().err.splitlines()[-1] == "error: --pages applies to a board URL only"


def test_progress_lines_are_throttled_off_a_terminal(
    loopback: LoopbackServer, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    board = ["board", loopback.site_url("x35") + "forum-3-1.html", "--pages", "1-2", "--rate", "0",
             "--concurrency", "1", "--with-posts", "-o", "-"]
    monkeypatch.setattr(cli, "PROGRESS_EVERY", 0.0)
    assert main(board) == 0
    every = [line for line in capsys.readouterr().err.splitlines() if line.startswith("boards ")]
    assert len(every) == 1 + 4 + 4, "unthrottled: a line per board, row (tids 2001-2004) and thread"
    monkeypatch.setattr(cli, "PROGRESS_EVERY", 3600.0)
    assert main(board) == 0
    throttled = [line for line in capsys.readouterr().err.splitlines() if line.startswith("boards ")]
    assert throttled == [every[0], every[-1]], "the first line, then only the final state"


def test_cli_defaults_to_the_html_backend_and_passes_cookies_through(
    loopback: LoopbackServer, forum: FixtureForum, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    thread = loopback.site_url("x35") + "thread-2001-1-1.html"
    cookie_file = tmp_path / "cookies.json"
    browser_export = [{"name": f"discuz_2132_{name}", "value": value} for name, value in (("saltkey", "s1"),
                                                                                            ("auth", "a1"))]
    cookie_file.write_text(json.dumps(browser_export), "utf-8")
    for cookies in ("discuz_2132_saltkey=s1; discuz_2132_auth=a1", str(cookie_file)):
        forum.clear_log()
        argv = ["thread", thread, "--rate", "0", "--concurrency", "1", "--cookies", cookies,
                "--user-agent", "FixtureAgent/1.0", "-q", "-o", str(tmp_path / "t.jsonl")]
        assert main(argv) == 0
        assert [entry.target for entry in forum.request_log] == [
            f"/bbs/forum.php?mod=viewthread&tid=2001&page={n}" for n in (1, 2, 3)
        ], "desktop pages, as DiscuzClient(...) fetches them: no mobile API probe"
        assert {seen.names for seen in forum.cookie_log} == {("discuz_2132_auth", "discuz_2132_saltkey")}
    assert capsys.readouterr().err == ""


def test_crawl_since_stores_only_recent_threads(
    loopback: LoopbackServer, forum: FixtureForum, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "recent.db"
    base = loopback.site_url("x34")
    argv = ["crawl", base + "forum-2-1.html", "--db", str(db), "--rate", "0", "--since", "2026-11-20", "-q"]
    assert main(argv) == 3, "sub-board 9's login wall and thread 1012's read permission"
    with SQLiteStore(db) as store:
        assert sorted(thread.tid for thread in store.iter_threads()) == [1001, 1010, 1013, 1014, 1016, 1050]
    assert "/forum.php?mod=forumdisplay&fid=2&page=2" not in [entry.target for entry in forum.request_log]
    capsys.readouterr()

    with pytest.raises(SystemExit) as caught:
        main(["crawl", base, "--db", str(db), "--since", "last week"])
    assert caught.value.code == 2
    assert "expected an ISO date or date-time, got 'last week'" in capsys.readouterr().err
