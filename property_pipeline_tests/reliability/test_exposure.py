"""Exposure: the UI and the sandbox listen on this machine only unless told otherwise."""

from __future__ import annotations

import re

import pytest

from property_pipeline.sandbox.server import require_loopback
from property_pipeline_tests.conftest import REPO_ROOT


def test_make_dev_binds_the_webserver_to_loopback() -> None:
    makefile = (REPO_ROOT / "Makefile").read_text()
    [command] = re.findall(r"^dev:.*\n\t(.+)$", makefile, re.M)

    assert "dagster dev" in command
    assert re.search(r"(?:-h|--host)\s+127\.0\.0\.1\b", command), command


def test_no_project_config_binds_every_interface() -> None:
    checked = ["Makefile", "dagster.yaml", "workspace.yaml", "pyproject.toml"]

    assert [name for name in checked if "0.0.0.0" in (REPO_ROOT / name).read_text()] == []


def test_the_sandbox_refuses_to_listen_beyond_loopback() -> None:
    assert require_loopback("localhost") == "127.0.0.1"
    with pytest.raises(ValueError, match="not a loopback address"):
        require_loopback("0.0.0.0")
