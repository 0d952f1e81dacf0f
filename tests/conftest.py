"""Shared pytest fixtures: the fixture forum, its in-process transport and its loopback server."""

from __future__ import annotations

import sys
from collections.abc import Iterator

import httpx
import pytest

from discuz_scraper.testing import FixtureForum, LoopbackServer, default_forum


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def forum() -> FixtureForum:
    """A fresh fixture forum (empty request log, no faults) for each test."""
    return default_forum()


@pytest.fixture
def mock_transport(forum: FixtureForum) -> httpx.MockTransport:
    """The ``forum`` fixture as an in-process transport on ``http://forum.test``."""
    return forum.mock_transport()


@pytest.fixture
def loopback(forum: FixtureForum) -> Iterator[LoopbackServer]:
    """The ``forum`` fixture served on 127.0.0.1; stopped (threads joined) after the test."""
    with forum.serve() as server:
        yield server


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Print the seeds the reliability suites ran with (faults, crash-resume, fuzzing).

    Each suite module publishes ``RELIABILITY_SEEDS = {label: seeds}``; only modules that ran
    were imported, so a partial run prints only its own suites.
    """
    found = {
        label: seeds
        for module in list(sys.modules.values())
        if isinstance(getattr(module, "RELIABILITY_SEEDS", None), dict)
        for label, seeds in module.RELIABILITY_SEEDS.items()
    }
    if not found:
        return
    terminalreporter.section("reliability seeds")
    for label, seeds in sorted(found.items()):
        terminalreporter.write_line(f"{label}: {', '.join(str(s) for s in seeds)}")
