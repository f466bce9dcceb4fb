-- asset: digests
-- The day's deals worth telling people about, ranked within each band: hot (85+), good (70-84)
-- and watchlist (60-69), with a one-line headline.

with worth_telling as (
    select *
    from {{ ref('scored') }}
    where partition_date = $partition_date
        and band in ('hot', 'good', 'watchlist')
),

described as (
    select
        worth_telling.band,
        worth_telling.listing_key,
        worth_telling.score,
        listings.url,
        coalesce(listings.title, worth_telling.property_key)
            || ' - £' || format('{:,}', worth_telling.price)
            || ' in ' || coalesce(worth_telling.outcode, 'unknown area') as headline
    from worth_telling
    left join {{ ref('deduped_listings') }} as listings
        on listings.listing_key = worth_telling.listing_key
        and listings.partition_date = $partition_date
)

select
    band,
    row_number() over (partition by band order by score desc, listing_key)::integer as rank,
    listing_key,
    score,
    headline,
    url
from described
