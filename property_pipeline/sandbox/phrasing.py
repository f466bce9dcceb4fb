"""Listing text for the synthetic market, written the many ways UK agents write it.

Parsers downstream must find unit counts, tenure, lease length, red flags and motivated-seller
signals in free text, so every fact here has several phrasings: numbers in words and digits
("a block of four self-contained flats", "4 x 1 bed flats"), tenure in agents' shorthand ("share of
freehold", "lease of 68 years remaining") and the traps real adverts hold ("potential to convert
into three flats", "not a retirement property"). Everything is chosen with the caller's
`random.Random`, so the same advert always reads the same.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass

from property_pipeline.sandbox.model import Property

# Facts about an advert that its text may reveal; the market decides them, phrasing only words them.
SIGNALS = (
    "cash_buyers_only",
    "non_standard_construction",
    "subsidence",
    "japanese_knotweed",
    "sitting_tenant",
    "shared_ownership",
    "retirement",
    "cladding",
    "flying_freehold",
    "escalating_ground_rent",
    "article_4",
    "hmo_licensed",
    "probate",
    "chain_free",
    "quick_sale",
    "repossession",
    "receivership",
    "modern_method_of_auction",
    "back_on_market",
)

_NUMBER_WORDS = (
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
    "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen",
    "nineteen", "twenty",
)  # fmt: skip

AGENT_BRANDS = (
    "Harbour & Pike", "Kingsley Marsh", "Oakfield Estates", "Bramble Residential",
    "Castleton Homes", "Northgate Property", "Wrenfield Sales", "Ashby Lane Estate Agents",
    "Mercer Hale", "Fenwick & Rowe", "Coldharbour Property", "Linden Moss", "Tidewell Homes",
    "Greyfriars Estates", "Beacon & Brook", "Hollins Whitley", "Sandford Knight", "Ravel Homes",
    "Carrow & Daughters", "Marlow Yates",
)  # fmt: skip

_NON_STANDARD_SYSTEMS = (
    "Airey", "Cornish", "Reema", "Woolaway", "Orlit", "BISF steel frame", "Wimpey No-Fines",
    "precast reinforced concrete (PRC)",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Advert:
    """What one advert is written about: the property, where it runs and the facts to mention."""

    property: Property
    source: str  # "rightmove", "zoopla", "allsop", "auctionhouse"
    signals: frozenset[str]  # names from SIGNALS
    listed_year: int
    area: str = ""  # the neighbourhood agents name for the location, "Chadwell Heath"
    unit_beds: tuple[int, ...] = ()  # bedrooms of each flat in a block or above a shop
    shared_ownership_pct: int | None = None
    tenancy: str | None = None  # auction lots: "Vacant Possession", "Fully Let", "Part Let"


@dataclass(frozen=True, slots=True)
class ListingText:
    """The words a portal shows for an advert."""

    title: str
    summary: str
    description: str  # paragraphs separated by blank lines
    key_features: tuple[str, ...]


def number_word(n: int) -> str:
    """A small count in words ("four"), or its digits when there is no common word for it."""
    return _NUMBER_WORDS[n] if 0 <= n < len(_NUMBER_WORDS) else str(n)


def agent_name(brand: int, town: str) -> str:
    """The display name of an agent branch, "Oakfield Estates, Romford"."""
    return f"{AGENT_BRANDS[brand % len(AGENT_BRANDS)]}, {town}"


def write_listing(rng: random.Random, advert: Advert) -> ListingText:
    """Title, summary, description and key features for one advert, in its source's style."""
    paragraphs = [
        _opening(rng, advert),
        _layout(rng, advert),
        _tenure(rng, advert),
        _condition(rng, advert.property),
        _red_flags(rng, advert),
        _motivation(rng, advert),
        _traps(rng, advert),
        _locality(rng, advert),
    ]
    description = "\n\n".join(p for p in paragraphs if p)
    return ListingText(
        title=_title(rng, advert),
        summary=_summary(description),
        description=description,
        key_features=_key_features(rng, advert),
    )


def _plural(n: int, word: str) -> str:
    return word if n == 1 else f"{word}s"


