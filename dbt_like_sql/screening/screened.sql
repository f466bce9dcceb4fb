-- asset: screened
-- Every listing of the day, passed to enrichment (pending_enrichment) or rejected, with every
-- hard criterion that rejected it. Structured fields from the portals win; what the listing's
-- words say (listing_features) fills the gaps. Criteria arrive as bound parameters; an empty
-- list means "any".

with listings as (
    select *
    from {{ ref('deduped_listings') }}
    where partition_date = $partition_date
),

features as (
    select *
    from {{ ref('listing_features') }}
    where partition_date = $partition_date
),

combined as (
    select
        listings.listing_key,
        listings.property_key,
        listings.price,
        listings.outcode,
        listings.property_type,
        coalesce(nullif(listings.tenure, 'unknown'), features.tenure, 'unknown') as tenure,
        coalesce(
            listings.lease_years_remaining,
            features.lease_years_remaining
        ) as lease_years_remaining,
        features.unit_count,
        features.unit_kind,
        coalesce(features.red_flags, []::varchar[]) as red_flags,
        coalesce(features.signals, []::varchar[]) as signals
    from listings
    left join features
        on features.listing_key = listings.listing_key
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
                    when len($outcodes::varchar[]) > 0
                        and not list_contains($outcodes::varchar[], outcode)
                        then 'location_not_targeted'
                end,
                case
                    when len($property_types::varchar[]) > 0
                        and not list_contains($property_types::varchar[], property_type)
                        then 'property_type_excluded'
                end,
                case
                    when len($tenures::varchar[]) > 0
                        and not list_contains($tenures::varchar[], tenure)
                        then 'tenure_excluded'
                end,
                case when coalesce(unit_count, 1) < $min_units then 'too_few_units' end,
                case
                    when lease_years_remaining < $min_lease_years then 'lease_too_short'
                end
            ]
            || list_transform(
                list_filter(
                    red_flags,
                    lambda flag: list_contains($excluded_red_flags::varchar[], flag)
                ),
                lambda flag: 'red_flag:' || flag
            ),
            lambda reason: reason is not null
        ) as reasons
    from combined
)

select
    listing_key,
    property_key,
    case when len(reasons) = 0 then 'pending_enrichment' else 'rejected' end as status,
    reasons,
    price,
    outcode,
    property_type,
    tenure,
    lease_years_remaining,
    unit_count,
    unit_kind,
    red_flags,
    signals
from checked
