-- The EPC register's answers, kept so a postcode is not searched again within the resource's
-- `cache_days`. Not partitioned: a lookup serves every day until it goes stale. Written by
-- enrichment/epc_cache.py, one transaction per batch of postcodes (delete their rows, insert
-- the new ones).

-- One row per postcode searched. `fetched_on` is the pipeline day the search served (freshness
-- is counted from it); a failed search sets `error` and leaves `fetched_on` alone, so the next
-- run searches again and a postcode that never succeeded has no `fetched_on` at all.
create table if not exists epc_lookups (
    postcode varchar not null,
    fetched_on date,
    fetched_at timestamp,
    certificates integer,
    error varchar,
    error_at timestamp
);

-- One row per certificate the register listed for a postcode. The search gives number, UPRN,
-- address, band and lodgement date; the other fields come from `/api/certificate` and are null
-- until that was fetched (`details_fetched_at`). `address_key` is `POSTCODE|canonical address`
-- (enrichment/epc_match.py `address_key`, or the `address_key(address, postcode)` SQL macro in
-- `ADDRESS_KEY_MACRO`): join Land Registry sales on it to find their floor areas.
create table if not exists epc_certificates (
    certificate_number varchar not null,
    postcode varchar not null,
    uprn bigint,
    address varchar,
    post_town varchar,
    address_key varchar,
    lodged_on date,
    epc_rating varchar,
    epc_efficiency integer,
    floor_area_sqm double,
    property_type varchar,
    built_form varchar,
    construction_age_band varchar,
    habitable_rooms integer,
    schema_type varchar,
    details_fetched_at timestamp,
    fetched_on date not null,
    fetched_at timestamp not null
);
