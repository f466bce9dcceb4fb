"""The synthetic market: deterministic, coherent across sources, and moving day by day."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import statistics
import time
from collections import Counter
from collections.abc import Callable, Iterable

import numpy as np
import pytest

from property_pipeline.sandbox import phrasing
from property_pipeline.sandbox.geography import PLACES, REGIONS
from property_pipeline.sandbox.market import Market, MarketConfig
from property_pipeline.sandbox.model import Listing

DAY = dt.date(2026, 6, 1)


@pytest.fixture(scope="module")
def market() -> Market:
    return Market(MarketConfig())


def rightmove_on(market: Market, day: dt.date) -> dict[str, Listing]:
    return {listing.source_id: listing for listing in market.search(day, "rightmove")}


# -- determinism --------------------------------------------------------------------------------


def test_two_markets_with_one_seed_agree_whatever_order_they_are_asked_in() -> None:
    first, second = Market(MarketConfig(seed=11)), Market(MarketConfig(seed=11))

    first_page = list(first.search(DAY, "rightmove")[:30])
    first_changes = list(first.sales_changes(2026, 3))
    # The second market is asked for the same things backwards, after unrelated queries.
    second.epc_certificates(postcode=first_page[0].property.postcode)
    second_changes = list(second.sales_changes(2026, 3))
    later = [second.listing("rightmove", x.source_id, DAY) for x in reversed(first_page)]

    assert later[::-1] == first_page
    assert second_changes == first_changes
    assert list(second.search(DAY, "rightmove")[:30]) == first_page


def test_a_different_seed_gives_a_different_market() -> None:
    ids_7 = [x.source_id for x in Market(MarketConfig(seed=7)).search(DAY, "rightmove")[:20]]
    ids_8 = [x.source_id for x in Market(MarketConfig(seed=8)).search(DAY, "rightmove")[:20]]

    assert ids_7 != ids_8


# -- the market moves -----------------------------------------------------------------------------


def test_price_history_seen_a_week_later_only_appends_cuts(market: Market) -> None:
    appended = 0
    for start in (dt.date(2025, 9, 1), DAY, dt.date(2027, 2, 1)):
        before, after = rightmove_on(market, start), rightmove_on(market, start + dt.timedelta(7))
        for source_id in before.keys() & after.keys():
            old, new = before[source_id].price_history, after[source_id].price_history
            assert new[: len(old)] == old
            for earlier, later in zip(new[len(old) - 1 :], new[len(old) :], strict=False):
                assert start < later.changed_on <= start + dt.timedelta(7)
                assert later.price < earlier.price
                appended += 1

    assert appended > 0


def test_listings_appear_and_disappear_between_two_days(market: Market) -> None:
    monday, next_monday = DAY, DAY + dt.timedelta(7)
    before, after = rightmove_on(market, monday), rightmove_on(market, next_monday)

    added = [after[i] for i in after.keys() - before.keys()]
    gone = before.keys() - after.keys()

    assert sum(monday < x.first_listed <= next_monday for x in added) >= 5
    assert len(gone) >= 5
    assert all(market.listing("rightmove", i, next_monday) is None for i in gone)


def test_a_listing_goes_under_offer_then_disappears_when_its_sale_completes(
    market: Market,
) -> None:
    sold_stc = [x for x in market.search(DAY, "rightmove") if x.status == "sold_stc"]
    listing = next(x for x in sold_stc if x.auction is None)

    months = [
        (DAY.year + (DAY.month + k - 1) // 12, (DAY.month + k - 1) % 12 + 1) for k in range(9)
    ]
    sales = [
        sale
        for year, month in months
        for sale in market.sales_changes(year, month)
        if sale.property == listing.property and sale.record_status == "A"
    ]

    assert len(sales) == 1
    completed = sales[0].transfer_date
    assert completed > DAY
    assert market.listing("rightmove", listing.source_id, completed - dt.timedelta(1)) is not None
    assert market.listing("rightmove", listing.source_id, completed) is None
    assert 14 <= (sales[0].lodged_on - completed).days <= 56


def _kept_rightmove_advert(market: Market) -> tuple[str, dt.date, dt.date]:
    """A Rightmove advert withdrawn and back within 14 weeks, found in the market's columns."""
    adverts = market._adverts
    rows = np.nonzero((adverts.source == 0) & (adverts.gap_start < 10_000_000))[0]
    row = int(rows[0])
    withdrawn = dt.date.fromordinal(int(adverts.gap_start[row]))
    back = dt.date.fromordinal(int(adverts.gap_end[row]))
    return market._source_id(row), withdrawn, back


