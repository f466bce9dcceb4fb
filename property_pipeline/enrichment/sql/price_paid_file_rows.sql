-- The rows of one Price Paid file ($path), typed as the warehouse keeps them. DuckDB streams the
-- file; a row with the wrong number of columns, an id that is not a GUID, a price or date that
-- does not parse, or a code outside HMLR's lists goes to the rejects table with its line number
-- instead of failing the load (price_paid.py counts and reports them).
with file_rows as (
    select *
    from read_csv(
        $path,
        header = false,
        auto_detect = false,
        delim = ',',
        quote = '"',
        escape = '"',
        columns = {
            'transaction_id': 'UUID',
            'price': 'BIGINT',
            'transferred_at': 'TIMESTAMP',
            'postcode': 'VARCHAR',
            'property_type': 'ENUM(''D'', ''S'', ''T'', ''F'', ''O'')',
            'old_new': 'ENUM(''Y'', ''N'')',
            'duration': 'VARCHAR',
            'paon': 'VARCHAR',
            'saon': 'VARCHAR',
            'street': 'VARCHAR',
            'locality': 'VARCHAR',
            'town': 'VARCHAR',
            'district': 'VARCHAR',
            'county': 'VARCHAR',
            'category': 'ENUM(''A'', ''B'')',
            'record_status': 'ENUM(''A'', ''C'', ''D'')'
        },
        timestampformat = '%Y-%m-%d %H:%M',
        store_rejects = true,
        rejects_table = '__price_paid_rejects',
        rejects_scan = '__price_paid_reject_scans'
    )
)

select
    transaction_id,
    price,
    transferred_at::date as transferred_on,
    postcode,
    property_type::varchar as property_type,
    old_new = 'Y' as new_build,
    duration,
    paon,
    saon,
    street,
    locality,
    town,
    district,
    county,
    category::varchar as category,
    record_status::varchar as record_status,
    case
        when postcode like '% _%'
            then split_part(postcode, ' ', 1) || ' ' || left(split_part(postcode, ' ', 2), 1)
    end as postcode_sector,
    case when postcode like '% _%' then split_part(postcode, ' ', 1) end as postcode_district
from file_rows