def _money(pounds: int) -> str:
    return f"£{pounds:,}"


def _house_label(rng: random.Random, prop: Property) -> str:
    labels = {
        "flat": ("flat", "apartment", "flat", "maisonette"),
        "terraced": ("terraced house", "terraced house", "end of terrace house"),
        "semi_detached": ("semi-detached house",),
        "detached": ("detached house",),
        "bungalow": ("bungalow", "detached bungalow", "semi-detached bungalow"),
    }
    return rng.choice(labels.get(prop.property_type, ("property",)))


def _title(rng: random.Random, advert: Advert) -> str:
    prop = advert.property
    if advert.source == "allsop":
        return _allsop_byline(rng, advert)
    if advert.source == "auctionhouse":
        return _short_type(rng, prop).title()
    bed_word = "bedroom" if advert.source == "rightmove" else "bed"
    special = {
        "block_of_flats": (
            "Block of apartments for sale",
            f"{prop.bedrooms} {bed_word} block of apartments for sale",
            "Block of flats for sale",
        ),
        "hmo": (
            f"{prop.bedrooms} {bed_word} house of multiple occupation for sale",
            f"{prop.bedrooms} {bed_word} terraced house for sale",
            f"{prop.bedrooms} {bed_word} property for sale",
        ),
        "mixed_use": (
            "Property for sale",
            "Commercial property for sale",
            "Retail property (high street) for sale",
        ),
    }
    if prop.property_type in special:
        return rng.choice(special[prop.property_type])
    if prop.property_type == "flat" and prop.bedrooms == 0:
        return rng.choice(("Studio flat for sale", "Studio for sale"))
    return f"{prop.bedrooms} {bed_word} {_house_label(rng, prop)} for sale"


def _short_type(rng: random.Random, prop: Property) -> str:
    if prop.property_type == "block_of_flats":
        return rng.choice((f"block of {prop.units} flats", f"{_title_word(prop)} block of flats"))
    if prop.property_type == "hmo":
        return rng.choice((f"{prop.units} bed HMO", "house in multiple occupation"))
    if prop.property_type == "mixed_use":
        return rng.choice(("shop with flat above", "mixed use property"))
    if prop.bedrooms == 0:
        return "studio flat"
    return f"{prop.bedrooms} bed {_house_label(rng, prop)}"


def _allsop_byline(rng: random.Random, advert: Advert) -> str:
    prop = advert.property
    tenancy = "VACANT" if advert.tenancy in (None, "Vacant Possession") else "INVESTMENT"
    tenure = {
        "freehold": "Freehold",
        "leasehold": "Leasehold",
        "share_of_freehold": "Share of Freehold",
        "commonhold": "Commonhold",
    }[prop.tenure]
    kind = {
        "block_of_flats": f"Block of {number_word(prop.units).title()} Flats",
        "hmo": f"{number_word(prop.units).title()} Room HMO",
        "mixed_use": f"Shop & {number_word(prop.units).title()} {_plural(prop.units, 'Flat')}",
    }.get(prop.property_type) or _short_type(rng, prop).title()
    return f"{tenancy} - {tenure} {kind}"


def _opening(rng: random.Random, advert: Advert) -> str:
    prop = advert.property
    adjective = rng.choice(
        {
            "good": ("well presented", "spacious", "bright", "deceptively spacious", "smart"),
            "needs_modernisation": ("dated", "tired", "period", "traditional"),
            "derelict": ("run-down", "neglected", "dilapidated"),
        }[prop.condition]
    )
    what = _short_type(rng, prop)
    place = f"{prop.street}, {prop.locality or prop.location.town}"
    templates = (
        f"We are pleased to offer this {adjective} {what} on {place}.",
        f"A {adjective} {what} set on {prop.street} in {prop.location.town}.",
        f"Offered to the market is a {adjective} {what} located on {place}.",
        f"{what[0].upper()}{what[1:]} on {place}, {prop.location.outcode}.",
        f"Situated on {prop.street}, this {adjective} {what} is offered for sale.",
    )
    if advert.source in ("allsop", "auctionhouse"):
        tenancy = advert.tenancy or "Vacant Possession"
        return f"{_allsop_byline(rng, advert).title()}. {tenancy}. {rng.choice(templates)}"
    return rng.choice(templates)