def test_rightmove_keeps_the_advert_and_added_date_of_a_home_back_within_14_weeks(
    market: Market,
) -> None:
    source_id, withdrawn, back = _kept_rightmove_advert(market)

    before = market.listing("rightmove", source_id, withdrawn - dt.timedelta(1))
    during = market.listing("rightmove", source_id, withdrawn)
    after = market.listing("rightmove", source_id, back)

    assert before is not None and after is not None
    assert during is None
    assert (back - withdrawn).days <= 98
    assert after.first_listed == before.first_listed
    assert after.price_history[: len(before.price_history)] == before.price_history
    assert after.price_history[-1].changed_on == back
    assert after.price < before.price


def test_a_home_relisted_after_14_weeks_returns_under_a_new_rightmove_id(market: Market) -> None:
    relisted = [x for x in market.search(DAY, "rightmove") if "back_on_market" in market.signals(x)]
    found = None
    for new in relisted:
        day = new.first_listed - dt.timedelta(99)
        while found is None and day > new.first_listed - dt.timedelta(330):
            outcode = new.property.location.outcode
            earlier = market.search(day, "rightmove", outcode=outcode)
            found = next((x for x in earlier if x.property == new.property), None)
            day -= dt.timedelta(2)
        if found is not None:
            break

    assert found is not None
    assert found.source_id != new.source_id
    assert found.first_listed < new.first_listed
    assert market.listing("rightmove", found.source_id, new.first_listed) is None
    assert "back on" in new.description.lower() or "Back on market" in new.key_features


# -- one property, several adverts -----------------------------------------------------------------


def test_a_home_on_both_portals_shares_its_property_but_not_its_id_or_title(market: Market) -> None:
    rightmove = {x.property.property_id: x for x in market.search(DAY, "rightmove")}
    zoopla = {x.property.property_id: x for x in market.search(DAY, "zoopla")}
    both = rightmove.keys() & zoopla.keys()

    assert 0.2 < len(both) / len(rightmove) < 0.5
    pairs = [(rightmove[p], zoopla[p]) for p in sorted(both)]
    for on_rightmove, on_zoopla in pairs:
        assert on_rightmove.property == on_zoopla.property
        assert on_rightmove.source_id != on_zoopla.source_id
        assert abs(on_rightmove.price - on_zoopla.price) <= 2500
    assert sum(r.description != z.description for r, z in pairs) / len(pairs) > 0.9
    studios = {"Studio flat for sale", "Studio for sale"}
    titled = [(r.title, z.title) for r, z in pairs if r.property.property_type == "terraced"]
    assert all(" bedroom " in r and " bed " in z for r, z in titled if r not in studios)


def test_some_auction_lots_are_also_advertised_on_rightmove(market: Market) -> None:
    auction = market.auctions("allsop", DAY)[-1]
    lots = {x.property.property_id: x for x in market.lots(auction.auction_id, DAY)}
    on_rightmove = [
        x
        for x in market.search(DAY, "rightmove")
        if x.auction is not None and x.property.property_id in lots
    ]

    assert on_rightmove
    advert = on_rightmove[0]
    lot = lots[advert.property.property_id]
    assert advert.auction == lot.auction
    assert advert.price == lot.auction.guide_price_lower
    assert advert.price_qualifier == "guide"


