-- asset: property_links
-- Which listings are one real property, across portals, auction catalogues and relists: a row
-- for every listing of each property in play on the partition date (one of its listings seen
-- that day or just withdrawn), with the property's key, the confidence of the listing's
-- strongest match and the rule that made it.
-- Two listings match on a normalised address (street, house number, flat) and postcode, or
-- outcode and map position when a postcode is missing, with bedrooms and price band agreeing.
-- Any hard disagreement vetoes a match: different streets, postcodes, house numbers, flats,
-- bedrooms or property types, prices outside each other's band, positions too far apart, or
-- two adverts on one source at the same time. Matches chain: a Zoopla advert matched to a
-- Rightmove one that matched an auction lot joins the lot too. The key is the listing_key of
-- the property's first-seen listing, so it stays put as later listings join. Built from
-- raw_listings up to the partition date only.

with recursive observations as (
    select
        *,
        -- Orders a listing's scrapes, latest largest (the warehouse's scrape_order macro); two
        -- scrapes of one day (a rerun) are told apart by time and URL, so every pick below is
        -- the same whatever order rows come in.
        scrape_order(partition_date, scraped_at, url) as scrape_order
    from {{ ref('raw_listings') }}
    where partition_date <= $partition_date
),

listings as (
    select
        source || ':' || source_id as listing_key,
        source,
        source_id,
        -- arg_max skips nulls: each field is the latest value any scrape gave.
        arg_max(listing_type, scrape_order) as listing_type,
        arg_max(property_type, scrape_order) as property_type,
        arg_max(bedrooms, scrape_order) as bedrooms,
        arg_max(upper(replace(postcode, ' ', '')), scrape_order) as postcode_key,
        arg_max(upper(outcode), scrape_order) as outcode,
        arg_max(address, scrape_order) as address,
        arg_max(
            {'latitude': latitude, 'longitude': longitude},
            scrape_order
        ) filter (where latitude is not null and longitude is not null) as position,
        min(price) as lowest_price,
        max(price) as highest_price,
        min(partition_date) as first_seen_on,
        max(partition_date) as last_seen_on,
        least(min(first_listed_at), min(partition_date)) as first_listed_at
    from observations
    group by source, source_id
),

abbreviations as (
    select map {
        'rd': 'road',
        'str': 'street',
        'ave': 'avenue',
        'av': 'avenue',
        'ln': 'lane',
        'dr': 'drive',
        'cl': 'close',
        'cres': 'crescent',
        'gdns': 'gardens',
        'gr': 'grove',
        'gro': 'grove',
        'pl': 'place',
        'sq': 'square',
        'ter': 'terrace',
        'terr': 'terrace',
        'tce': 'terrace',
        'pk': 'park',
        'pde': 'parade',
        'mws': 'mews',
        'wlk': 'walk',
        'ct': 'court',
        'hse': 'house',
        'hts': 'heights',
        'apt': 'flat',
        'apartment': 'flat',
        'flt': 'flat'
    } as expansions
),

