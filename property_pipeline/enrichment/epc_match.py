"""Matching listings to EPC certificates: address normalisation and scoring, no I/O.

A certificate belongs to a listing when the UPRNs agree; otherwise when, within the listing's
postcode, the flat, the house number (or building name) and the street agree. `address_key`
gives every address one canonical form (`"RM6 4FD|flat 2 21 bexley gardens"`) so that Land
Registry sales, certificates and listings join on plain equality; `ADDRESS_KEY_MACRO` is the
same normalisation as DuckDB macros, for joins written in SQL.

The canonical form keeps the flat, the house number or building name and the street, and drops
what follows the street (locality, town, county) and any postcode, since sources disagree on
those. Known limits: an address with no street word ("5 Pinfold, Wood Green") is cut after its
first named part, and a locality that itself ends in a street word ("Wood Green") is taken for
the street when the real street has none; a flat written after the street ("10 High Street,
Flat 2") is found, but "Ground Floor Flat" (no number) stays as plain words; letters outside
a-z are dropped ("Café" is "caf"). In DuckDB the macro costs some 50 microseconds an address,
so apply it to the sales of the areas in hand rather than to the whole Price Paid file.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

POSTCODE_PATTERN = re.compile(r"[A-Z]{1,2}[0-9][A-Z0-9]? [0-9][A-Z]{2}")
# Words that end a street name ("Bexley Gardens", "High Street").
STREET_WORDS = frozenset(
    (
        "road street avenue lane drive close crescent gardens grove place square terrace way walk "
        "hill park row mews parade rise vale view green gate wharf quay boulevard approach croft "
        "path yard broadway circus embankment chase fields meadows"
    ).split()
)
# Abbreviations expanded before comparing; "st" is decided by its neighbour (see module doc).
ABBREVIATIONS = {
    "rd": "road",
    "ave": "avenue",
    "av": "avenue",
    "ln": "lane",
    "dr": "drive",
    "cl": "close",
    "cres": "crescent",
    "cresc": "crescent",
    "gdns": "gardens",
    "gro": "grove",
    "pl": "place",
    "sq": "square",
    "terr": "terrace",
    "ter": "terrace",
    "pde": "parade",
    "hse": "house",
    "ct": "court",
    "apartment": "flat",
    "apt": "flat",
    "flt": "flat",
    "unit": "flat",
}
DROPPED_WORDS = frozenset({"the"})
_STREETS = "|".join(sorted(STREET_WORDS))
# Patterns over the expanded words joined by single spaces (commas are words of their own).
# They read the same in Python's `re` and DuckDB's RE2, which is what keeps the two in step.
FLAT_ANYWHERE = r"(?:^| )flat ([0-9]+[a-z]?|[a-z])(?: |$)"
LEADING_FLAT = r"^(?:, )*([0-9]+[a-z]?) (?:, )*[0-9]+[a-z]?(?:-[0-9]+[a-z]?)?(?: |$)"
LEADING_NUMBER = r"^((?:, )*)[0-9]+[a-z]? "
# Through the first street word that follows a word and is not followed by another one.
STREET_PART = rf"^(.*?[^ ,] (?:(?:{_STREETS}) )*(?:{_STREETS}))(?: |$)"
# Failing a street word: through the first named word, up to the next comma.
NAMED_PART = r"^(.*?[a-z][a-z][^,]*?)(?: ,|$)"
NUMBER_OR_RANGE = r"[0-9]+[a-z]?(?:-[0-9]+[a-z]?)?"

# Address text to tokens, step by step; the SQL macro applies the same steps in the same order.
_CLEANING = (
    ("['’`]", ""),
    ("&", " and "),
    ("_", " "),
    (r"([0-9]) *- *([0-9])", r"\1_\2"),
    (r"\b[a-z]{1,2}[0-9][a-z0-9]? *[0-9][a-z]{2}\b", " "),
    ("[^a-z0-9,_]+", " "),
    ("_", "-"),
    (",", " , "),
)
MATCH_THRESHOLD = 0.6
# Caps an address match below a UPRN match, however well the words agree.
ADDRESS_CONFIDENCE_CAP = 0.95
POSTCODE_ONLY_CONFIDENCE = 0.4
# EPC property types a listing's type may be (listing vocabulary: sources/listing.py).
COMPATIBLE_TYPES = {
    "flat": {"flat", "maisonette"},
    "terraced": {"house"},
    "semi_detached": {"house", "bungalow"},
    "detached": {"house", "bungalow"},
    "bungalow": {"bungalow", "house"},
    "hmo": {"house"},
}


def normalise_postcode(raw: str | None) -> str | None:
    """The register's form of a postcode (upper case, one space before the inward code), or
    None when it is missing or not a full postcode (an outcode such as "LS6" is not)."""
    if not raw:
        return None
    compact = re.sub(r"\s+", "", raw).upper()
    candidate = f"{compact[:-3]} {compact[-3:]}"
    return candidate if POSTCODE_PATTERN.fullmatch(candidate) else None


def address_tokens(address: str | None) -> list[str]:
    """Lower-case words, numbers ("10-12" kept whole) and commas of an address, postcodes out."""
    text = (address or "").lower()
    for pattern, replacement in _CLEANING:
        text = re.sub(pattern, replacement, text, flags=re.ASCII)
    return [token for token in text.split(" ") if token]


def expand_words(tokens: Sequence[str]) -> list[str]:
    """Abbreviations spelled out and "the" dropped; "st" after a word is "street", else
    "saint" ("High St" and "St Johns Road")."""
    words = []
    for index, token in enumerate(tokens):
        if token == "st":
            after_word = index > 0 and re.fullmatch("[a-z]+", tokens[index - 1]) is not None
            words.append("street" if after_word else "saint")
        else:
            words.append(ABBREVIATIONS.get(token, token))
    return [word for word in words if word not in DROPPED_WORDS]


def split_flat(words: str) -> tuple[str | None, str]:
    """The flat's id and the other words (space-joined): "flat 2" anywhere, or a leading number
    before a house number ("2 10 high street" is flat 2 at number 10)."""
    found = re.search(FLAT_ANYWHERE, words)
    if found:
        rest = re.sub(FLAT_ANYWHERE, " ", words, count=1)
        return found.group(1), " ".join(rest.split())
    leading = re.search(LEADING_FLAT, words)
    if leading:
        return leading.group(1), re.sub(LEADING_NUMBER, r"\1", words, count=1)
    return None, words


def street_part(words: str) -> str:
    """The words up to the street (space-joined, commas dropped): through the first street
    word that follows another word, else through the first named part."""
    found = re.search(STREET_PART, words) or re.search(NAMED_PART, words)
    kept = found.group(1) if found else words
    return " ".join(word for word in kept.split(" ") if word not in ("", ","))


def _canonical_parts(address: str | None) -> tuple[str | None, str]:
    flat, rest = split_flat(" ".join(expand_words(address_tokens(address))))
    return flat, street_part(rest)


def canonical_address(address: str | None) -> str:
    """The flat, house number or name and street of an address, in one spelling:
    "Flat 2, 10 High St, Leeds LS6 1AA" and "2 10 HIGH STREET" both give "flat 2 10 high street".
    """
    flat, street = _canonical_parts(address)
    return " ".join(part for part in ("flat" if flat else "", flat or "", street) if part)


def address_key(address: str | None, postcode: str | None) -> str | None:
    """`POSTCODE|canonical address`: equal for two spellings of one dwelling; None without a
    full postcode or any address words. `ADDRESS_KEY_MACRO` computes the same in SQL."""
    code = normalise_postcode(postcode)
    canonical = canonical_address(address)
    if code is None or not canonical:
        return None
    return f"{code}|{canonical}"


def _sql_list(words: Iterable[str]) -> str:
    return ", ".join(f"'{word}'" for word in sorted(words))


def _address_key_macro() -> str:
    """DuckDB macros computing `address_key` exactly as the Python functions do.

    `list_transform([x], lambda v: ...)[1]` binds an intermediate value once, where a macro
    argument used several times would be expanded (and evaluated) each time.
    """
    cleaning = "lower(coalesce(address, ''))"
    for pattern, replacement in _CLEANING:
        sql_pattern = pattern.replace("'", "''")
        cleaning = f"regexp_replace({cleaning}, '{sql_pattern}', '{replacement}', 'g')"
    abbreviations = " ".join(
        f"when '{short}' then '{long}'" for short, long in sorted(ABBREVIATIONS.items())
    )
    dropped = _sql_list(DROPPED_WORDS)
    return f"""