def test_source_ids_look_like_each_sources_own(market: Market) -> None:
    rightmove = market.search(DAY, "rightmove")[0]
    zoopla = market.search(DAY, "zoopla")[0]
    allsop = market.search(DAY, "allsop")[0]
    auctionhouse = market.search(DAY, "auctionhouse")[0]

    assert re.fullmatch(r"[1-9]\d{8}", rightmove.source_id)
    assert re.fullmatch(r"[1-9]\d{7}", zoopla.source_id)
    assert re.fullmatch(
        r"[0-9a-f]{8}-[0-9a-f]{4}-1[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}", allsop.source_id
    )
    assert re.fullmatch(r"\d{6,7}", auctionhouse.source_id)
    for advert in (rightmove, zoopla, allsop, auctionhouse):
        assert market.listing(advert.source, advert.source_id, DAY) == advert
    assert market.listing("rightmove", "123456789", DAY) is None
    assert market.listing("zoopla", "not-a-number", DAY) is None


# -- search ---------------------------------------------------------------------------------------


def test_search_filters_return_exactly_the_matching_live_listings(market: Market) -> None:
    everything = list(market.search(DAY, "rightmove"))
    filtered = market.search(
        DAY,
        "rightmove",
        min_price=150_000,
        max_price=400_000,
        property_types=["terraced", "semi_detached"],
        min_bedrooms=3,
        max_bedrooms=4,
    )

    def matches(x: Listing) -> bool:
        return (
            150_000 <= x.price <= 400_000
            and x.property.property_type in ("terraced", "semi_detached")
            and 3 <= x.property.bedrooms <= 4
        )

    assert {x.source_id for x in filtered} == {x.source_id for x in everything if matches(x)}
    assert len(filtered) > 10
    assert all(x.status in ("available", "under_offer", "sold_stc") for x in everything)


def test_search_by_outcode_keeps_to_that_outcode(market: Market) -> None:
    found = market.search(DAY, "zoopla", outcode="rm6")

    assert len(found) > 0
    assert {x.property.location.outcode for x in found} == {"RM6"}
    assert all(x.property.postcode.startswith("RM6 ") for x in found)
    assert len(market.search(DAY, "zoopla", outcode="ZZ9")) == 0


@pytest.mark.parametrize(
    ("sort", "key", "descending"),
    [
        ("price_low", lambda x: x.price, False),
        ("price_high", lambda x: x.price, True),
        ("newest", lambda x: x.first_listed, True),
        ("oldest", lambda x: x.first_listed, False),
    ],
)
def test_search_results_come_in_the_requested_order(
    market: Market, sort: str, key: Callable[[Listing], object], descending: bool
) -> None:
    values = [key(x) for x in market.search(DAY, "rightmove", sort=sort)]

    assert values == sorted(values, reverse=descending)
    assert values[0] != values[-1]


def test_search_rejects_an_unknown_source_sort_or_property_type(market: Market) -> None:
    with pytest.raises(ValueError, match="onthemarket"):
        market.search(DAY, "onthemarket")
    with pytest.raises(ValueError, match="cheapest"):
        market.search(DAY, "rightmove", sort="cheapest")
    with pytest.raises(ValueError, match="castle"):
        market.search(DAY, "rightmove", property_types=["castle"])


def test_no_listing_is_live_before_the_history_starts(market: Market) -> None:
    assert len(market.search(dt.date(2024, 12, 1), "rightmove")) == 0
    assert len(market.search(dt.date(2025, 3, 1), "rightmove")) > 50


# -- what is for sale -----------------------------------------------------------------------------


def test_blocks_hmos_and_mixed_use_each_take_a_small_share_of_the_portals(market: Market) -> None:
    kinds = Counter(
        x.property.property_type
        for day in (DAY, dt.date(2027, 3, 1))
        for source in ("rightmove", "zoopla")
        for x in market.search(day, source)
        if x.auction is None
    )
    total = sum(kinds.values())

    assert 0.02 < kinds["block_of_flats"] / total < 0.08
    assert 0.015 < kinds["hmo"] / total < 0.07
    assert 0.01 < kinds["mixed_use"] / total < 0.05
    assert kinds["flat"] > kinds["block_of_flats"]


