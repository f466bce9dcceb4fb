-- Tables of the screening stage.

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

