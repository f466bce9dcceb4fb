"""Counts written the ways agents write them: "4", "four", "twenty-four", "a pair of".

Unit-count patterns in `extract` embed `NUMBER` where a count may stand and turn the matched text
into an int with `to_int`, so "a block of four flats" and "a block of 4 flats" read the same
without rewriting the listing text (evidence spans keep pointing at the words the agent used).
`alternation` builds the word lists of `NUMBER` and of `extract`'s cue patterns so that the regex
engine can rule a position out by its first letter.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

_UNITS = {
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
}
_TEENS = {
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "thirteen": 13,
    "fourteen": 14,
    "fifteen": 15,
    "sixteen": 16,
    "seventeen": 17,
    "eighteen": 18,
    "nineteen": 19,
}
_TENS = {
    "twenty": 20,
    "thirty": 30,
    "forty": 40,
    "fifty": 50,
    "sixty": 60,
    "seventy": 70,
    "eighty": 80,
    "ninety": 90,
}
_PHRASES = {"a pair of": 2, "a couple of": 2, "a dozen": 12, "dozen": 12, "a single": 1}


def alternation(*branches: str) -> str:
    """One regex alternation of `branches`, grouped under their first characters, order kept.

    The regex engine tries the branches of an alternation one after another at every position
    it scans, and the listing patterns scan many positions: grouped, it tests a few first
    characters and enters one group, so a list of forty words costs a handful of tests a
    position instead of forty. Branches that share a first character keep their order, so the
    same branch wins as in the plain `a|b|c`. Each branch starts with a plain character, or
    with `\\b` and a letter or digit: that word boundary is tested as a look-behind just after
    the letter, the same test, so the letter still leads.
    """
    groups: dict[str, list[str]] = {}
    for branch in branches:
        re.compile(branch)  # a branch cut at an inner "|" fails here, not as a wrong match
        word_start = branch.startswith("\\b")
        first, rest = (branch[2:3], branch[3:]) if word_start else (branch[:1], branch[1:])
        if not (first.isalnum() or (first and first in " '-£" and not word_start)):
            raise ValueError(f"alternation branch {branch!r} must start with a plain character")
        groups.setdefault(first, []).append(rf"(?<!\w{first}){rest}" if word_start else rest)
    return (
        "(?:" + "|".join(f"{first}(?:{'|'.join(rests)})" for first, rests in groups.items()) + ")"
    )


def _longest_first(words: Iterable[str]) -> list[str]:
    # So "fourteen" is not read as "four".
    return sorted(words, key=len, reverse=True)


_UNIT_WORDS = alternation(*_longest_first(_UNITS))
# Lower-case text only: `extract` matches on a lower-cased copy of the listing. The look-behind
# sits after the first digit, not before it, so the regex engine rejects a non-digit at once.
NUMBER = (
    r"(?:\d(?<![\d,.£]\d)\d{0,2}(?![\d,.]\d)|"
    + alternation(
        *(rf"{tens}(?:[- ]{_UNIT_WORDS})?" for tens in _longest_first(_TENS)),
        *_longest_first(_TEENS),
        *_longest_first(_UNITS),
        *_longest_first(_PHRASES),
    )
    + ")"
)
NUMBER_PATTERN = re.compile(rf"\b{NUMBER}\b")


def to_int(text: str) -> int | None:
    """The count that digits or number words stand for ("twenty-four" -> 24); None if not one.

    Exists so every unit pattern shares one reading of numbers, whichever way they are written.
    """
    words = " ".join(text.lower().replace("-", " ").split())
    if words.isdigit():
        return int(words)
    if words in _PHRASES:
        return _PHRASES[words]
    if words in _UNITS:
        return _UNITS[words]
    if words in _TEENS:
        return _TEENS[words]
    parts = words.split()
    if parts and parts[0] in _TENS:
        if len(parts) == 1:
            return _TENS[parts[0]]
        if len(parts) == 2 and parts[1] in _UNITS:
            return _TENS[parts[0]] + _UNITS[parts[1]]
    return None
