"""Sensors that tell people things: hot deals at once, the outbox flushed, failures alerted.

Sensors run in the daemon while runs write the same DuckDB file. Each opens the warehouse only
briefly; when it stays locked a sensor skips its tick without moving its cursor, so the events
it was reading are read again on the next tick and nothing is lost.
"""

import datetime as dt
from collections.abc import Mapping, Sequence

import dagster as dg

from property_pipeline.notify import failures, hot_deals, outbox
from property_pipeline.notify.slack import SlackNotifier
from property_pipeline.warehouse.resource import WarehouseResource

SCORED = dg.AssetKey("scored")
# Events read per tick; a long backfill is worked through over several ticks.
EVENT_BATCH = 100
DELIVERY_INTERVAL_SECONDS = 30


@dg.sensor(
    name="hot_deals_sensor",
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
)
def hot_deals_sensor(
    context: dg.SensorEvaluationContext, warehouse: WarehouseResource, slack: SlackNotifier
) -> dg.SkipReason:
    """Queue and send a Slack alert for every listing scoring 85+ in each `scored` partition
    materialised since the cursor (every materialisation, not only the latest), once per
    listing and price."""
    after = int(context.cursor) if context.cursor else None
    records = context.instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=SCORED, after_storage_id=after),
        limit=EVENT_BATCH,
        ascending=True,
    ).records
    if not records:
        return dg.SkipReason(
            f"no new scored materialisations; {_deliver(context, warehouse, slack)}"
        )

    days = list(dict.fromkeys(record.partition_key for record in records if record.partition_key))
    try:
        with outbox.connector_for(warehouse)() as conn:
            conn.execute("begin transaction")
            queued = [
                key
                for day in days
                for key in hot_deals.queue_hot_deals(conn, dt.date.fromisoformat(day))
            ]
            conn.execute("commit")
    except outbox.WarehouseBusy as busy:
        context.log.warning(f"hot deals: skipping this tick, cursor kept: {busy}")
        return dg.SkipReason(f"warehouse busy, {len(records)} materialisation(s) wait: {busy}")

    context.update_cursor(str(records[-1].storage_id))
    context.log.info(
        f"hot deals: {len(records)} scored materialisation(s) of {', '.join(days) or 'no day'};"
        f" {len(queued)} new alert(s) queued"
    )
    return dg.SkipReason(f"queued {len(queued)} hot deal(s); {_deliver(context, warehouse, slack)}")


@dg.sensor(
    name="outbox_delivery_sensor",
    minimum_interval_seconds=DELIVERY_INTERVAL_SECONDS,
    default_status=dg.DefaultSensorStatus.RUNNING,
)
def outbox_delivery_sensor(
    context: dg.SensorEvaluationContext, warehouse: WarehouseResource, slack: SlackNotifier
) -> dg.SkipReason:
    """Send what waits in the outbox (digests, weekly stats, retries after a Slack outage)."""
    return dg.SkipReason(_deliver(context, warehouse, slack))


@dg.run_failure_sensor(
    name="slack_run_failure_sensor",
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
)
def slack_run_failure_sensor(
    context: dg.RunFailureSensorContext, warehouse: WarehouseResource, slack: SlackNotifier
) -> None:
    """Alert the alerts channel about any failed run of this code location: run, job, assets,
    partition, error and a link to the run in the UI."""
    run = context.dagster_run
    step_failures = context.get_step_failure_events()
    errors = [_step_error(event) for event in step_failures]
    alert = failures.run_failure_alert(
        run_id=run.run_id,
        job_name=run.job_name,
        assets=_failed_assets(context.instance, run, step_failures),
        failed_steps=[event.step_key or "" for event in step_failures],
        partition=_partition(run.tags),
        error="\n\n".join(error for error in errors if error) or context.failure_event.message,
        run_url=slack.run_url(run.run_id),
    )
    for each in [alert, *check_failure_alerts(context.instance, run.run_id, slack)]:
        _queue_or_spool(context, warehouse, each)
    context.log.info(f"run failure alert for {run.run_id}; {_deliver(context, warehouse, slack)}")


@dg.run_status_sensor(
    name="asset_check_failure_sensor",
    run_status=dg.DagsterRunStatus.SUCCESS,
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
)
def asset_check_failure_sensor(
    context: dg.RunStatusSensorContext, warehouse: WarehouseResource, slack: SlackNotifier
) -> None:
    """Alert the alerts channel about every failed asset check of a successful run, whatever
    its severity: non-blocking checks do not fail runs, so the run-failure sensor never sees
    them. (Failed runs' check failures are alerted by slack_run_failure_sensor.)"""
    alerts = check_failure_alerts(context.instance, context.dagster_run.run_id, slack)
    for alert in alerts:
        _queue_or_spool(context, warehouse, alert)
    if alerts:
        context.log.info(
            f"{len(alerts)} check failure alert(s) for run {context.dagster_run.run_id};"
            f" {_deliver(context, warehouse, slack)}"
        )


