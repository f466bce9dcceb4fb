-- One value per subject listing from its flagged comparables (__valuation_comparables):
-- median (and interquartile range) of price per m² times the subject's floor area, or of price
-- times its units; 'none' with fewer than $min_value_sales comparables left after trimming.
-- Confidence multiplies four factors, each 0-1: the number of comparables used (full at 10),
-- the area (sector 1, district 0.8), the basis (price per m²: 0.7 + 0.3 x the share of
-- comparables with a floor area; median price: 0.6) and recency (1 - 0.4 x the mean age of the
-- sales used over the window's length).
with kept as (
    select
        listing_key,
        any_value(area_level) as area_level,
        any_value(method) as method,
        count(*) filter (where not trimmed) as comparables_count,
        count(floor_area_sqm) filter (where not trimmed) as comparables_with_floor_area,
        median(price_per_sqm) filter (where not trimmed) as median_price_per_sqm
    from __valuation_comparables
    group by listing_key
),

used as (
    select
        listing_key,
        count(*) as sales_used,
        quantile_cont(price_per_sqm, [0.25, 0.5, 0.75]) as sqm_quartiles,
        quantile_cont(price, [0.25, 0.5, 0.75]) as price_quartiles,
        avg($as_of - transferred_on) as mean_age_days
    from __valuation_comparables
    where used_in_value
    group by listing_key
),

valued as (
    select
        subjects.listing_key,
        subjects.floor_area_sqm,
        subjects.units,
        kept.area_level,
        kept.comparables_count,
        kept.comparables_with_floor_area,
        kept.median_price_per_sqm,
        used.sales_used,
        used.mean_age_days,
        case
            when coalesce(used.sales_used, 0) >= $min_value_sales then kept.method
            else 'none'
        end as method,
        case kept.method
            when 'price_per_sqm'
                then list_transform(used.sqm_quartiles, lambda q: q * subjects.floor_area_sqm)
            else list_transform(used.price_quartiles, lambda q: q * subjects.units)
        end as value_quartiles
    from __valuation_subjects as subjects
    left join kept
        on kept.listing_key = subjects.listing_key
    left join used
        on used.listing_key = subjects.listing_key
)

select
    listing_key,
    coalesce(comparables_count, 0) as comparables_count,
    coalesce(area_level, 'none') as comparables_area,
    coalesce(comparables_with_floor_area, 0) as comparables_with_floor_area,
    median_price_per_sqm,
    case when method <> 'none' then round(value_quartiles[2])::bigint end as estimated_value,
    case when method <> 'none' then round(value_quartiles[1])::bigint end as value_low,
    case when method <> 'none' then round(value_quartiles[3])::bigint end as value_high,
    case
        when method = 'none' then 0.0
        else round(
            least(sales_used, 10) / 10
            * case area_level when 'sector' then 1.0 else 0.8 end
            * case
                when method = 'price_per_sqm'
                    then 0.7 + 0.3 * comparables_with_floor_area / comparables_count
                else 0.6
            end
            * (1 - 0.4 * mean_age_days / $window_days),
            3
        )
    end as value_confidence,
    method as value_method
from valued
order by listing_key
