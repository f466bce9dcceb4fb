"""Address normalisation and certificate matching, without the register or Dagster."""

from __future__ import annotations

import datetime as dt
import json
import random
from pathlib import Path

import duckdb
import pytest

from property_pipeline.enrichment.epc import certificate_details
from property_pipeline.enrichment.epc_match import (
    ADDRESS_KEY_MACRO,
    Candidate,
    address_key,
    canonical_address,
    match_certificate,
    normalise_postcode,
)
from property_pipeline.sandbox.epc import address_lines
from property_pipeline_tests.sandbox.support import real_market

SAMPLES = "open-data/epc_new_api_official_samples"


@pytest.mark.parametrize(
    ("address", "canonical"),
    [
        ("Flat 2, 10 High St, Leeds LS6 1AA", "flat 2 10 high street"),
        ("2 10 HIGH STREET", "flat 2 10 high street"),
        ("10 High Street, Flat 2", "flat 2 10 high street"),
        ("Apartment 4B, The Maltings, Park Road", "flat 4b maltings park road"),
        ("42, Moria Mines Lane", "42 moria mines lane"),
        ("10-12 St John's Rd, St Albans", "10-12 saint johns road"),
        ("10 - 12 High St", "10-12 high street"),
        (
            "Flat 3, Foundry House Bexley Gardens, Chadwell Heath",
            "flat 3 foundry house bexley gardens",
        ),
        ("Rose Cottage, Church Lane & Mill Road", "rose cottage church lane"),
        ("5 Pinfold, Chadwell Heath, Romford", "5 pinfold"),
        ("High Street, Leeds LS6", "high street"),
        ("", ""),
    ],
)
def test_canonical_address_keeps_flat_number_and_street_in_one_spelling(
    address: str, canonical: str
) -> None:
    assert canonical_address(address) == canonical


def test_address_key_joins_postcode_and_canonical_address_and_needs_both() -> None:
    assert address_key("Flat 2, 10 High St", "ls61aa") == "LS6 1AA|flat 2 10 high street"
    assert address_key("Flat 2, 10 High St", "LS6") is None
    assert address_key("Flat 2, 10 High St", None) is None
    assert address_key(", LS6 1AA", "LS6 1AA") is None


def test_postcode_normalisation_is_the_registers() -> None:
    assert normalise_postcode(" sw1a2aa ") == "SW1A 2AA"
    assert normalise_postcode("RM6 4FD") == "RM6 4FD"
    assert normalise_postcode("LS6") is None
    assert normalise_postcode(None) is None


def sandbox_addresses() -> list[tuple[str, str]]:
    """Every address form the sandbox market's certificates and auction lots print."""
    market = real_market()
    certificates = market.epc_certificates(
        lodged_from=dt.date(2025, 1, 1), lodged_to=dt.date(2025, 6, 30)
    )
    pairs = []
    for cert in list(certificates)[:400]:
        prop = cert.property
        pairs.append((", ".join(address_lines(prop)), prop.postcode))
        parts = [prop.saon, f"{prop.paon} {prop.street}", prop.locality, prop.location.town]
        pairs.append((", ".join(p for p in [*parts, prop.postcode] if p), prop.postcode))
    return pairs


HAND_WRITTEN = [
    ("Flat 2, 10 High St, Leeds LS6 1AA", "LS6 1AA"),
    ("2 10 HIGH STREET", "ls6 1aa"),
    ("10 High Street, Flat 2", "LS6 1AA"),
    ("FLAT B, 7 ST. MARY'S ROAD, SOUTHAMPTON", "SO14 0BH"),
    ("Basement Flat, 12 Royal Crescent", "BA1 2LR"),
    ("Unit 4, 1-3 Market Place", "HG1 1AA"),
    ("The Old Rectory", "YO1 1AA"),
    ("Café Nero, 3 Rue", "LS6 1AA"),
    ("1-2-3 High St", "LS6 1AA"),
    ("St Albans", "AL1 1AA"),
    ("  ,  ,  ", "AL1 1AA"),
    (None, "AL1 1AA"),
    ("12 Acacia Avenue", None),
    ("42 Park Hill Road, Croydon, CR0 5NS", "CR0 5NS"),
]


