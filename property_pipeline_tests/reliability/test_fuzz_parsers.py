"""Malformed pages: mutated real captures and sandbox pages raise only the project's parse errors.

Every page the scrapers fetch goes through `parse_document`, and the crawler treats ParseError
and BotChallengeError as "this source failed at this URL". Any other exception would crash the
whole run instead, so hypothesis cuts, flips, deletes and duplicates slices of real pages and
swaps their JSON values, and the only exceptions allowed out are those two.
"""

from __future__ import annotations

import functools
import json
import math
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from property_pipeline.sandbox import auctions as sandbox_auctions
from property_pipeline.sandbox import rightmove as sandbox_rightmove
from property_pipeline.sandbox import zoopla as sandbox_zoopla
from property_pipeline.sources.listing import BotChallengeError, ParsedPage, ParseError
from property_pipeline.sources.parsers.detect import parse_document
from property_pipeline_tests.sandbox.support import (
    MARKET_DAY,
    read_capture,
    real_market,
    sandbox_client,
)

REAL_CAPTURES = (
    "rightmove/api_search_properties_cornwall_2026-01_scrapfly.json",
    "rightmove/detail_162171665_wharf_road_islington_2025-09_full.html",
    "rightmove/detail_PACKED___PAGE_MODEL_91588293_collingham_road_SW5_2026-08.html",
    "rightmove/detail_PAGE_MODEL_171844895_headington_2026-02_browser_pws.html",
    "rightmove/search_jsonModel_peckham_drawn_area_2018-03_full.html",
    "zoopla/cloudflare_challenge_just_a_moment_2026-02_serverfetched_pws.html",
    "zoopla/detail_RSC_71365505_herne_bay_2026-02_browser_pws.html",
    "zoopla/nextdata_listingDetails_projected_2023-11_scrapfly.json",
    "zoopla/nextdata_regularListingsFormatted_london_2023-11_scrapfly.json",
    "zoopla/search_rsc_E14_torent_2026-09_trimmed_alexremnev.html",
    "auctions/allsop_api_auctions_R260430_2026-04.json",
    "auctions/allsop_api_search_R260430_slice5lots_2026-04.json",
)
SANDBOX_PAGES = (
    "rightmove_search",
    "rightmove_detail",
    "zoopla_search",
    "zoopla_detail",
    "allsop_search",
    "allsop_auction",
    "auctionhouse_catalogue",
    "auctionhouse_lot",
)
PROJECT_ERRORS = (ParseError, BotChallengeError)

# Where the listings live in a page: mutations are aimed there half the time, since a byte
# flipped in a 1 MB page's stylesheet tells nothing about the parser.
DATA_MARKERS = (
    "__PAGE_MODEL",
    "PAGE_MODEL",
    "jsonModel",
    "__NEXT_DATA__",
    "self.__next_f.push",
    "lot-search-result",
    "application/ld+json",
    '"properties"',
    '"results"',
    '"listingId"',
)
FOCUS_WINDOW = 60_000
# A JSON scalar right after a key, plain or inside an escaped string (the Zoopla stream).
JSON_SCALAR = re.compile(
    r'(?<=":)\s*(?:"(?:[^"\\]|\\.)*"|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null)'
    r'|(?<=\\":)(?:\\"(?:[^"\\]|\\[^"])*\\"|-?\d+(?:\.\d+)?|true|false|null)'
)
SWAPPED_VALUES = (
    "null",
    '""',
    '"x"',
    "0",
    "-1",
    "1e309",
    "99999999999999999999999",
    "NaN",
    '"£' + "9" * 400 + '"',
    "2.5",
    "true",
    "[]",
    "{}",
    '[{"a": null}]',
    '"\\u0000"',
    '"\\ud800"',
    '"2026-13-45T99:99:99Z"',
    '"£-,"',
)
SPLICED_TEXT = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=8
) | st.sampled_from(['"', "{", "}", "[", "]", ",", ":", "\\", "<", ">", "\\u", "\x00"])


@dataclass(frozen=True)
class Seed:
    """A page to mutate, the URL it was served at (or None) and where its data sits."""

    name: str
    body: str
    url: str | None
    focus: tuple[int, ...]
    scalars: tuple[tuple[int, int], ...]


def make_seed(name: str, body: str, url: str | None) -> Seed:
    found = (index for marker in DATA_MARKERS if (index := body.find(marker)) >= 0)
    # A JSON document is data from its first character.
    focus = (0, *found) if body.lstrip().startswith(("{", "[")) else tuple(found)
    scalars = tuple(match.span() for match in JSON_SCALAR.finditer(body))
    return Seed(name, body, url, focus, scalars)


