"""Synthetic analysed listings for scoring at any size: every branch of the model, repeatably.

The rows are the ones ingest, screening and enrichment would write for a day (deduped_listings,
listing_features, screened and enriched), built set-based in DuckDB from `range(count)` and a
hash of each row's number, so a million rows take seconds and the same count and seed always
give the same rows. The mix covers what `scored.sql` branches on: blocks with and without a
stated unit mix (some of it invalid JSON), HMOs, mixed use, leaseholds with short leases,
auctions, deal-killer and other red flags, distress signals, stated rents (monthly, weekly,
"k" thousands) beside ground rents that must not count, missing values and missing floor areas.
Used by bench/scoring.py and by the test pinning the model's results.
"""

from __future__ import annotations

import datetime as dt

import duckdb

from property_pipeline.warehouse import store

# A few hundred real outcodes across every region and nation, reused by the bigger runs.
AREAS = ("M", "LS", "B", "E", "SW", "N", "BS", "CF", "EH", "G", "BT", "NE", "NG", "CB", "RG")

_NUMBERED = """
    select
        i,
        'syn:' || $seed || ':' || i as listing_key,
        'synp:' || $seed || ':' || (i // 2) as property_key,
        (hash(i, $seed, 'a') % 1000)::integer as a,
        (hash(i, $seed, 'b') % 1000)::integer as b,
        (hash(i, $seed, 'c') % 1000)::integer as c,
        (hash(i, $seed, 'd') % 1000)::integer as d
    from range($count) as numbers(i)
"""

_LISTINGS = f"""
    with numbered as ({_NUMBERED}),
    shaped as (
        select
            *,
            ['terraced', 'terraced', 'semi_detached', 'detached', 'flat', 'flat', 'bungalow',
                'block_of_flats', 'hmo', 'mixed_use'][1 + a % 10] as property_type,
            $areas[1 + b % len($areas)] || (1 + c % $outcodes_per_area) as outcode,
            ['freehold', 'freehold', 'leasehold', 'share_of_freehold', 'unknown'][1 + c % 5]
                as tenure
        from numbered
    )
    select
        *,
        case
            when property_type in ('block_of_flats', 'hmo', 'mixed_use') then 2 + d % 7
            else 1
        end as unit_count,
        case when property_type = 'flat' then d % 4 else 1 + d % 5 end as bedrooms,
        (
            case property_type
                when 'block_of_flats' then 600000
                when 'hmo' then 320000
                when 'mixed_use' then 380000
                when 'detached' then 420000
                when 'flat' then 160000
                else 210000
            end
            + 1000 * (a % 150)
        )::bigint as price
    from shaped
"""

_DEDUPED = f"""
    with listings as ({_LISTINGS})
    select
        listing_key,
        property_key,
        ['rightmove', 'zoopla', 'auctions'][1 + a % 3] as source,
        listing_key as source_id,
        'https://example.test/' || listing_key as url,
        case when a % 9 = 0 then 'auction_lot' else 'sale' end as listing_type,
        case when d % 13 = 0 then null else bedrooms || ' bed ' || property_type end as title,
        price,
        null as price_qualifier,
        property_type,
        null as property_sub_type,
        bedrooms,
        1 as bathrooms,
        tenure,
        case when tenure = 'leasehold' then 40 + b % 120 end as lease_years_remaining,
        null as ground_rent,
        null as service_charge,
        outcode || ' ' || (1 + a % 9) || 'AB' as postcode,
        outcode,
        i || ' Synthetic Road' as address,
        null as latitude,
        null as longitude,
        case when c % 4 = 0 then 'Investment opportunity.' end as summary,
        [
            'A well presented home close to shops and transport. ',
            'Sold with no onward chain, viewing recommended. ',
            'Currently let at £' || (650 + b % 600) || ' pcm to a long standing tenant. ',
            'Ground rent £250 per annum and service charge £1,200 pa. ',
            'Let at £' || (6 + b % 20) || 'k pa, producing a healthy income. ',
            'Achieving £' || (120 + b % 80) || ' per week. ',
            'Ground rent £' || (100 + b % 400) || ' pa; currently let at £'
                || (700 + b % 500) || ' per calendar month. ',
            'Offers over £' || price || ' invited. '
        ][1 + d % 8]
            || repeat('Spacious rooms, a garden and parking to the rear. ', 4 + a % 12)
            as description,
        case when a % 5 = 0 then ['Garden', 'Parking'] else []::varchar[] end as key_features,
        ['Example Estates', 'Synthetic Homes', 'Auction House'][1 + b % 3] as agent,
        null::date as first_listed_at,
        null::date as auction_date,
        null::integer as lot_number,
        ['new', 'active', 'active', 'relisted'][1 + c % 4] as listing_status,
        $day::date as first_seen_on,
        null::date as previous_seen_on,
        1 as times_seen,
        null::bigint as previous_price,
        null::bigint as price_change,
        1.0 as match_confidence,
        'self' as match_method,
        1 as sources_seen,
        ['rightmove'] as sources,
        1 as listings_linked,
        $day::date - (d % 200)::integer as property_first_listed_at,
        d % 200 as days_on_market,
        case when b % 4 = 0 then 1 else 0 end as price_cuts,
        case when b % 4 = 0 then (b % 25) / 100.0 end as price_cut_pct
    from listings
"""

