"""What each listing's words say, as a table: units, tenure, lease, red flags and signals."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd

from property_pipeline.screening.extract import Extraction, extract_listing

FEATURE_COLUMNS = (
    "listing_key",
    "unit_count",
    "unit_kind",
    "commercial_units",
    "tenure",
    "lease_years_remaining",
    "red_flags",
    "signals",
    "evidence",
)


def read_listing(record: Mapping[str, Any], as_of: dt.date | None = None) -> Extraction:
    """Extract from one listing record (a deduped_listings row or a `screen` input line).

    `as_of` dates leases given by start year ("125 years from 1990").
    """
    return extract_listing(
        title=_text(record.get("title")),
        summary=_text(record.get("summary")),
        description=_text(record.get("description")),
        key_features=tuple(_strings(record.get("key_features"))),
        property_type=_text(record.get("property_type")),
        tenure=_known_tenure(record.get("tenure")),
        lease_years_remaining=_whole(record.get("lease_years_remaining")),
        ground_rent=_whole(record.get("ground_rent")),
        price=_whole(record.get("price")),
        update_reason=_text(record.get("update_reason")),
        as_of=as_of,
    )


def features_row(listing_key: str, extraction: Extraction) -> dict[str, Any]:
    """One `listing_features` row."""
    return {
        "listing_key": listing_key,
        "unit_count": extraction.unit_count,
        "unit_kind": extraction.unit_kind,
        "commercial_units": extraction.commercial_units,
        "tenure": extraction.tenure,
        "lease_years_remaining": extraction.lease_years_remaining,
        "red_flags": list(extraction.red_flags),
        "signals": list(extraction.signals),
        "evidence": json.dumps(dict(extraction.evidence), ensure_ascii=False, sort_keys=True),
    }


def listing_features(listings: pd.DataFrame, as_of: dt.date | None = None) -> pd.DataFrame:
    """Features for every row of a frame with deduped_listings columns."""
    rows = [
        features_row(record["listing_key"], read_listing(record, as_of))
        for record in listings.to_dict(orient="records")
    ]
    return pd.DataFrame(rows, columns=list(FEATURE_COLUMNS))


def _known_tenure(value: Any) -> str | None:
    text = _text(value)
    return None if text in (None, "unknown") else text


def _text(value: Any) -> str | None:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return None
    return str(value)


def _whole(value: Any) -> int | None:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _strings(value: Any) -> Iterable[str]:
    if value is None or isinstance(value, str | float):
        return [value] if isinstance(value, str) else []
    return [str(item) for item in value if item is not None]