@functools.cache
def sandbox_pages() -> dict[str, tuple[str, str]]:
    """One page of each format the sandbox serves, as (body, url), from a 300-home market."""
    market = real_market()
    day = MARKET_DAY
    pages: dict[str, tuple[str, str]] = {}

    def get(prefix: str, routes: Callable[..., list], path: str, name: str) -> None:
        client, _ = sandbox_client(prefix, routes, market, day=day)
        response = client.get(f"/{prefix}{path}")
        assert response.status_code == 200, (name, path, response.status_code)
        pages[name] = (response.text, f"http://127.0.0.1/{prefix}{path}")

    locations = market.locations()
    busiest = max(locations, key=lambda place: len(market.search(day, "rightmove", **_at(place))))
    home = market.search(day, "rightmove", outcode=busiest.outcode)[0]
    identifier = busiest.rightmove_id
    get(
        "rightmove",
        sandbox_rightmove.routes,
        f"/property-for-sale/find.html?locationIdentifier={identifier}",
        "rightmove_search",
    )
    get("rightmove", sandbox_rightmove.routes, f"/properties/{home.source_id}", "rightmove_detail")

    busiest = max(locations, key=lambda place: len(market.search(day, "zoopla", **_at(place))))
    home = market.search(day, "zoopla", outcode=busiest.outcode)[0]
    get(
        "zoopla",
        sandbox_zoopla.routes,
        f"/for-sale/property/{busiest.zoopla_slug}/",
        "zoopla_search",
    )
    get("zoopla", sandbox_zoopla.routes, f"/for-sale/details/{home.source_id}/", "zoopla_detail")

    sale = market.auctions("allsop", day)[0]
    get(
        "allsop",
        sandbox_auctions.allsop_routes,
        f"/api/search?auction_id={sale.auction_id}&page=1&react",
        "allsop_search",
    )
    get(
        "allsop",
        sandbox_auctions.allsop_routes,
        f"/api/auctions/{sale.auction_id}?react",
        "allsop_auction",
    )

    sale = market.auctions("auctionhouse", day)[0]
    branch = sandbox_auctions.named_branch(sale)
    lot = market.lots(sale.auction_id, day)[0]
    catalogue = f"/{branch}/auction/lots/{sandbox_auctions.auction_number(sale)}"
    get("auctionhouse", sandbox_auctions.auctionhouse_routes, catalogue, "auctionhouse_catalogue")
    get(
        "auctionhouse",
        sandbox_auctions.auctionhouse_routes,
        f"/{branch}/auction/lot/{lot.source_id}",
        "auctionhouse_lot",
    )
    return pages


def _at(place: object) -> dict[str, str]:
    return {"outcode": place.outcode}  # type: ignore[attr-defined]


# ---------------------------------------------------------------------------------------------
# Mutations: each draws its positions from the seed and says what it did, for the report
# ---------------------------------------------------------------------------------------------


def position(draw: st.DrawFn, seed: Seed) -> int:
    """An index into the body, inside a data region half the time."""
    size = len(seed.body)
    if seed.focus and draw(st.booleans()):
        start = draw(st.sampled_from(seed.focus))
        return min(size, start + draw(st.integers(0, FOCUS_WINDOW)))
    return draw(st.integers(0, size))


class Mutation:
    """A mutated body and the steps that made it; shown by its steps, never the whole page."""

    def __init__(self, body: str, steps: str) -> None:
        self.body = body
        self.steps = steps

    def __repr__(self) -> str:
        return f"Mutation({self.steps}; {len(self.body)} characters)"


@st.composite
def mutated(draw: st.DrawFn, seed: Seed) -> Mutation:
    """One to three mutations of the seed."""
    body = seed.body
    steps = []
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(["truncate", "flip", "delete", "duplicate", "swap_json"]))
        here = seed if body is seed.body else make_seed(seed.name, body, seed.url)
        start = position(draw, here)
        if kind == "truncate":
            body = body[:start]
        elif kind == "flip":
            body = body[:start] + draw(SPLICED_TEXT) + body[start + 1 :]
        elif kind == "delete":
            body = body[:start] + body[start + draw(st.integers(1, 400)) :]
        elif kind == "duplicate":
            piece = body[start : start + draw(st.integers(1, 400))]
            at = position(draw, here)
            body = body[:at] + piece + body[at:]
        elif here.scalars:
            begin, end = draw(st.sampled_from(here.scalars))
            value = draw(st.sampled_from(SWAPPED_VALUES))
            if body[begin - 2 : begin] == '\\"' or body[begin - 3 : begin] == '\\":':
                value = value.replace('"', '\\"')
            body = body[:begin] + value + body[end:]
            kind = f"swap_json {body[max(0, begin - 30) : begin]!r} -> {value}"
        steps.append(f"{kind}@{start}")
    return Mutation(body, ", ".join(steps))


