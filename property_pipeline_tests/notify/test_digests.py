"""The daily digest: good deals not sent before, Monday's watchlist, files and one message."""

import datetime as dt
from pathlib import Path

import dagster as dg

from property_pipeline.notify import outbox
from property_pipeline.notify.assets import digests, watchlist_week
from property_pipeline.notify.slack import SlackNotifier
from property_pipeline.sandbox.server import SandboxServer
from property_pipeline.warehouse.resource import WarehouseResource
from property_pipeline_tests.notify.conftest import posted, scored_row, write_scored

MONDAY = dt.date(2026, 3, 9)
SUNDAY = dt.date(2026, 3, 8)
TUESDAY = dt.date(2026, 3, 3)


def run_digest(warehouse: WarehouseResource, day: dt.date) -> dg.MaterializeResult:
    result = dg.materialize(
        [digests], partition_key=day.isoformat(), resources={"warehouse": warehouse}
    )
    assert result.success
    return result.asset_materializations_for_node("digests")[0]


def test_watchlist_week_is_the_previous_monday_to_sunday_on_mondays_only() -> None:
    assert watchlist_week(MONDAY) == (dt.date(2026, 3, 2), SUNDAY)
    assert watchlist_week(TUESDAY) is None


def test_monday_digest_ranks_new_good_deals_adds_the_watchlist_and_escapes_the_files(
    warehouse: WarehouseResource, notifier: SlackNotifier, sandbox: SandboxServer
) -> None:
    write_scored(
        warehouse,
        TUESDAY,
        [scored_row("seen", 74), scored_row("watch-old", 62), scored_row("watch-up", 61)],
    )
    write_scored(warehouse, SUNDAY, [scored_row("watch-1", 66), scored_row("watch-up", 71)])
    write_scored(
        warehouse,
        MONDAY,
        [
            scored_row("good-b", 72),
            scored_row("good-a", 81, headline="<!channel> Flat & <script>x</script>"),
            scored_row("seen", 74),
            scored_row("hot-1", 90),
            scored_row("low", 55),
        ],
    )
    run_digest(warehouse, TUESDAY)

    materialization = run_digest(warehouse, MONDAY)
    outbox.deliver(warehouse, notifier)

    metadata = {key: value.value for key, value in materialization.metadata.items()}
    assert (metadata["good_deals"], metadata["watchlist"]) == (2, 2)
    html = Path(metadata["html_path"]).read_text()
    markdown = Path(metadata["markdown_path"]).read_text()
    assert (
        Path(metadata["html_path"]) == Path(warehouse.database).parent / "digests/2026-03-09.html"
    )
    assert "&lt;!channel&gt; Flat &amp; &lt;script&gt;x&lt;/script&gt;" in html
    assert "<script>" not in html and "<script>" not in markdown
    assert markdown.index("good\\-a") < markdown.index("good\\-b") < markdown.index("watch\\-1")
    assert "watch\\-old" in markdown and "watch\\-up" not in markdown and "seen" not in markdown
    assert metadata["preview"] == markdown

    messages = posted(sandbox)
    assert [m["channel_name"] for m in messages] == ["#property-digest", "#property-digest"]
    monday = messages[1]
    assert (
        monday["text"]
        == "Property digest for Mon 09 Mar 2026: 2 good deal(s), 2 on last week's watchlist"
    )
    texts = [block.get("text", {}).get("text", "") for block in monday["blocks"]]
    assert texts[1] == "*Good deals (70-84)*: 2"
    assert texts[2].startswith(
        "*1.* <https://www.rightmove.co.uk/properties/good-a|&lt;!channel&gt; Flat &amp;"
    )
    assert texts[3].startswith("*2.* <https://www.rightmove.co.uk/properties/good-b|")
    assert texts[5] == "*Last week's watchlist (60-69)*: 2"
    assert "watch-1" in texts[6] and "watch-old" in texts[7]


def test_a_rerun_writes_the_same_files_and_sends_no_second_message(
    warehouse: WarehouseResource, notifier: SlackNotifier, sandbox: SandboxServer
) -> None:
    write_scored(warehouse, TUESDAY, [scored_row("good-a", 80), scored_row("good-b", 70)])
    first = run_digest(warehouse, TUESDAY)
    html_path = Path(first.metadata["html_path"].value)
    html = html_path.read_text()
    outbox.deliver(warehouse, notifier)

    write_scored(warehouse, TUESDAY, [scored_row("good-c", 84)])
    again = run_digest(warehouse, TUESDAY)
    outbox.deliver(warehouse, notifier)

    assert again.metadata["reused_stored_digest"].value is True
    assert again.metadata["slack_message_queued"].value is False
    assert html_path.read_text() == html
    assert [m["text"] for m in posted(sandbox)] == [
        "Property digest for Tue 03 Mar 2026: 2 good deal(s)"
    ]