def _unit_mix(unit_beds: tuple[int, ...], *, in_words: bool) -> str:
    counts = sorted(Counter(unit_beds).items())
    parts = []
    for beds, count in counts:
        if in_words:
            size = "studio" if beds == 0 else f"{number_word(beds)}-bedroom"
            parts.append(f"{number_word(count)} {size}")
        else:
            parts.append(f"{count} x {'studio' if beds == 0 else f'{beds} bed'}")
    if len(parts) == 1:
        return parts[0]
    return ", ".join(parts[:-1]) + " and " + parts[-1]


def _layout(rng: random.Random, advert: Advert) -> str:
    prop = advert.property
    if prop.property_type == "block_of_flats":
        return _block_layout(rng, prop, advert.unit_beds)
    if prop.property_type == "hmo":
        return _hmo_layout(rng, prop, "hmo_licensed" in advert.signals)
    if prop.property_type == "mixed_use":
        return _mixed_use_layout(rng, prop, advert.unit_beds)
    return _home_layout(rng, prop)


def _title_word(prop: Property) -> str:
    """How a whole building's title is described: only a freehold is called one."""
    return "freehold" if prop.tenure == "freehold" else "long leasehold"


def _block_layout(rng: random.Random, prop: Property, unit_beds: tuple[int, ...]) -> str:
    n, word, title = prop.units, number_word(prop.units), _title_word(prop)
    digits = _unit_mix(unit_beds, in_words=False)
    words = _unit_mix(unit_beds, in_words=True)
    return rng.choice(
        (
            f"The building comprises a block of {word} self-contained flats ({digits}).",
            f"Investment opportunity: {digits} flats within a single {title} title.",
            f"A {title} building arranged as {word} flats, namely {words}.",
            f"The property has been converted into {n} apartments, each with its own front door.",
            f"{word.title()}-unit {title} block providing {words} flats.",
            f"An unbroken {title} block of {n} flats: {digits}.",
            f"Comprising {word} self contained units over three floors ({words}).",
        )
    )


def _hmo_layout(rng: random.Random, prop: Property, licensed: bool) -> str:
    n, word = prop.units, number_word(prop.units)
    options = [
        f"A {word}-bed HMO with shared kitchen and {prop.bathrooms} bathrooms.",
        f"{n} bedroom HMO arranged over three floors, fully let to professional sharers.",
        f"The house provides {n} lettable rooms with communal kitchen and lounge.",
        f"{word.title()} letting rooms, several with en-suite shower rooms.",
    ]
    if licensed:
        options += [
            f"HMO licensed for {n} persons, licence in place until 2028.",
            f"Currently licensed for {n} sharers by the local authority.",
        ]
    if n >= 7:
        options.append(f"A large sui generis HMO offering {word} rooms.")
    return rng.choice(options)


def _mixed_use_layout(rng: random.Random, prop: Property, unit_beds: tuple[int, ...]) -> str:
    n, word, title = prop.units, number_word(prop.units), _title_word(prop)
    flats = _plural(n, "flat")
    digits = _unit_mix(unit_beds, in_words=False)
    words = _unit_mix(unit_beds, in_words=True)
    return rng.choice(
        (
            f"A ground floor shop with {word} {flats} above, each with separate access.",
            f"Retail unit with {digits} bed {flats} over.",
            f"Commercial unit and {word} residential {flats} above ({digits}).",
            f"Mixed use {title}: shop plus {n} self-contained {flats}.",
            f"Lock-up shop with {words} {flats} on the upper floors.",
        )
    )


