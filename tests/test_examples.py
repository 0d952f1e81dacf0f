"""Every example script and notebook runs against the loopback fixture forum and checks itself.

Scripts run in a subprocess from an empty working directory (they write their outputs there) and
must exit 0 with their key lines on stdout. Notebooks are executed with nbclient on a kernel that
runs this very interpreter; each has a cell tagged ``assertions`` whose checks must all pass.
Nothing here touches the user's home: the kernelspec, Jupyter/IPython state and matplotlib's cache
live in the test's temporary directory.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from ipykernel.kernelspec import write_kernel_spec
from nbclient import NotebookClient

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
KERNEL = "discuz-scraper-examples"

# script -> lines its output must contain (fixture values: see fixtures/forum/README.md)
SCRIPTS: dict[str, list[str]] = {
    "thread_to_jsonl.py": [
        "saved 12 posts by 4 authors",
        "floor 1 by 竹影清风 at 2026-11-02T20:14:02+08:00",
    ],
    "board_to_sqlite.py": [
        "run 1 (interrupted after 3 threads):",
        "run 2 (resumed):",
        "store: 12 threads, 40 posts, 2 failures recorded",
    ],
    "incremental_update.py": [
        "day 1: 4 threads fetched (19 posts), 0 unchanged",
        "  thread 2007: 1 posts fetched  冬季封山通知汇总",
        "day 8: 2 threads fetched (7 posts), 3 unchanged",
        "day 9: 0 threads fetched (0 posts), 5 unchanged",
        "store: thread 2001 has 16 posts; #12 edited by 行者无疆",
    ],
    "members_only_cookies.py": [
        "as a guest: LoginRequired",
        "logged in as: 茶客阿明",
        "thread 1090: 会员专享：春茶品鉴笔记 (1 posts)",
    ],
    "download_images.py": [
        "#1 竹影清风: ",
        "2 images of thread 1001 in images/, metadata in metadata.jsonl",
    ],
    "async_boards.py": [
        "board 3: 4 threads, 19 posts, 0 failures",
        "board 7: 0 threads, 0 posts, 0 failures",
        "board share: 2 threads, 4 posts, 0 failures",
    ],
    "parse_saved_html.py": [
        "自制竹编灯罩的全过程记录（附图纸） — 3 pages, 12 posts, 4567 views",
        "#1 竹影清风 2026-11-02 20:14",
    ],
    "custom_pipeline.py": [
        "wrote 23 rows to posts.csv (6 threads, 0 failures)",
    ],
}

NOTEBOOKS = ["quickstart.ipynb", "board_crawl.ipynb", "images.ipynb"]


def run_script(name: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {"PYTHONIOENCODING": "utf-8", "PYTHONUTF8": "1", "NO_COLOR": "1"}
    return subprocess.run(
        [sys.executable, str(EXAMPLES / name)],
        cwd=cwd,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=120,
        env={**os.environ, **env},
    )


def test_every_example_is_listed() -> None:
    # A new example must be added here, so it cannot silently go untested.
    assert sorted(p.name for p in EXAMPLES.glob("*.py")) == sorted(SCRIPTS)
    assert sorted(p.name for p in EXAMPLES.glob("*.ipynb")) == sorted(NOTEBOOKS)
    index = (EXAMPLES / "README.md").read_text(encoding="utf-8")
    assert all(f"[`{name}`]({name})" in index for name in [*SCRIPTS, *NOTEBOOKS])


@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_script(name: str, tmp_path: Path) -> None:
    done = run_script(name, tmp_path)
    assert done.returncode == 0, f"{name} failed:\n{done.stdout}\n{done.stderr}"
    for line in SCRIPTS[name]:
        assert line in done.stdout, f"{name}: {line!r} missing from:\n{done.stdout}"


def test_scripts_write_their_files(tmp_path: Path) -> None:
    assert run_script("thread_to_jsonl.py", tmp_path).returncode == 0
    lines = (tmp_path / "thread-1001.jsonl").read_text(encoding="utf-8").splitlines()
    assert [json.loads(line)["pid"] for line in lines] == list(range(3101, 3113))
    assert run_script("download_images.py", tmp_path).returncode == 0
    sidecar = (tmp_path / "images" / "metadata.jsonl").read_text("utf-8")
    meta = [json.loads(line) for line in sidecar.splitlines()]
    assert [(m["floor"], m["filename"], m["author"]) for m in meta] == [
        (1, "灯罩骨架.jpg", "竹影清风"),
        (1, "成品夜景.jpg", "竹影清风"),
    ]
    # The fixture forum's attachment files are tiny JPEGs (a JFIF header).
    assert all((tmp_path / "images" / m["file"]).read_bytes().startswith(b"\xff\xd8\xff") for m in meta)


def test_scripts_take_a_real_forum_url() -> None:
    # Every script documents how to point it at a real forum and accepts that argument.
    for name in SCRIPTS:
        source = (EXAMPLES / name).read_text(encoding="utf-8")
        assert "https://bbs.example.com/" in source, name
        assert '__name__ == "__main__"' in source, name


@pytest.fixture(scope="module")
def jupyter_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A kernelspec for this interpreter, plus private Jupyter, IPython and matplotlib dirs."""
    home = tmp_path_factory.mktemp("jupyter")
    kernels = home / "data" / "kernels"
    kernels.mkdir(parents=True)
    spec = Path(write_kernel_spec(str(kernels / KERNEL)))
    kernel_json = json.loads((spec / "kernel.json").read_text())
    kernel_json["argv"][0] = sys.executable  # this venv's python, wherever `python` points
    kernel_json["display_name"] = KERNEL
    (spec / "kernel.json").write_text(json.dumps(kernel_json))
    return home