create or replace macro epc_address_tokens(address) as
    list_filter(string_split({cleaning}, ' '), lambda token: token <> '');

create or replace macro epc_expand_words(tokens) as
    array_to_string(
        list_filter(
            list_transform(
                tokens,
                lambda token, i: case
                    when token = 'st' then
                        case
                            when i > 1 and regexp_full_match(tokens[i - 1], '[a-z]+')
                                then 'street'
                            else 'saint'
                        end
                    else case token {abbreviations} else token end
                end
            ),
            lambda word: word not in ({dropped})
        ),
        ' '
    );

create or replace macro epc_split_flat(text) as
    list_transform([text], lambda words: case
        when regexp_matches(words, '{FLAT_ANYWHERE}') then {{
            'flat': regexp_extract(words, '{FLAT_ANYWHERE}', 1),
            'rest': array_to_string(
                list_filter(
                    string_split(regexp_replace(words, '{FLAT_ANYWHERE}', ' '), ' '),
                    lambda word: word <> ''
                ),
                ' '
            )
        }}
        when regexp_matches(words, '{LEADING_FLAT}') then {{
            'flat': regexp_extract(words, '{LEADING_FLAT}', 1),
            'rest': regexp_replace(words, '{LEADING_NUMBER}', '\\1')
        }}
        else {{'flat': null::varchar, 'rest': words}}
    end)[1];

