"""Reading edges back from the lineage graph's SVG geometry, without a browser."""

from __future__ import annotations

import pytest

from property_pipeline_tests.ui.lineage import (
    Box,
    backward_edges,
    edges_between,
    path_ends,
    reaches,
)

# Three boxes as the UI lays them out left to right, 320 x 225 units each.
NODES = {
    "raw_listings": Box(x=130, y=770, width=320, height=225),
    "listing_history": Box(x=570, y=770, width=320, height=225),
    "deduped_listings": Box(x=1330, y=707.5, width=320, height=225),
}


def test_path_ends_are_the_first_and_last_points_of_a_curve() -> None:
    assert path_ends("M450,882.5C507.5,882.5,507.5,882.5,565,882.5") == ((450, 882.5), (565, 882.5))


def test_a_path_without_two_points_is_refused_with_its_text() -> None:
    with pytest.raises(ValueError, match="'M450' does not hold a start and an end point"):
        path_ends("M450")


def test_edges_join_the_right_side_of_the_upstream_box_to_the_left_of_the_downstream_one() -> None:
    paths = [
        # raw_listings -> listing_history, the arrow ending 5 units before the box.
        "M450,882.5C507.5,882.5,507.5,882.5,565,882.5",
        # listing_history -> deduped_listings.
        "M890,882.5C1107.5,882.5,1107.5,820,1325,820",
        # A curve touching no box at either end (a group outline, say) is left out.
        "M10,10C20,20,30,30,40,40",
    ]

    assert edges_between(NODES, paths) == {
        ("raw_listings", "listing_history"),
        ("listing_history", "deduped_listings"),
    }


def test_reaches_follows_edges_through_intermediate_assets_but_never_backwards() -> None:
    edges = {("raw_listings", "listing_history"), ("listing_history", "deduped_listings")}

    assert reaches(edges, "raw_listings", "deduped_listings")
    assert not reaches(edges, "deduped_listings", "raw_listings")


def test_backward_edges_name_an_edge_against_pipeline_order_and_ignore_other_assets() -> None:
    order = ("raw_listings", "deduped_listings", "screened")
    edges = {
        ("raw_listings", "listing_history"),
        ("deduped_listings", "screened"),
        ("screened", "raw_listings"),
    }

    assert backward_edges(edges, order) == [("screened", "raw_listings")]
