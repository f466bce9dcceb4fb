"""Property matching: one key for one property across portals, auction lots and relists."""

from __future__ import annotations

import datetime as dt
from typing import Any

import duckdb
import pytest

from property_pipeline_tests.ingest import empty_warehouse, listing, query, run_ingest, scrape

DAY = dt.date(2026, 11, 2)
# About 5 m and 550 m north of the listings' default position.
NEARBY = 53.8135 + 0.00005
FAR_AWAY = 53.8135 + 0.005


def day(offset: int) -> dt.date:
    return DAY + dt.timedelta(days=offset)


@pytest.fixture
def conn() -> duckdb.DuckDBPyConnection:
    return empty_warehouse()


def links(conn: duckdb.DuckDBPyConnection, on: dt.date = DAY) -> dict[str, tuple]:
    rows = query(
        conn,
        """
        select listing_key, property_key, method, confidence
        from property_links
        where partition_date = ?
        """,
        on,
    )
    return {
        key: (property_key, method, confidence) for key, property_key, method, confidence in rows
    }


def keys(conn: duckdb.DuckDBPyConnection, on: dt.date = DAY) -> dict[str, str]:
    return {key: link[0] for key, link in links(conn, on).items()}


def flat(source: str, source_id: str, address: str, **fields: Any) -> dict[str, Any]:
    return listing(
        source,
        source_id,
        address=address,
        property_type="flat",
        bedrooms=2,
        price=180_000,
        **fields,
    )


def test_one_property_on_two_portals_shares_a_key_with_its_confidence_and_rule(conn) -> None:
    scrape(
        conn,
        DAY,
        listing("zoopla", "70", address="Brudenell Grove, Leeds LS6", latitude=NEARBY),
        listing("rightmove", "15", address="Brudenell Grove, Headingley, Leeds, LS6"),
    )

    run_ingest(conn, DAY)

    assert links(conn) == {
        "rightmove:15": ("rightmove:15", "postcode_and_street", 0.99),
        "zoopla:70": ("rightmove:15", "postcode_and_street", 0.99),
    }
    assert query(
        conn,
        "select listing_key, sources_seen, sources, listings_linked, match_confidence"
        " from deduped_listings order by 1",
    ) == [
        ("rightmove:15", 2, ["rightmove", "zoopla"], 2, 0.99),
        ("zoopla:70", 2, ["rightmove", "zoopla"], 2, 0.99),
    ]


@pytest.mark.parametrize(
    ("left", "right"),
    [
        pytest.param(
            flat("allsop", "a-1", "Flat 3, 12 St. John's Rd, Leeds, LS6 3HN", latitude=None),
            flat("auctionhouse", "9", "Apartment 3, 12 Saint Johns Road, Leeds, LS6 3HN"),
            id="flat-apartment-st-saint-rd-road",
        ),
        pytest.param(
            listing("rightmove", "15", address="14 HIGH ST., LEEDS, LS6"),
            listing("zoopla", "70", address="14 High Street, Leeds LS6"),
            id="case-punctuation-st-street",
        ),
        pytest.param(
            flat("allsop", "a-1", "Flat 2, Kestrel Court, Grange Lane, Leeds, LS6 3HN"),
            flat("rightmove", "15", "Grange Lane, Headingley, Leeds, LS6"),
            id="building-name-before-the-street",
        ),
        pytest.param(
            flat("allsop", "a-1", "Flat 1, Foundry House Osborne Gardens, Leeds, LS6 3HN"),
            flat("zoopla", "70", "Osborne Gdns, Leeds LS6"),
            id="building-name-run-into-the-street",
        ),
    ],
)
def test_address_spelling_variants_of_one_property_match(
    conn, left: dict[str, Any], right: dict[str, Any]
) -> None:
    scrape(conn, DAY, left, right)

    run_ingest(conn, DAY)

    assert len(set(keys(conn).values())) == 1, links(conn)


@pytest.mark.parametrize(
    ("left", "right"),
    [
        pytest.param(
            listing("allsop", "a-1", address="12 Brudenell Grove, Leeds, LS6 3HN"),
            listing("auctionhouse", "9", address="14 Brudenell Grove, Leeds, LS6 3HN"),
            id="different-house-numbers",
        ),
        pytest.param(
            flat("allsop", "a-1", "Flat 1, 5 Brudenell Grove, Leeds, LS6 3HN"),
            flat("auctionhouse", "9", "Flat 2, 5 Brudenell Grove, Leeds, LS6 3HN"),
            id="different-flats-in-one-building",
        ),
        pytest.param(
            listing("rightmove", "15"),
            listing("zoopla", "70", bedrooms=4),
            id="different-bedrooms",
        ),
        pytest.param(
            listing("rightmove", "15"),
            listing("zoopla", "70", property_type="semi_detached"),
            id="different-property-types",
        ),
        pytest.param(
            listing("rightmove", "15"),
            listing("zoopla", "70", price=200_000),
            id="prices-21-percent-apart",
        ),
        pytest.param(
            listing("rightmove", "15"),
            listing("zoopla", "70", latitude=FAR_AWAY),
            id="550-metres-apart",
        ),
        pytest.param(
            listing("rightmove", "15"),
            listing("zoopla", "70", postcode="LS6 3HP"),
            id="different-postcodes",
        ),
        pytest.param(
            listing("rightmove", "15"),
            listing("rightmove", "16"),
            id="two-adverts-on-one-portal-at-once",
        ),
    ],
)
def test_near_misses_stay_separate_properties(
    conn, left: dict[str, Any], right: dict[str, Any]
) -> None:
    scrape(conn, DAY, left, right)

    run_ingest(conn, DAY)

    found = links(conn)
    assert len(set(keys(conn).values())) == 2, found
    assert {link[1] for link in found.values()} == {"only_listing"}


