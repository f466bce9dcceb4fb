"""The week's statistics put into words: headline numbers, top movers, Slack blocks, Markdown.

Everything here works on the rows of one `weekly_stats` partition as a DataFrame, so it is
tested without Dagster or a warehouse. Locations and property types come from listings, so
every one of them is escaped for the place it is shown (Slack mrkdwn or Markdown/HTML).
"""

from __future__ import annotations

import datetime as dt
import html
import math
import re
from dataclasses import dataclass
from typing import Any

import pandas as pd

from property_pipeline.notify.blocks import mrkdwn_escape

ALL_LOCATIONS = "ALL"
ALL_TYPES = "all"
MOVERS_LIMIT = 5
# Below these counts a share or a median says more about chance than about the market.
MIN_LIVE_FOR_MOVERS = 3
MIN_SALES_FOR_TREND = 3
# Outcodes are a few characters; a longer "location" is junk and must not overflow a block.
PLACE_LIMIT = 40

TYPE_LABELS = {
    "all": "All types",
    "flat": "Flats",
    "terraced": "Terraced",
    "semi_detached": "Semi-detached",
    "detached": "Detached",
    "bungalow": "Bungalows",
    "block_of_flats": "Blocks of flats",
    "hmo": "HMOs",
    "mixed_use": "Mixed use",
    "land": "Land",
    "other": "Other",
    "unknown": "Type unknown",
}

_MARKDOWN_SPECIALS = re.compile(r"([\\`*_{}\[\]()#+\-.!|~])")


@dataclass(frozen=True)
class SlackMessage:
    """A Slack message: the plain fallback text and its Block Kit blocks."""

    text: str
    blocks: list[dict[str, Any]]


def escape_markdown(text: str) -> str:
    """Text safe inside Markdown shown by the Dagster UI: HTML escaped and Markdown
    punctuation (emphasis, links, table pipes) backslashed so it renders literally."""
    return _MARKDOWN_SPECIALS.sub(r"\\\1", html.escape(text, quote=False))


def place(location: str) -> str:
    """A location for Slack mrkdwn: escaped, and cut short if it is not a real outcode."""
    return mrkdwn_escape(location[:PLACE_LIMIT])


def type_label(property_type: str) -> str:
    """A property type as a reader says it ('semi_detached' -> 'Semi-detached')."""
    return TYPE_LABELS.get(property_type, property_type)


def value(raw: Any) -> Any:
    """A cell of the stats frame with pandas' missing markers (NaN, NA, NaT) as None."""
    if raw is None or raw is pd.NA or raw is pd.NaT:
        return None
    if isinstance(raw, float) and math.isnan(raw):
        return None
    return raw


def money(raw: Any) -> str:
    """Pounds with thousands separators, or an en dash when unknown."""
    amount = value(raw)
    return "–" if amount is None else f"£{round(amount):,}"


def percent(raw: Any, *, signed: bool = False) -> str:
    """A 0-1 fraction as a percentage with one decimal, or an en dash when unknown."""
    fraction = value(raw)
    if fraction is None:
        return "–"
    return f"{fraction * 100:+.1f}%" if signed else f"{fraction * 100:.1f}%"


def days(raw: Any) -> str:
    """A number of days, rounded, or an en dash when unknown."""
    count = value(raw)
    return "–" if count is None else f"{round(count)} days"


def market_row(stats: pd.DataFrame, property_type: str = ALL_TYPES) -> dict[str, Any] | None:
    """The whole-market row (location 'ALL') of one property type, or None for an empty week."""
    rows = stats[(stats["location"] == ALL_LOCATIONS) & (stats["property_type"] == property_type)]
    if rows.empty:
        return None
    return {column: value(cell) for column, cell in rows.iloc[0].items()}


def location_rows(stats: pd.DataFrame) -> pd.DataFrame:
    """One row per location, every property type together (the rows movers are ranked on)."""
    rows = stats[(stats["location"] != ALL_LOCATIONS) & (stats["property_type"] == ALL_TYPES)]
    return rows.sort_values("location").reset_index(drop=True)


