-- The warehouse tables, created up front so every asset can read its inputs even before the
-- first partition lands. One table per asset; partition columns are DATE in UK local time.
-- A write replaces exactly one partition inside a transaction (see warehouse/resource.py).

create table if not exists raw_listings (
    partition_date date not null,
    source varchar not null,
    source_id varchar not null,
    url varchar,
    listing_type varchar not null,
    title varchar,
    price bigint,
    price_qualifier varchar,
    property_type varchar,
    property_sub_type varchar,
    bedrooms integer,
    bathrooms integer,
    tenure varchar,
    lease_years_remaining integer,
    ground_rent integer,
    service_charge integer,
    postcode varchar,
    outcode varchar,
    address varchar,
    latitude double,
    longitude double,
    summary varchar,
    description varchar,
    key_features varchar[],
    agent varchar,
    first_listed_at date,
    update_reason varchar,
    updated_at timestamp,
    auction_date date,
    lot_number integer,
    image_count integer,
    scraped_at timestamp
);

-- What went wrong while collecting a day's raw listings: which source, which URL, and why.
create table if not exists source_failures (
    partition_date date not null,
    source varchar not null,
    url varchar,
    reason varchar not null
);

-- One row per listing seen on the day: the latest scrape of it, its history (status new, active
-- or relisted; first seen, times seen, price before) and its property across portals and
-- relists (key, how it matched, days on market, price cuts). Built by ingest/deduped_listings.sql.
create table if not exists deduped_listings (
    partition_date date not null,
    listing_key varchar not null,
    property_key varchar not null,
    source varchar not null,
    source_id varchar not null,
    url varchar,
    listing_type varchar not null,
    title varchar,
    price bigint,
    price_qualifier varchar,
    property_type varchar,
    property_sub_type varchar,
    bedrooms integer,
    bathrooms integer,
    tenure varchar,
    lease_years_remaining integer,
    ground_rent integer,
    service_charge integer,
    postcode varchar,
    outcode varchar,
    address varchar,
    latitude double,
    longitude double,
    summary varchar,
    description varchar,
    key_features varchar[],
    agent varchar,
    first_listed_at date,
    auction_date date,
    lot_number integer,
    listing_status varchar not null,
    first_seen_on date not null,
    previous_seen_on date,
    times_seen integer not null,
    previous_price bigint,
    price_change bigint,
    match_confidence double not null,
    match_method varchar not null,
    sources_seen integer not null,
    sources varchar[] not null,
    listings_linked integer not null,
    property_first_listed_at date not null,
    days_on_market integer not null,
    price_cuts integer not null,
    price_cut_pct double
);

-- What each listing's words say: units, tenure, lease, red flags and signals (screening/extract.py).
create table if not exists listing_features (
    partition_date date not null,
    listing_key varchar not null,
    unit_count integer,
    unit_kind varchar,
    commercial_units integer not null,
    tenure varchar,
    lease_years_remaining integer,
    red_flags varchar[] not null,
    signals varchar[] not null,
    evidence varchar
);

create table if not exists screened (
    partition_date date not null,
    listing_key varchar not null,
    property_key varchar not null,
    status varchar not null,
    reasons varchar[] not null,
    price bigint,
    outcode varchar,
    property_type varchar,
    tenure varchar,
    lease_years_remaining integer,
    unit_count integer,
    unit_kind varchar,
    red_flags varchar[],
    signals varchar[]
);

create table if not exists enriched (
    partition_date date not null,
    listing_key varchar not null,
    property_key varchar not null,
    status varchar not null,
    price bigint,
    outcode varchar,
    property_type varchar,
    area_median_price bigint,
    area_sales integer,
    preliminary_score double,
    enriched_at timestamp not null
);

create table if not exists scored (
    partition_date date not null,
    listing_key varchar not null,
    property_key varchar not null,
    score integer not null,
    band varchar not null,
    recommendation varchar not null,
    discount_to_area_median double,
    price bigint,
    outcode varchar
);

create table if not exists digests (
    partition_date date not null,
    band varchar not null,
    rank integer not null,
    listing_key varchar not null,
    score integer not null,
    headline varchar not null,
    url varchar
);

create table if not exists weekly_stats (
    week_start date not null,
    outcode varchar not null,
    listings integer not null,
    new_listings integer not null,
    median_price bigint,
    hot_deals integer not null,
    good_deals integer not null
);

-- Each listing in play on the day: seen (new, active, relisted) or just withdrawn, with its
-- sightings and its price against the one before. Built by ingest/listing_history.sql.
create table if not exists listing_history (
    partition_date date not null,
    listing_key varchar not null,
    source varchar not null,
    source_id varchar not null,
    status varchar not null,
    first_seen_on date not null,
    last_seen_on date not null,
    previous_seen_on date,
    times_seen integer not null,
    scrapes_missed integer,
    first_listed_at date not null,
    price bigint,
    previous_price bigint,
    price_change bigint,
    price_change_pct double
);

-- Every listing of each property in play on the day, with the confidence and rule of its
-- strongest match. Built by ingest/property_links.sql.
create table if not exists property_links (
    partition_date date not null,
    property_key varchar not null,
    listing_key varchar not null,
    source varchar not null,
    source_id varchar not null,
    listing_type varchar,
    confidence double not null,
    method varchar not null,
    matched_listing_key varchar,
    first_seen_on date not null,
    last_seen_on date not null,
    first_listed_at date not null
);

-- Every price change, filed under the day it was observed; never overwritten by a later one.
-- Built by ingest/listing_price_history.sql.
create table if not exists listing_price_history (
    partition_date date not null,
    listing_key varchar not null,
    property_key varchar,
    source varchar not null,
    source_id varchar not null,
    previous_seen_on date not null,
    old_price bigint not null,
    new_price bigint not null,
    price_change bigint not null,
    price_change_pct double not null
);
