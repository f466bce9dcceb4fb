"""Schedules fire at UK local times, across the clock changes, for the right partition."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import dagster as dg
import pytest
from dagster._utils.schedules import cron_string_iterator

from property_pipeline import settings
from property_pipeline.definitions import defs

LONDON = ZoneInfo("Europe/London")
UTC = dt.UTC
# 2026 clock changes: 01:00 GMT on 29 March becomes 02:00 BST; 02:00 BST on 25 October
# goes back to 01:00 GMT.
SPRING_FORWARD = dt.date(2026, 3, 29)
FALL_BACK = dt.date(2026, 10, 25)


def schedule(name: str) -> dg.ScheduleDefinition:
    return defs.resolve_schedule_def(name)


def ticks(name: str, start: dt.datetime, count: int) -> list[dt.datetime]:
    definition = schedule(name)
    iterator = cron_string_iterator(
        start.timestamp(), definition.cron_schedule, definition.execution_timezone
    )
    return [next(iterator) for _ in range(count)]


def requested(name: str, when: dt.datetime) -> list[dg.RunRequest]:
    context = dg.build_schedule_context(
        scheduled_execution_time=when, repository_def=defs.get_repository_def()
    )
    return list(schedule(name).evaluate_tick(context).run_requests or [])


@pytest.mark.parametrize(
    ("name", "cron", "job"),
    [
        ("scrape_schedule", "0 7 * * *", "scrape_job"),
        ("enrich_schedule", "0 9-17/2 * * *", "enrich_job"),
        ("digest_schedule", "0 18 * * *", "digest_job"),
        ("weekly_stats_schedule", "0 9 * * 1", "weekly_stats_job"),
    ],
)
def test_each_schedule_runs_its_job_on_london_time(name: str, cron: str, job: str) -> None:
    definition = schedule(name)

    assert definition.cron_schedule == cron
    assert definition.execution_timezone == "Europe/London"
    assert definition.job_name == job


@pytest.mark.parametrize("change", [SPRING_FORWARD, FALL_BACK])
def test_the_scrape_fires_at_seven_local_each_day_around_a_clock_change(change: dt.date) -> None:
    start = dt.datetime.combine(change - dt.timedelta(days=2), dt.time(0), LONDON)

    fired = ticks("scrape_schedule", start, 5)

    assert [tick.astimezone(LONDON).time() for tick in fired] == [dt.time(7)] * 5
    assert [tick.astimezone(LONDON).date() for tick in fired] == [
        change + dt.timedelta(days=offset) for offset in range(-2, 3)
    ]
    utc_hours = [tick.astimezone(UTC).hour for tick in fired]
    expected = [7, 7, 6, 6, 6] if change == SPRING_FORWARD else [6, 6, 7, 7, 7]
    assert utc_hours == expected


@pytest.mark.parametrize("change", [SPRING_FORWARD, FALL_BACK])
@pytest.mark.parametrize("name", ["scrape_schedule", "digest_schedule"])
def test_daily_ticks_request_that_days_partition_on_clock_change_days(
    name: str, change: dt.date
) -> None:
    hour = 7 if name == "scrape_schedule" else 18
    for day in (change - dt.timedelta(days=1), change, change + dt.timedelta(days=1)):
        when = dt.datetime.combine(day, dt.time(hour), LONDON)

        runs = requested(name, when)

        assert [run.partition_key for run in runs] == [day.isoformat()]


def test_enrichment_runs_five_times_a_working_day_even_on_a_clock_change() -> None:
    for change in (SPRING_FORWARD, FALL_BACK):
        start = dt.datetime.combine(change, dt.time(0), LONDON)

        fired = [tick.astimezone(LONDON) for tick in ticks("enrich_schedule", start, 5)]

        assert [tick.hour for tick in fired] == [9, 11, 13, 15, 17]
        assert {tick.date() for tick in fired} == {change}


def test_each_enrichment_tick_requests_todays_partition_with_the_default_batch(
    monkeypatch,
) -> None:
    monkeypatch.delenv(settings.ENRICH_BATCH_SIZE_ENV, raising=False)
    when = dt.datetime.combine(FALL_BACK, dt.time(13), LONDON)

    [run] = requested("enrich_schedule", when)

    assert run.partition_key == "2026-10-25"
    assert run.run_key == "2026-10-25-1300"
    assert run.run_config["ops"]["enriched"]["config"]["batch_size"] == 20


def test_the_enrichment_batch_size_comes_from_the_environment(monkeypatch) -> None:
    monkeypatch.setenv(settings.ENRICH_BATCH_SIZE_ENV, "5")
    when = dt.datetime.combine(SPRING_FORWARD, dt.time(9), LONDON)

    [run] = requested("enrich_schedule", when)

    assert run.run_config["ops"]["enriched"]["config"]["batch_size"] == 5


def test_a_bad_enrichment_batch_size_names_the_variable(monkeypatch) -> None:
    monkeypatch.setenv(settings.ENRICH_BATCH_SIZE_ENV, "twenty")

    with pytest.raises(ValueError, match="PROPERTY_PIPELINE_ENRICH_BATCH_SIZE='twenty'"):
        settings.enrich_batch_size()


@pytest.mark.parametrize(
    ("monday", "week"),
    [
        (dt.date(2026, 3, 30), "2026-03-23"),  # the week that held the spring clock change
        (dt.date(2026, 10, 26), "2026-10-19"),  # the week that held the autumn clock change
        (dt.date(2026, 1, 5), "2025-12-29"),  # a week across the new year
    ],
)
def test_monday_nine_oclock_requests_the_week_that_ended_on_sunday(
    monday: dt.date, week: str
) -> None:
    when = dt.datetime.combine(monday, dt.time(9), LONDON)

    runs = requested("weekly_stats_schedule", when)

    assert [run.partition_key for run in runs] == [week]
    assert [tick.astimezone(LONDON) for tick in ticks("weekly_stats_schedule", when, 1)] == [when]
