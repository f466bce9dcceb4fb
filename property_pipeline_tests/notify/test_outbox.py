"""The outbox against the sandbox's Slack: once per key, in order, through outages and crashes."""

from __future__ import annotations

import datetime as dt
import logging
import subprocess
import sys
from pathlib import Path

import pytest

from property_pipeline.notify import outbox
from property_pipeline.notify.slack import SlackNotifier
from property_pipeline.sandbox.server import SandboxServer
from property_pipeline.warehouse.resource import WarehouseResource
from property_pipeline_tests.notify.conftest import add_slack_fault, posted

NOW = dt.datetime(2026, 3, 2, 12, 0)
BLOCKS = [{"type": "section", "text": {"type": "mrkdwn", "text": "*Hot deal* £250,000"}}]


def queue(warehouse: WarehouseResource, *keys: str, channel: str = "deals") -> None:
    with warehouse.connection() as conn:
        for key in keys:
            outbox.enqueue(conn, key=key, channel=channel, text=f"message {key}", now=NOW)


def rows(warehouse: WarehouseResource) -> dict[str, dict]:
    with warehouse.connection() as conn:
        return {row["message_key"]: row for row in outbox.outbox_rows(conn)}


def test_a_key_is_queued_once(warehouse: WarehouseResource) -> None:
    with warehouse.connection() as conn:
        first = outbox.enqueue(conn, key="hot:a:1", channel="deals", text="one", blocks=BLOCKS)
        again = outbox.enqueue(conn, key="hot:a:1", channel="deals", text="changed")

    assert (first, again) == (True, False)
    assert rows(warehouse)["hot:a:1"]["text"] == "one"


def test_an_unknown_channel_is_refused_by_name(warehouse: WarehouseResource) -> None:
    with warehouse.connection() as conn, pytest.raises(ValueError, match="'general' is not one"):
        outbox.enqueue(conn, key="x", channel="general", text="hi")


def test_messages_go_out_once_in_queue_order_with_blocks_and_metadata(
    warehouse: WarehouseResource, notifier: SlackNotifier, sandbox: SandboxServer
) -> None:
    with warehouse.connection() as conn:
        outbox.enqueue(conn, key="hot:a:1", channel="deals", text="first", blocks=BLOCKS, now=NOW)
    queue(warehouse, "digest:2026-03-02", channel="digest")

    report = outbox.deliver(warehouse, notifier, now=NOW)
    again = outbox.deliver(warehouse, notifier, now=NOW)

    messages = posted(sandbox)
    assert [(m["channel_name"], m["text"]) for m in messages] == [
        ("#property-deals", "first"),
        ("#property-digest", "message digest:2026-03-02"),
    ]
    assert messages[0]["blocks"] == BLOCKS
    assert messages[0]["metadata"] == {
        "event_type": "property_pipeline_outbox",
        "event_payload": {"key": "hot:a:1"},
    }
    assert report.sent == ["hot:a:1", "digest:2026-03-02"]
    assert again.sent == []
    stored = rows(warehouse)["hot:a:1"]
    assert (stored["status"], stored["slack_ts"]) == ("sent", messages[0]["ts"])


def test_a_slack_outage_keeps_messages_queued_then_sends_each_once_in_order(
    warehouse: WarehouseResource, notifier: SlackNotifier, sandbox: SandboxServer
) -> None:
    queue(warehouse, "m1", "m2", "m3")
    add_slack_fault(sandbox, "server_error", count=2)

    during = outbox.deliver(warehouse, notifier, now=NOW)
    too_soon = outbox.deliver(warehouse, notifier, now=NOW + dt.timedelta(seconds=10))
    retried = outbox.deliver(warehouse, notifier, now=NOW + dt.timedelta(seconds=31))
    recovered = outbox.deliver(warehouse, notifier, now=NOW + dt.timedelta(seconds=92))

    assert (during.deferred, during.sent, during.waiting) == (["m1"], [], 3)
    assert too_soon.sent == [] and "waits until" in too_soon.stopped_because
    assert retried.deferred == ["m1"]
    assert recovered.sent == ["m1", "m2", "m3"]
    assert [m["text"] for m in posted(sandbox)] == ["message m1", "message m2", "message m3"]
    assert rows(warehouse)["m1"]["attempts"] == 3


def test_a_rate_limit_waits_for_retry_after(
    warehouse: WarehouseResource, notifier: SlackNotifier, sandbox: SandboxServer
) -> None:
    queue(warehouse, "m1")
    add_slack_fault(sandbox, "rate_limit", count=1, retry_after=120)

    limited = outbox.deliver(warehouse, notifier, now=NOW)
    stored = rows(warehouse)["m1"]
    early = outbox.deliver(warehouse, notifier, now=NOW + dt.timedelta(seconds=119))
    after = outbox.deliver(warehouse, notifier, now=NOW + dt.timedelta(seconds=120))

    assert limited.deferred == ["m1"]
    assert (stored["status"], stored["last_error"]) == ("queued", "HTTP 429: ratelimited")
    assert stored["next_attempt_at"] == NOW + dt.timedelta(seconds=120)
    assert (early.sent, after.sent) == ([], ["m1"])
    assert [m["text"] for m in posted(sandbox)] == ["message m1"]


