-- asset: screened
-- Every deduped listing of the day, passed to enrichment or rejected with the criteria that
-- rejected it. Foundation version: price range and short-lease criteria, bound as parameters.

with listings as (
    select *
    from {{ ref('deduped_listings') }}
    where partition_date = $partition_date
),

checked as (
    select
        *,
        list_filter(
            [
                case when price is null then 'price_missing' end,
                case when price < $min_price then 'price_below_minimum' end,
                case when price > $max_price then 'price_above_maximum' end,
                case
                    when lease_years_remaining is not null
                        and lease_years_remaining < $min_lease_years
                        then 'lease_too_short'
                end
            ],
            lambda reason: reason is not null
        ) as reasons
    from listings
)

select
    listing_key,
    property_key,
    case when len(reasons) = 0 then 'pending_enrichment' else 'rejected' end as status,
    reasons,
    price,
    outcode,
    property_type,
    tenure
from checked