create or replace macro epc_street_part(text) as
    list_transform([text], lambda words: array_to_string(
        list_filter(
            string_split(
                case
                    when regexp_matches(words, '{STREET_PART}')
                        then regexp_extract(words, '{STREET_PART}', 1)
                    when regexp_matches(words, '{NAMED_PART}')
                        then regexp_extract(words, '{NAMED_PART}', 1)
                    else words
                end,
                ' '
            ),
            lambda word: word not in ('', ',')
        ),
        ' '
    ))[1];

create or replace macro epc_canonical_address(address) as
    list_transform(
        [epc_split_flat(epc_expand_words(epc_address_tokens(address)))],
        lambda parts: case
            when parts.flat is null then epc_street_part(parts.rest)
            else trim('flat ' || parts.flat || ' ' || epc_street_part(parts.rest))
        end
    )[1];

create or replace macro epc_normalise_postcode(postcode) as
    list_transform(
        [upper(regexp_replace(coalesce(postcode, ''), '\\s+', '', 'g'))],
        lambda compact: case
            when regexp_full_match(
                left(compact, length(compact) - 3) || ' ' || right(compact, 3),
                '{POSTCODE_PATTERN.pattern}'
            ) then left(compact, length(compact) - 3) || ' ' || right(compact, 3)
        end
    )[1];

create or replace macro address_key(address, postcode) as
    list_transform(
        [[epc_normalise_postcode(postcode), epc_canonical_address(address)]],
        lambda key: case
            when key[1] is not null and key[2] <> '' then key[1] || '|' || key[2]
        end
    )[1];
"""


# Run once on a DuckDB connection, then `address_key(address, postcode)` works in any query.
ADDRESS_KEY_MACRO = _address_key_macro()


@dataclass(frozen=True)
class AddressParts:
    """What identifies a dwelling within its postcode: flat, house number, building words and
    street words (all canonical)."""

    flat: str | None
    number: str | None
    building: frozenset[str]
    street: frozenset[str]

    @property
    def identified(self) -> bool:
        """Whether the address names one dwelling (a flat, a number or a building name)."""
        return bool(self.flat or self.number or self.building)


def address_parts(address: str | None) -> AddressParts:
    """Split an address's canonical form into flat, house number, building and street words."""
    flat, street_text = _canonical_parts(address)
    words = street_text.split(" ") if street_text else []
    number_at = next(
        (i for i, word in enumerate(words) if re.fullmatch(NUMBER_OR_RANGE, word)), None
    )
    if number_at is not None:
        building, street = words[:number_at], words[number_at + 1 :]
        number: str | None = words[number_at]
    else:
        number = None
        # Without a number the street is taken as its last two words ("Rose Cottage, High
        # Street"); a longer street name leaks its first words into the building name.
        cut = max(0, len(words) - 2) if words and words[-1] in STREET_WORDS else len(words)
        building, street = words[:cut], words[cut:]
    return AddressParts(flat, number, frozenset(building), frozenset(street))


