"""Slack blocks, Markdown and the chart from hand-written stats rows, hostile text included."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pandas as pd
import pytest

from property_pipeline.reporting.chart import chart_markdown, render_weekly_chart
from property_pipeline.reporting.summary import (
    escape_markdown,
    headline_markdown,
    top_movers,
    weekly_message,
)

WEEK = dt.date(2026, 11, 23)
HOSTILE = "<!channel> <http://evil|click> *bold* <script>alert(1)</script> $x$ & | [a](b)"


def stats_row(location: str, property_type: str = "all", **numbers: object) -> dict:
    row = {
        "location": location,
        "property_type": property_type,
        "listings_live": 0,
        "listings_added": 0,
        "listings_withdrawn": 0,
        "median_asking_price": None,
        "listings_with_floor_area": 0,
        "median_price_per_sqm": None,
        "listings_reduced": 0,
        "share_reduced": None,
        "avg_cut_pct": None,
        "median_days_on_market": None,
        "hot_deals": 0,
        "good_deals": 0,
        "watchlist_deals": 0,
        "sold_count": 0,
        "sold_median_price": None,
        "sold_count_year_before": 0,
        "sold_median_price_year_before": None,
        "sold_price_change_pct": None,
    }
    row.update(numbers)
    return row


def frame(*rows: dict) -> pd.DataFrame:
    return pd.DataFrame(list(rows))


MARKET = frame(
    stats_row("ALL", listings_live=12, listings_added=4, listings_withdrawn=1,
              median_asking_price=250_000, share_reduced=0.25, avg_cut_pct=0.05,
              sold_count=9, sold_count_year_before=8, sold_median_price=300_000,
              sold_price_change_pct=-0.02),
    stats_row("ALL", "flat", listings_live=12, listings_added=4, median_asking_price=250_000),
    stats_row("E1", listings_live=5, listings_added=1, listings_reduced=2, share_reduced=0.4,
              avg_cut_pct=0.05, sold_count=5, sold_count_year_before=4,
              sold_median_price=310_000, sold_price_change_pct=0.08),
    stats_row("E2", listings_live=4, listings_added=3, listings_reduced=1, share_reduced=0.25,
              avg_cut_pct=0.1, sold_count=2, sold_count_year_before=4,
              sold_price_change_pct=-0.3),
    stats_row("E3", listings_live=2, listings_reduced=2, share_reduced=1.0, avg_cut_pct=0.2),
    stats_row(HOSTILE, listings_live=1, listings_added=1),
    stats_row("E1", "flat", listings_live=5),
)  # fmt: skip


def test_top_movers_skip_thin_evidence_and_rank_by_size() -> None:
    movers = top_movers(MARKET)

    # E2's 2 recent sales and E3's 2 listings are too few to call a move.
    assert movers == {
        "Sold prices, 3 months against a year before": ["• E1: +8.0% to £310,000 (5 sales)"],
        "Most price cuts": [
            "• E1: 40.0% of 5 cut, by 5.0% on average",
            "• E2: 25.0% of 4 cut, by 10.0% on average",
        ],
        "Most new listings": [
            "• E2: 3 new, 0 withdrawn, 4 on the market",
            # Ties go by location; listing text is cut to 40 characters and escaped for mrkdwn.
            "• &lt;!channel&gt; &lt;http://evil|click&gt; *bold* &lt;s:"
            " 1 new, 0 withdrawn, 1 on the market",
            "• E1: 1 new, 0 withdrawn, 5 on the market",
        ],
    }


def test_the_slack_message_never_carries_a_listings_mention_or_link_raw() -> None:
    message = weekly_message(MARKET, WEEK)

    serialised = json.dumps(message.blocks)
    assert "<!channel>" not in serialised and "<http://evil" not in serialised
    assert "&lt;!channel&gt;" in serialised
    assert message.text == (
        "Weekly market stats: 23 Nov to 29 Nov 2026. 12 properties on the market, 4 added,"
        " 1 withdrawn; median asking £250,000; 25.0% reduced."
    )
    assert {block["type"] for block in message.blocks} == {"header", "section", "context"}


def test_a_week_without_its_market_row_has_no_message() -> None:
    with pytest.raises(ValueError, match="weekly_stats for 2026-11-23: no whole-market row"):
        weekly_message(frame(stats_row("E1", listings_live=1)), WEEK)


def test_markdown_shows_listing_text_literally() -> None:
    assert escape_markdown("<script>x</script> | *a* [l](u)") == (
        r"&lt;script&gt;x&lt;/script&gt; \| \*a\* \[l\]\(u\)"
    )
    hostile_type = frame(
        stats_row("ALL", listings_live=1), stats_row("ALL", "<b>x|y</b>", listings_live=1)
    )
    table = headline_markdown(hostile_type)
    assert r"| &lt;b&gt;x\|y&lt;/b&gt; | 1 |" in table
    assert "<b>" not in table


def test_headline_table_puts_all_types_first_then_the_biggest() -> None:
    table = headline_markdown(MARKET).splitlines()

    assert table[0].startswith("| Type | Live | Added | Withdrawn | Median asking |")
    assert table[2].startswith("| All types | 12 | 4 | 1 | £250,000 | – | 25.0% | 5.0% | – |")
    assert table[2].endswith("| £300,000 (9) | -2.0% |")
    assert table[3].startswith("| Flats | 12 | 4 | 0 | £250,000 |")


def test_the_chart_is_a_small_png_even_with_hostile_labels_and_no_sales(tmp_path: Path) -> None:
    no_sales = MARKET.assign(sold_price_change_pct=None)
    path = render_weekly_chart(no_sales, WEEK, tmp_path / "reports" / "weekly.png")

    png = path.read_bytes()
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    assert 5_000 < len(png) < 200_000
    assert chart_markdown(path, "chart").startswith("![chart](data:image/png;base64,iVBORw0KGgo")
