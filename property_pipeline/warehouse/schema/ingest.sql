-- Tables of the ingest stage: history, identity across portals and relists, price changes.

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

-- A scrape's place in a listing's history as one number, latest largest: the day it was seen,
-- then when it was scraped, then a hash of its URL (two scrapes of one day at the same moment).
-- A missing time or URL counts as latest, as NULLS LAST would. The ingest models pick each
-- listing's latest values with arg_max over it: a HUGEINT compares far faster than a struct of
-- date, timestamp and text, which was most of property_links' time at a million rows.
create or replace macro scrape_order(seen_on, scraped_at, url) as
    ((seen_on - date '1970-01-01')::hugeint << 96)
    + (coalesce(epoch_us(scraped_at), 9223372036854775807)::hugeint << 32)
    + coalesce(hash(url) % 4294967295, 4294967295)::hugeint;
