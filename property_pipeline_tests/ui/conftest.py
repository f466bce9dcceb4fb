"""The UI test's stack: a demo warehouse, the Dagster webserver and daemon, headless Chromium.

Everything is started once per module, since the webserver alone takes 10-30 s to load the code
location, and stopped at the end; screenshots go to a temporary folder and, with
UPDATE_SCREENSHOTS=1, into docs/images/ for the README.
"""

from __future__ import annotations

import datetime as dt
import logging
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
import pytest

from property_pipeline_tests.conftest import REPO_ROOT, skip_or_fail
from property_pipeline_tests.ui import support

# A Sunday, so its week (Monday 23 November) is a complete weekly_stats partition.
DEMO_DAY = dt.date(2026, 11, 29)
DEMO_WEEK = dt.date(2026, 11, 23)
BIN = Path(sys.executable).parent
STARTUP_TIMEOUT = 120
VIEWPORT = {"width": 1600, "height": 900}
# The UI's one-time "join the community" dialog would cover every page; a person dismisses it
# once, and the browser remembers that here.
DISMISS_COMMUNITY_DIALOG = "window.localStorage.setItem('communityNux', '\"1\"')"
# Variables that would point the stack at another instance, real Slack or live sites.
FOREIGN_ENV = (
    "DAGSTER_POSTGRES_URL",
    "DAGSTER_POSTGRES_HOST",
    "PROPERTY_PIPELINE_SANDBOX_URL",
    "PROPERTY_PIPELINE_LIVE",
    "SLACK_BOT_TOKEN",
    "SLACK_API_URL",
    "OPENAI_API_KEY",
    "EPC_API_TOKEN",
)

LOOPBACK = ["-h", "127.0.0.1"]
WORKSPACE = ["-w", "workspace.yaml"]

log = logging.getLogger(__name__)


@dataclass
class UiStack:
    """A webserver (and daemon) serving a Dagster home with one demo day materialised."""

    base_url: str
    home: Path
    warehouse: Path
    screenshots: Path
    row_counts: dict[str, int]
    timings: dict[str, float] = field(default_factory=dict)


@pytest.fixture(scope="module")
def chromium_executable() -> str:
    """Debian's Chromium; a skip locally when absent, a failure under CI=true."""
    executable = support.find_chromium()
    if executable is None:
        skip_or_fail(
            "chromium is not installed: run `.ci/install-browser` (Debian's chromium package)"
        )
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        skip_or_fail("the playwright package is missing: pip install -e '.[dev]'")
    return executable


@pytest.fixture(scope="module")
def ui_stack(
    chromium_executable: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[UiStack]:
    """The demo day materialised into a fresh home, served on a free loopback port."""
    root = tmp_path_factory.mktemp("ui")
    home, warehouse, screenshots = root / "dagster_home", root / "warehouse.duckdb", root / "png"
    home.mkdir()
    screenshots.mkdir()
    (home / "dagster.yaml").write_text((REPO_ROOT / "dagster.yaml").read_text())
    port = support.free_port()
    base_url = f"http://127.0.0.1:{port}"
    timings: dict[str, float] = {}
    started = time.monotonic()

    with pytest.MonkeyPatch.context() as env:
        env.setenv("DAGSTER_HOME", str(home))
        env.setenv("PROPERTY_PIPELINE_WAREHOUSE", str(warehouse))
        for name in FOREIGN_ENV:
            env.delenv(name, raising=False)
        # Create the SQLite storage once, before three processes open it at the same moment.
        with dg.DagsterInstance.from_config(str(home)) as instance:
            instance.upgrade()

        webserver_log = root / "webserver.log"
        demo_log = root / "demo.log"
        daemon_log = root / "daemon.log"
        webserver = support.start(
            [str(BIN / "dagster-webserver"), *LOOPBACK, "-p", str(port), *WORKSPACE],
            webserver_log,
        )
        demo = support.start(demo_command(), demo_log)
        daemon: subprocess.Popen[bytes] | None = None
        try:
            if demo.wait(timeout=STARTUP_TIMEOUT) != 0:
                raise AssertionError(f"the demo failed:\n{support.log_tail(demo_log)}")
            timings["demo_seconds"] = time.monotonic() - started
            row_counts = _row_counts(warehouse)

            # Started after the demo: the daemon's sensors open the warehouse, which allows one
            # writer at a time.
            daemon = support.start([str(BIN / "dagster-daemon"), "run", *WORKSPACE], daemon_log)
            support.wait_until_serving(base_url, webserver, webserver_log, STARTUP_TIMEOUT)
            timings["stack_ready_seconds"] = time.monotonic() - started
            stack = UiStack(base_url, home, warehouse, screenshots, row_counts, timings)
            yield stack
        finally:
            support.stop([process for process in (daemon, demo, webserver) if process])
        published = support.publish_screenshots(screenshots)
        log.info(
            "UI stack timings %s; screenshots in %s%s",
            {key: round(value, 1) for key, value in timings.items()},
            screenshots,
            f", copied to {support.DOCS_IMAGES}" if published else "",
        )


@pytest.fixture(scope="module")
def browser(chromium_executable: str) -> Iterator[Any]:
    """Headless Debian Chromium driven by Playwright (no browser download involved)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=chromium_executable, headless=True, args=support.CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A fresh browser tab, as a first-time visitor who has dismissed the community dialog."""
    context = browser.new_context(viewport=VIEWPORT)
    context.add_init_script(DISMISS_COMMUNITY_DIALOG)
    context.set_default_timeout(30_000)
    tab = context.new_page()
    yield tab
    context.close()


def demo_command() -> list[str]:
    """The demo on the built-in sample (seconds); on the sandbox market when refreshing the
    README's screenshots, whose digest should hold a realistic day's deals."""
    command = [sys.executable, "-m", "property_pipeline.cli", "demo", "--date", str(DEMO_DAY)]
    return command if support.updating_screenshots() else [*command, "--sample"]


def _row_counts(warehouse: Path) -> dict[str, int]:
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        daily = {
            table: conn.execute(
                f"select count(*) from {table} where partition_date = ?", [DEMO_DAY]
            ).fetchone()[0]
            for table in (
                "raw_listings",
                "deduped_listings",
                "screened",
                "enriched",
                "scored",
                "digests",
            )
        }
        daily["weekly_stats"] = conn.execute(
            "select count(*) from weekly_stats where week_start = ?", [DEMO_WEEK]
        ).fetchone()[0]
    return daily
