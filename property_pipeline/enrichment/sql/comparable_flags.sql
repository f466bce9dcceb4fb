-- Each comparable (__valuation_candidates) with its EPC floor area and price per square metre,
-- and how it serves its listing's value. The method is 'price_per_sqm' when the subject has a
-- floor area, is not valued per unit, and at least $min_floor_area_sales comparables have one;
-- else 'median_price'. Outliers lie beyond $fence times the interquartile range of the measure
-- the method uses (price per m² for comparables with a floor area, else price).
with epc_floor_areas as (
    select
        address_key,
        arg_max(floor_area_sqm, lodged_on) as floor_area_sqm
    from epc_certificates
    where floor_area_sqm > 0
        and address_key in (select address_key from __valuation_sale_keys)
    group by address_key
),

sized as (
    select
        candidates.*,
        epc_floor_areas.floor_area_sqm,
        candidates.price / epc_floor_areas.floor_area_sqm as price_per_sqm
    from __valuation_candidates as candidates
    left join __valuation_sale_keys as sale_keys
        on sale_keys.transaction_id = candidates.transaction_id
    left join epc_floor_areas
        on epc_floor_areas.address_key = sale_keys.address_key
),

listing_spread as (
    select
        sized.listing_key,
        case
            when any_value(subjects.floor_area_sqm) > 0
                and not any_value(subjects.per_unit)
                and count(sized.floor_area_sqm) >= $min_floor_area_sales
                then 'price_per_sqm'
            else 'median_price'
        end as method,
        quantile_cont(sized.price, 0.25) as price_q1,
        quantile_cont(sized.price, 0.75) as price_q3,
        quantile_cont(sized.price_per_sqm, 0.25) as sqm_q1,
        quantile_cont(sized.price_per_sqm, 0.75) as sqm_q3
    from sized
    inner join __valuation_subjects as subjects
        on subjects.listing_key = sized.listing_key
    group by sized.listing_key
),

flagged as (
    select
        sized.*,
        spread.method,
        case
            when spread.method = 'price_per_sqm' and sized.price_per_sqm is not null
                then sized.price_per_sqm
                    not between spread.sqm_q1 - $fence * (spread.sqm_q3 - spread.sqm_q1)
                    and spread.sqm_q3 + $fence * (spread.sqm_q3 - spread.sqm_q1)
            else sized.price
                not between spread.price_q1 - $fence * (spread.price_q3 - spread.price_q1)
                and spread.price_q3 + $fence * (spread.price_q3 - spread.price_q1)
        end as trimmed
    from sized
    inner join listing_spread as spread
        on spread.listing_key = sized.listing_key
)

select
    *,
    not trimmed
        and (method = 'median_price' or price_per_sqm is not null) as used_in_value
from flagged