_FLAGS = """
    case
        when {x} % 10 < 6 then []::varchar[]
        when {x} % 10 = 6 then ['shared_ownership']
        when {x} % 10 = 7 then ['japanese_knotweed', 'flying_freehold']
        when {x} % 10 = 8 then ['auction_reservation_fee', 'short_lease', 'flood_risk']
        else ['retirement_or_age_restricted', 'cash_buyers_only']
    end
"""
_SIGNALS = """
    case
        when {x} % 7 < 4 then []::varchar[]
        when {x} % 7 = 4 then ['probate']
        when {x} % 7 = 5 then ['needs_modernisation', 'repossession']
        else ['needs_modernisation']
    end
"""

_FEATURES = f"""
    with listings as ({_LISTINGS})
    select
        listing_key,
        case when a % 17 = 0 then null else unit_count end as unit_count,
        case when property_type = 'hmo' then 'hmo_room' end as unit_kind,
        case when property_type = 'mixed_use' then 1 else 0 end as commercial_units,
        tenure,
        case when tenure = 'leasehold' then 40 + b % 120 end as lease_years_remaining,
        {_FLAGS.format(x="c")} as red_flags,
        {_SIGNALS.format(x="d")} as signals,
        null as evidence
    from listings
"""

_SCREENED = f"""
    with listings as ({_LISTINGS})
    select
        listing_key,
        property_key,
        'pending_enrichment' as status,
        []::varchar[] as reasons,
        price,
        outcode,
        property_type,
        tenure,
        case when tenure = 'leasehold' then 40 + b % 120 end as lease_years_remaining,
        unit_count,
        case when property_type = 'hmo' then 'hmo_room' end as unit_kind,
        -- Some rows carry no screened flags, so the model falls back to listing_features'.
        case when a % 11 = 0 then null else {_FLAGS.format(x="c")} end as red_flags,
        case when a % 11 = 0 then null else {_SIGNALS.format(x="d")} end as signals
    from listings
"""

_ENRICHED = f"""
    with listings as (
        -- One listing in 25 a bargain, so every band turns up even in a few hundred rows.
        select *, case when a % 25 = 1 then 0.9 else (d % 45) / 100 end as value_step
        from ({_LISTINGS})
    )
    select
        listing_key,
        property_key,
        'analysed' as status,
        1 as attempts,
        case when a % 9 = 0 then 'auction_lot' else 'sale' end as listing_type,
        price,
        outcode || ' ' || (1 + a % 9) || 'AB' as postcode,
        case when d % 23 = 0 then lower(outcode) else outcode end as outcode,
        i || ' Synthetic Road' as address,
        property_type,
        bedrooms,
        unit_count,
        tenure,
        ['B', 'C', 'D', 'E', 'F', 'G'][1 + b % 6] as epc_rating,
        case when c % 8 = 0 then null else 30 + 22 * bedrooms * unit_count end as floor_area_sqm,
        a % 15 as comparables_count,
        case when a % 15 = 0 then null else round(price * (0.8 + value_step))::bigint end
            as estimated_value,
        case when a % 15 = 0 then null else round(price * (0.7 + value_step))::bigint end
            as value_low,
        case when a % 15 = 0 then null else round(price * (0.9 + value_step))::bigint end
            as value_high,
        case when a % 15 = 0 then null else 0.5 + (b % 50) / 100 end as value_confidence,
        ['good', 'fair', 'Dated', 'poor', 'derelict', 'modernised', null][1 + c % 7]
            as condition,
        [null, null, 'none', 'light', 'cosmetic', 'full', 'structural', 'unknown'][1 + d % 8]
            as refurbishment_scope,
        case
            when property_type <> 'block_of_flats' or b % 3 = 0 then null
            when b % 3 = 1 then '[{{"kind": "flat", "bedrooms": 2, "count": ' || unit_count
                || '}}, {{"kind": "studio", "bedrooms": 0, "count": 1}}'
                || case when b % 2 = 0 then ', {{"kind": "shop", "bedrooms": 0, "count": 1}}'
                    else '' end || ']'
            else 'not json'
        end as unit_breakdown,
        [['refurbishment'], ['Title_Split', 'hmo'], []::varchar[], null, ['flip']][1 + a % 5]
            as strategy_fit,
        $day::timestamp as enriched_at
    from listings
"""

TABLE_QUERIES = {
    "deduped_listings": _DEDUPED,
    "listing_features": _FEATURES,
    "screened": _SCREENED,
    "enriched": _ENRICHED,
}


def write_synthetic_listings(
    conn: duckdb.DuckDBPyConnection, day: dt.date, count: int, seed: int = 0
) -> None:
    """Replace `day`'s partitions of the four tables scoring reads with `count` listings.

    Outcodes grow with the count (about 400 listings each) so local median yields exist at
    every size; the same count and seed give the same rows.
    """
    outcodes_per_area = max(2, count // (400 * len(AREAS)))
    params = {
        "count": count,
        "seed": seed,
        "day": day,
        "areas": list(AREAS),
        "outcodes_per_area": outcodes_per_area,
    }
    for table, query in TABLE_QUERIES.items():
        store.replace_partition(conn, table, day, query, params)
