"""The scored asset over a hand-made warehouse: bands, caps, weights, tax and the breakdown."""

from __future__ import annotations

import datetime as dt
import json
import random
from decimal import Decimal

import dagster as dg
import pytest

from property_pipeline.scoring.assets import scored, top_ten_markdown
from property_pipeline.scoring.config import load_scoring_config
from property_pipeline.scoring.params import scored_params
from property_pipeline.scoring.tax import land_tax
from property_pipeline.warehouse.resource import WarehouseResource
from property_pipeline_tests.conftest import REPO_ROOT
from property_pipeline_tests.scoring.support import (
    DAY,
    breakdown_total,
    insert_listings,
    listing,
    scored_rows,
)


def materialize(warehouse, day: dt.date = DAY) -> dg.ExecuteInProcessResult:
    result = dg.materialize(
        [scored], partition_key=day.isoformat(), resources={"warehouse": warehouse}
    )
    assert result.success
    return result


def hot_house(key: str, **overrides) -> dict:
    """37.5% below value, a stated rent of 9.6%, probate, a 15% cut and 120 days on market."""
    facts = {
        "price": 150_000,
        "estimated_value": 240_000,
        "description": "Probate sale, currently let at £1,200 pcm.",
        "signals": ["probate"],
        "price_cut_pct": 0.15,
        "days_on_market": 120,
        "strategy_fit": ["refurbishment"],
        "outcode": "M14",
        "postcode": "M14 5AB",
    }
    return listing(key, **(facts | overrides))


BAND_CASES = [
    hot_house("hot"),
    # 25% below value, table rent 8.4% against 6.3% in the North West, a 10% price cut: good.
    listing(
        "good",
        price=150_000,
        estimated_value=200_000,
        price_cut_pct=0.10,
        outcode="M20",
        postcode="M20 2AA",
    ),
    # The same numbers without the price cut: watchlist.
    listing("watchlist", price=150_000, estimated_value=200_000, outcode="M8", postcode="M8 1AA"),
    # At value, an ordinary yield: pass.
    listing("pass", price=210_000, estimated_value=210_000, outcode="LS6", postcode="LS6 1AA"),
]


# Each case in an outcode of its own, so no outcode has enough listings for a local median:
# the North West's configured 6.3% stands in and the location component drops out.
CAP_CASES = [
    hot_house("killer", red_flags=["shared_ownership"], outcode="M1", postcode="M1 1AA"),
    hot_house(
        "lease", tenure="leasehold", lease_years_remaining=55, outcode="M2", postcode="M2 1AA"
    ),
    hot_house("few_comparables", comparables_count=2, outcode="M3", postcode="M3 1AA"),
    hot_house("no_floor_area", floor_area_sqm=None, outcode="M4", postcode="M4 1AA"),
    hot_house(
        "no_value", estimated_value=None, comparables_count=0, outcode="M11", postcode="M11 1AA"
    ),
]
BLOCK_CASES = [
    listing(
        "block",
        property_type="block_of_flats",
        price=600_000,
        estimated_value=620_000,
        bedrooms=6,
        unit_count=6,
        unit_kind="flat",
        unit_breakdown=json.dumps([{"kind": "flat", "bedrooms": 1, "count": 6}]),
        floor_area_sqm=300.0,
        outcode="L7",
        postcode="L7 1AA",
    ),
    *[
        listing(
            f"flat{index}",
            property_type="flat",
            bedrooms=1,
            price=130_000 + 1_000 * index,
            outcode="L7",
            postcode="L7 2AA",
        )
        for index in range(5)
    ],
]


@pytest.fixture(scope="module")
def scored_day(tmp_path_factory) -> tuple[WarehouseResource, dg.ExecuteInProcessResult]:
    """One day's warehouse with every hand-made case, scored once for the tests that read it."""
    folder = tmp_path_factory.mktemp("scored_day")
    warehouse = WarehouseResource(
        database=str(folder / "warehouse.duckdb"), sql_dir=str(REPO_ROOT / "dbt_like_sql")
    )
    insert_listings(warehouse, BAND_CASES + CAP_CASES + BLOCK_CASES)
    return warehouse, materialize(warehouse)


@pytest.fixture(scope="module")
def rows(scored_day) -> dict[str, dict]:
    return scored_rows(scored_day[0])


