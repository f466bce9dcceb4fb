"""Extraction scored against a hand-labelled set of listing texts written for this project.

`labelled_listings.jsonl` holds UK listing texts in agents' styles, each labelled with the unit
count and kind, tenure, lease years and every red flag and signal a careful reader would raise,
with the traps (negations, bedrooms, "one of four flats", potential conversions) labelled as
what they are. The texts are not drawn from the sandbox's phrase tables, so passing here means
the patterns generalise beyond the words they were tuned on. Run with `-s` to see the table.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from property_pipeline.sandbox.market import Market, MarketConfig
from property_pipeline.sandbox.model import Listing
from property_pipeline.screening.extract import UNIT_KINDS, Extraction, extract_listing
from property_pipeline.screening.taxonomy import ALL_CODES

LABELLED = Path(__file__).with_name("labelled_listings.jsonl")
MIN_RECALL = 0.9
MIN_PRECISION = 0.85
MIN_UNIT_ACCURACY = 0.9
MIN_TENURE_ACCURACY = 0.9
MIN_LEASE_ACCURACY = 0.9
MIN_POSITIVES = 8


@dataclass(frozen=True)
class Scores:
    """Per-code counts and field accuracies over the labelled set."""

    true_positive: Counter[str]
    false_positive: Counter[str]
    false_negative: Counter[str]
    units_right: int
    tenure_right: int
    lease_right: int
    listings: int
    mistakes: tuple[str, ...]

    def precision(self, code: str) -> float:
        """Share of the listings given `code` that are labelled with it."""
        found = self.true_positive[code] + self.false_positive[code]
        return self.true_positive[code] / found if found else 1.0

    def recall(self, code: str) -> float:
        """Share of the listings labelled with `code` that are given it."""
        labelled = self.true_positive[code] + self.false_negative[code]
        return self.true_positive[code] / labelled if labelled else 1.0

    def table(self) -> str:
        """Per-code counts, precision and recall, field accuracies and every mistake."""
        lines = [f"{'code':30} {'pos':>4} {'tp':>4} {'fp':>4} {'fn':>4} {'prec':>6} {'recall':>6}"]
        for code in ALL_CODES:
            tp, fp, fn = (
                self.true_positive[code],
                self.false_positive[code],
                self.false_negative[code],
            )
            lines.append(
                f"{code:30} {tp + fn:4} {tp:4} {fp:4} {fn:4} "
                f"{self.precision(code):6.3f} {self.recall(code):6.3f}"
            )
        lines.append(
            f"unit count and kind {self.units_right}/{self.listings} "
            f"({self.units_right / self.listings:.3f}), tenure {self.tenure_right}/{self.listings} "
            f"({self.tenure_right / self.listings:.3f}), lease years {self.lease_right}/"
            f"{self.listings} ({self.lease_right / self.listings:.3f})"
        )
        lines += [f"  miss: {mistake}" for mistake in self.mistakes]
        return "\n".join(lines)


def _load() -> list[dict[str, Any]]:
    with LABELLED.open(encoding="utf-8") as lines:
        return [json.loads(line) for line in lines if line.strip()]


def _extract(row: dict[str, Any]) -> Extraction:
    return extract_listing(
        row.get("title"),
        row.get("summary"),
        row.get("description"),
        row.get("key_features", ()),
        property_type=row.get("property_type"),
        tenure=row.get("tenure"),
        lease_years_remaining=row.get("lease_years_remaining"),
        ground_rent=row.get("ground_rent"),
        price=row.get("price"),
        update_reason=row.get("update_reason"),
    )


def _score(rows: list[dict[str, Any]]) -> Scores:
    tp: Counter[str] = Counter()
    fp: Counter[str] = Counter()
    fn: Counter[str] = Counter()
    units = tenure = lease = 0
    mistakes: list[str] = []
    for row in rows:
        expected = row["expected"]
        got = _extract(row)
        want = set(expected["red_flags"]) | set(expected["signals"])
        have = set(got.red_flags) | set(got.signals)
        tp.update(want & have)
        fp.update(have - want)
        fn.update(want - have)
        for code in sorted(have - want):
            mistakes.append(f"{row['id']} extra {code}: {got.evidence.get(code)!r}")
        for code in sorted(want - have):
            mistakes.append(f"{row['id']} missed {code}")
        unit_pair = (got.unit_count, got.unit_kind)
        wanted_pair = (expected["unit_count"], expected["unit_kind"])
        commercial_ok = got.commercial_units == expected.get(
            "commercial_units", got.commercial_units
        )
        if unit_pair == wanted_pair and commercial_ok:
            units += 1
        else:
            mistakes.append(
                f"{row['id']} units {unit_pair} +{got.commercial_units} commercial, want "
                f"{wanted_pair} +{expected.get('commercial_units')}"
            )
        if got.tenure == expected["tenure"]:
            tenure += 1
        else:
            mistakes.append(f"{row['id']} tenure {got.tenure!r}, want {expected['tenure']!r}")
        if got.lease_years_remaining == expected["lease_years_remaining"]:
            lease += 1
        else:
            mistakes.append(
                f"{row['id']} lease {got.lease_years_remaining}, "
                f"want {expected['lease_years_remaining']}"
            )
    return Scores(tp, fp, fn, units, tenure, lease, len(rows), tuple(mistakes))


@pytest.fixture(scope="module")
def scores() -> Scores:
    result = _score(_load())
    # The table is the report this test exists for: `pytest -s` shows it.
    print(f"\nLabelled set: {result.listings} listings\n{result.table()}")  # noqa: T201
    return result


def test_labelled_set_is_large_and_covers_every_code_with_unique_ids() -> None:
    rows = _load()
    positives = Counter(
        code for row in rows for code in row["expected"]["red_flags"] + row["expected"]["signals"]
    )
    assert len(rows) >= 180
    assert len({row["id"] for row in rows}) == len(rows)
    assert {code: positives[code] for code in ALL_CODES if positives[code] < MIN_POSITIVES} == {}
    assert set(positives) <= set(ALL_CODES)
    kinds = {row["expected"]["unit_kind"] for row in rows}
    assert kinds - {None} <= set(UNIT_KINDS)


def test_labelled_set_holds_the_traps_it_is_meant_to_test() -> None:
    notes = " ".join(row.get("note", "") for row in _load()).lower()
    for trap in ("negated", "bedrooms are not units", "one of four flats", "potential", "999-year"):
        assert trap in notes


def test_every_code_reaches_the_recall_floor(scores: Scores) -> None:
    low = {code: round(scores.recall(code), 3) for code in ALL_CODES}
    low = {code: recall for code, recall in low.items() if recall < MIN_RECALL}
    assert low == {}, scores.table()


def test_every_code_reaches_the_precision_floor(scores: Scores) -> None:
    low = {code: round(scores.precision(code), 3) for code in ALL_CODES}
    low = {code: precision for code, precision in low.items() if precision < MIN_PRECISION}
    assert low == {}, scores.table()


def test_unit_counts_and_kinds_reach_the_accuracy_floor(scores: Scores) -> None:
    assert scores.units_right / scores.listings >= MIN_UNIT_ACCURACY, scores.table()


def test_tenure_and_lease_years_reach_the_accuracy_floor(scores: Scores) -> None:
    assert scores.tenure_right / scores.listings >= MIN_TENURE_ACCURACY, scores.table()
    assert scores.lease_right / scores.listings >= MIN_LEASE_ACCURACY, scores.table()


# --- agreement with the sandbox market's ground truth ---------------------------------------

# The sandbox's fact names and the taxonomy codes they mean. Sandbox facts with no code here
# (hmo_licensed, quick_sale, back_on_market) are not screening codes.
SANDBOX_CODES = {
    "cash_buyers_only": "cash_buyers_only",
    "non_standard_construction": "non_standard_construction",
    "subsidence": "structural_movement",
    "japanese_knotweed": "japanese_knotweed",
    "sitting_tenant": "sitting_tenant",
    "shared_ownership": "shared_ownership",
    "retirement": "retirement_or_age_restricted",
    "cladding": "cladding_ews1",
    "flying_freehold": "flying_freehold",
    "escalating_ground_rent": "escalating_ground_rent",
    "article_4": "restrictive_planning",
    "probate": "probate",
    "chain_free": "no_onward_chain",
    "repossession": "repossession",
    "receivership": "repossession",
    "modern_method_of_auction": "auction_reservation_fee",
}
SANDBOX_DAY = dt.date(2026, 6, 15)
MIN_SANDBOX_AGREEMENT = 0.97


@dataclass(frozen=True)
class SandboxAgreement:
    """How often extraction agrees with the facts the sandbox wrote each advert from."""

    listings: int
    units_right: int
    tenure_right: int
    lease_stated: int
    lease_wrong: int
    leases: int
    true_positive: Counter[str]
    false_positive: Counter[str]
    false_negative: Counter[str]

    def table(self) -> str:
        """Field agreement and per-code counts against the sandbox's facts."""
        lines = [
            f"sandbox listings {self.listings}: units {self.units_right / self.listings:.3f}, "
            f"tenure {self.tenure_right / self.listings:.3f}, lease years stated in "
            f"{self.lease_stated}/{self.leases} leases and wrong in {self.lease_wrong}"
        ]
        for code in sorted(set(SANDBOX_CODES.values()) | {"short_lease", "needs_modernisation"}):
            tp, fp, fn = (
                self.true_positive[code],
                self.false_positive[code],
                self.false_negative[code],
            )
            lines.append(f"  {code:30} tp {tp:4} fp {fp:3} fn {fn:3}")
        return "\n".join(lines)


