"""`property-pipeline parse`: a saved page or response in, normalised listings out."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from property_pipeline.cli import main
from property_pipeline.sources.listing import LISTING_FIELDS


def parse(capsys, path: Path, *extra: str) -> tuple[int, list[dict], str]:
    code = main(["parse", str(path), *extra])
    out, err = capsys.readouterr()
    return code, [json.loads(line) for line in out.splitlines()], err


def test_a_rightmove_api_response_gives_one_line_per_property(shared_fixtures, capsys) -> None:
    path = shared_fixtures / "rightmove" / "api_search_properties_cornwall_2026-01_scrapfly.json"
    raw = json.loads(path.read_text())

    code, listings, _ = parse(capsys, path)

    assert code == 0
    assert [item["source_id"] for item in listings] == [str(item["id"]) for item in raw]
    assert [item["price"] for item in listings] == [item["price"]["amount"] for item in raw]
    assert all(list(item) == list(LISTING_FIELDS) for item in listings)


def test_a_legacy_search_page_drops_the_repeated_featured_card(shared_fixtures, capsys) -> None:
    path = shared_fixtures / "rightmove" / "search_jsonModel_peckham_drawn_area_2018-03_full.html"

    code, listings, _ = parse(capsys, path)

    assert code == 0
    assert len(listings) == 24
    assert len({item["source_id"] for item in listings}) == 24
    assert listings[0]["source_id"] == "64089589"
    assert listings[0]["price"] == 685000


def test_a_zoopla_streamed_detail_page_reads_its_listing(shared_fixtures, capsys) -> None:
    path = shared_fixtures / "zoopla" / "detail_RSC_71365505_herne_bay_2026-02_browser_pws.html"

    code, [listing], _ = parse(capsys, path)

    assert code == 0
    assert (listing["source"], listing["source_id"]) == ("zoopla", "71365505")
    assert (listing["price"], listing["bedrooms"], listing["postcode"]) == (550000, 4, "CT6 6DL")


def test_an_allsop_catalogue_gives_auction_lots_with_dates(shared_fixtures, capsys) -> None:
    path = shared_fixtures / "auctions" / "allsop_api_search_R260430_slice5lots_2026-04.json"

    code, listings, _ = parse(capsys, path, "--source", "allsop")

    assert code == 0
    assert len(listings) == 5
    first = listings[0]
    assert first["listing_type"] == "auction_lot"
    assert (first["price"], first["postcode"], first["auction_date"]) == (
        200000,
        "RM6 4FD",
        "2026-04-29",
    )


def test_a_bot_challenge_is_reported_as_such_not_as_no_listings(shared_fixtures, capsys) -> None:
    path = (
        shared_fixtures
        / "zoopla"
        / "cloudflare_challenge_just_a_moment_2026-02_serverfetched_pws.html"
    )

    code, listings, err = parse(capsys, path)

    assert code == 1
    assert listings == []
    assert f"{path}: a bot challenge page, not listings" in err


def test_a_page_in_no_known_format_names_the_file(tmp_path, capsys) -> None:
    page = tmp_path / "holiday.html"
    page.write_text("<html><body><h1>Our summer holiday</h1></body></html>")

    code, listings, err = parse(capsys, page)

    assert code == 1
    assert listings == []
    assert str(page) in err


def test_a_missing_file_is_named(tmp_path, capsys) -> None:
    code, _, err = parse(capsys, tmp_path / "nope.json")

    assert code == 1
    assert "nope.json: cannot be read" in err


def test_standard_input_is_read_with_a_dash(shared_fixtures, capsys, monkeypatch) -> None:
    import io

    path = shared_fixtures / "auctions" / "allsop_api_search_R260430_slice5lots_2026-04.json"
    monkeypatch.setattr("sys.stdin", io.StringIO(path.read_text()))

    code = main(["parse", "-", "--source", "allsop"])

    assert code == 0
    assert len(capsys.readouterr().out.splitlines()) == 5


@pytest.mark.parametrize("name", ["rightmove", "zoopla"])
def test_the_source_option_only_accepts_known_sources(name, capsys) -> None:
    with pytest.raises(SystemExit):
        main(["parse", "x.html", "--source", name + "x"])

    assert "invalid choice" in capsys.readouterr().err
