-- asset: scored
-- A 0-100 score, band and recommendation for every listing analysed on the partition date.
-- Foundation version: discount to the area's median asking price plus a multi-unit bonus.

with analysed as (
    select *
    from {{ ref('enriched') }}
    where partition_date = $partition_date
        and status = 'analysed'
),

discounted as (
    select
        *,
        1 - price / nullif(area_median_price, 0) as discount_to_area_median
    from analysed
),

points as (
    select
        *,
        least(
            100,
            greatest(
                0,
                round(
                    55
                    + 150 * coalesce(discount_to_area_median, 0)
                    + case when property_type in ('block_of_flats', 'hmo', 'mixed_use') then 25 else 0 end
                )
            )
        )::integer as score
    from discounted
)

select
    listing_key,
    property_key,
    score,
    case
        when score >= 85 then 'hot'
        when score >= 70 then 'good'
        when score >= 60 then 'watchlist'
        else 'pass'
    end as band,
    case
        when score >= 85 then 'view this week'
        when score >= 70 then 'analyse further'
        when score >= 60 then 'watch for price cuts'
        else 'pass'
    end as recommendation,
    discount_to_area_median,
    price,
    outcode
from points
