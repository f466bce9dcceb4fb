"""Reading listing text: each trap the extraction must get right, and which fields win."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from property_pipeline.screening.extract import extract_listing
from property_pipeline.screening.numbers import to_int
from property_pipeline.screening.taxonomy import (
    ALL_CODES,
    RED_FLAG_CODES,
    SEVERITIES,
    SIGNAL_CODES,
    severity_of,
)


def codes(description: str, **fields: object) -> set[str]:
    """Every red flag and signal extracted from one description."""
    found = extract_listing(description=description, **fields)  # type: ignore[arg-type]
    return set(found.red_flags) | set(found.signals)


# --- units ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "count", "kind"),
    [
        ("A freehold block of four self-contained flats.", 4, "flat"),
        ("Investment: 4 x 1 bed flats on one title.", 4, "flat"),
        ("Comprising 2 x 1 bed, 3 x 2 bed and 1 x studio flats.", 6, "flat"),
        ("Converted into three flats in 1990.", 3, "flat"),
        ("A five-unit freehold block in the town centre.", 5, "flat"),
        ("Arranged as two studios and three one-bedroom flats.", 5, "flat"),
        ("House divided into 6 bedsits with shared kitchens.", 6, "bedsit"),
        ("A pair of maisonettes, each with its own garden.", 2, "maisonette"),
        ("Block of twenty-four flats with a car park.", 24, "flat"),
    ],
)
def test_existing_units_are_counted_in_words_digits_and_mixes(
    text: str, count: int, kind: str
) -> None:
    found = extract_listing(description=text)
    assert (found.unit_count, found.unit_kind) == (count, kind)


@pytest.mark.parametrize(
    ("text", "rooms"),
    [
        ("HMO licensed for 6 sharers until 2027.", 6),
        ("A six-bed HMO close to the university.", 6),
        ("The house provides seven lettable rooms.", 7),
        ("Sui generis HMO offering nine rooms.", 9),
        ("Currently an unlicensed HMO with five tenants.", 5),
    ],
)
def test_hmo_rooms_are_the_units_of_an_hmo(text: str, rooms: int) -> None:
    found = extract_listing(description=text)
    assert (found.unit_count, found.unit_kind) == (rooms, "hmo_room")


def test_a_sui_generis_hmo_without_a_count_has_at_least_seven_rooms() -> None:
    found = extract_listing(description="A sui generis HMO, fully let to professionals.")
    assert (found.unit_count, found.unit_kind) == (7, "hmo_room")


def test_flats_above_a_shop_count_as_flats_with_the_shop_apart() -> None:
    found = extract_listing(description="Freehold: 2 x 2 bed flats plus a shop on the parade.")
    assert (found.unit_count, found.unit_kind, found.commercial_units) == (2, "flat", 1)


def test_a_shop_with_no_home_is_one_commercial_unit() -> None:
    found = extract_listing("Shop for sale", description="Ground floor retail unit with a WC.")
    assert (found.unit_count, found.unit_kind, found.commercial_units) == (1, "commercial", 1)


def test_shops_near_the_property_are_not_commercial_units() -> None:
    found = extract_listing(
        "2 bedroom flat for sale", description="Close to shops, restaurants and the station."
    )
    assert (found.unit_count, found.unit_kind, found.commercial_units) == (1, "flat", 0)


@pytest.mark.parametrize(
    ("title", "text", "kind"),
    [
        ("3 bedroom house for sale", "Three bedrooms, two receptions and a garden.", "house"),
        (
            "4 bedroom terraced house",
            "Arranged with 4 x double bedrooms and 2 x bathrooms.",
            "house",
        ),
        ("2 bedroom flat for sale", "One of four flats in a converted house.", "flat"),
        ("1 bedroom flat for sale", "Flat 4, Alder Court, in a block of six flats.", "flat"),
        ("Studio for sale", "One of two studios on the top floor.", "studio"),
        ("2 bedroom apartment", "Apartment 7 of a development of 40 apartments.", "flat"),
    ],
)
def test_a_single_home_is_one_unit_whatever_numbers_surround_it(
    title: str, text: str, kind: str
) -> None:
    found = extract_listing(title, description=text)
    assert (found.unit_count, found.unit_kind) == (1, kind)


@pytest.mark.parametrize(
    "text",
    [
        "A large house with potential to convert into three flats, subject to planning.",
        "Planning for 6 units has been granted on the garden land.",
        "Could be converted into four flats (STPP).",
    ],
)
def test_possible_or_consented_units_are_development_potential_not_units(text: str) -> None:
    found = extract_listing("5 bedroom detached house for sale", description=text)
    assert (found.unit_count, found.unit_kind) == (1, "house")
    assert "development_potential" in found.signals


# --- red flags, signals and negation --------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("There are no sitting tenants.", "sitting_tenant"),
        ("Not a short lease: 150 years remaining.", "short_lease"),
        ("The survey found no evidence of subsidence.", "structural_movement"),
        ("The property is not in a flood risk area.", "flood_risk"),
        ("Not of non-standard construction.", "non_standard_construction"),
        ("No cladding issues; EWS1 not required.", "cladding_ews1"),
        ("The garden is free from Japanese knotweed.", "japanese_knotweed"),
        ("Japanese knotweed: none known.", "japanese_knotweed"),
        ("This is not a retirement property.", "retirement_or_age_restricted"),
        ("No age restrictions apply.", "retirement_or_age_restricted"),
        ("Please note this is not a shared ownership sale.", "shared_ownership"),
        ("There is no reservation fee.", "auction_reservation_fee"),
        ("Not in an Article 4 area.", "restrictive_planning"),
        ("No water damage was found.", "fire_or_water_damage"),
        ("This is not a probate sale.", "probate"),
        ("The ground rent has been reduced to a peppercorn.", "price_reduced"),
        ("Mortgage or cash buyers welcome.", "cash_buyers_only"),
    ],
)
def test_negated_or_unrelated_phrases_raise_no_code(text: str, code: str) -> None:
    assert code not in codes(text)


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Sold subject to a sitting tenant.", "sitting_tenant"),
        ("Short lease - priced accordingly.", "short_lease"),
        ("Evidence of historic subsidence to the bay.", "structural_movement"),
        ("The house lies in flood zone 3.", "flood_risk"),
        ("Non-standard construction.", "non_standard_construction"),
        ("An EWS1 form is required.", "cladding_ews1"),
        ("Knotweed is present in the rear garden.", "japanese_knotweed"),
        ("Age restricted development (over 55s).", "retirement_or_age_restricted"),
        ("Shared ownership: a 40% share is offered.", "shared_ownership"),
        ("Modern method of auction; a reservation fee applies.", "auction_reservation_fee"),
        ("Within an Article 4 area.", "restrictive_planning"),
        ("Fire damaged and uninhabitable.", "fire_or_water_damage"),
        ("Sold on behalf of the executors.", "probate"),
        ("No chain.", "no_onward_chain"),
        ("Ideal for cash buyers and investors.", "cash_buyers_only"),
        ("Sold by the LPA receivers.", "repossession"),
        ("Part of the bedroom is a flying freehold.", "flying_freehold"),
        ("Unbroken freehold block.", "title_split_potential"),
    ],
)
def test_each_phrase_raises_its_code(text: str, code: str) -> None:
    assert code in codes(text)


def test_fire_damage_also_needs_works_unless_it_has_been_repaired() -> None:
    assert "needs_modernisation" in codes("Fire damaged property.")
    repaired = codes("The fire damage has since been repaired.")
    assert "fire_or_water_damage" in repaired
    assert "needs_modernisation" not in repaired


def test_codes_come_in_taxonomy_order_and_evidence_quotes_the_listing() -> None:
    found = extract_listing(
        "3 bedroom house for sale",
        description="Probate sale. No onward chain. Japanese Knotweed in the garden. Subsidence.",
    )
    assert found.red_flags == ("structural_movement", "japanese_knotweed")
    assert found.signals == ("probate", "no_onward_chain")
    assert found.evidence["japanese_knotweed"] == "Japanese Knotweed"
    assert found.evidence["no_onward_chain"] == "No onward chain"


# --- tenure, lease and structured fields ----------------------------------------------------


@pytest.mark.parametrize(
    ("text", "years"),
    [
        ("Leasehold with a lease of 68 years remaining.", 68),
        ("There are 68 years left on the lease.", 68),
        ("Leasehold - approx. 71 years unexpired.", 71),
        ("Tenure: Leasehold (62 years left).", 62),
        ("Lease: 58 years.", 58),
    ],
)
def test_lease_years_in_text_under_eighty_raise_short_lease(text: str, years: int) -> None:
    found = extract_listing(description=text)
    assert (found.tenure, found.lease_years_remaining) == ("leasehold", years)
    assert "short_lease" in found.red_flags


def test_a_999_year_lease_is_long_and_a_share_of_freehold_is_not_freehold() -> None:
    found = extract_listing(description="Share of freehold with a 999-year lease.")
    assert (found.tenure, found.lease_years_remaining, found.red_flags) == (
        "share_of_freehold",
        999,
        (),
    )


def test_years_left_on_an_hmo_licence_are_not_a_lease() -> None:
    found = extract_listing(description="Freehold HMO; the licence has 3 years remaining.")
    assert (found.tenure, found.lease_years_remaining, found.red_flags) == ("freehold", None, ())


def test_a_tenants_lease_on_the_shop_is_not_the_tenure() -> None:
    found = extract_listing(description="Takeaway let separately on a 10 year lease.")
    assert (found.tenure, found.lease_years_remaining) == (None, None)


def test_a_lease_term_from_a_year_is_counted_from_the_listing_date() -> None:
    text = "125 year lease from 1960."
    assert extract_listing(description=text).lease_years_remaining is None
    dated = extract_listing(description=text, as_of=dt.date(2026, 6, 1))
    assert dated.lease_years_remaining == 59
    assert "short_lease" in dated.red_flags


def test_structured_tenure_and_lease_win_over_the_text() -> None:
    found = extract_listing(
        description="Leasehold with 62 years remaining.",
        tenure="share_of_freehold",
        lease_years_remaining=120,
    )
    assert (found.tenure, found.lease_years_remaining, found.red_flags) == (
        "share_of_freehold",
        120,
        (),
    )


def test_text_fills_a_tenure_the_portal_left_unknown() -> None:
    found = extract_listing(description="Tenure: Freehold.", tenure="unknown")
    assert found.tenure == "freehold"


def test_ground_rent_above_a_tenth_of_a_percent_of_the_price_is_escalating() -> None:
    assert "escalating_ground_rent" in codes("A flat.", ground_rent=300, price=200_000)
    assert "escalating_ground_rent" not in codes("A flat.", ground_rent=150, price=200_000)
    assert "escalating_ground_rent" in codes("Ground rent: £450 pa.", price=250_000)
    assert "escalating_ground_rent" in codes("Ground rent £250, doubling every 10 years.")


def test_a_reduced_update_reason_adds_price_reduced() -> None:
    assert "price_reduced" in codes("A flat.", update_reason="price_reduced")
    assert "price_reduced" not in codes("A flat.", update_reason="new")


def test_to_record_gives_json_ready_lists_in_taxonomy_order() -> None:
    found = extract_listing(
        "Block of flats for sale",
        description="A freehold block of 5 flats. No onward chain.",
        tenure="unknown",
    )
    record = found.to_record()
    assert (record["unit_count"], record["unit_kind"], record["tenure"]) == (5, "flat", "freehold")
    assert record["signals"] == ["no_onward_chain", "title_split_potential"]
    assert json.loads(json.dumps(record)) == record


# --- vocabulary ------------------------------------------------------------------------------


def test_taxonomy_codes_are_unique_with_known_severities() -> None:
    assert len(set(ALL_CODES)) == len(ALL_CODES) == len(RED_FLAG_CODES) + len(SIGNAL_CODES) == 22
    assert {severity_of(code) for code in ALL_CODES} <= set(SEVERITIES)
    assert severity_of("shared_ownership") == "kill"
    assert {severity_of(code) for code in SIGNAL_CODES} == {"opportunity"}
    with pytest.raises(KeyError, match="unknown screening code 'damp'"):
        severity_of("damp")


@pytest.mark.parametrize(
    ("text", "value"),
    [("4", 4), ("four", 4), ("Twenty-four", 24), ("a pair of", 2), ("fourteen", 14), ("x", None)],
)
def test_counts_read_the_same_in_words_and_digits(text: str, value: int | None) -> None:
    assert to_int(text) == value
