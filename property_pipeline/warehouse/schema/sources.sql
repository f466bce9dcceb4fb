-- Tables of the sources stage. Partitioned tables keep their DATE partition column first.

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

