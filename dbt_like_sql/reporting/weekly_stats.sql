-- asset: weekly_stats
-- Market statistics per outcode for the Monday-to-Sunday week starting on the partition date.

with week_listings as (
    select *
    from {{ ref('deduped_listings') }}
    where partition_date >= $partition_date
        and partition_date < $partition_date::date + interval 7 day
),

week_scores as (
    select
        outcode,
        count(distinct listing_key) filter (where band = 'hot') as hot_deals,
        count(distinct listing_key) filter (where band = 'good') as good_deals
    from {{ ref('scored') }}
    where partition_date >= $partition_date
        and partition_date < $partition_date::date + interval 7 day
    group by outcode
),

per_outcode as (
    select
        coalesce(outcode, 'unknown') as outcode,
        count(distinct listing_key)::integer as listings,
        count(distinct listing_key) filter (
            where first_listed_at >= $partition_date
                and first_listed_at < $partition_date::date + interval 7 day
        )::integer as new_listings,
        median(price)::bigint as median_price
    from week_listings
    group by coalesce(outcode, 'unknown')
)

select
    per_outcode.outcode,
    per_outcode.listings,
    per_outcode.new_listings,
    per_outcode.median_price,
    coalesce(week_scores.hot_deals, 0)::integer as hot_deals,
    coalesce(week_scores.good_deals, 0)::integer as good_deals
from per_outcode
left join week_scores
    on week_scores.outcode = per_outcode.outcode
