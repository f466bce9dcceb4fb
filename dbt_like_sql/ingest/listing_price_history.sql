-- asset: listing_price_history
-- Every price change observed on the partition date: the listing, its property, the last price
-- seen before (however many days back, across a withdrawal and relist), the new price and the
-- change. Each change stays filed under the day it was seen, so the partitions together are the
-- full history and no later change overwrites an earlier one.

with changed as (
    select *
    from {{ ref('listing_history') }}
    where partition_date = $partition_date
        and status <> 'withdrawn'
        and price_change is not null
),

links as (
    select *
    from {{ ref('property_links') }}
    where partition_date = $partition_date
)

select
    changed.listing_key,
    links.property_key,
    changed.source,
    changed.source_id,
    changed.previous_seen_on,
    changed.previous_price as old_price,
    changed.price as new_price,
    changed.price_change,
    changed.price_change_pct
from changed
left join links
    on links.listing_key = changed.listing_key
