"""The rent a listing says the property already earns ("let at £9,000 per annum", "£750 pcm").

A stated passing rent beats any table estimate. The patterns are written in the common subset
of Python's `re` and DuckDB's RE2, and the `scored` SQL model receives these very strings as
bound parameters, so the warehouse and `passing_rent` read a listing the same way.

Charges that are not rent (ground rent, service charge, council tax) are blanked out first: a
leasehold flat's "ground rent £250 per annum" is a cost, not income. Known shortcoming: only the
first stated rent counts, so a block listing each flat's rent separately ("Flat 1 £650 pcm, Flat 2
£700 pcm") is read as earning the first flat's rent alone.
"""

from __future__ import annotations

import re

# Phrases whose amount is a charge, with the amount and its period, blanked before reading rent.
CHARGE_PATTERN = (
    r"(?i)(ground rent|service charges?|council tax|maintenance charges?|estate charges?"
    r"|management fees?)[^£0-9]{0,25}£ ?[0-9][0-9,]*(\.[0-9]+)? ?k?"
    r"( ?(per annum|per year|a year|pa|p\.a\.|pcm|per calendar month|per month|a month"
    r"|per week|pw|p\.w\.|a week))?"
)
# An amount and its period; group 1 the amount, 2 a "k" for thousands, 3 the period.
RENT_PATTERN = (
    r"(?i)£ ?([0-9][0-9,]*(?:\.[0-9]{1,2})?) ?(k)? ?"
    r"(per annum|per year|a year|p\.a\.|pa|pcm|p\.c\.m\.|per calendar month|per month|a month"
    r"|per week|pw|p\.w\.|a week)([^a-z]|$)"
)
MONTHLY = ("pcm", "p.c.m.", "per calendar month", "per month", "a month")
WEEKLY = ("per week", "pw", "p.w.", "a week")

_CHARGE = re.compile(CHARGE_PATTERN)
_RENT = re.compile(RENT_PATTERN)


def passing_rent(text: str | None) -> int | None:
    """The yearly rent in whole pounds the text says the property earns, or None if it says none.

    Monthly amounts are times 12 and weekly ones times 52; "£9k pa" is 9,000.
    """
    if not text:
        return None
    cleaned = _CHARGE.sub(" ", text)
    match = _RENT.search(cleaned)
    if match is None:
        return None
    return annual_amount(match.group(1), match.group(2), match.group(3))


def annual_amount(amount: str, thousands: str | None, period: str) -> int:
    """A matched amount and period as pounds a year (the same sum the SQL model does)."""
    value = float(amount.replace(",", "")) * (1000 if thousands else 1)
    unit = period.lower()
    if unit in MONTHLY:
        value *= 12
    elif unit in WEEKLY:
        value *= 52
    return int(value + 0.5)