def top_movers(stats: pd.DataFrame, limit: int = MOVERS_LIMIT) -> dict[str, list[str]]:
    """The locations that moved most, as mrkdwn lines under three titles (empty lists left out):
    sold-price change against a year before, share of listings cut, and new listings."""
    locations = location_rows(stats)
    movers: dict[str, list[str]] = {}

    trends = locations[
        (locations["sold_count"] >= MIN_SALES_FOR_TREND)
        & (locations["sold_count_year_before"] >= MIN_SALES_FOR_TREND)
        & locations["sold_price_change_pct"].notna()
    ]
    trends = trends.assign(size=trends["sold_price_change_pct"].abs())
    trends = trends.sort_values(["size", "location"], ascending=[False, True]).head(limit)
    movers["Sold prices, 3 months against a year before"] = [
        f"• {place(row.location)}: {percent(row.sold_price_change_pct, signed=True)}"
        f" to {money(row.sold_median_price)} ({row.sold_count} sales)"
        for row in trends.itertuples()
    ]

    cuts = locations[
        (locations["listings_live"] >= MIN_LIVE_FOR_MOVERS) & (locations["listings_reduced"] > 0)
    ]
    cuts = cuts.sort_values(["share_reduced", "location"], ascending=[False, True]).head(limit)
    movers["Most price cuts"] = [
        f"• {place(row.location)}: {percent(row.share_reduced)} of"
        f" {row.listings_live} cut, by {percent(row.avg_cut_pct)} on average"
        for row in cuts.itertuples()
    ]

    added = locations[locations["listings_added"] > 0]
    added = added.sort_values(["listings_added", "location"], ascending=[False, True]).head(limit)
    movers["Most new listings"] = [
        f"• {place(row.location)}: {row.listings_added} new,"
        f" {row.listings_withdrawn} withdrawn, {row.listings_live} on the market"
        for row in added.itertuples()
    ]
    return {title: lines for title, lines in movers.items() if lines}


def weekly_message(stats: pd.DataFrame, week_start: dt.date) -> SlackMessage:
    """The Slack summary of a week with data: headline numbers and the top movers."""
    market = market_row(stats)
    if market is None:
        raise ValueError(
            f"weekly_stats for {week_start}: no whole-market row (location 'ALL', type 'all');"
            " an empty week has no message"
        )
    week_end = week_start + dt.timedelta(days=6)
    title = f"Weekly market stats: {week_start:%-d %b} to {week_end:%-d %b %Y}"
    text = (
        f"{title}. {market['listings_live']} properties on the market,"
        f" {market['listings_added']} added, {market['listings_withdrawn']} withdrawn;"
        f" median asking {money(market['median_asking_price'])};"
        f" {percent(market['share_reduced'])} reduced."
    )
    fields = [
        f"*On the market*\n{market['listings_live']}",
        f"*Added / withdrawn*\n{market['listings_added']} / {market['listings_withdrawn']}",
        f"*Median asking price*\n{money(market['median_asking_price'])}",
        f"*Median asking £/m²*\n{money(market['median_price_per_sqm'])}"
        f" ({market['listings_with_floor_area']} with floor area)",
        f"*Reduced this week*\n{percent(market['share_reduced'])},"
        f" average cut {percent(market['avg_cut_pct'])}",
        f"*Median days on market*\n{days(market['median_days_on_market'])}",
        f"*Deals hot / good / watchlist*\n{market['hot_deals']} / {market['good_deals']}"
        f" / {market['watchlist_deals']}",
        f"*Sold (Land Registry, 3 months)*\n{money(market['sold_median_price'])}"
        f" median of {market['sold_count']},"
        f" {percent(market['sold_price_change_pct'], signed=True)} on a year before",
    ]
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": title}},
        {"type": "section", "fields": [{"type": "mrkdwn", "text": field} for field in fields]},
    ]
    for heading, lines in top_movers(stats).items():
        blocks.append(
            {
                "type": "section",
                "text": {"type": "mrkdwn", "text": f"*{heading}*\n" + "\n".join(lines)},
            }
        )
    blocks.append(
        {
            "type": "context",
            "elements": [
                {
                    "type": "mrkdwn",
                    "text": "Counts are properties, each once however many portals list it."
                    " Chart attached.",
                }
            ],
        }
    )
    return SlackMessage(text=text, blocks=blocks)


HEADLINE_COLUMNS = (
    "Type",
    "Live",
    "Added",
    "Withdrawn",
    "Median asking",
    "Median £/m²",
    "Reduced",
    "Avg cut",
    "Median DOM",
    "Hot/good/watch",
    "Sold median (3m)",
    "Sold vs year before",
)


def headline_markdown(stats: pd.DataFrame) -> str:
    """The whole market's numbers per property type as a Markdown table (all types first)."""
    market = stats[stats["location"] == ALL_LOCATIONS].copy()
    if market.empty:
        return "No listings were seen this week."
    market["order"] = market["property_type"] != ALL_TYPES
    market = market.sort_values(
        ["order", "listings_live", "property_type"], ascending=[True, False, True]
    )
    lines = [
        "| " + " | ".join(HEADLINE_COLUMNS) + " |",
        "|" + "---|" * len(HEADLINE_COLUMNS),
    ]
    for row in market.itertuples():
        cells = [
            escape_markdown(type_label(row.property_type)),
            str(row.listings_live),
            str(row.listings_added),
            str(row.listings_withdrawn),
            money(row.median_asking_price),
            money(row.median_price_per_sqm),
            percent(row.share_reduced),
            percent(row.avg_cut_pct),
            days(row.median_days_on_market),
            f"{row.hot_deals}/{row.good_deals}/{row.watchlist_deals}",
            f"{money(row.sold_median_price)} ({row.sold_count})",
            percent(row.sold_price_change_pct, signed=True),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