def _overlap(left: frozenset[str], right: frozenset[str]) -> float:
    union = left | right
    return len(left & right) / len(union) if union else 0.0


def address_confidence(subject: AddressParts, candidate: AddressParts) -> float:
    """0-1: how surely two addresses in one postcode are the same dwelling.

    Any disagreement on flat or house number is 0; so is a flat against a whole house. The
    rest is 60% identity (number, or building name overlap) and 40% street word overlap.
    """
    if not subject.identified or not candidate.identified:
        return 0.0
    if subject.flat != candidate.flat:
        return 0.0
    if (subject.number is None) != (candidate.number is None):
        return 0.0
    if subject.number is not None:
        if subject.number != candidate.number:
            return 0.0
        identity = 1.0
    elif subject.flat is not None and not subject.building and not candidate.building:
        identity = 1.0
    else:
        identity = _overlap(subject.building, candidate.building)
    if subject.street and candidate.street:
        street = _overlap(subject.street, candidate.street)
    else:
        street = 0.5
    return round(ADDRESS_CONFIDENCE_CAP * (0.6 * identity + 0.4 * street), 3)


@dataclass(frozen=True)
class Candidate:
    """One certificate of the postcode as the search listed it."""

    certificate_number: str
    uprn: int | None
    address: str
    lodged_on: dt.date
    property_type: str | None = None  # decoded ("House", "Flat"), when the details are known


@dataclass(frozen=True)
class Match:
    """The certificate chosen for a listing, how it was found and how sure the choice is."""

    certificate_number: str | None
    method: str  # "uprn" | "address" | "postcode_only" | "none"
    confidence: float


NO_MATCH = Match(None, "none", 0.0)


def _latest(candidates: Iterable[Candidate]) -> Candidate:
    return max(candidates, key=lambda cert: (cert.lodged_on, cert.certificate_number))


def _dwelling(candidate: Candidate) -> object:
    """The dwelling a certificate is for: its UPRN, else its canonical address."""
    return candidate.uprn if candidate.uprn is not None else canonical_address(candidate.address)


def match_certificate(
    subject_address: str | None,
    subject_uprn: int | None,
    subject_type: str | None,
    candidates: Sequence[Candidate],
    threshold: float = MATCH_THRESHOLD,
) -> Match:
    """The latest certificate of the listing's dwelling among its postcode's certificates.

    By UPRN when the listing has one the register knows (confidence 1); else by address, the
    best-scoring dwelling at or above `threshold`; else, for a listing with no number or name
    ("High Street, Leeds LS6"), `postcode_only` with low confidence only when every
    certificate of the postcode is for one dwelling whose street and type do not disagree.
    """
    if subject_uprn is not None:
        same = [cert for cert in candidates if cert.uprn == subject_uprn]
        if same:
            return Match(_latest(same).certificate_number, "uprn", 1.0)

    subject = address_parts(subject_address)
    if subject.identified:
        scored = [
            (address_confidence(subject, address_parts(cert.address)), cert) for cert in candidates
        ]
        good = [(score, cert) for score, cert in scored if score >= threshold]
        if not good:
            return NO_MATCH
        best_score, best = max(good, key=lambda pair: (pair[0], pair[1].lodged_on))
        dwelling = [cert for _, cert in good if _dwelling(cert) == _dwelling(best)]
        return Match(_latest(dwelling).certificate_number, "address", best_score)

    return _postcode_only(subject, subject_type, candidates)


def _postcode_only(
    subject: AddressParts, subject_type: str | None, candidates: Sequence[Candidate]
) -> Match:
    """The postcode's one dwelling, when it has only one and nothing contradicts it."""
    if not candidates or len({_dwelling(cert) for cert in candidates}) != 1:
        return NO_MATCH
    latest = _latest(candidates)
    street = address_parts(latest.address).street
    if subject.street and street and not subject.street & street:
        return NO_MATCH
    allowed = COMPATIBLE_TYPES.get(subject_type or "")
    known = latest.property_type.lower() if latest.property_type else None
    if allowed is not None and known is not None and known not in allowed:
        return NO_MATCH
    return Match(latest.certificate_number, "postcode_only", POSTCODE_ONLY_CONFIDENCE)
