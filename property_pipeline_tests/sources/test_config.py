"""The targets file: what a valid one gives, and how each kind of mistake is reported."""

from __future__ import annotations

from pathlib import Path

import pytest

from property_pipeline.sandbox.geography import PLACES
from property_pipeline.sources.config import (
    REAL_BASE_URLS,
    ConfigError,
    default_config_path,
    load_config,
    parse_config,
)

GOOD = """
locations:
  - name: Chadwell Heath
    rightmove_id: OUTCODE^3515
    zoopla_slug: romford/rm6
"""


def error_for(text: str, name: str = "targets.yaml") -> str:
    """The message a bad targets file is rejected with."""
    with pytest.raises(ConfigError) as caught:
        parse_config(text, name)
    return str(caught.value)


def test_shipped_targets_name_locations_the_sandbox_market_has() -> None:
    config = load_config()

    sandbox_ids = {place.location.rightmove_id for place in PLACES}
    sandbox_slugs = {place.location.zoopla_slug for place in PLACES}
    assert config.enabled_sources() == ("rightmove", "zoopla", "allsop", "auctionhouse")
    assert [location.rightmove_id for location in config.locations] == [
        "OUTCODE^3515",
        "OUTCODE^529",
        "OUTCODE^2898",
        "OUTCODE^1782",
        "OUTCODE^2352",
    ]
    assert {location.rightmove_id for location in config.locations} <= sandbox_ids
    assert {location.zoopla_slug for location in config.locations} <= sandbox_slugs
    assert config.sources.auctionhouse.regions == ["london", "southeast"]
    assert config.search_bands() == [(50_000, 750_000)]


def test_defaults_are_the_real_sites_at_one_request_a_second() -> None:
    config = parse_config(GOOD)

    assert config.sandbox is False
    assert {name: config.sources.settings(name).base_url for name in REAL_BASE_URLS} == (
        REAL_BASE_URLS
    )
    assert config.sources.rightmove.max_pages == 42
    assert config.sources.zoopla.max_pages == 40
    assert config.sources.allsop.max_pages is None
    policy = config.fetch.policy()
    assert policy.requests_per_second == 1.0
    assert policy.interval_for("www.zoopla.co.uk") == 1.0
    assert policy.attempts == 5
    assert "property-pipeline" in policy.user_agent and "https://" in policy.user_agent
    assert config.search_bands() == [(0, None)]


def test_a_source_switch_can_be_a_bare_boolean() -> None:
    config = parse_config(GOOD + "sources:\n  zoopla: false\n  allsop: off\n")

    assert config.enabled_sources() == ("rightmove", "auctionhouse")
    assert config.sources.zoopla.base_url == "https://www.zoopla.co.uk"


def test_price_bands_are_taken_as_given() -> None:
    config = parse_config(GOOD + "price_bands: [[0, 200000], [200001, null]]\n")

    assert config.search_bands() == [(0, 200_000), (200_001, None)]


def test_for_sandbox_points_every_source_under_the_sandbox_root() -> None:
    config = parse_config(GOOD).for_sandbox("http://127.0.0.1:8765/")

    assert config.sandbox is True
    assert config.sources.rightmove.base_url == "http://127.0.0.1:8765/rightmove"
    assert config.sources.auctionhouse.base_url == "http://127.0.0.1:8765/auctionhouse"
    assert config.locations == parse_config(GOOD).locations


def test_host_rate_overrides_set_that_hosts_interval() -> None:
    config = parse_config(GOOD + "fetch:\n  host_rates: {www.zoopla.co.uk: 0.25}\n")

    policy = config.fetch.policy()
    assert policy.interval_for("www.zoopla.co.uk") == 4.0
    assert policy.interval_for("www.rightmove.co.uk") == 1.0


