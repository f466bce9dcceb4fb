-- Land Registry sales comparable with each subject listing (__valuation_subjects): standard
-- price (category A) sales of the same Price Paid property type between $window_start and
-- $as_of, new builds only for new-build subjects. The postcode sector when it holds at least
-- $min_sector_sales of them, else the whole postcode district; the $max_comparables most recent.
with subjects as (
    select *
    from __valuation_subjects
    where ppd_type is not null
        and postcode_district is not null
),

window_sales as (
    select
        transaction_id,
        price,
        transferred_on,
        postcode,
        paon,
        saon,
        street,
        town,
        property_type,
        new_build,
        duration,
        postcode_sector,
        postcode_district
    from price_paid
    where category = 'A'
        and transferred_on between $window_start and $as_of
        and postcode_district in (select postcode_district from subjects)
),

sector_sales as (
    select
        subjects.listing_key,
        window_sales.*
    from subjects
    inner join window_sales
        on window_sales.postcode_sector = subjects.postcode_sector
        and window_sales.property_type = subjects.ppd_type
        and (subjects.new_build or not window_sales.new_build)
),

sector_counts as (
    select
        listing_key,
        count(*) as sales
    from sector_sales
    group by listing_key
),

wide_enough_sectors as (
    select listing_key
    from sector_counts
    where sales >= $min_sector_sales
),

district_sales as (
    select
        subjects.listing_key,
        window_sales.*
    from subjects
    inner join window_sales
        on window_sales.postcode_district = subjects.postcode_district
        and window_sales.property_type = subjects.ppd_type
        and (subjects.new_build or not window_sales.new_build)
    where subjects.listing_key not in (select listing_key from wide_enough_sectors)
),

chosen as (
    select
        *,
        'sector' as area_level
    from sector_sales
    where listing_key in (select listing_key from wide_enough_sectors)
    union all
    select
        *,
        'district' as area_level
    from district_sales
),

most_recent as (
    select *
    from chosen
    qualify row_number() over (
        partition by listing_key
        order by transferred_on desc, transaction_id
    ) <= $max_comparables
)

select
    listing_key,
    upper(transaction_id::varchar) as transaction_id,
    price,
    transferred_on,
    postcode,
    paon,
    saon,
    street,
    town,
    property_type,
    new_build,
    duration,
    area_level
from most_recent
