-- asset: weekly_stats
-- Market statistics for the Monday-to-Sunday week starting on the partition date, per location
-- (outcode) and property type, with roll-ups to location 'ALL' and property type 'all'.
-- The unit is the property (deduped_listings.property_key): one house on two portals counts once.
--   live: seen on any day of the week; asking price, days on market and type from its last day.
--   added: first listed during the week (property_first_listed_at) or relisted during it.
--   withdrawn: one of its listings went unseen (listing_history 'withdrawn') during the week and
--     none of its listings was seen again from that day to the Sunday.
--   reduced: a price cut was observed during the week (listing_price_history); a cut seen on
--     several portals the same day is one cut, the deepest; avg_cut_pct is the mean cut.
--   £/m2: asking price over the EPC floor area of any of the property's listings, where known.
--   deals: the band of the property's latest score in the week.
--   sold: Land Registry category A sales in the location's postcode district of the matching
--     Price Paid type, the 3 months to the Sunday against the same 3 months a year earlier; the
--     'ALL' rows take every district with a property in play in the week.
-- Known shortcomings: a property whose listings change property_key between days is counted
-- under each key it had in the week. HMLR publishes sales a month or two after they complete,
-- so the latest 3 months are never complete: sold_count is low and the change leans on the
-- sales lodged first.

with week_rows as (
    select
        partition_date,
        listing_key,
        property_key,
        coalesce(outcode, 'UNKNOWN') as location,
        coalesce(property_type, 'unknown') as property_type,
        listing_status,
        price,
        property_first_listed_at,
        days_on_market
    from {{ ref('deduped_listings') }}
    where partition_date between $partition_date::date and $partition_date::date + 6
),

live_properties as (
    -- Each property on its last day seen in the week, at its lowest asking price that day.
    select
        property_key,
        location,
        property_type,
        price,
        days_on_market
    from week_rows
    qualify row_number() over (
        partition by property_key
        order by partition_date desc, price nulls last, listing_key
    ) = 1
),

added_properties as (
    select distinct
        property_key
    from week_rows
    where listing_status = 'relisted'
        or property_first_listed_at >= $partition_date::date
),

withdrawals as (
    select
        listing_key,
        partition_date as withdrawn_on
    from {{ ref('listing_history') }}
    where partition_date between $partition_date::date and $partition_date::date + 6
        and status = 'withdrawn'
),

withdrawn_listings as (
    -- A withdrawn listing has no row on the day it is withdrawn: its property and place come
    -- from the last day it was seen.
    select
        withdrawals.listing_key,
        withdrawals.withdrawn_on,
        last_seen.property_key,
        coalesce(last_seen.outcode, 'UNKNOWN') as location,
        coalesce(last_seen.property_type, 'unknown') as property_type
    from withdrawals
    join {{ ref('deduped_listings') }} as last_seen
        on last_seen.listing_key = withdrawals.listing_key
        and last_seen.partition_date < withdrawals.withdrawn_on
    qualify row_number() over (
        partition by withdrawals.listing_key, withdrawals.withdrawn_on
        order by last_seen.partition_date desc
    ) = 1
),

withdrawn_properties as (
    -- Still advertised on another portal, or back on the market, is not off the market.
    select
        withdrawn_listings.property_key,
        arg_max(withdrawn_listings.location, withdrawn_listings.withdrawn_on) as location,
        arg_max(withdrawn_listings.property_type, withdrawn_listings.withdrawn_on)
            as property_type
    from withdrawn_listings
    where not exists (
        select 1
        from week_rows
        where week_rows.property_key = withdrawn_listings.property_key
            and week_rows.partition_date >= withdrawn_listings.withdrawn_on
    )
    group by withdrawn_listings.property_key
),

week_listings as (
    select distinct
        listing_key,
        property_key
    from week_rows
),

floor_areas as (
    select
        week_listings.property_key,
        arg_max(enriched.floor_area_sqm, enriched.enriched_at) as floor_area_sqm
    from {{ ref('enriched') }} as enriched
    join week_listings
        on week_listings.listing_key = enriched.listing_key
    where enriched.partition_date <= $partition_date::date + 6
        and enriched.floor_area_sqm > 0
    group by week_listings.property_key
),

cut_days as (
    select
        week_rows.property_key,
        cuts.partition_date,
        max(-cuts.price_change_pct) as cut_pct
    from {{ ref('listing_price_history') }} as cuts
    join week_rows
        on week_rows.listing_key = cuts.listing_key
        and week_rows.partition_date = cuts.partition_date
    where cuts.partition_date between $partition_date::date and $partition_date::date + 6
        and cuts.price_change < 0
    group by week_rows.property_key, cuts.partition_date
),

cuts_per_property as (
    select
        property_key,
        count(*) as cuts,
        sum(cut_pct) as cut_pct_total
    from cut_days
    group by property_key
),

latest_bands as (
    select
        week_rows.property_key,
        scored.band
    from {{ ref('scored') }} as scored
    join week_rows
        on week_rows.listing_key = scored.listing_key
        and week_rows.partition_date = scored.partition_date
    qualify row_number() over (
        partition by week_rows.property_key
        order by scored.partition_date desc, scored.scored_at desc, scored.score desc,
            scored.listing_key
    ) = 1
),

