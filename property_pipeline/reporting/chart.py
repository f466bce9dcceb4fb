"""The weekly chart: supply, asking prices and sold-price trend in one small PNG.

matplotlib is imported inside the functions, never at module import: the code location loads in
the webserver, the daemon and every run worker, and only the weekly run draws anything.
"""

from __future__ import annotations

import base64
import datetime as dt
from pathlib import Path

import pandas as pd

from property_pipeline.reporting.summary import (
    ALL_LOCATIONS,
    ALL_TYPES,
    location_rows,
    type_label,
)

# Enough bars to read on a phone in Slack; the rest are in the table.
MAX_LOCATIONS = 12
FIGURE_INCHES = (12.0, 4.2)
DPI = 80
ADDED_COLOUR = "#2a9d8f"
WITHDRAWN_COLOUR = "#e76f51"
PRICE_COLOUR = "#264653"
UP_COLOUR = "#2a9d8f"
DOWN_COLOUR = "#e76f51"


def chart_label(text: str) -> str:
    """A label from listing data made literal for matplotlib, which reads `$...$` as maths."""
    return text.replace("$", r"\$")


def render_weekly_chart(stats: pd.DataFrame, week_start: dt.date, path: Path) -> Path:
    """Draw the week's chart into `path` (PNG, replaced if present) and return the path.

    Three panels: added and withdrawn by location, median asking price by property type, and
    the Land Registry sold-price change by location.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=FIGURE_INCHES, dpi=DPI, layout="constrained")
    FigureCanvasAgg(figure)
    supply_axes, price_axes, sold_axes = figure.subplots(1, 3)
    locations = _busiest_locations(stats)

    _draw_supply(supply_axes, locations)
    _draw_asking_prices(price_axes, stats)
    _draw_sold_trend(sold_axes, locations)
    week_end = week_start + dt.timedelta(days=6)
    figure.suptitle(f"Property market, {week_start:%-d %b} to {week_end:%-d %b %Y}")

    path.parent.mkdir(parents=True, exist_ok=True)
    # No software tag, so the same numbers give the same bytes whatever matplotlib drew them.
    figure.savefig(path, format="png", metadata={"Software": None})
    return path


def chart_markdown(path: Path, alt_text: str) -> str:
    """The PNG as a Markdown image with a base64 data URI, for Dagster's metadata panel."""
    encoded = base64.b64encode(path.read_bytes()).decode("ascii")
    return f"![{alt_text}](data:image/png;base64,{encoded})"


def _busiest_locations(stats: pd.DataFrame) -> pd.DataFrame:
    locations = location_rows(stats)
    locations = locations.sort_values(["listings_live", "location"], ascending=[False, True])
    return locations.head(MAX_LOCATIONS).iloc[::-1].reset_index(drop=True)


def _no_data(axes, title: str, message: str) -> None:
    axes.set_title(title, fontsize=10)
    axes.text(0.5, 0.5, message, ha="center", va="center", transform=axes.transAxes)
    axes.set_axis_off()


def _draw_supply(axes, locations: pd.DataFrame) -> None:
    from matplotlib.ticker import MaxNLocator

    title = "Added and withdrawn, busiest locations"
    if locations.empty:
        _no_data(axes, title, "No listings")
        return
    positions = range(len(locations))
    axes.barh(
        [p + 0.2 for p in positions],
        locations["listings_added"],
        height=0.4,
        color=ADDED_COLOUR,
        label="added",
    )
    axes.barh(
        [p - 0.2 for p in positions],
        locations["listings_withdrawn"],
        height=0.4,
        color=WITHDRAWN_COLOUR,
        label="withdrawn",
    )
    axes.set_yticks(list(positions), [chart_label(name) for name in locations["location"]])
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes.set_title(title, fontsize=10)
    axes.set_xlabel("properties")
    axes.legend(fontsize=8, loc="best")


def _draw_asking_prices(axes, stats: pd.DataFrame) -> None:
    title = "Median asking price, whole market"
    market = stats[
        (stats["location"] == ALL_LOCATIONS)
        & (stats["property_type"] != ALL_TYPES)
        & stats["median_asking_price"].notna()
    ].sort_values(["median_asking_price", "property_type"])
    if market.empty:
        _no_data(axes, title, "No asking prices")
        return
    labels = [chart_label(type_label(name)) for name in market["property_type"]]
    thousands = market["median_asking_price"] / 1000
    bars = axes.barh(labels, thousands, color=PRICE_COLOUR)
    axes.bar_label(
        bars, labels=[f"£{round(price):,}k" for price in thousands], fontsize=8, padding=2
    )
    axes.set_title(title, fontsize=10)
    axes.set_xlabel("£ thousands")
    axes.margins(x=0.25)


def _draw_sold_trend(axes, locations: pd.DataFrame) -> None:
    title = "Sold prices, 3 months vs a year before"
    trends = locations[locations["sold_price_change_pct"].notna()]
    if trends.empty:
        _no_data(axes, title, "No Land Registry sales\nin both periods")
        return
    change = trends["sold_price_change_pct"] * 100
    colours = [UP_COLOUR if pct > 0 else DOWN_COLOUR for pct in change]
    bars = axes.barh([chart_label(name) for name in trends["location"]], change, color=colours)
    axes.bar_label(bars, labels=[f"{pct:+.1f}%" for pct in change], fontsize=8, padding=2)
    axes.axvline(0, color="black", linewidth=0.8)
    axes.margins(x=0.25)
    axes.set_title(title, fontsize=10)
    axes.set_xlabel("% change in median")