def test_a_hand_made_listing_for_each_band_lands_in_it(rows) -> None:
    bands = {key: rows[key]["band"] for key in ("hot", "good", "watchlist", "pass")}

    assert bands == {"hot": "hot", "good": "good", "watchlist": "watchlist", "pass": "pass"}
    assert rows["hot"]["score"] >= 85 and 70 <= rows["good"]["score"] < 85
    assert 60 <= rows["watchlist"]["score"] < 70 and rows["pass"]["score"] < 60
    assert rows["hot"]["rank_in_partition"] == 1
    assert all(row["status"] == "analysed" for row in rows.values())


def test_the_checks_pass_and_the_metadata_counts_the_bands(scored_day, rows) -> None:
    result = scored_day[1]

    checks = result.get_asset_check_evaluations()
    assert sorted((check.check_name, check.passed) for check in checks) == [
        ("breakdown_adds_up_to_score", True),
        ("score_within_0_100", True),
        ("unique_listing_key", True),
    ]
    metadata = result.get_asset_materialization_events()[0].materialization.metadata
    assert metadata["rows"].value == len(rows)
    assert metadata["band_hot"].value == sum(row["band"] == "hot" for row in rows.values())
    assert "| 1 |" in metadata["top_ten"].value


def test_every_breakdown_adds_up_to_its_score(rows) -> None:
    for key, row in rows.items():
        assert breakdown_total(row["score_breakdown"]) == row["score"], key


def test_the_hot_listing_is_explained_in_money_and_words(rows) -> None:
    row = rows["hot"]

    assert (row["tax"], row["tax_regime"]) == (8_000, "residential_higher")
    assert row["legal_and_survey"] == 2_100
    assert row["all_in_cost"] == 150_000 + 8_000 + 2_100 + row["refurbishment_cost"]
    assert (row["estimated_annual_rent"], row["rent_basis"]) == (14_400, "stated in the listing")
    assert row["gross_yield"] == pytest.approx(0.096)
    assert row["local_median_yield"] == pytest.approx(0.063)
    assert row["discount_to_value"] == pytest.approx(0.375)
    assert row["top_reasons"][0] == "38% below the comparables value"
    assert 2 <= len(row["top_reasons"]) <= 4
    assert row["recommendation"].startswith("Hot:")
    assert "£240,000" in row["recommendation"]
    assert list(row["evidence_caps"]) == [] and not row["needs_review"]
    assert row["urls"].tolist() == ["https://example.test/hot"]


def test_a_deal_killer_caps_the_score_at_59(rows) -> None:
    row = rows["killer"]

    assert (row["score"], row["band"]) == (59, "pass")
    assert list(row["evidence_caps"]) == ["deal-killer: shared ownership"]
    assert row["top_reasons"][0] == "deal-killer: shared ownership"
    assert row["check_first"][0].startswith("Confirm whether it really is shared ownership")
    caps = json.loads(row["score_breakdown"])["caps"][0]
    assert caps["cap"] == 59 and caps["points"] < 0


def test_a_lease_under_sixty_years_is_a_deal_killer(rows) -> None:
    assert rows["lease"]["score"] == 59
    assert list(rows["lease"]["evidence_caps"]) == ["deal-killer: lease under 60 years"]


@pytest.mark.parametrize(
    ("key", "cap"), [("few_comparables", "few comparables"), ("no_floor_area", "no floor area")]
)
def test_thin_evidence_caps_the_score_at_84(rows, key, cap) -> None:
    row = rows[key]

    assert (row["score"], row["band"]) == (84, "good")
    assert list(row["evidence_caps"]) == [cap]
    assert row["needs_review"]


def test_missing_evidence_hands_its_weight_to_the_rest(rows) -> None:
    row = rows["no_value"]

    breakdown = json.loads(row["score_breakdown"], parse_float=Decimal)
    weights = {item["component"]: item["effective_weight"] for item in breakdown["components"]}
    assert weights["discount"] == 0 and weights["value_add"] == 0 and weights["location"] == 0
    # yield 20, motivation 15 and strategy 10 share the 100 points.
    assert weights["yield"] == pytest.approx(Decimal("44.4444"))
    assert sum(weights.values()) == pytest.approx(Decimal(100), abs=Decimal("0.001"))
    assert list(row["evidence_caps"]) == ["few comparables", "no value estimate"]
    assert row["score"] <= 84


