"""Fixtures of the notify tests: a Slack sandbox, a notifier pointed at it, scored rows by hand."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import duckdb
import httpx
import pytest

from property_pipeline.notify.slack import SlackNotifier
from property_pipeline.sandbox import slack_api
from property_pipeline.sandbox.context import SandboxConfig
from property_pipeline.sandbox.faults import FaultSpec
from property_pipeline.sandbox.server import SandboxServer
from property_pipeline.warehouse.resource import WarehouseResource

SANDBOX_DAY = dt.date(2026, 3, 2)


@pytest.fixture(scope="module")
def slack_server() -> Iterator[SandboxServer]:
    """A sandbox serving only the Slack stand-in, shared by a module's tests."""
    with SandboxServer(SandboxConfig(date=SANDBOX_DAY), upstreams={"slack": slack_api.routes}) as s:
        yield s


@pytest.fixture
def sandbox(slack_server: SandboxServer) -> SandboxServer:
    """The shared sandbox with no faults and no messages."""
    slack_server.context.reset()
    return slack_server


@pytest.fixture
def notifier(sandbox: SandboxServer) -> SlackNotifier:
    """A notifier sending to the sandbox's Slack, with the test token."""
    return SlackNotifier(
        token="xoxb-test", base_url=sandbox.url("slack"), ui_url="http://dagster.test:3000"
    )


def posted(server: SandboxServer) -> list[dict[str, Any]]:
    """The messages the sandbox's Slack received, oldest first, read over its control API."""
    response = httpx.get(f"{server.base_url}/_sandbox/slack/messages", trust_env=False)
    return response.json()["messages"]


def add_slack_fault(server: SandboxServer, kind: str, **fields: Any) -> None:
    """Make the next Slack postMessage calls fail (`count`, `retry_after`...)."""
    server.context.faults.add(
        FaultSpec("slack", kind, path_prefix="/api/chat.postMessage", **fields)
    )


def scored_row(listing_key: str, score: int, **changes: Any) -> dict[str, Any]:
    """One `scored` row with every required column, made in plain sight."""
    band = (
        "hot" if score >= 85 else "good" if score >= 70 else "watchlist" if score >= 60 else "pass"
    )
    row: dict[str, Any] = {
        "listing_key": listing_key,
        "property_key": f"p-{listing_key}",
        "status": "scored",
        "score": score,
        "band": band,
        "recommendation": "view",
        "check_first": [],
        "top_reasons": [f"{listing_key} is 20% below value", "7.5% gross yield"],
        "score_breakdown": "{}",
        "evidence_caps": [],
        "headline": f"3 bed terrace {listing_key}",
        "url": f"https://www.rightmove.co.uk/properties/{listing_key}",
        "urls": [
            f"https://www.rightmove.co.uk/properties/{listing_key}",
            f"https://www.zoopla.co.uk/for-sale/details/{listing_key}/",
        ],
        "address": f"1 High Street, Romford ({listing_key})",
        "postcode": "RM6 4AB",
        "outcode": "RM6",
        "agent": "Hallmark Homes",
        "red_flags": ["Short lease: 80 years"],
        "signals": [],
        "price": 250_000,
        "estimated_value": 312_500,
        "value_confidence": 0.7,
        "discount_to_value": 0.2,
        "gross_yield": 0.075,
        "rank_in_partition": 1,
        "rank_overall": 1,
        "scored_at": dt.datetime(2026, 3, 2, 12, 0),
    }
    return row | changes


def replace_scored(
    conn: duckdb.DuckDBPyConnection, day: dt.date, rows: list[dict[str, Any]]
) -> None:
    """Make `rows` the day's whole `scored` partition."""
    conn.execute("delete from scored where partition_date = ?", [day])
    for row in rows:
        columns = ["partition_date", *row]
        conn.execute(
            f"insert into scored ({', '.join(columns)}) values ({', '.join('?' * len(columns))})",
            [day, *row.values()],
        )


def write_scored(warehouse: WarehouseResource, day: dt.date, rows: list[dict[str, Any]]) -> None:
    """replace_scored through a connection of its own."""
    with warehouse.connection() as conn:
        replace_scored(conn, day, rows)