def test_a_house_one_portal_calls_an_hmo_and_the_other_a_terrace_matches(conn) -> None:
    scrape(conn, DAY, listing("rightmove", "15", property_type="hmo"), listing("zoopla", "70"))

    run_ingest(conn, DAY)

    assert set(keys(conn).values()) == {"rightmove:15"}


def test_without_postcodes_listings_match_on_street_and_map_position(conn) -> None:
    scrape(
        conn,
        DAY,
        listing("rightmove", "15", postcode=None, address="Brudenell Grove, Leeds, LS6"),
        listing(
            "zoopla", "70", postcode=None, address="Brudenell Grove, Leeds LS6", latitude=NEARBY
        ),
    )

    run_ingest(conn, DAY)

    assert links(conn) == {
        "rightmove:15": ("rightmove:15", "position_and_street", 0.75),
        "zoopla:70": ("rightmove:15", "position_and_street", 0.75),
    }


def test_an_auction_lot_and_two_portals_chain_into_one_property(conn) -> None:
    lot = listing("auctionhouse", "9", address="7 Brudenell Grove, Leeds, LS6 3HN", latitude=None)
    portal = listing("rightmove", "15")
    no_postcode = listing("zoopla", "70", postcode=None, latitude=NEARBY)
    scrape(conn, DAY, lot, portal, no_postcode)

    run_ingest(conn, DAY)

    assert set(keys(conn).values()) == {"auctionhouse:9"}
    assert query(conn, "select distinct sources_seen from deduped_listings") == [(3,)]


def test_a_lot_matching_two_adverts_that_rule_each_other_out_keeps_its_strongest(conn) -> None:
    lot = listing("auctionhouse", "9", address="7 Brudenell Grove, Leeds, LS6 3HN", latitude=None)
    same_price = listing("rightmove", "15")
    dearer_far_away = listing("rightmove", "16", price=170_000, latitude=FAR_AWAY)
    scrape(conn, DAY, lot, same_price, dearer_far_away)

    run_ingest(conn, DAY)

    assert keys(conn) == {
        "auctionhouse:9": "auctionhouse:9",
        "rightmove:15": "auctionhouse:9",
        "rightmove:16": "rightmove:16",
    }


def test_the_key_stays_with_the_first_seen_listing_when_another_joins(conn) -> None:
    scrape(conn, DAY, listing("zoopla", "70"))
    run_ingest(conn, DAY)
    scrape(conn, day(1), listing("zoopla", "70"), listing("rightmove", "15"))
    run_ingest(conn, day(1))

    assert keys(conn, DAY) == {"zoopla:70": "zoopla:70"}
    assert keys(conn, day(1)) == {"zoopla:70": "zoopla:70", "rightmove:15": "zoopla:70"}


def test_days_on_market_and_price_cuts_run_across_a_relist_and_two_portals(conn) -> None:
    rightmove_first = listing("rightmove", "15", first_listed_at=day(-20), price=300_000)
    zoopla = listing("zoopla", "70", first_listed_at=day(-18), price=300_000)
    days = [
        [rightmove_first, zoopla],
        # Cut on both portals the same day: one price cut.
        [{**rightmove_first, "price": 285_000}, {**zoopla, "price": 285_000}],
        # Off Rightmove (withdrawn after one missed scrape) ...
        [{**zoopla, "price": 285_000}],
        # ... and back under a new id, with a new listing date and a lower price.
        [
            {**zoopla, "price": 285_000},
            listing("rightmove", "17", first_listed_at=day(3), price=275_000),
        ],
    ]
    for offset, listings in enumerate(days):
        scrape(conn, day(offset), *listings)
        run_ingest(conn, day(offset), withdrawn_after_days=1)

    assert query(
        conn,
        """
        select listing_key, listing_status, property_key, property_first_listed_at,
            days_on_market, price_cuts, sources_seen, listings_linked
        from deduped_listings
        where partition_date = ?
        order by listing_key
        """,
        day(3),
    ) == [
        ("rightmove:17", "new", "rightmove:15", day(-20), 23, 2, 2, 3),
        ("zoopla:70", "active", "rightmove:15", day(-20), 23, 2, 2, 3),
    ]
    assert query(
        conn,
        "select listing_key, last_seen_on from property_links where partition_date = ? order by 1",
        day(3),
    ) == [("rightmove:15", day(1)), ("rightmove:17", day(3)), ("zoopla:70", day(3))]