cleaned_addresses as (
    select
        listings.listing_key,
        abbreviations.expansions,
        -- Lower case, apostrophes dropped ("St John's" is "st johns"), other punctuation a
        -- space, commas kept as breaks between parts, postcodes and outcodes removed; "st" ends
        -- a part as "street" and starts a name as "saint".
        regexp_replace(
            regexp_replace(
                regexp_replace(
                    regexp_replace(
                        regexp_replace(lower(listings.address), '''', '', 'g'),
                        '[^a-z0-9,]+',
                        ' ',
                        'g'
                    ),
                    '\b[a-z]{1,2}[0-9][a-z0-9]?( [0-9][a-z]{2})?\b',
                    ' ',
                    'g'
                ),
                '\bst *(,|$)',
                'street\1',
                'g'
            ),
            '\bst\b',
            'saint',
            'g'
        ) as cleaned
    from listings
    cross join abbreviations
),

address_keys as (
    select
        listing_key,
        array_to_string(
            list_filter(
                list_transform(
                    string_split(cleaned, ','),
                    lambda part: array_to_string(
                        list_transform(
                            list_filter(string_split(part, ' '), lambda word: word <> ''),
                            lambda word: coalesce(expansions[word], word)
                        ),
                        ' '
                    )
                ),
                lambda part: part <> ''
            ),
            ', '
        ) as address_key
    from cleaned_addresses
),

address_parts as (
    select
        listing_key,
        address_key,
        nullif(
            regexp_extract(
                address_key, '\b(?:flat|unit|studio|maisonette) ([0-9]+[a-z]?|[a-z])\b', 1
            ),
            ''
        ) as flat_number,
        regexp_replace(
            address_key, '\b(?:flat|unit|studio|maisonette) ([0-9]+[a-z]?|[a-z])\b', '', 'g'
        ) as without_flat
    from address_keys
),

located as (
    select
        listings.*,
        address_parts.address_key,
        address_parts.flat_number,
        nullif(regexp_extract(address_parts.without_flat, '\b([0-9]+[a-z]?)\b', 1), '')
            as house_number,
        -- The street is the name ending in a street word at the end of a part ("foundry house
        -- osborne gardens" gives "osborne gardens"); failing that, the first part that is not a
        -- flat, without its house number.
        coalesce(
            nullif(
                regexp_extract(
                    address_parts.address_key,
                    '\b([a-z]+ (?:road|street|avenue|lane|drive|close|crescent|gardens|grove'
                    || '|place|square|terrace|way|walk|hill|park|row|mews|parade|rise|vale|view'
                    || '|green|gate|wharf|quay|boulevard|approach|croft|path|yard|broadway'
                    || '|circus|embankment|chase|fields|meadows))(?:,|$)',
                    1
                ),
                ''
            ),
            nullif(
                trim(
                    regexp_replace(
                        list_filter(
                            list_transform(
                                string_split(address_parts.without_flat, ','),
                                lambda part: trim(part)
                            ),
                            lambda part: part <> ''
                        )[1],
                        '^[0-9]+[a-z]?\b',
                        ''
                    )
                ),
                ''
            )
        ) as street_name
    from listings
    join address_parts
        on address_parts.listing_key = listings.listing_key
),

candidate_pairs as (
    select
        left_listing.listing_key as left_key,
        right_listing.listing_key as right_key
    from located as left_listing
    join located as right_listing
        on right_listing.postcode_key = left_listing.postcode_key
        and right_listing.listing_key > left_listing.listing_key
    union
    select
        left_listing.listing_key as left_key,
        right_listing.listing_key as right_key
    from located as left_listing
    join located as right_listing
        on right_listing.outcode = left_listing.outcode
        and right_listing.street_name = left_listing.street_name
        and right_listing.listing_key > left_listing.listing_key
),

compared_pairs as (
    select
        candidate_pairs.left_key,
        candidate_pairs.right_key,
        left_listing.postcode_key = right_listing.postcode_key as same_postcode,
        -- Metres between the two map positions; a flat-earth approximation is exact enough
        -- over the few hundred metres that matter here.
        sqrt(
            power((left_listing.position.latitude - right_listing.position.latitude) * 111320, 2)
            + power(
                (left_listing.position.longitude - right_listing.position.longitude)
                * 111320
                * cos(radians(left_listing.position.latitude)),
                2
            )
        ) as distance_m,
        left_listing.street_name = right_listing.street_name
            or contains(right_listing.address_key, left_listing.street_name)
            or contains(left_listing.address_key, right_listing.street_name) as same_street,
        left_listing.house_number = right_listing.house_number as same_number,
        left_listing.flat_number = right_listing.flat_number as same_flat,
        left_listing.bedrooms = right_listing.bedrooms as same_bedrooms,
        left_listing.property_type = right_listing.property_type as same_type,
        -- Portals disagree on whether a house let as an HMO is an HMO or a terrace; any other
        -- difference in type is a different property.
        left_listing.property_type = right_listing.property_type
            or (
                'hmo' in (left_listing.property_type, right_listing.property_type)
                and list_has_all(
                    ['hmo', 'terraced', 'semi_detached', 'detached', 'bungalow'],
                    [left_listing.property_type, right_listing.property_type]
                )
            ) as compatible_types,
        left_listing.lowest_price <= right_listing.highest_price * (1 + $price_band_pct)
            and right_listing.lowest_price <= left_listing.highest_price * (1 + $price_band_pct)
            as same_price_band,
        left_listing.lowest_price <= right_listing.highest_price * 1.02
            and right_listing.lowest_price <= left_listing.highest_price * 1.02 as same_price,
        left_listing.source = right_listing.source as same_source,
        left_listing.source = right_listing.source
            and left_listing.first_seen_on <= right_listing.last_seen_on
            and right_listing.first_seen_on <= left_listing.last_seen_on as advertised_together
    from candidate_pairs
    join located as left_listing
        on left_listing.listing_key = candidate_pairs.left_key
    join located as right_listing
        on right_listing.listing_key = candidate_pairs.right_key
),

scored_pairs as (
    select
        left_key,
        right_key,
        -- Evidence adds up; a missing field (null) neither helps nor vetoes.
        round(
            least(
                0.99,
                0.05
                + case when same_postcode then 0.4 else 0 end
                + case
                    when distance_m <= 25 then 0.35
                    when distance_m <= 100 then 0.1
                    else 0
                end
                + case when same_street then 0.15 else 0 end
                + case when same_number then 0.2 else 0 end
                + case when same_flat then 0.05 else 0 end
                + case when same_bedrooms then 0.1 else 0 end
                + case when same_type then 0.05 else 0 end
                + case when same_price then 0.05 else 0 end
            )::double,
            2
        ) as confidence,
        case
            when same_postcode and (same_number or same_flat) then 'postcode_and_number'
            when same_postcode then 'postcode_and_street'
            when distance_m <= 100 then 'position_and_street'
            else 'outcode_and_street'
        end as method,
        not coalesce(same_street, false)
            or not coalesce(same_postcode, true)
            or not coalesce(same_number, true)
            or not coalesce(same_flat, true)
            or not coalesce(same_bedrooms, true)
            or not coalesce(compatible_types, true)
            or not coalesce(same_price_band, true)
            or coalesce(distance_m > $max_match_distance_m, false)
            or advertised_together
            -- Two adverts on one source are a relist only with evidence beyond the street: the
            -- same house or flat number, or the same spot on the map.
            or (
                same_source
                and not coalesce(same_number or same_flat or distance_m <= 25, false)
            ) as vetoed
    from compared_pairs
),

matches as (
    select
        left_key,
        right_key,
        confidence,
        method
    from scored_pairs
    where not vetoed
        and confidence >= $min_match_confidence
),

matched_both_ways as (
    select
        left_key as listing_key,
        right_key as matched_key,
        confidence
    from matches
    union all
    select
        right_key as listing_key,
        left_key as matched_key,
        confidence
    from matches
),

contested_listings as (
    -- A listing matched to two listings that rule each other out (say an auction lot with no
    -- map position, matched to two adverts 500 m apart) is one of them at most: it keeps only
    -- its strongest match, so a weak link cannot chain two properties into one.
    select
        one.listing_key,
        first(strongest.matched_key order by strongest.confidence desc, strongest.matched_key)
            as strongest_key
    from matched_both_ways as one
    join matched_both_ways as other
        on other.listing_key = one.listing_key
        and other.matched_key > one.matched_key
    join scored_pairs as between_them
        on between_them.left_key = least(one.matched_key, other.matched_key)
        and between_them.right_key = greatest(one.matched_key, other.matched_key)
        and between_them.vetoed
    join matched_both_ways as strongest
        on strongest.listing_key = one.listing_key
    group by one.listing_key
),

kept_matches as (
    select matches.*
    from matches
    left join contested_listings as contested_left
        on contested_left.listing_key = matches.left_key
    left join contested_listings as contested_right
        on contested_right.listing_key = matches.right_key
    where coalesce(contested_left.strongest_key = matches.right_key, true)
        and coalesce(contested_right.strongest_key = matches.left_key, true)
),

match_edges as (
    select
        left_key as listing_key,
        right_key as matched_key,
        confidence,
        method
    from kept_matches
    union all
    select
        right_key as listing_key,
        left_key as matched_key,
        confidence,
        method
    from kept_matches
),

connected(listing_key, reached_key) as (
    select distinct
        listing_key,
        listing_key
    from match_edges
    union
    select
        connected.listing_key,
        match_edges.matched_key
    from connected
    join match_edges
        on match_edges.listing_key = connected.reached_key
),

first_seen_of_properties as (
    select
        connected.listing_key,
        first(connected.reached_key order by reached.first_seen_on, connected.reached_key)
            as property_key
    from connected
    join listings as reached
        on reached.listing_key = connected.reached_key
    group by connected.listing_key
),

strongest_matches as (
    select
        listing_key,
        max(confidence) as confidence,
        first(method order by confidence desc, matched_key) as method,
        first(matched_key order by confidence desc, matched_key) as matched_listing_key
    from match_edges
    group by listing_key
),

linked_listings as (
    select
        coalesce(first_seen_of_properties.property_key, listings.listing_key) as property_key,
        listings.listing_key,
        listings.source,
        listings.source_id,
        listings.listing_type,
        coalesce(strongest_matches.confidence, 1.0) as confidence,
        coalesce(strongest_matches.method, 'only_listing') as method,
        strongest_matches.matched_listing_key,
        listings.first_seen_on,
        listings.last_seen_on,
        listings.first_listed_at
    from listings
    left join first_seen_of_properties
        on first_seen_of_properties.listing_key = listings.listing_key
    left join strongest_matches
        on strongest_matches.listing_key = listings.listing_key
),

properties_in_play as (
    select distinct linked_listings.property_key
    from linked_listings
    join {{ ref('listing_history') }} as history
        on history.listing_key = linked_listings.listing_key
    where history.partition_date = $partition_date
)

select
    property_key,
    listing_key,
    source,
    source_id,
    listing_type,
    confidence,
    method,
    matched_listing_key,
    first_seen_on,
    last_seen_on,
    first_listed_at
from linked_listings
where property_key in (select property_key from properties_in_play)
