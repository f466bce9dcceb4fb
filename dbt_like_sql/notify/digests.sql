-- asset: digests
-- What the day's digest shows: the day's good deals (70-84) not sent in another day's digest nor
-- alerted as hot at the same price, and on Mondays the previous week's watchlist (60-69), each
-- ranked best first. $watchlist_from and $watchlist_to are null on other days.

with good_candidates as (
    select *
    from {{ ref('scored') }} as scored
    where scored.partition_date = $partition_date
        and scored.score between 70 and 84
),

good_not_sent as (
    select *
    from good_candidates
    where not exists (
            select 1
            from {{ ref('digests') }} as earlier
            where earlier.listing_key = good_candidates.listing_key
                and earlier.price is not distinct from good_candidates.price
                and earlier.section = 'good'
                and earlier.partition_date <> $partition_date
        )
        and not exists (
            select 1
            from {{ ref('notify_outbox') }} as outbox
            where outbox.message_key
                = 'hot:' || good_candidates.listing_key || ':'
                || coalesce(good_candidates.price::varchar, 'unknown')
        )
),

latest_in_week as (
    select *
    from {{ ref('scored') }} as scored
    where $watchlist_from is not null
        and scored.partition_date between $watchlist_from and $watchlist_to
    qualify row_number() over (
        partition by scored.listing_key
        order by scored.partition_date desc
    ) = 1
),

watchlist as (
    select *
    from latest_in_week
    where score between 60 and 69
),

sections as (
    select 'good' as section, * from good_not_sent
    union all by name
    select 'watchlist' as section, * from watchlist
)

select
    section,
    band,
    row_number() over (
        partition by section
        order by score desc, discount_to_value desc nulls last, listing_key
    )::integer as rank,
    listing_key,
    partition_date as scored_on,
    score,
    headline,
    recommendation,
    price,
    estimated_value,
    discount_to_value,
    gross_yield,
    top_reasons,
    red_flags,
    url,
    urls,
    address,
    agent
from sections