def _home_layout(rng: random.Random, prop: Property) -> str:
    rooms = rng.choice(("lounge", "living room", "sitting room"))
    bedrooms = (
        "a studio room"
        if prop.bedrooms == 0
        else f"{number_word(prop.bedrooms)} {_plural(prop.bedrooms, 'bedroom')}"
    )
    bath = f"{number_word(prop.bathrooms)} {_plural(prop.bathrooms, 'bathroom')}"
    garden = "" if prop.property_type == "flat" else rng.choice((" and a rear garden", ""))
    return rng.choice(
        (
            f"Accommodation comprises {rooms}, kitchen, {bedrooms} and {bath}{garden}.",
            f"Inside there is a {rooms}, a fitted kitchen, {bedrooms} and {bath}{garden}.",
            f"The property offers {bedrooms}, {bath} and a {rooms} of about "
            f"{prop.floor_area_sqm} sq m overall{garden}.",
        )
    )


def _tenure(rng: random.Random, advert: Advert) -> str:
    prop = advert.property
    sentences = [_tenure_sentence(rng, prop, advert.listed_year)]
    if prop.ground_rent is not None:
        sentences.append(_ground_rent_sentence(rng, prop, advert.signals))
    if prop.service_charge is not None:
        sentences.append(
            rng.choice(
                (
                    f"Service charge {_money(prop.service_charge)} p.a.",
                    f"Service charge approx. {_money(prop.service_charge)}/year.",
                    f"The annual service charge is {_money(prop.service_charge)}.",
                )
            )
        )
    return " ".join(sentences)


def _tenure_sentence(rng: random.Random, prop: Property, listed_year: int) -> str:
    years = prop.lease_years_remaining
    if prop.tenure == "freehold":
        if prop.property_type in ("block_of_flats", "mixed_use") and prop.units > 1:
            return rng.choice(
                (
                    "Freehold. No leases have been granted.",
                    "Offered as an unbroken freehold.",
                    "Freehold block - no leases granted.",
                    "Tenure: Freehold (whole building).",
                )
            )
        return rng.choice(("Freehold.", "Tenure: Freehold.", "The property is offered freehold."))
    if prop.tenure == "commonhold":
        return rng.choice(("Commonhold.", "Tenure: Commonhold, no ground rent payable."))
    if years is None:
        raise ValueError(f"property {prop.property_id} is {prop.tenure} without a lease length")
    if prop.tenure == "share_of_freehold":
        return rng.choice(
            (
                "Share of freehold.",
                f"Sold with a share of the freehold and a {years} year lease.",
                f"Tenure: Share of Freehold ({years} years remaining).",
            )
        )
    return _lease_sentence(rng, years, listed_year)


def _lease_sentence(rng: random.Random, years: int, listed_year: int) -> str:
    options = [
        f"Leasehold with a lease of {years} years remaining.",
        f"{years} years remaining on the lease.",
        f"Leasehold - approx. {years} years unexpired.",
        f"Tenure: Leasehold ({years} years left).",
    ]
    if years > 900:
        granted = listed_year - (999 - years)
        options += ["999 year lease.", f"999-year lease from {granted}."]
    elif 80 <= years <= 125:
        options.append(f"125 year lease from {listed_year - (125 - years)}.")
    sentence = rng.choice(options)
    if years < 80 and rng.random() < 0.7:
        sentence += rng.choice(
            (
                " Short lease - cash buyers may be best placed.",
                " A lease extension will be required.",
                " Please note this is a short lease.",
                " The lease needs extending.",
            )
        )
    return sentence


def _ground_rent_sentence(rng: random.Random, prop: Property, signals: frozenset[str]) -> str:
    rent = prop.ground_rent or 0
    if rent == 0:
        return rng.choice(("Peppercorn ground rent.", "No ground rent is payable."))
    if "escalating_ground_rent" in signals:
        period = rng.choice((10, 15, 25))
        return f"Ground rent {_money(rent)} per annum, doubling every {period} years."
    return rng.choice(
        (f"Ground rent: {_money(rent)} per annum.", f"Ground rent {_money(rent)} pa.")
    )


def _condition(rng: random.Random, prop: Property) -> str:
    options = {
        "good": (
            "Recently refurbished and well presented throughout.",
            "The property is in move-in condition with a newly fitted kitchen.",
            "Double glazing and gas central heating throughout.",
            "",
        ),
        "needs_modernisation": (
            "The property requires modernisation throughout.",
            "In need of refurbishment, offering scope to add value.",
            "An ideal renovation project.",
            "Unmodernised and priced accordingly.",
            "Would benefit from some updating.",
        ),
        "derelict": (
            "The building is derelict and requires complete renovation.",
            "Fire damaged property, uninhabitable in its current condition.",
            "Derelict property in need of full refurbishment.",
        ),
    }[prop.condition]
    return rng.choice(options)


