-- Market statistics for each Monday-to-Sunday week (week_start is the Monday), one row per
-- location (outcode) and property type, plus roll-ups: location 'ALL' for the whole market
-- watched and property type 'all' for every type together. Counts are of properties (listings
-- of one property on several portals count once). Fractions are 0-1 (0.05 is 5%).
-- Built by reporting/weekly_stats.sql.
create table if not exists weekly_stats (
    week_start date not null,
    location varchar not null,
    property_type varchar not null,
    -- supply: on the market at some point in the week, newly added or relisted, taken off
    listings_live integer not null,
    listings_added integer not null,
    listings_withdrawn integer not null,
    -- asking prices on each property's last day seen in the week
    median_asking_price bigint,
    listings_with_floor_area integer not null,
    median_price_per_sqm bigint,
    -- reductions seen during the week: share of live properties cut, the mean cut
    listings_reduced integer not null,
    share_reduced double,
    avg_cut_pct double,
    median_days_on_market double,
    -- the pipeline's scores: properties whose latest band in the week is hot, good or watchlist
    hot_deals integer not null,
    good_deals integer not null,
    watchlist_deals integer not null,
    -- Land Registry standard-price (category A) sales: the 3 months to the week's Sunday against
    -- the same 3 months a year earlier, in the district and matching Price Paid property type
    sold_count integer not null,
    sold_median_price bigint,
    sold_count_year_before integer not null,
    sold_median_price_year_before bigint,
    sold_price_change_pct double
);
