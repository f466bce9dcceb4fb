-- asset: listing_history
-- Every listing in play on the partition date, one row each: the ones seen that day (new, active,
-- or relisted after being withdrawn), with when they were first and last seen, how often, and
-- their price against the last one observed; and the ones that have just gone unseen for
-- $withdrawn_after_days scrapes of their source, marked withdrawn. A listing is (source,
-- source_id). Absence is counted in scrapes of the listing's own source, not calendar days, so a
-- day a source was not scraped (or failed outright) never makes its listings look withdrawn.
-- Built from raw_listings up to the partition date only: rematerialising any day, in any order,
-- gives the same rows.

with observations as (
    select
        partition_date as seen_on,
        source,
        source_id,
        price,
        first_listed_at,
        -- Orders a listing's scrapes, latest largest (the warehouse's scrape_order macro); two
        -- scrapes of one day (a rerun) are told apart by time and URL, so every pick below is
        -- the same whatever order rows come in.
        scrape_order(partition_date, scraped_at, url) as scrape_order
    from {{ ref('raw_listings') }}
    where partition_date <= $partition_date
),

scrapes as (
    -- Every day each source yielded anything, numbered, so scrapes missed are a subtraction.
    select
        source,
        seen_on,
        row_number() over (partition by source order by seen_on) as scrape_number
    from (select distinct source, seen_on from observations)
),

todays_scrapes as (
    select
        source,
        scrape_number
    from scrapes
    where seen_on = $partition_date
),

listings as (
    select
        observations.source,
        observations.source_id,
        min(observations.seen_on) as first_seen_on,
        max(observations.seen_on) as last_seen_on,
        max(observations.seen_on) filter (where observations.seen_on < $partition_date)
            as previous_seen_on,
        count(distinct observations.seen_on) as times_seen,
        bool_or(observations.seen_on = $partition_date) as seen_today,
        max(scrapes.scrape_number) filter (where observations.seen_on < $partition_date)
            as previous_scrape_number,
        max(scrapes.scrape_number) as last_scrape_number,
        -- arg_max skips null prices, so a day shown as POA never hides the last real price.
        arg_max(observations.price, observations.scrape_order) as last_price,
        arg_max(observations.price, observations.scrape_order)
            filter (where observations.seen_on = $partition_date) as todays_price,
        arg_max(observations.price, observations.scrape_order)
            filter (where observations.seen_on < $partition_date) as previous_price,
        -- Rightmove keeps a relisted advert's original date; the earliest one shown wins anyway.
        least(min(observations.first_listed_at), min(observations.seen_on)) as first_listed_at
    from observations
    join scrapes
        on scrapes.source = observations.source
        and scrapes.seen_on = observations.seen_on
    group by observations.source, observations.source_id
),

gaps as (
    -- Scrapes of the listing's source it was missing from: before today's sighting if it was
    -- seen today, else up to and including today.
    select
        listings.*,
        case
            when listings.seen_today
                then todays_scrapes.scrape_number - listings.previous_scrape_number - 1
            else todays_scrapes.scrape_number - listings.last_scrape_number
        end as scrapes_missed
    from listings
    join todays_scrapes
        on todays_scrapes.source = listings.source
),

statuses as (
    select
        *,
        case
            when seen_today and previous_seen_on is null then 'new'
            when seen_today and scrapes_missed >= $withdrawn_after_days then 'relisted'
            when seen_today then 'active'
            when scrapes_missed = $withdrawn_after_days then 'withdrawn'
        end as status
    from gaps
),

in_play as (
    select
        *,
        case when seen_today then todays_price else last_price end as price,
        case when seen_today then previous_price end as price_before
    from statuses
    where status is not null
)

select
    source || ':' || source_id as listing_key,
    source,
    source_id,
    status,
    first_seen_on,
    last_seen_on,
    previous_seen_on,
    times_seen::integer as times_seen,
    scrapes_missed::integer as scrapes_missed,
    first_listed_at,
    price,
    price_before as previous_price,
    nullif(price - price_before, 0) as price_change,
    round(nullif(price - price_before, 0) / price_before, 4) as price_change_pct
from in_play
