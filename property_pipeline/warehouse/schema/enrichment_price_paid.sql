-- HM Land Registry Price Paid Data: every current sale record, kept by `load-ppd`
-- (enrichment/price_paid.py). Not partitioned: a load upserts by transaction id (A and C rows
-- replace, D rows delete), so the table always mirrors HMLR's current records.
-- No primary key: an ART index on 30 million ids costs more memory and load time than the
-- loader's anti-join upsert (which keeps ids unique itself).
create table if not exists price_paid (
    transaction_id uuid not null,
    price bigint not null,
    transferred_on date not null,
    postcode varchar,
    -- D detached, S semi-detached, T terraced, F flat or maisonette, O other
    property_type varchar not null,
    new_build boolean not null,
    -- F freehold, L leasehold, U unknown
    duration varchar,
    paon varchar,
    saon varchar,
    street varchar,
    locality varchar,
    town varchar,
    district varchar,
    county varchar,
    -- A standard price paid (full market value), B additional (repossessions, companies, ...)
    category varchar not null,
    -- The status of the row last applied: A added, C changed by a monthly file
    record_status varchar not null,
    -- "NG7 2" and "NG7", derived from the postcode so comparables filter on plain equality
    postcode_sector varchar,
    postcode_district varchar
);

-- One row per Price Paid load: what the file held and what the load did with it.
create table if not exists price_paid_loads (
    source varchar not null,
    kind varchar not null,
    rows_read bigint not null,
    inserted bigint not null,
    updated bigint not null,
    unchanged bigint not null,
    deleted bigint not null,
    rejected bigint not null,
    started_at timestamp not null,
    finished_at timestamp not null
);

-- Land Registry sales chosen as comparables for each listing valued on the day
-- (enrichment/comparables.py), kept for the report; `trimmed` rows were outliers left out.
create table if not exists comparables (
    partition_date date not null,
    listing_key varchar not null,
    transaction_id varchar not null,
    price bigint not null,
    transferred_on date not null,
    postcode varchar,
    address varchar,
    property_type varchar not null,
    new_build boolean,
    duration varchar,
    -- 'sector' or 'district': where the listing's comparables were found
    area_level varchar not null,
    floor_area_sqm double,
    price_per_sqm double,
    trimmed boolean not null,
    used_in_value boolean not null
);
