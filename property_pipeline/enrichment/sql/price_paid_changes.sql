-- What a staged Price Paid file does to `price_paid`, one row per transaction id: the row to
-- keep and its `change` ('insert', 'update', 'unchanged', 'delete', or 'absent' for a deletion
-- of an id the warehouse never held). An id listed twice in one file keeps its D row over its
-- C row over its A row, since a later status supersedes an earlier one within the month.
with latest_per_id as (
    select *
    from __price_paid_staged
    qualify row_number() over (
        partition by transaction_id
        order by case record_status when 'D' then 0 when 'C' then 1 else 2 end
    ) = 1
),

compared as (
    select
        latest.*,
        stored.transaction_id is not null as stored_before,
        (
            latest.price,
            latest.transferred_on,
            latest.postcode,
            latest.property_type,
            latest.new_build,
            latest.duration,
            latest.paon,
            latest.saon,
            latest.street,
            latest.locality,
            latest.town,
            latest.district,
            latest.county,
            latest.category
        ) is not distinct from (
            stored.price,
            stored.transferred_on,
            stored.postcode,
            stored.property_type,
            stored.new_build,
            stored.duration,
            stored.paon,
            stored.saon,
            stored.street,
            stored.locality,
            stored.town,
            stored.district,
            stored.county,
            stored.category
        ) as same_as_stored
    from latest_per_id as latest
    left join price_paid as stored
        on stored.transaction_id = latest.transaction_id
)

select
    * exclude (stored_before, same_as_stored),
    case
        when record_status = 'D' and stored_before then 'delete'
        when record_status = 'D' then 'absent'
        when not stored_before then 'insert'
        when same_as_stored then 'unchanged'
        else 'update'
    end as change
from compared