def _sandbox_truth(market: Market, listing: Listing) -> set[str]:
    prop = listing.property
    truth = {SANDBOX_CODES[fact] for fact in market.signals(listing) if fact in SANDBOX_CODES}
    leased = prop.tenure in ("leasehold", "share_of_freehold")
    if leased and prop.lease_years_remaining is not None and prop.lease_years_remaining < 80:
        truth.add("short_lease")
    if prop.condition != "good":
        truth.add("needs_modernisation")
    return truth


@pytest.fixture(scope="module")
def sandbox_agreement() -> SandboxAgreement:
    market = Market(MarketConfig(seed=23, listings=4000))
    listings = [
        listing
        for source in ("rightmove", "zoopla", "allsop", "auctionhouse")
        for listing in market.search(SANDBOX_DAY, source)
    ]
    tp: Counter[str] = Counter()
    fp: Counter[str] = Counter()
    fn: Counter[str] = Counter()
    units = tenure = stated = wrong = leases = 0
    for listing in listings:
        prop = listing.property
        got = extract_listing(
            listing.title,
            listing.summary,
            listing.description,
            listing.key_features,
            as_of=SANDBOX_DAY,
        )
        truth = _sandbox_truth(market, listing)
        have = (set(got.red_flags) | set(got.signals)) & (
            set(SANDBOX_CODES.values()) | {"short_lease", "needs_modernisation"}
        )
        tp.update(truth & have)
        fp.update(have - truth)
        fn.update(truth - have)
        units += got.unit_count == prop.units
        tenure += got.tenure == prop.tenure
        if prop.tenure in ("leasehold", "share_of_freehold"):
            leases += 1
            stated += got.lease_years_remaining is not None
            wrong += got.lease_years_remaining not in (None, prop.lease_years_remaining)
    result = SandboxAgreement(len(listings), units, tenure, stated, wrong, leases, tp, fp, fn)
    print(f"\n{result.table()}")  # noqa: T201 - shown with `pytest -s`
    return result