def check_failure_alerts(
    instance: dg.DagsterInstance, run_id: str, slack: SlackNotifier
) -> list[failures.Alert]:
    """An alert for each failed asset check evaluation of a run, in the order they happened.

    Read per run (not by event-log cursor): storage ids are per run in SQLite's run-sharded
    event log, so a global cursor cannot follow them.
    """
    records = instance.get_records_for_run(
        run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION
    ).records
    alerts = [_check_alert(record, slack) for record in records]
    return [alert for alert in alerts if alert is not None]


NOTIFY_SENSORS = [
    hot_deals_sensor,
    outbox_delivery_sensor,
    slack_run_failure_sensor,
    asset_check_failure_sensor,
]


def _deliver(
    context: dg.SensorEvaluationContext | dg.RunStatusSensorContext,
    warehouse: WarehouseResource,
    slack: SlackNotifier,
) -> str:
    """Flush the outbox; a locked warehouse only postpones it to the next tick."""
    try:
        report = outbox.deliver(warehouse, slack, log=context.log)
    except outbox.WarehouseBusy as busy:
        context.log.warning(f"outbox: delivery postponed: {busy}")
        return f"delivery postponed: {busy}"
    if report.sent or report.failed or report.deferred or report.logged:
        context.log.info(f"outbox: {report.summary()}")
    return f"outbox: {report.summary()}"


def _queue_or_spool(
    context: dg.RunStatusSensorContext, warehouse: WarehouseResource, alert: failures.Alert
) -> None:
    """Queue the alert; with the warehouse locked, keep it in the spool folder instead, since
    a run-status sensor moves past the run whatever its function does."""
    try:
        with outbox.connector_for(warehouse)() as conn:
            outbox.enqueue(conn, **alert.message())
    except outbox.WarehouseBusy as busy:
        folder = outbox.spool_folder(warehouse)
        if folder is None:
            raise
        path = outbox.spool(folder, **alert.message())
        context.log.warning(f"warehouse busy ({busy}); alert {alert.key} kept in {path}")


def _partition(tags: Mapping[str, str]) -> str | None:
    """The run's partition, or its partition range as "start...end"."""
    if tags.get("dagster/partition"):
        return tags["dagster/partition"]
    start = tags.get("dagster/asset_partition_range_start")
    end = tags.get("dagster/asset_partition_range_end")
    return f"{start}...{end}" if start and end else None


def _failed_assets(
    instance: dg.DagsterInstance, run: dg.DagsterRun, step_failures: Sequence[dg.DagsterEvent]
) -> list[str]:
    """The assets of the failed steps (from the run's plan), else every asset the run selected."""
    failed_steps = {event.step_key for event in step_failures}
    assets: set[str] = set()
    if run.execution_plan_snapshot_id and failed_steps:
        plan = instance.get_execution_plan_snapshot(run.execution_plan_snapshot_id)
        assets = {
            output.properties.asset_key.to_user_string()
            for step in plan.steps
            if step.key in failed_steps
            for output in step.outputs
            if output.properties and output.properties.asset_key
        }
    if not assets:
        assets = {key.to_user_string() for key in run.asset_selection or ()}
    return sorted(assets)


def _step_error(event: dg.DagsterEvent) -> str:
    data = event.step_failure_data
    error = data.error
    if error is None:
        return ""
    cause = error.cause.message.strip() if error.cause else ""
    text = f"{event.step_key}: {error.message.strip()}"
    return text + (f"\nCaused by: {cause}" if cause else "")


def _check_alert(record: dg.EventLogRecord, slack: SlackNotifier) -> failures.Alert | None:
    entry = record.event_log_entry
    evaluation = entry.dagster_event.event_specific_data if entry.dagster_event else None
    if evaluation is None or evaluation.passed:
        return None
    return failures.check_failure_alert(
        run_id=entry.run_id,
        asset=evaluation.asset_key.to_user_string(),
        check_name=evaluation.check_name,
        severity=evaluation.severity.value,
        partition=evaluation.partition or entry.dagster_event.partition,
        description=evaluation.description,
        details=_metadata_lines(evaluation.metadata),
        run_url=slack.run_url(entry.run_id),
    )


def _metadata_lines(metadata: dict) -> str:
    lines: Sequence[str] = [f"{name}: {value.value}" for name, value in metadata.items()]
    return "\n".join(lines[:10])
