"""Processes and HTTP helpers for the UI test: Chromium, the webserver, the daemon, GraphQL."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx

from property_pipeline_tests.conftest import REPO_ROOT

CHROMIUM_ENV = "PROPERTY_PIPELINE_CHROMIUM"
UPDATE_SCREENSHOTS_ENV = "UPDATE_SCREENSHOTS"
DOCS_IMAGES = REPO_ROOT / "docs" / "images"
# This machine's network is closed: without the background-networking flags Chromium's own
# connections are refused by the dozen; --no-sandbox because CI runs as root.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
FINISHED_RUN_STATUSES = {"SUCCESS", "FAILURE", "CANCELED"}
RUN_STATUS_QUERY = """
query RunStatus($runId: ID!) {
  runOrError(runId: $runId) {
    __typename
    ... on Run { status }
  }
}
"""


def find_chromium() -> str | None:
    """Debian's Chromium (or `$PROPERTY_PIPELINE_CHROMIUM`), or None when it is not installed."""
    configured = os.environ.get(CHROMIUM_ENV, "").strip()
    if configured:
        return configured if Path(configured).is_file() else None
    return shutil.which("chromium") or shutil.which("chromium-browser")


def free_port() -> int:
    """A loopback TCP port nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start(command: list[str], log: Path) -> subprocess.Popen[bytes]:
    """Start a process from the checkout in its own session, its output going to `log`."""
    with log.open("wb") as output:
        return subprocess.Popen(
            command,
            cwd=REPO_ROOT,
            stdout=output,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )


def stop(processes: list[subprocess.Popen[bytes]], timeout: float = 3) -> None:
    """End processes started by `start` and all they started (code servers, run workers).

    All are asked at once and killed after `timeout` seconds: the daemon's graceful stop alone
    takes longer than the test's throwaway home is worth.
    """
    running = [process for process in processes if process.poll() is None]
    for process in running:
        os.killpg(process.pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    for process in running:
        try:
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            pass
        # The leader may be gone while its code servers still wind down: end the whole group.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=timeout)


def log_tail(log: Path, characters: int = 3000) -> str:
    """The end of a process's log, for a failure message."""
    return log.read_text(errors="replace")[-characters:] if log.exists() else "(no log)"


def wait_until_serving(
    base_url: str, process: subprocess.Popen[bytes], log: Path, timeout: float
) -> float:
    """Seconds until the webserver answers /server_info; fails with its log if it dies first."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if process.poll() is not None:
            raise AssertionError(
                f"dagster-webserver exited with {process.returncode}:\n{log_tail(log)}"
            )
        try:
            if httpx.get(f"{base_url}/server_info", timeout=2).status_code == 200:
                return time.monotonic() - started
        except httpx.TransportError:
            pass
        time.sleep(0.3)
    raise AssertionError(f"dagster-webserver did not answer in {timeout:.0f}s:\n{log_tail(log)}")


def graphql(base_url: str, query: str, variables: dict[str, Any]) -> dict[str, Any]:
    """The `data` of a GraphQL answer from the webserver; errors fail with the server's words."""
    answer = httpx.post(
        f"{base_url}/graphql", json={"query": query, "variables": variables}, timeout=30
    )
    answer.raise_for_status()
    body = answer.json()
    if body.get("errors"):
        raise AssertionError(f"GraphQL errors: {body['errors']}")
    return body["data"]


def wait_for_run(base_url: str, run_id: str, timeout: float) -> str:
    """Poll the webserver until run `run_id` has finished; return its final status."""
    deadline = time.monotonic() + timeout
    status = "UNKNOWN"
    while time.monotonic() < deadline:
        run = graphql(base_url, RUN_STATUS_QUERY, {"runId": run_id})["runOrError"]
        status = run.get("status", run["__typename"])
        if status in FINISHED_RUN_STATUSES:
            return status
        time.sleep(1)
    raise AssertionError(f"run {run_id} still {status} after {timeout:.0f}s")


def updating_screenshots() -> bool:
    """Whether this run refreshes the README's screenshots (UPDATE_SCREENSHOTS=1)."""
    return os.environ.get(UPDATE_SCREENSHOTS_ENV, "").strip().lower() in {"1", "true", "yes"}


def publish_screenshots(folder: Path) -> list[Path]:
    """Copy the run's PNGs into docs/images when UPDATE_SCREENSHOTS=1; the README shows them."""
    if not updating_screenshots():
        return []
    DOCS_IMAGES.mkdir(parents=True, exist_ok=True)
    return [Path(shutil.copy(png, DOCS_IMAGES / png.name)) for png in sorted(folder.glob("*.png"))]