def test_units_and_tenure_agree_with_the_sandbox(sandbox_agreement: SandboxAgreement) -> None:
    agreement = sandbox_agreement
    assert agreement.listings >= 300
    assert agreement.units_right / agreement.listings >= MIN_SANDBOX_AGREEMENT, agreement.table()
    assert agreement.tenure_right / agreement.listings >= MIN_SANDBOX_AGREEMENT, agreement.table()


def test_lease_years_read_from_sandbox_text_are_never_wrong(
    sandbox_agreement: SandboxAgreement,
) -> None:
    agreement = sandbox_agreement
    assert agreement.lease_wrong == 0, agreement.table()
    assert agreement.lease_stated / agreement.leases >= 0.9, agreement.table()


def test_codes_agree_with_the_sandbox_facts(sandbox_agreement: SandboxAgreement) -> None:
    agreement = sandbox_agreement
    tp, fp, fn = (
        sum(counts.values())
        for counts in (
            agreement.true_positive,
            agreement.false_positive,
            agreement.false_negative,
        )
    )
    # Measured: every fact found, and the only extra codes are cash buyers flags the sandbox
    # writes as "short lease - cash buyers may be best placed" without marking the advert
    # cash-only (extraction reads that as the flag by design).
    assert tp / (tp + fn) >= 0.99, agreement.table()
    assert tp / (tp + fp) >= 0.99, agreement.table()
    weak = {
        code: agreement.true_positive[code] / labelled
        for code in set(agreement.true_positive) | set(agreement.false_negative)
        if (labelled := agreement.true_positive[code] + agreement.false_negative[code]) >= 5
        and agreement.true_positive[code] / labelled < MIN_RECALL
    }
    assert weak == {}, agreement.table()
