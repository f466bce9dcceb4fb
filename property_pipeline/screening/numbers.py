"""Counts written the ways agents write them: "4", "four", "twenty-four", "a pair of".

Unit-count patterns in `extract` embed `NUMBER` where a count may stand and turn the matched text
into an int with `to_int`, so "a block of four flats" and "a block of 4 flats" read the same
without rewriting the listing text (evidence spans keep pointing at the words the agent used).
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


def _alternation(words: Iterable[str]) -> str:
    # Longest first, so "fourteen" is not read as "four".
    return "|".join(sorted(words, key=len, reverse=True))


# Lower-case text only: `extract` matches on a lower-cased copy of the listing.
NUMBER = (
    r"(?:(?<![\d,.£])\d{1,3}(?![\d,.]\d)"
    rf"|(?:{_alternation(_TENS)})(?:[- ](?:{_alternation(_UNITS)}))?"
    rf"|{_alternation(_TEENS)}|{_alternation(_UNITS)}"
    rf"|{_alternation(_PHRASES)})"
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