properties as (
    select
        coalesce(live.property_key, gone.property_key) as property_key,
        coalesce(live.location, gone.location) as location,
        coalesce(live.property_type, gone.property_type) as property_type,
        live.property_key is not null as is_live,
        added_properties.property_key is not null as is_added,
        gone.property_key is not null as is_withdrawn,
        live.price,
        live.days_on_market,
        floor_areas.floor_area_sqm,
        live.price / floor_areas.floor_area_sqm as price_per_sqm,
        coalesce(cuts_per_property.cuts, 0) as cuts,
        coalesce(cuts_per_property.cut_pct_total, 0) as cut_pct_total,
        latest_bands.band
    from live_properties as live
    full join withdrawn_properties as gone
        on gone.property_key = live.property_key
    left join added_properties
        on added_properties.property_key = coalesce(live.property_key, gone.property_key)
    left join floor_areas
        on floor_areas.property_key = live.property_key
    left join cuts_per_property
        on cuts_per_property.property_key = live.property_key
    left join latest_bands
        on latest_bands.property_key = live.property_key
),

market as (
    select
        case when grouping(location) = 1 then 'ALL' else location end as location,
        case when grouping(property_type) = 1 then 'all' else property_type end
            as property_type,
        count(*) filter (where is_live)::integer as listings_live,
        count(*) filter (where is_added)::integer as listings_added,
        count(*) filter (where is_withdrawn)::integer as listings_withdrawn,
        round(median(price))::bigint as median_asking_price,
        count(price_per_sqm)::integer as listings_with_floor_area,
        round(median(price_per_sqm))::bigint as median_price_per_sqm,
        count(*) filter (where cuts > 0)::integer as listings_reduced,
        round(
            count(*) filter (where cuts > 0) / nullif(count(*) filter (where is_live), 0), 4
        ) as share_reduced,
        round(sum(cut_pct_total) / nullif(sum(cuts), 0), 4) as avg_cut_pct,
        median(days_on_market)::double as median_days_on_market,
        count(*) filter (where band = 'hot')::integer as hot_deals,
        count(*) filter (where band = 'good')::integer as good_deals,
        count(*) filter (where band = 'watchlist')::integer as watchlist_deals
    from properties
    group by grouping sets ((location, property_type), (location), (property_type), ())
    -- The empty grouping set yields a row of zeros for a week without data: no row instead.
    having count(*) > 0
),

price_paid_types as (
    -- How HM Land Registry files our property types (D/S/T/F/O); land and unknown have none.
    select *
    from (
        values
            ('flat', 'F'),
            ('terraced', 'T'),
            ('semi_detached', 'S'),
            ('detached', 'D'),
            ('bungalow', 'D'),
            ('hmo', 'T'),
            ('block_of_flats', 'O'),
            ('mixed_use', 'O')
    ) as mapping (property_type, price_paid_type)
),

sales as (
    select
        sales.postcode_district as district,
        sales.property_type as price_paid_type,
        sales.price,
        sales.transferred_on > ($partition_date::date + 6 - interval 3 month)::date as is_recent
    from {{ ref('price_paid') }} as sales
    where sales.category = 'A'
        and sales.postcode_district in (select location from properties)
        and (
            sales.transferred_on > ($partition_date::date + 6 - interval 3 month)::date
            and sales.transferred_on <= $partition_date::date + 6
            or sales.transferred_on > ($partition_date::date + 6 - interval 15 month)::date
            and sales.transferred_on <= ($partition_date::date + 6 - interval 12 month)::date
        )
),

sold as (
    select
        case when grouping(district) = 1 then 'ALL' else district end as district,
        case when grouping(price_paid_type) = 1 then 'all' else price_paid_type end
            as price_paid_type,
        count(*) filter (where is_recent)::integer as sold_count,
        round(median(price) filter (where is_recent))::bigint as sold_median_price,
        count(*) filter (where not is_recent)::integer as sold_count_year_before,
        round(median(price) filter (where not is_recent))::bigint
            as sold_median_price_year_before
    from sales
    group by grouping sets ((district, price_paid_type), (district), (price_paid_type), ())
    having count(*) > 0
)

select
    market.location,
    market.property_type,
    market.listings_live,
    market.listings_added,
    market.listings_withdrawn,
    market.median_asking_price,
    market.listings_with_floor_area,
    market.median_price_per_sqm,
    market.listings_reduced,
    market.share_reduced,
    market.avg_cut_pct,
    market.median_days_on_market,
    market.hot_deals,
    market.good_deals,
    market.watchlist_deals,
    coalesce(sold.sold_count, 0) as sold_count,
    sold.sold_median_price,
    coalesce(sold.sold_count_year_before, 0) as sold_count_year_before,
    sold.sold_median_price_year_before,
    round(sold.sold_median_price / sold.sold_median_price_year_before - 1, 4)
        as sold_price_change_pct
from market
left join price_paid_types
    on price_paid_types.property_type = market.property_type
left join sold
    on sold.district = market.location
    and sold.price_paid_type = case
        when market.property_type = 'all' then 'all'
        else price_paid_types.price_paid_type
    end