@pytest.fixture
def jupyter_env(jupyter_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JUPYTER_PATH", str(jupyter_home / "data"))
    monkeypatch.setenv("JUPYTER_DATA_DIR", str(jupyter_home / "data"))
    monkeypatch.setenv("JUPYTER_CONFIG_DIR", str(jupyter_home / "config"))
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(jupyter_home / "runtime"))
    monkeypatch.setenv("IPYTHONDIR", str(jupyter_home / "ipython"))
    monkeypatch.setenv("MPLCONFIGDIR", str(jupyter_home / "matplotlib"))
    monkeypatch.setenv("JUPYTER_PLATFORM_DIRS", "1")


def test_notebooks_are_stored_without_outputs() -> None:
    for name in NOTEBOOKS:
        book = nbformat.read(EXAMPLES / name, as_version=4)
        nbformat.validate(book)
        for cell in book.cells:
            if cell.cell_type == "code":
                assert cell.outputs == [] and cell.execution_count is None, f"{name}: outputs not stripped"
        first = next(cell for cell in book.cells if cell.cell_type == "code")
        assert "serve()" in first.source and "Real forum" in first.source, name
        assert 'matplotlib.use("Agg")' in first.source, name


@pytest.mark.usefixtures("jupyter_env")
@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook(name: str, tmp_path: Path) -> None:
    book = nbformat.read(EXAMPLES / name, as_version=4)
    client = NotebookClient(
        book,
        kernel_name=KERNEL,
        timeout=180,
        allow_errors=False,  # a failing cell raises CellExecutionError and fails the test
        resources={"metadata": {"path": str(tmp_path)}},
    )
    client.execute()
    checks = [cell for cell in book.cells if "assertions" in cell.metadata.get("tags", [])]
    assert len(checks) == 1, f"{name} needs exactly one cell tagged 'assertions'"
    printed = "".join(out.get("text", "") for out in checks[0].outputs if out.output_type == "stream")
    assert "all checks passed" in printed, printed
    # Every figure is shown inline: the plotting cells produced PNG output.
    images = [out for cell in book.cells if cell.cell_type == "code" for out in cell.outputs
              if "image/png" in out.get("data", {})]
    assert images, f"{name} shows no figure"
