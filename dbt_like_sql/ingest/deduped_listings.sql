-- asset: deduped_listings
-- One row per listing seen on the partition date: its latest scrape that day, its history
-- (listing_history: new, active or relisted, first seen, times seen, the price before) and its
-- property across portals, auction catalogues and relists (property_links). Per property:
-- days on market from the earliest date any of its listings was listed or seen, so neither a
-- relist nor a second portal restarts the count; price cuts, each day a reduction was seen on
-- any of its sources counted once; and the sources it has been seen on.
-- Built from raw_listings up to the partition date and the same day's listing_history and
-- property_links only.

with seen_today as (
    select *
    from {{ ref('raw_listings') }}
    where partition_date = $partition_date
    qualify row_number() over (
        partition by source, source_id
        order by scraped_at desc nulls last, url, price
    ) = 1
),

history as (
    select *
    from {{ ref('listing_history') }}
    where partition_date = $partition_date
        and status <> 'withdrawn'
),

links as (
    select *
    from {{ ref('property_links') }}
    where partition_date = $partition_date
),

daily_source_prices as (
    -- A property's asking price on each source each day: a cut is judged against the same
    -- source's earlier price, which spans relists under new ids but never compares one
    -- portal's rounding with another's.
    select
        links.property_key,
        observations.source,
        observations.partition_date as seen_on,
        min(observations.price) as price
    from {{ ref('raw_listings') }} as observations
    join links
        on links.source = observations.source
        and links.source_id = observations.source_id
    where observations.partition_date <= $partition_date
        and observations.price is not null
    group by links.property_key, observations.source, observations.partition_date
),

price_steps as (
    select
        *,
        lag(price) over (partition by property_key, source order by seen_on) as price_before
    from daily_source_prices
),

cuts_per_property as (
    select
        property_key,
        count(distinct seen_on) filter (where price < price_before)::integer as price_cuts
    from price_steps
    group by property_key
),

highest_prices as (
    select
        property_key,
        source,
        max(price) as highest_price
    from daily_source_prices
    group by property_key, source
),

properties as (
    select
        property_key,
        min(first_listed_at) as property_first_listed_at,
        count(distinct source)::integer as sources_seen,
        list(distinct source order by source) as sources,
        count(*)::integer as listings_linked
    from links
    group by property_key
)

select
    history.listing_key,
    links.property_key,
    seen_today.source,
    seen_today.source_id,
    seen_today.url,
    seen_today.listing_type,
    seen_today.title,
    seen_today.price,
    seen_today.price_qualifier,
    seen_today.property_type,
    seen_today.property_sub_type,
    seen_today.bedrooms,
    seen_today.bathrooms,
    seen_today.tenure,
    seen_today.lease_years_remaining,
    seen_today.ground_rent,
    seen_today.service_charge,
    seen_today.postcode,
    seen_today.outcode,
    seen_today.address,
    seen_today.latitude,
    seen_today.longitude,
    seen_today.summary,
    seen_today.description,
    seen_today.key_features,
    seen_today.agent,
    history.first_listed_at,
    seen_today.auction_date,
    seen_today.lot_number,
    history.status as listing_status,
    history.first_seen_on,
    history.previous_seen_on,
    history.times_seen,
    history.previous_price,
    history.price_change,
    links.confidence as match_confidence,
    links.method as match_method,
    properties.sources_seen,
    properties.sources,
    properties.listings_linked,
    properties.property_first_listed_at,
    ($partition_date::date - properties.property_first_listed_at)::integer as days_on_market,
    coalesce(cuts_per_property.price_cuts, 0) as price_cuts,
    round(1 - seen_today.price / highest_prices.highest_price, 4) as price_cut_pct
from seen_today
join history
    on history.source = seen_today.source
    and history.source_id = seen_today.source_id
join links
    on links.listing_key = history.listing_key
join properties
    on properties.property_key = links.property_key
left join cuts_per_property
    on cuts_per_property.property_key = links.property_key
left join highest_prices
    on highest_prices.property_key = links.property_key
    and highest_prices.source = seen_today.source