BAD_INPUTS = [
    pytest.param(
        """
locations:
  - {name: a, rightmove_id: OUTCODE^1}
  - {name: b, rightmove_id: OUTCODE^2}
  - {name: c, rightmove_id: REGION274}
""",
        "targets.yaml: locations[2].rightmove_id: 'REGION274' is not a Rightmove location "
        "identifier like OUTCODE^1234",
        id="rightmove-id",
    ),
    pytest.param(
        "locations:\n  - {name: a, zoopla_slug: Romford RM6}\n",
        "targets.yaml: locations[0].zoopla_slug: 'Romford RM6' is not a Zoopla area slug like "
        "romford/rm6",
        id="zoopla-slug",
    ),
    pytest.param(
        "locations:\n  - {name: Nowhere}\n",
        "targets.yaml: locations[0]: location 'Nowhere' needs a rightmove_id, a zoopla_slug",
        id="location-without-portal",
    ),
    pytest.param(
        GOOD + "locatoins: []\n",
        "targets.yaml: locatoins: unknown key; the keys allowed here are sandbox, sources, "
        "locations,",
        id="unknown-top-level-key",
    ),
    pytest.param(
        GOOD + "sources:\n  rightmove: {detail_page: true}\n",
        "targets.yaml: sources.rightmove.detail_page: unknown key; the keys allowed here are "
        "enabled, base_url, detail_pages, max_pages",
        id="unknown-nested-key",
    ),
    pytest.param(
        GOOD + "price: {min: 200000, max: 100000}\n",
        "targets.yaml: price: max 100000 is below min 200000",
        id="price-range-upside-down",
    ),
    pytest.param(
        GOOD + "price_bands: [[0, 100000], [300000, 250000]]\n",
        "targets.yaml: price_bands[1]: [300000, 250000] has max 250000 below min 300000",
        id="price-band-upside-down",
    ),
    pytest.param(
        GOOD + "price_bands: [[100000]]\n",
        "targets.yaml: price_bands[0]: [100000] must be a pair [min, max]",
        id="price-band-not-a-pair",
    ),
    pytest.param(
        GOOD + "price: {min: 1}\nprice_bands: [[1, 2]]\n",
        "targets.yaml: price and price_bands are both given",
        id="price-and-bands",
    ),
    pytest.param(
        GOOD + "property_types: [flat, castle]\n",
        "targets.yaml: property_types[1]: Input should be 'flat', 'terraced', 'semi_detached', "
        "'detached' or 'bungalow' (got 'castle')",
        id="property-type",
    ),
    pytest.param(
        GOOD + "bedrooms: {min: 4, max: 2}\n",
        "targets.yaml: bedrooms: max 2 is below min 4",
        id="bedrooms-upside-down",
    ),
    pytest.param(
        GOOD + "fetch: {requests_per_second_per_host: 0}\n",
        "targets.yaml: fetch.requests_per_second_per_host: Input should be greater than 0 (got 0)",
        id="zero-rate",
    ),
    pytest.param(
        GOOD + "fetch: {concurrency: four}\n",
        "targets.yaml: fetch.concurrency: Input should be a valid integer (got 'four')",
        id="concurrency-not-a-number",
    ),
    pytest.param(
        GOOD + "fetch: {host_rates: {www.zoopla.co.uk: -1}}\n",
        "targets.yaml: fetch.host_rates['www.zoopla.co.uk']: -1.0 must be above 0 requests a "
        "second",
        id="negative-host-rate",
    ),
    pytest.param(
        GOOD + "sources:\n  zoopla: {base_url: www.zoopla.co.uk}\n",
        "targets.yaml: sources.zoopla.base_url: 'www.zoopla.co.uk' is not an http(s) URL",
        id="base-url",
    ),
    pytest.param(
        GOOD + "sources:\n  auctionhouse: {regions: [london, North West]}\n",
        "targets.yaml: sources.auctionhouse.regions[1]: 'North West' is not an Auction House "
        "region slug like london or northwest",
        id="auctionhouse-region",
    ),
    pytest.param(
        GOOD + "sources:\n  rightmove: 3\n",
        "targets.yaml: sources.rightmove: expected a mapping of keys (got 3)",
        id="source-not-a-mapping",
    ),
    pytest.param(
        "sandbox: true\n",
        "targets.yaml: locations is empty but rightmove and zoopla are switched on",
        id="no-locations",
    ),
    pytest.param(
        GOOD + "sandbox: true\nsandbox: false\n",
        "targets.yaml: not valid YAML: key 'sandbox' appears twice in one mapping",
        id="duplicate-key",
    ),
    pytest.param(
        "locations: [unclosed\n",
        "targets.yaml: not valid YAML:",
        id="broken-yaml",
    ),
    pytest.param("", "targets.yaml: the file is empty", id="empty-file"),
    pytest.param(
        "- a\n- b\n",
        "targets.yaml: the top level must be a mapping of keys, not a list",
        id="top-level-list",
    ),
]


@pytest.mark.parametrize(("text", "expected"), BAD_INPUTS)
def test_each_mistake_is_reported_with_the_file_and_key_path(text: str, expected: str) -> None:
    assert expected in error_for(text)


def test_every_mistake_in_a_file_is_reported_at_once() -> None:
    message = error_for(
        "locations:\n  - {name: c, rightmove_id: REGION274}\n"
        "property_types: [castle]\nfetch: {retries: 99}\n"
    )

    lines = message.splitlines()
    assert len(lines) == 3
    assert lines[0].startswith("targets.yaml: locations[0].rightmove_id: 'REGION274'")
    assert lines[1].startswith("targets.yaml: property_types[0]:")
    assert lines[2] == (
        "targets.yaml: fetch.retries: Input should be less than or equal to 10 (got 99)"
    )


def test_strings_are_not_taken_for_numbers() -> None:
    message = error_for(GOOD + "price: {min: '100000'}\n")

    assert message == "targets.yaml: price.min: Input should be a valid integer (got '100000')"


def test_load_names_the_path_of_a_missing_or_bad_file(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.yaml"
    with pytest.raises(ConfigError, match="nowhere.yaml: no such file"):
        load_config(missing)

    bad = tmp_path / "mine.yaml"
    bad.write_text("locations:\n  - {name: c, rightmove_id: REGION274}\n")
    with pytest.raises(ConfigError) as caught:
        load_config(bad)
    assert str(caught.value).startswith(f"{bad}: locations[0].rightmove_id: 'REGION274'")


def test_default_config_path_is_the_shipped_file() -> None:
    assert default_config_path().name == "targets.yaml"
    assert default_config_path().is_file()
