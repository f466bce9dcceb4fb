"""The shortcuts that keep extraction fast must find exactly what the plain patterns find."""

from __future__ import annotations

import re
from re import _parser as sre_parse  # the standard library's own pattern parser (no public API)

import pytest

from property_pipeline.screening import extract
from property_pipeline.screening.numbers import NUMBER_PATTERN, alternation

TEXTS = (
    "Fourteen flats, four houses and forty-four garages; a 4-storey block.",
    "No onward chain. Not in a chain, chain-free and sold without an onward chain!",
    "piano nook: cannot be extended, may be; the dismay of mayors. Plans? plans\nplan",
    "",
)


@pytest.mark.parametrize(
    "branches",
    [
        ("four", "fourteen", "forty", "five", "one", "a pair of", "x"),
        ("fourteen", "four", "forty", "a couple of", "a pair of"),
        (r"\bno\b", r"\bnot\b", "nook", r"\bchain[- ]?free\b", r"\bwithout (?:an )?onward"),
        (r"\bmay\b", "mayor", r"\bplans?\b", "plan", r"\bcannot\b", r"\bcan be\b"),
    ],
)
def test_alternation_finds_what_the_plain_alternation_finds(branches: tuple[str, ...]) -> None:
    grouped, plain = re.compile(alternation(*branches)), re.compile("|".join(branches))
    for text in TEXTS:
        lowered = text.lower()
        for start in range(len(lowered) + 1):
            expected = [match.span() for match in plain.finditer(lowered, start)]
            assert [match.span() for match in grouped.finditer(lowered, start)] == expected


@pytest.mark.parametrize("branch", ["(?:no|not)", "[nm]o", "free (?:of", ""])
def test_alternation_refuses_a_branch_it_cannot_group(branch: str) -> None:
    with pytest.raises((ValueError, re.error)):
        alternation("no", branch)


@pytest.mark.parametrize(
    ("text", "counts"),
    [
        ("fourteen flats and four houses", ["fourteen", "four"]),
        ("twenty-four units, seventy one rooms", ["twenty-four", "seventy one"]),
        ("a pair of maisonettes and a dozen studios", ["a pair of", "a dozen"]),
        ("lot 12: 3 flats, £450 pa, 1,250 sq ft, 2.5 baths", ["12", "3"]),
    ],
)
def test_counts_are_found_whole_and_not_inside_prices_or_decimals(
    text: str, counts: list[str]
) -> None:
    assert [match.group() for match in NUMBER_PATTERN.finditer(text)] == counts


def _holds_one_of(items: sre_parse.SubPattern | list, words: tuple[str, ...]) -> bool:
    """Whether every match of the parsed `items` consumes or looks ahead at one of `words`.

    A sufficient test, not a complete one: a run of literal characters holding a word, a group
    or a repeat of at least one that holds one, a branch whose every alternative holds one, or
    a look-ahead that holds one.
    """
    run = ""
    for op, arg in items:
        if op is sre_parse.LITERAL:
            run += chr(arg)
            if any(word in run for word in words):
                return True
            continue
        if op is sre_parse.AT:  # a zero-width boundary does not end the run of characters
            continue
        run = ""
        if op is sre_parse.SUBPATTERN:
            holds = _holds_one_of(arg[3], words)
        elif op is sre_parse.BRANCH:
            holds = all(_holds_one_of(alternative, words) for alternative in arg[1])
        elif op in (sre_parse.MAX_REPEAT, sre_parse.MIN_REPEAT):
            holds = arg[0] >= 1 and _holds_one_of(arg[2], words)
        elif op is sre_parse.ASSERT:
            holds = arg[0] == 1 and _holds_one_of(arg[1], words)
        else:
            holds = False
        if holds:
            return True
    return False


def test_every_match_holds_one_of_the_words_its_windows_are_filtered_by() -> None:
    filtered = [(rule.pattern, rule.needs) for rule in extract._RULES if rule.needs]
    filtered += list(extract._COMMERCIAL_PATTERNS)
    assert len(filtered) >= 3
    for pattern, words in filtered:
        assert _holds_one_of(sre_parse.parse(pattern.pattern), words), pattern.pattern
