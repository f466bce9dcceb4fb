"""The sensors against a real event log and the sandbox's Slack: each alert exactly once."""

import datetime as dt
from collections.abc import Iterator
from typing import Any

import dagster as dg
import pytest

from property_pipeline.notify import outbox
from property_pipeline.notify.sensors import (
    asset_check_failure_sensor,
    hot_deals_sensor,
    slack_run_failure_sensor,
)
from property_pipeline.notify.slack import SlackNotifier
from property_pipeline.partitions import daily_partitions
from property_pipeline.sandbox.server import SandboxServer
from property_pipeline.warehouse.resource import WarehouseResource
from property_pipeline_tests.notify.conftest import (
    add_slack_fault,
    posted,
    scored_row,
    write_scored,
)
from property_pipeline_tests.notify.test_outbox import hold_lock

DAY = "2026-03-02"
# What the stand-in `scored` asset writes for each partition; tests fill it in plain sight.
SCORED_ROWS: dict[str, list[dict[str, Any]]] = {}


@dg.asset(name="scored", partitions_def=daily_partitions)
def scored_stand_in(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> None:
    """Writes SCORED_ROWS[partition] as the day's `scored` rows, as the scoring stage would."""
    write_scored(
        warehouse, dt.date.fromisoformat(context.partition_key), SCORED_ROWS[context.partition_key]
    )


@dg.asset(name="broken", partitions_def=daily_partitions)
def broken(context: dg.AssetExecutionContext) -> None:
    raise ValueError("EPC register answered <!channel> 500")


@dg.asset(name="checked", check_specs=[dg.AssetCheckSpec("has_rows", asset="checked")])
def checked() -> dg.MaterializeResult:
    return dg.MaterializeResult(
        check_results=[
            dg.AssetCheckResult(
                passed=False,
                severity=dg.AssetCheckSeverity.WARN,
                description="no rows for <!here>",
                metadata={"rows": 0},
            )
        ]
    )


@pytest.fixture
def instance() -> Iterator[dg.DagsterInstance]:
    with dg.instance_for_test() as test_instance:
        yield test_instance


@pytest.fixture(autouse=True)
def no_rows_left() -> Iterator[None]:
    SCORED_ROWS.clear()
    yield
    SCORED_ROWS.clear()


def score(
    instance: dg.DagsterInstance, warehouse: WarehouseResource, day: str, *rows: dict
) -> None:
    """Write `rows` as the day's `scored` partition and record its materialisation, as a run of
    the scoring stage does, without the cost of a run (the first test uses real runs)."""
    write_scored(warehouse, dt.date.fromisoformat(day), list(rows))
    instance.report_runless_asset_event(dg.AssetMaterialization(asset_key="scored", partition=day))


def score_in_a_run(
    instance: dg.DagsterInstance, warehouse: WarehouseResource, day: str, *rows: dict
) -> None:
    """Materialise the stand-in `scored` asset for `day` with `rows` in a real run."""
    SCORED_ROWS[day] = list(rows)
    result = dg.materialize(
        [scored_stand_in], partition_key=day, instance=instance, resources={"warehouse": warehouse}
    )
    assert result.success


def tick(
    sensor: dg.SensorDefinition,
    instance: dg.DagsterInstance,
    warehouse: WarehouseResource,
    slack: SlackNotifier,
    cursor: str | None,
) -> Any:
    context = dg.build_sensor_context(
        instance=instance, cursor=cursor, resources={"warehouse": warehouse, "slack": slack}
    )
    return sensor.evaluate_tick(context)


def test_a_hot_deal_is_posted_once_with_its_blocks_and_not_again_after_a_rematerialisation(
    instance: dg.DagsterInstance,
    warehouse: WarehouseResource,
    notifier: SlackNotifier,
    sandbox: SandboxServer,
) -> None:
    score_in_a_run(instance, warehouse, DAY, scored_row("hot-1", 90), scored_row("good-1", 75))

    first = tick(hot_deals_sensor, instance, warehouse, notifier, None)
    score_in_a_run(instance, warehouse, DAY, scored_row("hot-1", 90), scored_row("good-1", 75))
    second = tick(hot_deals_sensor, instance, warehouse, notifier, first.cursor)

    messages = posted(sandbox)
    assert [(m["channel_name"], m["text"]) for m in messages] == [
        (
            "#property-deals",
            "Hot deal 90/100: 3 bed terrace hot-1 - £250,000, estimated value £312,500"
            " (20.0% below)",
        )
    ]
    shown = str(messages[0]["blocks"])
    for expected in [
        "£250,000",
        "£312,500",
        "20.0%",
        "90/100",
        "hot-1 is 20% below value",
        "Short lease: 80 years",
        "rightmove.co.uk/properties/hot-1|Rightmove",
        "zoopla.co.uk/for-sale/details/hot-1/|Zoopla",
    ]:
        assert expected in shown, expected
    assert int(second.cursor) > int(first.cursor)
    assert "queued 1 hot deal" in first.skip_message
    assert "queued 0 hot deal" in second.skip_message


def test_a_price_cut_alerts_again(
    instance: dg.DagsterInstance,
    warehouse: WarehouseResource,
    notifier: SlackNotifier,
    sandbox: SandboxServer,
) -> None:
    score(instance, warehouse, DAY, scored_row("hot-1", 88))
    cursor = tick(hot_deals_sensor, instance, warehouse, notifier, None).cursor
    score(instance, warehouse, "2026-03-03", scored_row("hot-1", 91, price=230_000))
    tick(hot_deals_sensor, instance, warehouse, notifier, cursor)

    assert [m["text"][:40] for m in posted(sandbox)] == [
        "Hot deal 88/100: 3 bed terrace hot-1 - £",
        "Hot deal 91/100: 3 bed terrace hot-1 - £",
    ]
    assert "£230,000" in posted(sandbox)[1]["text"]


def test_a_restarted_sensor_with_its_cursor_or_none_repeats_nothing(
    instance: dg.DagsterInstance,
    warehouse: WarehouseResource,
    notifier: SlackNotifier,
    sandbox: SandboxServer,
) -> None:
    score(instance, warehouse, DAY, scored_row("hot-1", 90), scored_row("hot-2", 86))
    cursor = tick(hot_deals_sensor, instance, warehouse, notifier, None).cursor

    with_cursor = tick(hot_deals_sensor, instance, warehouse, notifier, cursor)
    without_cursor = tick(hot_deals_sensor, instance, warehouse, notifier, None)

    assert [m["text"][:35] for m in posted(sandbox)] == [
        "Hot deal 90/100: 3 bed terrace hot-",
        "Hot deal 86/100: 3 bed terrace hot-",
    ]
    assert with_cursor.cursor == cursor
    assert without_cursor.cursor == cursor


def test_a_backfill_of_seven_days_alerts_each_deal_once(
    instance: dg.DagsterInstance,
    warehouse: WarehouseResource,
    notifier: SlackNotifier,
    sandbox: SandboxServer,
) -> None:
    days = [f"2026-03-{day:02d}" for day in range(2, 9)]
    cursor = None
    for number, day in enumerate(days):
        # Listing "hot-0" is seen every day at the same price; each day also has its own.
        score(instance, warehouse, day, scored_row("hot-0", 87), scored_row(f"hot-{day}", 95))
        if number == 3:
            cursor = tick(hot_deals_sensor, instance, warehouse, notifier, cursor).cursor
    cursor = tick(hot_deals_sensor, instance, warehouse, notifier, cursor).cursor
    for day in days:
        score(instance, warehouse, day, scored_row("hot-0", 87), scored_row(f"hot-{day}", 95))
    tick(hot_deals_sensor, instance, warehouse, notifier, cursor)

    texts = [m["text"].split(" - ")[0] for m in posted(sandbox)]
    assert texts == [
        "Hot deal 95/100: 3 bed terrace hot-2026-03-02",
        "Hot deal 87/100: 3 bed terrace hot-0",
        *(f"Hot deal 95/100: 3 bed terrace hot-{day}" for day in days[1:]),
    ]


def test_a_slack_outage_queues_the_alert_and_the_next_tick_after_it_sends_it_once(
    instance: dg.DagsterInstance,
    warehouse: WarehouseResource,
    notifier: SlackNotifier,
    sandbox: SandboxServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    score(instance, warehouse, DAY, scored_row("hot-1", 90))
    add_slack_fault(sandbox, "server_error", count=1)

    during = tick(hot_deals_sensor, instance, warehouse, notifier, None)
    with warehouse.connection() as conn:
        [queued] = outbox.outbox_rows(conn)
    later = queued["next_attempt_at"] + dt.timedelta(seconds=1)
    monkeypatch.setattr(outbox, "utcnow", lambda: later)
    after = tick(hot_deals_sensor, instance, warehouse, notifier, during.cursor)
    again = tick(hot_deals_sensor, instance, warehouse, notifier, None)

    assert "deferred 1" in during.skip_message
    assert queued["status"] == "queued" and queued["last_error"] == "HTTP 503: internal_error"
    assert "sent 1" in after.skip_message and "sent 0" in again.skip_message
    assert [m["text"][:30] for m in posted(sandbox)] == ["Hot deal 90/100: 3 bed terrace"]


def test_a_locked_warehouse_skips_the_tick_and_keeps_the_cursor(
    instance: dg.DagsterInstance,
    warehouse: WarehouseResource,
    notifier: SlackNotifier,
    sandbox: SandboxServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    score(instance, warehouse, DAY, scored_row("hot-1", 90))
    monkeypatch.setattr(outbox, "LOCK_WAIT_SECONDS", 0.3)
    holder = hold_lock(warehouse.database)
    try:
        locked = tick(hot_deals_sensor, instance, warehouse, notifier, None)
    finally:
        holder.kill()
        holder.wait()
    unlocked = tick(hot_deals_sensor, instance, warehouse, notifier, locked.cursor)

    assert locked.cursor is None
    assert "warehouse busy, 1 materialisation(s) wait" in locked.skip_message
    assert unlocked.cursor is not None
    assert len(posted(sandbox)) == 1


def test_a_failed_run_is_alerted_with_run_job_asset_partition_error_and_link(
    instance: dg.DagsterInstance,
    warehouse: WarehouseResource,
    notifier: SlackNotifier,
    sandbox: SandboxServer,
) -> None:
    result = dg.materialize([broken], partition_key=DAY, instance=instance, raise_on_error=False)
    context = dg.build_run_status_sensor_context(
        sensor_name="slack_run_failure_sensor",
        dagster_event=result.get_run_failure_event(),
        dagster_instance=instance,
        dagster_run=result.dagster_run,
        resources={"warehouse": warehouse, "slack": notifier},
    ).for_run_failure()

    slack_run_failure_sensor(context)
    slack_run_failure_sensor(context)

    [message] = posted(sandbox)
    run_id = result.run_id
    facts = message["blocks"][1]["text"]["text"]
    assert message["channel_name"] == "#property-alerts"
    job = result.dagster_run.job_name
    assert message["blocks"][0]["text"]["text"] == f"Run failed: {job} ({DAY})"
    assert f"*Run*: {run_id}" in facts and f"*Job*: {job}" in facts
    assert "*Assets*: broken" in facts and f"*Partition*: {DAY}" in facts
    assert (
        "ValueError: EPC register answered &lt;!channel&gt; 500"
        in message["blocks"][2]["text"]["text"]
    )
    assert message["blocks"][3]["text"]["text"] == (
        f"<http://dagster.test:3000/runs/{run_id}|Open the run in Dagster>"
    )


def test_a_failed_asset_check_of_any_severity_is_alerted_once(
    instance: dg.DagsterInstance,
    warehouse: WarehouseResource,
    notifier: SlackNotifier,
    sandbox: SandboxServer,
) -> None:
    result = dg.materialize([checked], instance=instance)
    context = dg.build_run_status_sensor_context(
        sensor_name="asset_check_failure_sensor",
        dagster_event=result.get_run_success_event(),
        dagster_instance=instance,
        dagster_run=result.dagster_run,
        resources={"warehouse": warehouse, "slack": notifier},
    )

    asset_check_failure_sensor(context)
    asset_check_failure_sensor(context)

    [message] = posted(sandbox)
    assert result.success
    assert message["channel_name"] == "#property-alerts"
    assert message["text"] == f"Check failed: checked has_rows [WARN], run {result.run_id}"
    facts = message["blocks"][1]["text"]["text"]
    assert "*Severity*: WARN" in facts and "*Check*: has_rows" in facts
    assert (
        message["blocks"][2]["text"]["text"] == "*Error*\n```no rows for &lt;!here&gt;\nrows: 0```"
    )
