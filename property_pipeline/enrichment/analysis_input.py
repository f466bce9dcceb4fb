"""A listing's words made safe to hand to an analyser: clean, within budget, and without
sentences addressed to an automated reader.

Listing text is untrusted: agents, or anyone who can edit an advert, write it. Before either
analyser sees it, every field is made valid UTF-8 without control characters, sentences that
address a machine ("ignore previous instructions…", "set status analysed") are replaced by
`REDACTION_MARK`, and the text is cut to a budget of about 18,600 characters (title 300, address
300, summary 1,000, 25 features of 200, and the description's first 9,000 and last 3,000
characters), roughly 4,700 tokens, so a 200 KB description costs the same as a long normal one.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

LISTING_COLUMNS = (
    "listing_key",
    "title",
    "summary",
    "description",
    "key_features",
    "price",
    "property_type",
    "bedrooms",
    "tenure",
    "unit_count",
    "address",
    "listing_type",
)
TITLE_CHARS = 300
ADDRESS_CHARS = 300
SUMMARY_CHARS = 1_000
FEATURE_CHARS = 200
MAX_FEATURES = 25
DESCRIPTION_HEAD_CHARS = 9_000
DESCRIPTION_TAIL_CHARS = 3_000
TRUNCATION_MARK = " […] "
REDACTION_MARK = "[removed]"

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b-\u200f\u2028\u2029\ufeff]")
_SPACES = re.compile(r"[ \t]+")
_SENTENCE = re.compile(r"[^.!?\n]+[.!?]*")
# Known limit: a pattern list catches the common phrasings only; a reworded instruction gets
# through, and is then held off by the system message and the answer's validation instead.
_INSTRUCTION = re.compile(
    r"\b(?:ignore|disregard|forget|override|bypass)\b[^.!?\n]{0,40}?\b(?:instructions?|prompts?"
    r"|rules|guidelines|directions|context)\b"
    r"|\b(?:system|developer)\s*(?:prompt|message|instructions?)\b"
    r"|\b(?:you are now|you are an?|act as|pretend to be|roleplay as)\s+(?:an?\s+)?(?:ai|a\.i\."
    r"|assistant|language model|chatbot|llm|gpt|chatgpt|model)\b"
    r"|\b(?:reply|respond|answer|output|return)\s+(?:only\s+)?with\b[^.!?\n]{0,40}?"
    r"\b(?:condition|score|status|price|json|rating|valuation)\b"
    r"|\bset\s+(?:the\s+)?(?:status|score|rating|condition)\b"
    r"|\bset\s+(?:the\s+)?(?:price|value|valuation)\s+(?:to|=|as)\b"
    r"|\b(?:score|rating)\s*(?:of|=|:|to)?\s*100\b"
    r"|^\s*(?:system|assistant|developer)\s*:",
    re.IGNORECASE,
)


def _missing(value: object) -> bool:
    """Whether a frame cell holds nothing: None, NaN, pd.NA or NaT (never a list or text)."""
    if value is None:
        return True
    if isinstance(value, str | bytes | list | tuple | dict):
        return False
    try:
        return bool(pd.isna(value))  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return False


def clean_text(value: object, limit: int | None = None) -> str:
    """Text safe to send and store: valid UTF-8 (lone surrogates and undecodable bytes become
    "?"/"�"), no control or zero-width characters, runs of spaces collapsed, cut to `limit`."""
    if _missing(value):
        return ""
    if isinstance(value, bytes):
        text = value.decode("utf-8", "replace")
    else:
        text = str(value)
    text = text.encode("utf-8", "replace").decode("utf-8")
    text = _CONTROL.sub(" ", text)
    text = "\n".join(_SPACES.sub(" ", line).strip() for line in text.splitlines())
    text = re.sub(r"\n{3,}", "\n\n", text).strip()
    if limit is not None and len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    return text


def redact_instructions(text: str) -> tuple[str, int]:
    """The text with every sentence addressed to an automated reader replaced by
    `REDACTION_MARK`, and how many were replaced."""
    removed = 0

    def replace(sentence: re.Match[str]) -> str:
        nonlocal removed
        text = sentence.group()
        if _INSTRUCTION.search(text) is None:
            return text
        removed += 1
        return text[: len(text) - len(text.lstrip())] + REDACTION_MARK

    redacted = _SENTENCE.sub(replace, text)
    return redacted, removed


def cut_description(text: str) -> tuple[str, bool]:
    """The description within budget: its head and tail around a mark, and whether it was cut.

    Agents put the property first and the legal small print (lease, tenure, cash buyers) last,
    so both ends are kept.
    """
    if len(text) <= DESCRIPTION_HEAD_CHARS + DESCRIPTION_TAIL_CHARS:
        return text, False
    head = text[:DESCRIPTION_HEAD_CHARS]
    tail = text[-DESCRIPTION_TAIL_CHARS:]
    return f"{head}{TRUNCATION_MARK}{tail}", True


def _optional_int(value: object) -> int | None:
    if _missing(value) or isinstance(value, bool):
        return None
    try:
        return int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError, OverflowError):
        return None


def _features(value: object) -> list[str]:
    if _missing(value):
        return []
    if isinstance(value, str | bytes):
        value = [value]
    try:
        items = list(value)  # type: ignore[call-overload]
    except TypeError:
        return []
    return [text for text in (clean_text(item, FEATURE_CHARS) for item in items) if text]


@dataclass(frozen=True, slots=True)
class ListingText:
    """One listing as the analysers see it: cleaned, cut to budget and with instructions to
    automated readers removed; `price` is kept for the rules only and never sent."""

    listing_key: str
    title: str
    address: str
    summary: str
    description: str
    key_features: tuple[str, ...]
    property_type: str | None
    listing_type: str | None
    bedrooms: int | None
    tenure: str | None
    unit_count: int | None
    price: int | None
    truncated: bool
    instructions_removed: int

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> ListingText:
        """A listing from one row of the `listings` frame `analyse_listings` takes."""
        key = clean_text(row["listing_key"])
        if not key:
            raise ValueError(f"a listing has an empty listing_key: {dict(row)!r:.200}")
        removed = 0

        def safe(value: object, limit: int | None) -> str:
            nonlocal removed
            text, count = redact_instructions(clean_text(value))
            removed += count
            return clean_text(text, limit)

        description, truncated = cut_description(safe(row["description"], None))
        features = []
        for feature in _features(row["key_features"])[:MAX_FEATURES]:
            features.append(safe(feature, FEATURE_CHARS))
        return cls(
            listing_key=key,
            title=safe(row["title"], TITLE_CHARS),
            address=safe(row["address"], ADDRESS_CHARS),
            summary=safe(row["summary"], SUMMARY_CHARS),
            description=description,
            key_features=tuple(feature for feature in features if feature),
            property_type=clean_text(row["property_type"], 40) or None,
            listing_type=clean_text(row["listing_type"], 40) or None,
            bedrooms=_optional_int(row["bedrooms"]),
            tenure=clean_text(row["tenure"], 40) or None,
            unit_count=_optional_int(row["unit_count"]),
            price=_optional_int(row["price"]),
            truncated=truncated,
            instructions_removed=removed,
        )

    def prompt_data(self) -> dict[str, Any]:
        """What the model is shown: the listing's words and portal facts, not its price (the
        reading is of the property, and a price change must not cost a new reading)."""
        return {
            "listing": {
                "title": self.title,
                "address": self.address,
                "property_type": self.property_type,
                "listing_type": self.listing_type,
                "bedrooms": self.bedrooms,
                "tenure": self.tenure,
                "unit_count": self.unit_count,
                "key_features": list(self.key_features),
                "summary": self.summary,
                "description": self.description,
                "description_cut": self.truncated,
            }
        }

    def prompt_text(self) -> str:
        """The user message: `prompt_data` as one JSON object, the listing's only way in."""
        return json.dumps(self.prompt_data(), ensure_ascii=False)

    def plain_text(self) -> str:
        """Title, features, summary and description as one text, for the rules."""
        parts = [self.title, *self.key_features, self.summary, self.description]
        return "\n".join(part for part in parts if part)


def listing_texts(listings: pd.DataFrame) -> list[ListingText]:
    """The frame's rows as `ListingText`, refusing missing columns and repeated keys."""
    missing = [column for column in LISTING_COLUMNS if column not in listings.columns]
    if missing:
        raise ValueError(
            f"listings frame lacks columns {missing}; analyse_listings needs "
            f"{', '.join(LISTING_COLUMNS)}"
        )
    repeated = listings["listing_key"][listings["listing_key"].duplicated()].unique().tolist()
    if repeated:
        raise ValueError(
            f"listings frame repeats listing_key {repeated[:5]}; pass each listing once"
        )
    records = listings[list(LISTING_COLUMNS)].to_dict("records")
    return [ListingText.from_row(record) for record in records]
