"""The README's quickstart runs as written, against the fixture forum instead of a real one."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

from discuz_scraper.testing import LoopbackServer

README = Path(__file__).resolve().parent.parent / "README.md"


def python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.S)


def test_quickstart_runs_against_the_fixture_forum(loopback: LoopbackServer) -> None:
    code = python_blocks()[0]
    site = loopback.site_url("x34")
    code = code.replace("https://bbs.example.com/thread-123-1-1.html", f"{site}thread-1001-1-1.html")
    code = code.replace("https://bbs.example.com/", site)
    assert "example.com" not in code
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, "README quickstart", "exec"), {})
    lines = out.getvalue().splitlines()
    assert lines[0] == "自制竹编灯罩的全过程记录（附图纸） 4567 11 12"
    first_post = "1 竹影清风 2026-11-02 20:14:02+08:00 去年秋天砍了几根毛竹，晾了三个月，终于动 "
    assert lines[1].startswith(first_post)
    assert lines[1].endswith(
        f"['{site}data/attachment/forum/202611/02/201402bamboo301.jpg', "
        f"'{site}data/attachment/forum/202611/02/201355night302.jpg']"
    )
    # posts per author: four authors, three posts each
    assert [line.split() for line in lines[-5:-1]] == [
        ["竹影清风", "3"], ["老木匠", "3"], ["阿土", "3"], ["青竹", "3"],
    ]


def test_readme_gives_exactly_the_two_setup_commands() -> None:
    text = README.read_text(encoding="utf-8")
    setup = text.split("## Set up", 1)[1].split("```bash", 1)[1].split("```", 1)[0]
    commands = [line for line in setup.splitlines() if line and not line.startswith("#")]
    assert commands == [
        "python -m pip install . && discuz-scraper demo",
        'python -m pip install -e ".[test]" && python -m pytest',
    ]
    ci = (README.parent / ".ci" / "run").read_text(encoding="utf-8")
    assert commands[1] in ci