def jumbled_addresses(count: int) -> list[tuple[str, str | None]]:
    """Seeded nonsense built from the pieces the normalisation treats specially."""
    pieces = [
        *("Flat", "Apt", "Unit", "2", "10a", "A", "-", " - ", ",", "St", "st.", "The", "&"),
        *("'", "’", "_", "12-14", "High", "Street", "Rd", "Park", "Green", "Lane", "Gdns"),
        *("Rose", "Cottage", "Leeds", "LS6 1AA", "ls61aa", "RM6", "é", "  ", "1st", "x"),
    ]
    rng = random.Random(7)
    pairs = []
    for _ in range(count):
        words = [rng.choice(pieces) + rng.choice([" ", "", ", "]) for _ in range(rng.randint(0, 9))]
        pairs.append(("".join(words), rng.choice(["LS6 1AA", "rm64fd", None, "X"])))
    return pairs


def test_address_key_macro_agrees_with_the_python_function_on_many_addresses() -> None:
    pairs = sandbox_addresses() + HAND_WRITTEN + jumbled_addresses(3000)
    conn = duckdb.connect()
    conn.execute(ADDRESS_KEY_MACRO)
    conn.execute("create table addresses (address varchar, postcode varchar)")
    conn.executemany("insert into addresses values (?, ?)", pairs)

    from_sql = conn.execute("select address_key(address, postcode) from addresses").fetchall()

    assert len(pairs) > 3800
    assert [row[0] for row in from_sql] == [address_key(a, p) for a, p in pairs]


def test_certificate_and_auction_spellings_of_one_sandbox_home_share_a_key() -> None:
    pairs = sandbox_addresses()

    certificate_keys = [address_key(a, p) for a, p in pairs[0::2]]
    auction_keys = [address_key(a, p) for a, p in pairs[1::2]]

    assert certificate_keys == auction_keys


# --- matching ----------------------------------------------------------------------------------


def cert(number: int, address: str, lodged: str, uprn: int | None = None) -> Candidate:
    return Candidate(
        f"0000-0000-0000-0000-{number:04d}", uprn, address, dt.date.fromisoformat(lodged)
    )


POSTCODE = [
    cert(1, "21 Bexley Gardens", "2016-05-01", uprn=1001),
    cert(2, "21, Bexley Gardens", "2023-02-10", uprn=1001),
    cert(3, "Flat 2, 22 Bexley Gardens", "2021-07-01", uprn=1002),
    cert(4, "Flat 1, 22 Bexley Gardens", "2024-01-05", uprn=1003),
    cert(5, "23 Bexley Gardens", "2019-03-03", uprn=1004),
    cert(6, "Rose Cottage, Bexley Gardens", "2018-09-09", uprn=1005),
]


def test_uprn_match_takes_the_latest_certificate_of_that_uprn_with_full_confidence() -> None:
    match = match_certificate("somewhere else entirely", 1001, "terraced", POSTCODE)

    assert (match.certificate_number, match.method, match.confidence) == (
        "0000-0000-0000-0000-0002",
        "uprn",
        1.0,
    )


def test_address_match_takes_the_latest_certificate_of_the_dwelling() -> None:
    match = match_certificate(
        "21 Bexley Gdns, Chadwell Heath, Romford RM6 4FD", None, None, POSTCODE
    )

    assert match.certificate_number == "0000-0000-0000-0000-0002"
    assert match.method == "address"
    assert match.confidence == pytest.approx(0.95)


def test_flat_numbers_must_agree_and_a_flat_never_matches_the_house() -> None:
    flat_two = match_certificate("2 22 Bexley Gardens", None, "flat", POSTCODE)
    flat_nine = match_certificate("Flat 9, 22 Bexley Gardens", None, "flat", POSTCODE)
    whole_house = match_certificate("Flat 5, 21 Bexley Gardens", None, "flat", POSTCODE)

    assert flat_two.certificate_number == "0000-0000-0000-0000-0003"
    assert (flat_nine.method, whole_house.method) == ("none", "none")