def test_a_bad_token_fails_for_good_is_logged_and_can_be_requeued(
    warehouse: WarehouseResource,
    notifier: SlackNotifier,
    sandbox: SandboxServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    queue(warehouse, "m1")
    refused = notifier.model_copy(update={"token": "not-a-slack-token"})

    with caplog.at_level(logging.ERROR):
        report = outbox.deliver(warehouse, refused, now=NOW)
    with warehouse.connection() as conn:
        requeued = outbox.requeue(conn, now=NOW)
    fixed = outbox.deliver(warehouse, notifier, now=NOW)

    assert report.failed == ["m1"]
    assert "Slack refused message m1 for good (HTTP 200: invalid_auth)" in caplog.text
    assert "not-a-slack-token" not in caplog.text
    assert requeued == 1 and fixed.sent == ["m1"]
    assert [m["text"] for m in posted(sandbox)] == ["message m1"]


def test_without_a_token_messages_are_logged_and_kept(
    warehouse: WarehouseResource, caplog: pytest.LogCaptureFixture
) -> None:
    queue(warehouse, "m1")

    with caplog.at_level(logging.INFO):
        report = outbox.deliver(warehouse, SlackNotifier(), now=NOW)

    assert report.logged == ["m1"]
    assert "Slack not connected (set SLACK_BOT_TOKEN): [deals] message m1" in caplog.text
    assert rows(warehouse)["m1"]["status"] == "logged"


def test_a_crash_after_posting_is_recovered_from_history_without_a_repeat(
    warehouse: WarehouseResource,
    notifier: SlackNotifier,
    sandbox: SandboxServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    queue(warehouse, "m1", "m2")

    def crash(*args: object) -> None:
        raise KeyboardInterrupt("the daemon stopped")

    monkeypatch.setattr(outbox, "_mark_sent", crash)
    with pytest.raises(KeyboardInterrupt):
        outbox.deliver(warehouse, notifier, now=NOW)
    monkeypatch.undo()
    still_claimed = outbox.deliver(warehouse, notifier, now=NOW + dt.timedelta(seconds=60))
    recovered = outbox.deliver(warehouse, notifier, now=NOW + dt.timedelta(minutes=3))

    assert rows(warehouse)["m1"]["slack_ts"] == posted(sandbox)[0]["ts"]
    assert still_claimed.sent == [] and "being sent" in still_claimed.stopped_because
    assert recovered.sent == ["m1", "m2"]
    assert [m["text"] for m in posted(sandbox)] == ["message m1", "message m2"]


def test_a_message_with_a_file_posts_the_text_then_uploads_the_file(
    warehouse: WarehouseResource, notifier: SlackNotifier, sandbox: SandboxServer, tmp_path: Path
) -> None:
    chart = tmp_path / "week.png"
    chart.write_bytes(b"\x89PNG fake chart")
    with warehouse.connection() as conn:
        outbox.enqueue(
            conn,
            key="stats:2026-02-23",
            channel="stats",
            text="Weekly stats",
            file_path=str(chart),
            file_title="Prices this week",
        )

    report = outbox.deliver(warehouse, notifier)

    files = sandbox.context.slack_log.files()
    assert report.sent == ["stats:2026-02-23"]
    assert [m["text"] for m in posted(sandbox)] == ["Weekly stats"]
    assert [(f["name"], f["title"], f["content"]) for f in files] == [
        ("week.png", "Prices this week", b"\x89PNG fake chart")
    ]


def test_a_locked_warehouse_is_reported_as_busy(warehouse: WarehouseResource) -> None:
    queue(warehouse, "m1")
    holder = hold_lock(warehouse.database)
    try:
        with pytest.raises(outbox.WarehouseBusy, match="stayed locked"):
            with outbox.brief_connection(warehouse.database, wait_seconds=0.3):
                pass
    finally:
        holder.kill()
        holder.wait()


def hold_lock(database: str) -> subprocess.Popen:
    """Another process holding the DuckDB file open for writing until killed."""
    script = (
        "import duckdb, sys, time\n"
        f"conn = duckdb.connect({database!r})\n"
        "print('locked', flush=True)\n"
        "time.sleep(60)\n"
    )
    holder = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
    return holder


def test_an_answer_cut_short_is_checked_in_the_channel_and_never_posted_twice(
    warehouse: WarehouseResource, notifier: SlackNotifier, sandbox: SandboxServer
) -> None:
    queue(warehouse, "m1", "m2")
    # Slack posts the message, but its answer is cut off on the way back.
    add_slack_fault(sandbox, "truncate", count=1)

    cut_short = outbox.deliver(warehouse, notifier, now=NOW)
    stored = rows(warehouse)["m1"]
    later = outbox.deliver(warehouse, notifier, now=NOW + dt.timedelta(hours=2))

    assert cut_short.sent == [] and cut_short.deferred == ["m1"]
    assert stored["status"] == "unconfirmed" and stored["last_error"]
    assert later.sent == ["m1", "m2"]
    assert [m["text"] for m in posted(sandbox)] == ["message m1", "message m2"]
