"""Land tax against hand-worked answers at every band edge, and the treatment a buyer may choose."""

from __future__ import annotations

import datetime as dt

import pytest

from property_pipeline.scoring.tax import TaxError, land_tax

ON = dt.date(2025, 6, 1)


def tax(price: int, **options) -> int:
    return land_tax(price, on=ON, **options).tax


@pytest.mark.parametrize(
    ("price", "main", "additional", "non_residential"),
    [
        # HMRC rates as worked in domain.md 3.3 (main residence, +5% higher rates, 0/2/5%).
        (150_000, 500, 8_000, 0),
        (250_000, 2_500, 15_000, 2_000),
        (400_000, 10_000, 30_000, 9_500),
        (600_000, 20_000, 50_000, 19_500),
        (900_000, 35_000, 80_000, 34_500),
        (1_200_000, 63_750, 123_750, 49_500),
    ],
)
def test_sdlt_matches_the_worked_examples(price, main, additional, non_residential) -> None:
    assert tax(price) == main
    assert tax(price, additional=True) == additional
    assert tax(price, mixed_use=True) == non_residential


@pytest.mark.parametrize(
    ("price", "main", "additional"),
    [
        (125_000, 0, 6_250),
        (125_001, 0, 6_250),  # the first pound over pays 2p or 7p, rounded down to the pound
        (250_000, 2_500, 15_000),
        (925_000, 36_250, 82_500),
        (1_500_000, 93_750, 168_750),
        (2_000_000, 153_750, 253_750),
    ],
)
def test_sdlt_residential_band_edges(price, main, additional) -> None:
    assert tax(price) == main
    assert tax(price, additional=True) == additional


def test_higher_rates_start_at_forty_thousand_pounds_on_the_whole_price() -> None:
    assert tax(39_999, additional=True) == 0
    assert tax(40_000, additional=True) == 2_000
    assert land_tax(40_000, additional=True, on=ON).regime == "residential_higher"
    assert land_tax(39_999, additional=True, on=ON).regime == "residential"


@pytest.mark.parametrize(
    ("price", "expected"), [(150_000, 0), (250_000, 2_000), (1_000_000, 39_500)]
)
def test_sdlt_non_residential_band_edges(price, expected) -> None:
    assert tax(price, mixed_use=True) == expected


def test_six_dwellings_in_one_purchase_pay_non_residential_rates_in_england() -> None:
    block = land_tax(900_000, additional=True, dwellings=6, on=ON)

    assert (block.tax, block.regime) == (34_500, "non_residential")
    assert block.alternatives == {}  # multiple dwellings relief ended on 1 June 2024
    assert tax(900_000, additional=True, dwellings=5) == 80_000


def test_mixed_use_is_non_residential_whatever_the_buyer() -> None:
    shop_with_flat = land_tax(600_000, additional=True, dwellings=1, mixed_use=True, on=ON)

    assert (shop_with_flat.tax, shop_with_flat.regime) == (19_500, "non_residential")
    assert [item.as_json()["tax"] for item in shop_with_flat.slices] == [0, 2_000, 17_500]


def test_rates_in_force_on_the_day_are_used() -> None:
    assert land_tax(250_000, on=dt.date(2025, 3, 31)).tax == 0  # the 250,000 nil band
    assert land_tax(250_000, additional=True, on=dt.date(2025, 3, 31)).tax == 12_500
    assert land_tax(250_000, additional=True, on=dt.date(2024, 10, 30)).tax == 7_500  # +3%
    with pytest.raises(TaxError, match="no england tax table before 2024-06-01"):
        land_tax(250_000, on=dt.date(2024, 5, 31))


def test_northern_ireland_pays_england_sdlt() -> None:
    assert tax(400_000, nation="northern_ireland", additional=True) == 30_000


@pytest.mark.parametrize(
    ("price", "expected"),
    [(145_000, 0), (250_000, 2_100), (325_000, 5_850), (750_000, 48_350), (1_000_000, 78_350)],
)
def test_lbtt_residential_band_edges(price, expected) -> None:
    assert tax(price, nation="scotland") == expected


def test_scotland_adds_eight_percent_of_the_whole_price_for_additional_dwellings() -> None:
    second_home = land_tax(200_000, nation="scotland", additional=True, on=ON)

    assert (second_home.tax, second_home.supplement) == (17_100, 16_000)
    assert second_home.regime == "residential_higher_ads"
    assert tax(40_000, nation="scotland", additional=True) == 3_200
    assert tax(39_999, nation="scotland", additional=True) == 0


@pytest.mark.parametrize(("price", "expected"), [(150_000, 0), (250_000, 1_000), (400_000, 8_500)])
def test_lbtt_non_residential_band_edges(price, expected) -> None:
    assert tax(price, nation="scotland", mixed_use=True) == expected


def test_scottish_blocks_take_the_cheaper_of_non_residential_and_relief() -> None:
    six = land_tax(900_000, nation="scotland", additional=True, dwellings=6, on=ON)
    # Relief: 6 x tax on 150,000 = 600, but never below 25% of 66,350; no ADS for 6+.
    assert (six.tax, six.regime, six.minimum_applied) == (16_587, "multiple_dwellings_relief", True)
    assert six.alternatives == {"non_residential": 33_500}

    three = land_tax(450_000, nation="scotland", additional=True, dwellings=3, on=ON)
    assert (three.tax, three.regime) == (40_587, "multiple_dwellings_relief")
    assert three.alternatives == {"residential_higher_ads": 54_350}


@pytest.mark.parametrize(
    ("price", "main", "higher"),
    [
        (180_000, 0, 9_000),
        (225_000, 0, 12_825),
        (250_000, 1_500, 14_950),
        (400_000, 10_500, 29_950),
        (750_000, 36_750, 73_700),
        (1_500_000, 111_750, 186_200),
        (2_000_000, 171_750, 271_200),
    ],
)
def test_ltt_residential_band_edges(price, main, higher) -> None:
    assert tax(price, nation="wales") == main
    assert tax(price, nation="wales", additional=True) == higher


@pytest.mark.parametrize(
    ("price", "expected"),
    [(225_000, 0), (250_000, 250), (1_000_000, 37_750), (1_200_000, 49_750)],
)
def test_ltt_non_residential_band_edges(price, expected) -> None:
    assert tax(price, nation="wales", mixed_use=True) == expected


def test_welsh_blocks_take_the_cheaper_treatment() -> None:
    six = land_tax(900_000, nation="wales", additional=True, dwellings=6, on=ON)
    assert (six.tax, six.regime) == (32_750, "non_residential")
    assert six.alternatives == {"multiple_dwellings_relief": 45_000}

    pair = land_tax(400_000, nation="wales", dwellings=2, on=ON)
    # Each 200,000 flat is in the nil band, so the 1% minimum applies.
    assert (pair.tax, pair.regime, pair.minimum_applied) == (
        4_000,
        "multiple_dwellings_relief",
        True,
    )


def test_a_bad_purchase_is_refused_by_name() -> None:
    with pytest.raises(TaxError, match="price -1 is negative"):
        land_tax(-1, on=ON)
    with pytest.raises(TaxError, match="nation 'france'"):
        land_tax(100_000, nation="france", on=ON)
    with pytest.raises(TaxError, match="dwellings 0"):
        land_tax(100_000, dwellings=0, on=ON)