_RED_FLAG_PHRASES: dict[str, tuple[str, ...]] = {
    "cash_buyers_only": (
        "Cash buyers only.",
        "Suitable for cash purchasers only.",
        "Not suitable for mortgage purposes.",
        "We understand the property is unmortgageable.",
    ),
    "subsidence": (
        "There is evidence of historic subsidence.",
        "The property has been underpinned.",
        "A survey has noted some structural movement.",
    ),
    "japanese_knotweed": (
        "Japanese knotweed has been identified; a treatment plan is in place.",
        "Knotweed is present in the rear garden.",
    ),
    "sitting_tenant": (
        "Sold subject to a sitting tenant.",
        "A regulated tenancy (Rent Act) is in place.",
        "Occupied by a protected tenant paying a registered fair rent.",
    ),
    "retirement": (
        "A retirement apartment for the over 60s.",
        "Age restricted development (over 55s).",
        "Part of an assisted living development with on-site warden.",
    ),
    "cladding": (
        "An EWS1 form is required; cladding remediation works are planned.",
        "The building is subject to Building Safety Act remediation.",
        "Buyers should note ACM cladding on the building.",
    ),
    "flying_freehold": (
        "Part of the property is a flying freehold over the passageway.",
        "There is a creeping freehold element to the title.",
    ),
    "article_4": (
        "The property lies within an Article 4 area.",
        "Please note the local Article 4 direction for HMOs.",
    ),
}


def _red_flags(rng: random.Random, advert: Advert) -> str:
    sentences = [
        rng.choice(phrases)
        for signal, phrases in _RED_FLAG_PHRASES.items()
        if signal in advert.signals
    ]
    if "non_standard_construction" in advert.signals:
        system = rng.choice(_NON_STANDARD_SYSTEMS)
        sentences.append(
            rng.choice(
                (
                    f"The house is of {system} construction.",
                    "Non-standard construction.",
                    f"Non-standard {system} construction; buyers should check lender criteria.",
                )
            )
        )
    if "shared_ownership" in advert.signals and advert.shared_ownership_pct:
        pct = advert.shared_ownership_pct
        sentences.append(
            rng.choice(
                (
                    f"Shared ownership: a {pct}% share is offered.",
                    f"{pct}% share with rent payable on the remaining share.",
                    f"Shared ownership ({pct}% share), staircasing available up to 100%.",
                )
            )
        )
    return " ".join(sentences)


_MOTIVATION_PHRASES: dict[str, tuple[str, ...]] = {
    "probate": (
        "Probate sale.",
        "Sold on behalf of the executors.",
        "A deceased estate.",
        "Executor sale - probate granted.",
    ),
    "chain_free": ("Chain free.", "No onward chain.", "Offered with no chain."),
    "quick_sale": (
        "Reduced for quick sale.",
        "Our vendor seeks a quick sale.",
        "Priced for a quick sale.",
        "Offers invited.",
    ),
    "repossession": (
        "Bank repossession.",
        "Sold on behalf of the mortgagee in possession.",
        "Repossession - no chain.",
    ),
    "receivership": ("LPA receiver sale.", "Sold by the receivers; no warranties given."),
    "modern_method_of_auction": (
        "For sale by modern method of auction; a reservation fee applies.",
        "Conditional auction: the buyer pays a non-refundable reservation fee.",
    ),
    "back_on_market": (
        "Back on the market.",
        "Back on market due to a buyer's finance falling through.",
    ),
}


def _motivation(rng: random.Random, advert: Advert) -> str:
    return " ".join(
        rng.choice(phrases)
        for signal, phrases in _MOTIVATION_PHRASES.items()
        if signal in advert.signals
    )