def test_a_house_number_on_another_street_of_the_postcode_is_below_the_threshold() -> None:
    match = match_certificate("21 Church Lane", None, None, POSTCODE)

    assert match.method == "none"
    assert match.certificate_number is None


def test_a_named_house_matches_by_its_name() -> None:
    match = match_certificate("Rose Cottage, Bexley Gardens, Romford", None, None, POSTCODE)

    assert (match.certificate_number, match.method) == ("0000-0000-0000-0000-0006", "address")


def test_a_street_only_address_in_a_postcode_of_many_homes_is_not_guessed() -> None:
    match = match_certificate("Bexley Gardens, Chadwell Heath, Romford, RM6", None, None, POSTCODE)

    assert match.method == "none"


def test_a_street_only_address_takes_a_postcodes_only_home_with_low_confidence() -> None:
    lonely = [
        cert(7, "1 Lonely Lane", "2015-01-01", uprn=2001),
        Candidate("0000-0000-0000-0000-0008", 2001, "1 Lonely Lane", dt.date(2022, 1, 1), "House"),
    ]

    house = match_certificate("Lonely Lane, Leeds", None, "detached", lonely)
    flat = match_certificate("Lonely Lane, Leeds", None, "flat", lonely)
    other_street = match_certificate("Busy Road, Leeds", None, "detached", lonely)

    assert (house.certificate_number, house.method, house.confidence) == (
        "0000-0000-0000-0000-0008",
        "postcode_only",
        0.4,
    )
    assert (flat.method, other_street.method) == ("none", "none")


def test_official_sample_addresses_match_their_own_certificates(shared_fixtures: Path) -> None:
    documents = [
        json.loads((shared_fixtures / SAMPLES / name).read_text())
        for name in (
            "certificate_RdSAP-Schema-17.0_epc.json",
            "certificate_SAP-Schema-19.2.0_epc.json",
        )
    ]
    candidates = [
        Candidate(
            f"sample-{index}",
            None,
            ", ".join(d[f"address_line_{n}"] for n in range(1, 5) if d.get(f"address_line_{n}")),
            dt.date.fromisoformat(d["registration_date"]),
        )
        for index, d in enumerate(documents)
    ]

    moria = match_certificate("42 Moria Mines Ln, Posttown PT5 4RZ", None, None, candidates)
    some = match_certificate("1 Some St, Whitbury", None, None, candidates)

    assert (moria.certificate_number, some.certificate_number) == ("sample-0", "sample-1")
    assert address_key(candidates[1].address, "A0 0AA") == "A0 0AA|1 some street"


# --- certificate fields ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sample", "expected"),
    [
        (
            "certificate_RdSAP-Schema-21.0.1_epc.json",
            {
                "epc_efficiency": 50,
                "floor_area_sqm": 55.0,
                "property_type": "House",
                "built_form": "Semi-Detached",
                "construction_age_band": "England and Wales: 2023 onwards",
                "habitable_rooms": 5,
            },
        ),
        (
            "certificate_RdSAP-Schema-17.0_epc.json",
            {
                "epc_efficiency": 66,
                "floor_area_sqm": 55.0,
                "property_type": "Flat",
                "built_form": "Semi-Detached",
                "construction_age_band": "England and Wales: 1950-1966",
                "habitable_rooms": 3,
            },
        ),
        (
            "certificate_SAP-Schema-19.2.0_epc.json",
            {
                "epc_efficiency": 72,
                "floor_area_sqm": 165.0,
                "property_type": "House",
                "built_form": "Mid-Terrace",
                "construction_age_band": "England and Wales: before 1900",
                "habitable_rooms": None,
            },
        ),
    ],
)
def test_certificate_details_decode_the_official_samples(
    shared_fixtures: Path, sample: str, expected: dict[str, object]
) -> None:
    document = json.loads((shared_fixtures / SAMPLES / sample).read_text())

    assert certificate_details(document) == expected