def parse_reporting_crashes(seed: Seed, body: str, steps: str) -> ParsedPage | None:
    """Parse the body; None for the project's errors, a test failure naming anything else."""
    try:
        page = parse_document(body, seed.url)
    except PROJECT_ERRORS:
        return None
    except Exception as error:  # noqa: BLE001 - the point is to catch every other kind
        pytest.fail(
            f"{seed.name} after [{steps}] crashed with {type(error).__name__}: {error}"[:2000]
        )
    assert isinstance(page, ParsedPage)
    for listing in page.listings:
        assert isinstance(listing.source_id, str) and listing.source_id, (seed.name, steps)
        # Every value must be storable: DuckDB refuses text UTF-8 cannot encode and numbers
        # beyond BIGINT, and an infinite price or coordinate means nothing.
        for value in vars(listing).values():
            for item in value if isinstance(value, list) else [value]:
                if isinstance(item, str):
                    item.encode("utf-8")
                elif isinstance(item, int):
                    assert abs(item) < 2**63, (seed.name, steps, item)
                elif isinstance(item, float):
                    assert math.isfinite(item), (seed.name, steps, item)
    return page


# A modest, fixed set of examples keeps the file under 30 s and repeatable in CI; set
# PROPERTY_PIPELINE_FUZZ_EXAMPLES (e.g. 2000) to hunt for new crashes with fresh randomness.
FUZZ_EXAMPLES = int(os.environ.get("PROPERTY_PIPELINE_FUZZ_EXAMPLES", "0") or 0)
FUZZ_SETTINGS = settings(
    max_examples=FUZZ_EXAMPLES or 40,
    deadline=None,
    derandomize=not FUZZ_EXAMPLES,
    database=None,
    # shared_fixtures is a read-only path: nothing to reset between examples.
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.function_scoped_fixture,
    ],
)


@pytest.mark.parametrize("relative", REAL_CAPTURES)
@FUZZ_SETTINGS
@given(data=st.data())
def test_mutated_real_captures_raise_only_parse_errors(
    shared_fixtures: Path, relative: str, data: st.DataObject
) -> None:
    seed = _capture_seed(shared_fixtures, relative)

    mutation = data.draw(mutated(seed), label="mutation")

    parse_reporting_crashes(seed, mutation.body, mutation.steps)


@pytest.mark.parametrize("name", SANDBOX_PAGES)
@FUZZ_SETTINGS
@given(data=st.data())
def test_mutated_sandbox_pages_raise_only_parse_errors(name: str, data: st.DataObject) -> None:
    body, url = sandbox_pages()[name]
    seed = _sandbox_seed(name, body, url)

    mutation = data.draw(mutated(seed), label="mutation")

    parse_reporting_crashes(seed, mutation.body, mutation.steps)


@functools.cache
def _capture_seed(shared_fixtures: Path, relative: str) -> Seed:
    return make_seed(relative, read_capture(shared_fixtures, relative), None)


@functools.cache
def _sandbox_seed(name: str, body: str, url: str) -> Seed:
    return make_seed(name, body, url)


@pytest.mark.parametrize("relative", REAL_CAPTURES)
def test_every_seed_parses_or_is_refused_before_mutation(
    shared_fixtures: Path, relative: str
) -> None:
    """The unmutated pages parse (the challenge is refused), so mutations start from real data."""
    seed = _capture_seed(shared_fixtures, relative)

    if "cloudflare" in relative:
        with pytest.raises(BotChallengeError):
            parse_document(seed.body)
        return
    page = parse_document(seed.body)
    assert page.listings or page.format == "allsop_auction"
    assert seed.focus and seed.scalars


def test_sandbox_seeds_parse_before_mutation() -> None:
    formats = {
        name: parse_document(body, url).format for name, (body, url) in sandbox_pages().items()
    }

    assert formats == {
        "rightmove_search": "rightmove_next_data_search",
        "rightmove_detail": formats["rightmove_detail"],
        "zoopla_search": "zoopla_rsc_search",
        "zoopla_detail": "zoopla_rsc_detail",
        "allsop_search": "allsop_search",
        "allsop_auction": "allsop_auction",
        "auctionhouse_catalogue": "auctionhouse_catalogue",
        "auctionhouse_lot": "auctionhouse_lot",
    }
    assert formats["rightmove_detail"] in {
        "rightmove_page_model_detail",
        "rightmove_packed_page_model_detail",
    }


def test_a_swapped_json_value_is_a_real_mutation() -> None:
    """The value swap rewrites a scalar after a key, plain or escaped, and nothing else."""
    plain = make_seed("plain", '{"price": 250000, "beds": "3"}', None)
    escaped = make_seed("escaped", 'push([1,"{\\"price\\":250000}"])', None)

    assert [plain.body[a:b] for a, b in plain.scalars] == [" 250000", ' "3"']
    assert [escaped.body[a:b] for a, b in escaped.scalars] == ["250000"]
    assert json.loads('{"price": 1e309}')["price"] == float("inf")
