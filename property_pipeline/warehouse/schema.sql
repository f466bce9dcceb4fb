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
    bedrooms integer,
    tenure varchar,
    lease_years_remaining integer,
    postcode varchar,
    outcode varchar,
    address varchar,
    summary varchar,
    description varchar,
    key_features varchar[],
    first_listed_at date,
    auction_date date,
    sources_seen integer not null
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
    tenure varchar
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