def test_blocks_hold_2_to_12_flats_and_hmos_4_to_9_rooms(market: Market) -> None:
    listings = list(market.search(DAY, "rightmove")) + list(market.search(DAY, "allsop"))
    blocks = [x for x in listings if x.property.property_type == "block_of_flats"]
    hmos = [x.property for x in listings if x.property.property_type == "hmo"]
    said_freehold = [x for x in blocks if re.search(r"\bfreehold (block|building)", x.description)]

    assert blocks and hmos and said_freehold
    assert all(2 <= x.property.units <= 12 for x in blocks)
    assert all(4 <= p.units <= 9 and p.bedrooms == p.units for p in hmos)
    assert {x.property.tenure for x in said_freehold} == {"freehold"}


_WORDS = {phrasing.number_word(n): n for n in range(1, 21)}
_UNIT_PHRASES = {
    "block of N self-contained flats": r"block of (\w+) self-contained flats",
    "N x B bed flats": r"((?:\d+ x (?:studio|\d bed)(?:, | and )?)+) flats",
    "arranged as N flats": r"arranged as (\w+) flats",
    "converted into N apartments": r"converted into (\d+) apartments",
    "N-unit block": r"(\w+)-unit (?:freehold|long leasehold) block",
    "unbroken block of N flats": r"unbroken (?:freehold|long leasehold) block of (\d+) flats",
    "comprising N self contained units": r"comprising (\w+) self contained units",
}


def _count(text: str) -> int:
    mix = re.findall(r"(\d+) x ", text)
    if mix:
        return sum(int(n) for n in mix)
    return int(text) if text.isdigit() else _WORDS[text.lower()]


def test_block_descriptions_state_the_unit_count_in_many_ways_and_always_truly(
    market: Market,
) -> None:
    seen: Counter[str] = Counter()
    for day in (DAY, dt.date(2025, 10, 1), dt.date(2027, 3, 1)):
        for source in ("rightmove", "zoopla", "allsop"):
            for listing in market.search(day, source, property_types=["block_of_flats"]):
                for name, pattern in _UNIT_PHRASES.items():
                    match = re.search(pattern, listing.description)
                    if match:
                        seen[name] += 1
                        assert _count(match.group(1)) == listing.property.units, name

    assert len(seen) >= 5


def test_leasehold_descriptions_give_the_years_left_and_flag_short_leases(market: Market) -> None:
    leases = [
        x
        for x in market.search(DAY, "rightmove", property_types=["flat"])
        if x.property.tenure == "leasehold"
    ]
    short = [x for x in leases if x.property.lease_years_remaining < 80]
    short_words = ("short lease", "lease extension", "lease needs extending")

    assert leases and short
    assert all(
        str(x.property.lease_years_remaining) in x.description
        or re.search("999[- ]year lease", x.description)
        or "125 year lease from" in x.description
        for x in leases
    )
    assert any(any(w in x.description.lower() for w in short_words) for x in short)


def test_red_flags_appear_in_the_text_only_when_the_market_set_them(market: Market) -> None:
    listings = [x for d in (DAY, dt.date(2027, 3, 1)) for x in market.search(d, "rightmove")]
    phrases = {
        "cash_buyers_only": (
            "cash buyers only",
            "cash purchasers only",
            "unmortgageable",
            "not suitable for mortgage",
        ),
        "probate": ("probate", "executor", "deceased estate"),
        "japanese_knotweed": ("knotweed",),
        "sitting_tenant": ("sitting tenant", "regulated tenancy", "protected tenant"),
    }
    flagged: Counter[str] = Counter()
    for listing in listings:
        text = listing.description.lower()
        signals = market.signals(listing)
        for signal, words in phrases.items():
            said = any(word in text for word in words)
            assert said == (signal in signals), (signal, listing.source_id)
            flagged[signal] += said

    assert flagged["cash_buyers_only"] and flagged["probate"]