def _traps(rng: random.Random, advert: Advert) -> str:
    """Phrases that look like a fact but are not one: negations, potential and consents."""
    prop = advert.property
    options: list[str] = []
    if prop.property_type == "flat":
        if "retirement" not in advert.signals:
            options += ["This is not a retirement property.", "No age restrictions apply."]
        if "shared_ownership" not in advert.signals:
            options.append("Please note this is not a shared ownership sale.")
        options.append(f"One of {number_word(rng.randint(3, 8))} flats in a converted building.")
    if prop.property_type in ("terraced", "semi_detached", "detached") and prop.bedrooms >= 4:
        units = number_word(rng.randint(2, 4))
        options += [
            f"Potential to convert into {units} flats, subject to planning.",
            f"Planning permission has been sought for {units} units.",
        ]
    if "non_standard_construction" not in advert.signals and prop.property_type != "flat":
        options.append("Of standard brick construction.")
    if not options or rng.random() > 0.3:
        return ""
    return rng.choice(options)


def _locality(rng: random.Random, advert: Advert) -> str:
    prop = advert.property
    area = advert.area or prop.locality or prop.location.town
    centre = "the high street" if prop.location.town == "London" else f"{prop.location.town} centre"
    return rng.choice(
        (
            f"{area} is well served by shops, schools and transport links.",
            f"Close to {area} station and local amenities.",
            f"Within walking distance of {centre}.",
            f"Popular residential location in {area}, {prop.location.outcode}.",
        )
    )


def _summary(description: str) -> str:
    text = " ".join(description.split())
    if len(text) <= 240:
        return text
    cut = text[:240].rsplit(" ", 1)[0]
    return f"{cut}..."


def _key_features(rng: random.Random, advert: Advert) -> tuple[str, ...]:
    prop = advert.property
    features = [_feature_units(rng, prop, advert.unit_beds), _feature_tenure(prop)]
    short_signals = {
        "cash_buyers_only": "Cash buyers only",
        "chain_free": rng.choice(("Chain free", "No onward chain")),
        "probate": "Probate sale",
        "quick_sale": "Reduced for quick sale",
        "repossession": "Repossession",
        "modern_method_of_auction": "Modern method of auction",
        "shared_ownership": f"{advert.shared_ownership_pct}% shared ownership",
        "retirement": "Over 55s only",
        "hmo_licensed": "HMO licence in place",
        "back_on_market": "Back on market",
    }
    features += [text for signal, text in short_signals.items() if signal in advert.signals]
    extras = [
        f"EPC rating {prop.epc_rating}",
        f"Approx. {round(prop.floor_area_sqm * 10.764):,} sq ft",
        "Gas central heating",
        "Double glazing",
        "Close to local amenities",
        "Viewing recommended",
    ]
    if prop.condition != "good":
        extras.append(rng.choice(("Requires modernisation", "Refurbishment project")))
    rng.shuffle(extras)
    features += extras[: rng.randint(2, 4)]
    return tuple(features[:10])


def _feature_units(rng: random.Random, prop: Property, unit_beds: tuple[int, ...]) -> str:
    if prop.property_type == "block_of_flats":
        return rng.choice(
            (
                f"Block of {prop.units} self-contained flats",
                f"{_unit_mix(unit_beds, in_words=False)} flats",
                f"{number_word(prop.units).title()} flats on one {_title_word(prop)} title",
            )
        )
    if prop.property_type == "hmo":
        return rng.choice((f"{prop.units} bed HMO", f"{prop.units} lettable rooms"))
    if prop.property_type == "mixed_use":
        return f"Shop with {number_word(prop.units)} {_plural(prop.units, 'flat')} above"
    if prop.bedrooms == 0:
        return "Studio"
    return f"{number_word(prop.bedrooms).title()} {_plural(prop.bedrooms, 'bedroom')}"


def _feature_tenure(prop: Property) -> str:
    years = prop.lease_years_remaining
    if prop.tenure == "freehold":
        return "Freehold"
    if prop.tenure == "commonhold":
        return "Commonhold"
    if prop.tenure == "share_of_freehold":
        return "Share of freehold"
    return f"Leasehold ({years} years remaining)"
