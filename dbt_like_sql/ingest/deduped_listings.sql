-- asset: deduped_listings
-- One row per listing seen on the partition date, with a property key shared by the same
-- property's adverts on other sources. Foundation version: exact (source, source_id) dedupe and a
-- postcode + bedrooms + type property key; fuzzy address matching arrives with the ingest stage.

with seen_today as (
    select *
    from {{ ref('raw_listings') }}
    where partition_date = $partition_date
),

one_row_per_listing as (
    select *
    from seen_today
    qualify row_number() over (
        partition by source, source_id
        order by scraped_at desc nulls last, url
    ) = 1
),

keyed as (
    select
        *,
        source || ':' || source_id as listing_key,
        case
            when postcode is not null
                then upper(replace(postcode, ' ', ''))
                    || ':' || coalesce(bedrooms, -1)
                    || ':' || coalesce(property_type, 'unknown')
            else source || ':' || source_id
        end as property_key
    from one_row_per_listing
)

select
    listing_key,
    property_key,
    source,
    source_id,
    url,
    listing_type,
    title,
    price,
    price_qualifier,
    property_type,
    bedrooms,
    tenure,
    lease_years_remaining,
    postcode,
    outcode,
    address,
    summary,
    description,
    key_features,
    first_listed_at,
    auction_date,
    count(distinct source) over (partition by property_key) as sources_seen
from keyed