def test_cash_buyers_only_goes_with_a_reason_lenders_refuse(market: Market) -> None:
    cash_only = [
        x.property
        for d in (DAY, dt.date(2027, 3, 1))
        for x in market.search(d, "rightmove")
        if "cash_buyers_only" in market.signals(x)
    ]
    problems = [
        p.condition == "derelict"
        or (p.lease_years_remaining or 999) < 60
        or p.property_type in ("terraced", "semi_detached", "detached", "bungalow")
        for p in cash_only
    ]

    assert cash_only
    assert sum(problems) / len(problems) > 0.6


def test_asking_prices_follow_regional_price_levels(market: Market) -> None:
    per_sqm: dict[str, list[float]] = {}
    for x in market.search(DAY, "rightmove", property_types=["terraced", "semi_detached"]):
        region = x.property.location.region
        per_sqm.setdefault(region, []).append(x.price / x.property.floor_area_sqm)
    median = {region: statistics.median(values) for region, values in per_sqm.items()}

    assert median["London"] > 1.5 * median["North East"]
    assert median["South East"] > median["North West"]


# -- auctions -------------------------------------------------------------------------------------


def test_allsop_sells_every_four_weeks_with_60_to_150_lots(market: Market) -> None:
    auctions = market.auctions("allsop", DAY)
    gaps = {
        (b.auction_date - a.auction_date).days for a, b in zip(auctions, auctions[1:], strict=False)
    }

    assert gaps == {28}
    for auction in auctions:
        assert auction.reference == f"R{auction.auction_date:%y%m%d}"
    held = [a for a in auctions if a.auction_date <= DAY]
    lots = market.lots(held[-1].auction_id, DAY)
    assert 60 <= len(lots) <= 150
    assert [x.auction.lot_number for x in lots] == list(range(1, len(lots) + 1))
    statuses = Counter(x.auction.lot_status for x in lots)
    assert statuses["Sold"] > statuses["Unsold"] > 0


def test_an_upcoming_catalogue_fills_up_as_the_sale_approaches(market: Market) -> None:
    upcoming = next(a for a in market.auctions("allsop", DAY) if a.auction_date > DAY)
    early = market.lots(upcoming.auction_id, upcoming.auction_date - dt.timedelta(30))
    late = market.lots(upcoming.auction_id, upcoming.auction_date - dt.timedelta(7))

    assert len(early) < len(late)
    assert {x.auction.lot_status for x in late} == {"Available"}


def test_auction_house_branches_sell_lots_from_their_own_region(market: Market) -> None:
    auctions = market.auctions("auctionhouse", DAY)
    north_west = next(a for a in auctions if a.branch == "northwest")
    lots = market.lots(north_west.auction_id, DAY)

    assert len({a.branch for a in auctions}) >= 5
    assert lots
    assert {x.property.location.region for x in lots} == {"North West"}
    assert market.listing("auctionhouse", lots[0].source_id, DAY) == lots[0]


# -- Price Paid -----------------------------------------------------------------------------------


def test_the_price_paid_file_holds_only_rows_lodged_by_its_date(market: Market) -> None:
    until = dt.date(2026, 1, 31)
    sales = market.sales(until)
    sample = [sales[i] for i in range(0, len(sales), 97)]

    assert len(sales) > 1000
    assert all(s.lodged_on <= until and s.record_status == "A" for s in sample)
    assert all(14 <= (s.lodged_on - s.transfer_date).days <= 56 for s in sample)
    assert len(market.sales(dt.date(2027, 1, 31))) > len(sales)


def test_sold_prices_rise_with_the_house_price_index(market: Market) -> None:
    by_year: dict[int, list[float]] = {}
    for sale in market.sales(dt.date(2025, 6, 1))[::3]:
        by_year.setdefault(sale.transfer_date.year, []).append(
            sale.price / sale.property.market_value
        )

    ratio = {year: statistics.median(values) for year, values in by_year.items()}
    assert ratio[1997] < ratio[2005] < ratio[2016] < ratio[2024]
    assert 0.85 < ratio[2024] < 1.05