def test_a_block_is_valued_as_separate_flats_and_taxed_as_non_residential(rows) -> None:
    row = rows["block"]

    # Median 1-bed flat asking £132,000, less 5% to stand for a sale price, times six flats.
    assert row["sum_of_parts_value"] == 752_400
    assert row["value_basis"] == "sum_of_parts"
    assert (row["tax"], row["tax_regime"]) == (19_500, "non_residential")
    assert row["title_split_cost"] == 1_500 + 6 * 1_800
    assert row["title_split_uplift_low"] < row["title_split_uplift_high"]
    assert row["estimated_annual_rent"] == round(12 * 6 * 1_050 * 0.8)


def run_model(warehouse: WarehouseResource, day: dt.date = DAY) -> None:
    """The model alone, without Dagster: the same SQL and parameters the asset runs."""
    warehouse.run_model("scored", day, scored_params(load_scoring_config(), day))


def test_rerunning_the_partition_gives_the_same_scores(scored_day, rows) -> None:
    run_model(scored_day[0])

    again = scored_rows(scored_day[0])
    assert {key: row["score"] for key, row in again.items()} == {
        key: row["score"] for key, row in rows.items()
    }


def test_breakdown_adds_up_and_sql_tax_matches_the_command_for_a_generated_set(warehouse) -> None:
    generator = random.Random(7)
    outcodes = {"M14": "england", "CF24": "wales", "EH1": "scotland", "BT1": "northern_ireland"}
    listings = []
    for index in range(150):
        outcode = generator.choice(list(outcodes))
        listings.append(
            listing(
                f"gen{index}",
                outcode=outcode,
                postcode=f"{outcode} 1AA",
                price=generator.choice([35_000, 40_000, 125_000, 145_000, 250_000])
                + generator.choice([0, 1, generator.randrange(0, 900_000)]),
                estimated_value=generator.choice([None, generator.randrange(50_000, 1_200_000)]),
                comparables_count=generator.randrange(0, 10),
                floor_area_sqm=generator.choice([None, 60.0, 240.0]),
                unit_count=generator.choice([1, 1, 2, 3, 6, 8]),
                property_type=generator.choice(["terraced", "block_of_flats", "mixed_use", "hmo"]),
                red_flags=generator.choice(
                    [[], ["short_lease"], ["cash_buyers_only", "flying_freehold"]]
                    + [["shared_ownership"], ["short_lease", "subsidence", "cladding_ews1"]]
                ),
                signals=generator.choice([[], ["probate"], ["repossession", "price_reduced"]]),
                price_cut_pct=generator.choice([None, 0.05, 0.2]),
                listing_type=generator.choice(["sale", "auction_lot"]),
            )
        )
    insert_listings(warehouse, listings)

    run_model(warehouse)

    rows = scored_rows(warehouse)
    assert len(rows) == 150
    for key, row in rows.items():
        assert breakdown_total(row["score_breakdown"]) == row["score"], key
        assert 0 <= row["score"] <= 100
        facts = next(item for item in listings if item["listing_key"] == key)
        expected = land_tax(
            facts["price"],
            nation=outcodes[facts["outcode"]],
            additional=True,
            dwellings=1 if facts["property_type"] == "hmo" else facts["unit_count"],
            mixed_use=facts["property_type"] == "mixed_use",
            on=DAY,
        )
        assert (row["tax"], row["tax_regime"]) == (expected.tax, expected.regime), key


def test_rank_overall_counts_properties_scored_on_earlier_days(warehouse) -> None:
    earlier = DAY - dt.timedelta(days=1)
    insert_listings(warehouse, [hot_house("yesterday_hot", price=140_000)], day=earlier)
    run_model(warehouse, earlier)
    insert_listings(warehouse, BAND_CASES)

    run_model(warehouse)

    rows = scored_rows(warehouse)
    assert [rows[key]["rank_in_partition"] for key in ("hot", "good", "watchlist", "pass")] == [
        1,
        2,
        3,
        4,
    ]
    assert [rows[key]["rank_overall"] for key in ("hot", "good", "watchlist", "pass")] == [
        2,
        3,
        4,
        5,
    ]


def test_top_ten_markdown_links_each_listing() -> None:
    text = top_ten_markdown(
        [{"rank_in_partition": 1, "score": 91, "band": "hot", "headline": "A | B", "url": "u"}]
    )
    assert text.splitlines()[-1] == "| 1 | 91 | hot | [A / B](u) |"
    assert top_ten_markdown([]) == "No listing was scored for this day."
