"""The API reference builds from the docstrings with one command and without a single warning.

The command is the documented one (``python docs/build_api.py -o DIR``); it exits 1 and lists
the warnings on stderr when pdoc raises any. The rendered pages are then checked for content and
for reStructuredText that did not become HTML (a role or literal pdoc could not read).
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# Source listings ("View Source") hold raw docstrings; only the rendered text is checked.
SOURCE_BLOCK = re.compile(r'<div class="pdoc-code codehilite">.*?</pre></div>', re.S)
LEFTOVER_RST = re.compile(r":(?:class|meth|func|mod|data|attr|exc|obj):`|``[^`<]+``")


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("api")
    done = subprocess.run(
        [sys.executable, str(ROOT / "docs" / "build_api.py"), "-o", str(out)],
        capture_output=True, text=True, encoding="utf-8", timeout=300, cwd=ROOT,
    )
    assert done.returncode == 0 and done.stderr.strip() == "", f"pdoc warnings:\n{done.stderr}"
    assert f"API docs in {out / 'index.html'}" in done.stdout
    return out


def page(api: Path, module: str) -> str:
    return (api / (module.replace(".", "/") + ".html")).read_text(encoding="utf-8")


def test_every_public_module_has_a_page(api: Path) -> None:
    pages = {p.relative_to(api).with_suffix("").as_posix().replace("/", ".") for p in api.rglob("*.html")}
    expected = {
        "discuz_scraper", "discuz_scraper.client", "discuz_scraper.models", "discuz_scraper.errors",
        "discuz_scraper.crawl", "discuz_scraper.store", "discuz_scraper.export", "discuz_scraper.media",
        "discuz_scraper.cookies", "discuz_scraper.testing", "discuz_scraper.urls",
        "discuz_scraper.parsers.thread", "discuz_scraper.parsers.board", "discuz_scraper.contrib.scrapy",
    }
    assert expected <= pages, sorted(expected - pages)
    assert not [name for name in pages if re.search(r"\._", name)], "private modules documented"


def test_pages_render_the_docstrings(api: Path) -> None:
    client = page(api, "discuz_scraper.client")
    assert "Synchronous client. Use as a context manager" in client
    assert 'id="DiscuzClient.iter_posts"' in client and 'id="AsyncDiscuzClient.crawl_board"' in client
    # :class: roles become links to the documented model (pdoc links to the public re-export).
    assert 'href="../discuz_scraper.html#Thread"' in client
    models = page(api, "discuz_scraper.models")
    assert 'id="Post"' in models and 'id="Thread"' in models
    # The lazily imported name in contrib.scrapy.__all__ is documented, not dropped.
    assert 'id="DiscuzRedisSpider"' in page(api, "discuz_scraper.contrib.scrapy")


def test_no_unrendered_markup(api: Path) -> None:
    leftovers = {}
    for html in api.rglob("*.html"):
        text = SOURCE_BLOCK.sub("", html.read_text(encoding="utf-8"))
        found = LEFTOVER_RST.findall(text)
        if found:
            leftovers[html.relative_to(api).as_posix()] = found[:5]
    assert leftovers == {}