def _monthly_additions(market: Market, around: dt.date) -> set[str]:
    """Transaction ids first lodged in the month files covering two months after `around`."""
    months = {(d.year, d.month) for d in (around + dt.timedelta(k) for k in range(0, 70, 10))}
    return {
        s.transaction_id
        for year, month in months
        for s in market.sales_changes(year, month)
        if s.record_status == "A"
    }


def test_a_monthly_change_file_has_additions_corrections_and_deletions(market: Market) -> None:
    changes = market.sales_changes(2026, 3)
    by_status = Counter(s.record_status for s in changes)
    end_of_month = dt.date(2026, 3, 31)

    assert by_status["A"] > 20 and by_status["C"] > 0 and by_status["D"] > 0
    assert all(dt.date(2026, 3, 1) <= s.lodged_on <= end_of_month for s in changes)
    complete = {s.transaction_id: s.price for s in market.sales(end_of_month)}
    for change in changes:
        if change.record_status == "C":
            assert complete[change.transaction_id] == change.price
        if change.record_status == "D":
            assert change.transaction_id not in complete
            assert change.transaction_id in _monthly_additions(market, change.transfer_date)


def test_transaction_ids_look_like_land_registry_guids(market: Market) -> None:
    sale = market.sales(DAY)[0]

    assert re.fullmatch(
        r"\{[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}\}", sale.transaction_id
    )


# -- EPC ------------------------------------------------------------------------------------------


def test_the_latest_epc_before_listing_matches_the_property(market: Market) -> None:
    checked = 0
    for listing in market.search(DAY, "rightmove")[:120]:
        prop = listing.property
        if prop.property_type in ("block_of_flats", "mixed_use"):
            continue
        own = [
            c
            for c in market.epc_certificates(postcode=prop.postcode, lodged_to=DAY)
            if c.property == prop
        ]
        if not own:
            continue
        latest = own[-1]
        assert latest.current_band == prop.epc_rating
        assert latest.floor_area_sqm == prop.floor_area_sqm
        assert latest.lodged_on <= listing.first_listed
        checked += 1

    assert checked > 60


def test_flats_in_a_block_each_carry_their_own_certificate_and_uprn(market: Market) -> None:
    block = next(
        x.property
        for x in market.search(DAY, "rightmove", property_types=["block_of_flats"])
        if x.property.units >= 3
    )
    flats = [
        c
        for c in market.epc_certificates(postcode=block.postcode)
        if c.property.paon == block.paon and c.property.street == block.street
    ]

    assert len({c.property.saon for c in flats}) >= block.units * 0.6
    assert all(c.property.property_type == "flat" for c in flats)
    latest = {c.property.saon: c for c in flats}
    assert all(c.current_band == c.property.epc_rating for c in latest.values())
    assert len({c.uprn for c in flats}) == len({c.property.saon for c in flats})


def test_a_certificate_is_found_again_by_its_number_and_its_uprn(market: Market) -> None:
    listing = market.search(DAY, "zoopla")[3]
    certificate = market.epc_certificates(postcode=listing.property.postcode)[0]

    assert market.epc_certificate(certificate.certificate_number) == certificate
    assert certificate in market.epc_certificates(uprn=certificate.uprn)
    assert re.fullmatch(r"\d{4}(-\d{4}){4}", certificate.certificate_number)
    assert market.epc_certificate("0000-0000-0000-0000-0000") is None


def test_address_search_finds_the_certificates_of_that_address(market: Market) -> None:
    prop = next(
        x.property
        for x in market.search(DAY, "rightmove", property_types=["terraced"])
        if market.epc_certificates(postcode=x.property.postcode)
    )
    found = market.epc_certificates(address=f"{prop.paon} {prop.street}, {prop.location.town}")

    assert found
    assert {c.property.paon for c in found} == {prop.paon}


