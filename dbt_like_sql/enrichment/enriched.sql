-- asset: enriched
-- Listings analysed so far on the partition date. Each run keeps what earlier runs analysed and
-- adds the next batch of pending listings, most promising first. Foundation version: the area's
-- median asking price from the warehouse stands in for Land Registry comparables.

with already_enriched as (
    select * exclude (partition_date)
    from {{ ref('enriched') }}
    where partition_date = $partition_date
),

area_prices as (
    select
        outcode,
        property_type,
        median(price)::bigint as area_median_price,
        count(*) as area_sales
    from {{ ref('deduped_listings') }}
    where partition_date <= $partition_date
        and partition_date > $partition_date::date - interval 90 day
        and price is not null
    group by outcode, property_type
),

pending as (
    select
        screened.listing_key,
        screened.property_key,
        screened.price,
        screened.outcode,
        screened.property_type,
        area_prices.area_median_price,
        area_prices.area_sales
    from {{ ref('screened') }} as screened
    left join area_prices
        on screened.outcode = area_prices.outcode
        and screened.property_type = area_prices.property_type
    where screened.partition_date = $partition_date
        and screened.status = 'pending_enrichment'
        and screened.listing_key not in (select listing_key from already_enriched)
),

next_batch as (
    select
        listing_key,
        property_key,
        'analysed' as status,
        price,
        outcode,
        property_type,
        area_median_price,
        area_sales,
        coalesce(1 - price / nullif(area_median_price, 0), 0) as preliminary_score,
        current_localtimestamp() as enriched_at
    from pending
    order by preliminary_score desc, listing_key
    limit $batch_size
)

select * from already_enriched
union all by name
select * from next_batch
