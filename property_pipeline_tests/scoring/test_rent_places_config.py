"""Stated rents, postcode places, the scoring file and the sdlt command."""

from __future__ import annotations

import json

import pytest

from property_pipeline.sandbox.geography import PLACES
from property_pipeline.scoring.cli import add_sdlt_command
from property_pipeline.scoring.config import (
    DEFAULT_PATH,
    ScoringConfigError,
    load_scoring_config,
    parse_scoring_config,
)
from property_pipeline.scoring.nations import locate
from property_pipeline.scoring.rent import passing_rent


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Currently let at £9,000 per annum on an AST.", 9_000),
        ("Tenanted at £750 pcm.", 9_000),
        ("Producing £1,200 per calendar month", 14_400),
        ("Rent £150 per week", 7_800),
        ("Passing rent £9k pa", 9_000),
        ("Let at £12,500 p.a. to a national tenant", 12_500),
        ("Ground rent £250 per annum. Service charge £1,200 per annum.", None),
        ("Ground rent £250 pa; the flat is let at £650 pcm", 7_800),
        ("Guide price £150,000", None),
        ("", None),
    ],
)
def test_passing_rent_reads_the_stated_rent_and_skips_charges(text, expected) -> None:
    assert passing_rent(text) == expected


def test_every_sandbox_place_gets_its_own_nation_and_region() -> None:
    for place in PLACES:
        found = locate(place.location.outcode)
        expected_nation = "wales" if place.location.region == "Wales" else "england"
        assert found is not None, place.location.outcode
        assert (found.nation, found.region) == (expected_nation, place.location.region), (
            place.location.outcode
        )


@pytest.mark.parametrize(
    ("postcode", "nation", "region"),
    [
        ("SY1 1AA", "england", "West Midlands"),
        ("SY23 1AA", "wales", "Wales"),
        ("CH5 1AA", "wales", "Wales"),
        ("CH1 1AA", "england", "North West"),
        ("TD15 1AA", "england", "North East"),
        ("TD1 1AA", "scotland", "Scotland"),
        ("BT1 1AA", "northern_ireland", "Northern Ireland"),
        ("EH1", "scotland", "Scotland"),
    ],
)
def test_border_postcodes_fall_on_the_documented_side(postcode, nation, region) -> None:
    place = locate(postcode)
    assert place is not None
    assert (place.nation, place.region) == (nation, region)


def test_places_outside_uk_land_taxes_have_none() -> None:
    assert locate("JE2 3AB") is None
    assert locate("not a postcode") is None


def test_the_shipped_scoring_file_loads() -> None:
    config = load_scoring_config(DEFAULT_PATH)
    assert config.weights.yield_ == 20
    assert config.caps.deal_killer < config.bands.watchlist


def test_a_bad_scoring_file_names_the_file_and_key(tmp_path) -> None:
    text = DEFAULT_PATH.read_text().replace("discount: 30", "discount: -5")
    with pytest.raises(ScoringConfigError, match=r"mine.yaml: weights.discount: .*-5"):
        parse_scoring_config(text, "mine.yaml")

    text = DEFAULT_PATH.read_text().replace("deal_killer: 59", "deal_killer: 65")
    with pytest.raises(ScoringConfigError, match="caps.deal_killer \\(65\\) must be below"):
        parse_scoring_config(text, "mine.yaml")

    text = DEFAULT_PATH.read_text() + "\nsurprise: 1\n"
    with pytest.raises(ScoringConfigError, match="mine.yaml: surprise: unknown key"):
        parse_scoring_config(text, "mine.yaml")

    missing = tmp_path / "absent.yaml"
    with pytest.raises(ScoringConfigError, match="absent.yaml: no such file"):
        load_scoring_config(missing)


def test_the_scoring_file_comes_from_the_environment(tmp_path, monkeypatch) -> None:
    custom = tmp_path / "custom.yaml"
    custom.write_text(DEFAULT_PATH.read_text().replace("hot: 85", "hot: 90"))
    monkeypatch.setenv("PROPERTY_PIPELINE_SCORING", str(custom))

    assert load_scoring_config().bands.hot == 90


def run_cli(argv: list[str]) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="property-pipeline")
    add_sdlt_command(parser.add_subparsers())
    args = parser.parse_args(argv)
    return args.handler(args)


def test_the_sdlt_command_prints_the_tax_and_each_slice(capsys) -> None:
    code = run_cli(["sdlt", "900,000", "--additional", "--dwellings", "6", "--date", "2025-06-01"])

    out = json.loads(capsys.readouterr().out)
    assert code == 0
    assert (out["tax"], out["regime"], out["tax_name"]) == (34_500, "non_residential", "SDLT")
    assert [(item["from"], item["to"], item["tax"]) for item in out["slices"]] == [
        (0, 150_000, 0),
        (150_000, 250_000, 2_000),
        (250_000, None, 32_500),
    ]


def test_the_sdlt_command_taxes_wales_and_scotland(capsys) -> None:
    assert run_cli(["sdlt", "400000", "--nation", "wales", "--date", "2025-06-01"]) == 0
    assert json.loads(capsys.readouterr().out)["tax"] == 10_500
    assert run_cli(["sdlt", "400000", "--nation", "scotland", "--mixed-use"]) == 0
    assert json.loads(capsys.readouterr().out)["tax"] == 8_500


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["sdlt", "lots"], "PRICE 'lots' is not a whole number"),
        (["sdlt", "100000", "--nation", "france"], "--nation 'france' is not one of"),
        (["sdlt", "100000", "--dwellings", "0"], "dwellings 0 must be at least 1"),
        (["sdlt", "100000", "--date", "2020-01-01"], "no england tax table before"),
    ],
)
def test_the_sdlt_command_refuses_bad_arguments_in_one_line(argv, message, capsys) -> None:
    assert run_cli(argv) == 2

    err = capsys.readouterr().err
    assert message in err
    assert err.count("\n") == 1 and "Traceback" not in err