def test_epc_construction_age_band_and_form_match_the_house(market: Market) -> None:
    certificates = [
        c
        for x in market.search(DAY, "rightmove", property_types=["terraced"])
        for c in market.epc_certificates(postcode=x.property.postcode)
        if c.property == x.property
    ]
    victorian = [c for c in certificates if c.property.year_built < 1900]

    assert victorian
    assert {c.construction_age_band for c in victorian} == {"England and Wales: before 1900"}
    assert {c.built_form for c in certificates} <= {"Mid-Terrace", "End-Terrace"}
    assert {c.property_type_label for c in certificates} == {"House"}


# -- bulk output stays put -----------------------------------------------------------------------


def _digest(records: Iterable[object]) -> str:
    """A short fingerprint of every field of every record, in order."""
    text = "\n".join(repr(record) for record in records)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def test_bulk_sales_and_certificates_keep_their_pinned_values() -> None:
    small = Market(MarketConfig(listings=300))
    prop = small.search(DAY, "rightmove")[0].property

    digests = {
        "sales": _digest(small.sales(dt.date(2028, 6, 30))),
        "sales_changes": _digest(
            sale for month in range(1, 13) for sale in small.sales_changes(2026, month)
        ),
        "certificates": _digest(small.epc_certificates()),
        "by_postcode": _digest(small.epc_certificates(postcode=prop.postcode)),
        "by_address": _digest(small.epc_certificates(address=f"{prop.paon} {prop.street}")),
    }

    # Taken before bulk reads were vectorised: a faster path must give the same records.
    assert digests == {
        "sales": "ea4f07b0e60cd9bc",
        "sales_changes": "e0d7bc45112cfce3",
        "certificates": "c2102a38c7eb9124",
        "by_postcode": "cf0be3eb76f3ea94",
        "by_address": "aca439a2ed88acd4",
    }


# -- geography and configuration ------------------------------------------------------------------


def test_the_market_covers_every_english_and_welsh_region() -> None:
    locations = [place.location for place in PLACES]

    assert 60 <= len(locations) <= 130
    assert {x.region for x in locations} == set(REGIONS)
    assert len({x.rightmove_id for x in locations}) == len(locations)
    assert all(re.fullmatch(r"OUTCODE\^\d+", x.rightmove_id) for x in locations)
    assert all(re.fullmatch(r"[a-z-]+/[a-z]{1,2}\d[a-z\d]?", x.zoopla_slug) for x in locations)


def test_locations_are_found_by_each_portals_identifier(market: Market) -> None:
    romford = market.location(outcode="RM6")

    assert romford is not None and romford.zoopla_slug == "romford/rm6"
    assert market.location(rightmove_id=romford.rightmove_id) == romford
    assert market.location(zoopla_slug="romford/rm6") == romford
    assert market.location(outcode="XX1") is None
    assert romford in market.locations()


def test_a_config_names_the_setting_it_rejects() -> None:
    with pytest.raises(ValueError, match="listings"):
        MarketConfig(listings=0)
    with pytest.raises(ValueError, match="history_end"):
        MarketConfig(history_start=dt.date(2026, 1, 1), history_end=dt.date(2025, 1, 1))
    with pytest.raises(ValueError, match="block_share"):
        MarketConfig(block_share=1.5)


@pytest.mark.slow
def test_a_million_listing_market_builds_and_searches_quickly() -> None:
    started = time.perf_counter()
    market = Market(MarketConfig(listings=1_000_000))
    built = time.perf_counter() - started

    started = time.perf_counter()
    found = market.search(DAY, "rightmove", outcode="M14", sort="price_low")
    searched = time.perf_counter() - started

    assert built < 60
    assert searched < 0.5
    assert len(found) > 200
    assert len(market.search(DAY, "rightmove")) > 50_000
    assert found[0].price <= found[len(found) - 1].price
