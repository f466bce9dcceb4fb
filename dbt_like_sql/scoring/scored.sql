-- asset: scored
-- Every listing analysed on the partition date, worked out as an investor would by hand: value
-- (comparables, or the flats' sum of parts for a block), costs (land tax with the same bands as
-- scoring/tax.py, fees, auction charges, refurbishment, title split), income (stated or table
-- rent, gross yield against the outcode's median), upside (value after works, title-split uplift,
-- return on cash) and a 0-100 score whose breakdown adds up to it exactly. Every number the
-- model uses arrives as a bound parameter built by scoring/params.py from scoring.yaml.
-- rank_overall ranks each of today's rows among every property scored so far, each earlier
-- property by its latest score; ranks stored on earlier partitions are not rewritten.
-- Known shortcomings: flats' sum-of-parts values come from flats' asking prices in the outcode
-- (less asking_to_sold), not from Land Registry sales, until price_paid is wired in here; and
-- the model is not yet fast enough for issue 9: about 30 s and 5 GB for 1,000,000 analysed
-- listings on 2 shared cores (bench/scoring.py), half of it writing each row's text (the JSON
-- breakdown with its format() evidence, reasons, recommendation), which DuckDB does at a few
-- microseconds a row whatever the expression; the rest is the joins, tax lambdas and regexes.

with places as (
    select unnest($places, recursive := true)
),

tax_rules as (
    select
        rule.nation,
        rule.tax_name,
        rule.residential,
        rule.higher,
        rule.non_residential,
        rule.supplement_rate,
        rule.higher_rates_threshold,
        rule.six_dwellings_non_residential,
        rule.mdr_available,
        rule.mdr_min_rate,
        rule.mdr_min_share
    from (select unnest($tax_rules) as rule)
),

rents as (
    select unnest($rents, recursive := true)
),

regional_yields as (
    select unnest($regional_yields, recursive := true)
),

refurbishment_rates as (
    select unnest($refurbishment_rates, recursive := true)
),

condition_scopes as (
    select unnest($scope_by_condition, recursive := true)
),

scope_uplifts as (
    select unnest($uplift_by_scope, recursive := true)
),

analysed as (
    select *
    from {{ ref('enriched') }}
    where partition_date = $partition_date
        and status = 'analysed'
),

todays_listings as (
    select *
    from {{ ref('deduped_listings') }}
    where partition_date = $partition_date
),

property_urls as (
    select
        property_key,
        list_sort(list_distinct(list(url))) as urls
    from todays_listings
    group by property_key
),

facts as (
    select
        analysed.listing_key,
        analysed.property_key,
        coalesce(analysed.price, listing.price) as price,
        coalesce(analysed.postcode, listing.postcode) as postcode,
        upper(coalesce(analysed.outcode, listing.outcode)) as outcode,
        coalesce(analysed.address, listing.address) as address,
        coalesce(analysed.listing_type, listing.listing_type) as listing_type,
        coalesce(analysed.property_type, listing.property_type) as property_type,
        coalesce(analysed.bedrooms, listing.bedrooms) as bedrooms,
        greatest(coalesce(analysed.unit_count, screen.unit_count, features.unit_count, 1), 1)
            as unit_count,
        coalesce(screen.unit_kind, features.unit_kind) as unit_kind,
        coalesce(
            nullif(analysed.tenure, 'unknown'),
            nullif(screen.tenure, 'unknown'),
            nullif(listing.tenure, 'unknown'),
            'unknown'
        ) as tenure,
        coalesce(
            screen.lease_years_remaining,
            listing.lease_years_remaining,
            features.lease_years_remaining
        ) as lease_years_remaining,
        coalesce(features.commercial_units, 0) as commercial_units,
        coalesce(screen.red_flags, features.red_flags, []::varchar[]) as red_flags,
        coalesce(screen.signals, features.signals, []::varchar[]) as signals,
        analysed.estimated_value,
        analysed.value_low,
        analysed.value_high,
        analysed.value_confidence,
        analysed.comparables_count,
        analysed.floor_area_sqm,
        upper(analysed.epc_rating) as epc_rating,
        lower(analysed.condition) as condition,
        lower(analysed.refurbishment_scope) as refurbishment_scope,
        analysed.unit_breakdown,
        list_transform(coalesce(analysed.strategy_fit, []::varchar[]), lambda s: lower(s))
            as strategy_fit,
        listing.title,
        listing.url,
        listing.agent,
        listing.days_on_market,
        listing.price_cut_pct,
        listing.listing_status
    from analysed
    left join todays_listings as listing
        on listing.listing_key = analysed.listing_key
    left join {{ ref('screened') }} as screen
        on screen.partition_date = $partition_date
        and screen.listing_key = analysed.listing_key
    left join {{ ref('listing_features') }} as features
        on features.partition_date = $partition_date
        and features.listing_key = analysed.listing_key
),

-- Each listing's words apart from its numbers, so the long text is not carried through every
-- later step (nor stored where DuckDB materialises one); only the stated rent reads it.
listing_texts as (
    select
        analysed.listing_key,
        concat_ws(
            ' ',
            listing.title,
            listing.summary,
            listing.description,
            array_to_string(listing.key_features, ' ')
        ) as listing_text
    from analysed
    -- Read straight from the table: through todays_listings, DuckDB would hold every text in
    -- memory while it materialises that CTE for its other readers.
    join {{ ref('deduped_listings') }} as listing
        on listing.partition_date = $partition_date
        and listing.listing_key = analysed.listing_key
),

located as (
    select
        facts.*,
        coalesce(district.nation, area.nation) as nation,
        coalesce(district.region, area.region) as region,
        coalesce(facts.property_type = 'hmo' or facts.unit_kind = 'hmo_room', false) as is_hmo,
        coalesce(facts.property_type = 'mixed_use' or facts.commercial_units > 0, false)
            as is_mixed_use
    from facts
    left join places as district
        on district.level = 'district'
        and district.code = facts.outcode
    left join places as area
        on area.level = 'area'
        and area.code = regexp_extract(facts.outcode, '^[A-Z]+')
),

shaped as (
    select
        *,
        -- An HMO is one dwelling let by the room; other multi-unit buildings are flats.
        case when is_hmo then 1 else unit_count end as dwellings,
        not is_hmo and unit_count >= 2 as is_multi_unit,
        not is_hmo
            and unit_count >= 2
            and tenure not in ('leasehold', 'share_of_freehold') as can_split
    from located
),

-- The units of each multi-unit building: the analysis's unit mix, else N one-bedroom flats.
stated_units as (
    select
        listing_key,
        unit.kind as kind,
        unit.bedrooms as bedrooms,
        unit.count as unit_number
    from (
        select
            listing_key,
            unnest(
                from_json(
                    unit_breakdown,
                    '[{"kind": "VARCHAR", "bedrooms": "INTEGER", "count": "INTEGER"}]'
                )
            ) as unit
        from shaped
        where is_multi_unit
            and unit_breakdown is not null
            and json_valid(unit_breakdown)
    )
),

units as (
    select
        shaped.listing_key,
        shaped.region,
        shaped.outcode,
        lower(coalesce(stated.kind, 'flat')) as kind,
        case
            when lower(stated.kind) = 'studio' then 0
            else greatest(coalesce(stated.bedrooms, 1), 0)
        end as bedrooms,
        coalesce(stated.unit_number, shaped.unit_count) as unit_number,
        stated.listing_key is not null as stated
    from shaped
    left join stated_units as stated
        on stated.listing_key = shaped.listing_key
    where shaped.is_multi_unit
        and coalesce(stated.unit_number, 1) > 0
        and lower(coalesce(stated.kind, 'flat')) not in ('commercial', 'shop', 'office')
),

-- Flats' asking prices by outcode and bedrooms over the window, one price per listing.
flat_asking as (
    select
        outcode,
        least(bedrooms, $max_bedroom_key) as bedrooms,
        median(price) as median_price,
        count(*) as listings
    from (
        select
            listing_key,
            arg_max(upper(outcode), partition_date) as outcode,
            arg_max(bedrooms, partition_date) as bedrooms,
            arg_max(price, partition_date) as price
        from {{ ref('deduped_listings') }}
        where partition_date <= $partition_date
            and partition_date > $partition_date::date - to_days($split_window_days::integer)
            and property_type = 'flat'
            and price > 0
            and bedrooms is not null
        group by listing_key
    )
    group by all
    having count(*) >= $min_flat_listings
),

unit_values as (
    select
        units.listing_key,
        sum(units.unit_number) as units_counted,
        sum(units.unit_number * rents.monthly) as units_monthly_rent,
        sum(units.unit_number * flat_asking.median_price * (1 - $asking_to_sold)) as units_value,
        count(*) filter (where flat_asking.median_price is null) as units_unpriced,
        bool_and(units.stated) as mix_stated,
        sum(units.unit_number * ($floor_area_base + $floor_area_per_bedroom * units.bedrooms))
            as units_floor_area
    from units
    left join rents
        on rents.region = units.region
        and rents.kind = 'home'
        and rents.bedrooms = least(units.bedrooms, $max_bedroom_key)
    left join flat_asking
        on flat_asking.outcode = units.outcode
        and flat_asking.bedrooms = least(units.bedrooms, $max_bedroom_key)
    group by units.listing_key
),

-- Table-rent yields of every priced home listed in the window, by outcode.
market_yields as (
    select
        recent.outcode,
        median(12 * rents.monthly / recent.price) as median_yield,
        count(*) as listings
    from (
        select
            listing_key,
            arg_max(upper(outcode), partition_date) as outcode,
            arg_max(bedrooms, partition_date) as bedrooms,
            arg_max(price, partition_date) as price
        from {{ ref('deduped_listings') }}
        where partition_date <= $partition_date
            and partition_date > $partition_date::date - to_days($location_window_days::integer)
            and price > 0
            and bedrooms is not null
            and property_type not in ('block_of_flats', 'hmo', 'mixed_use', 'land', 'other')
        group by listing_key
    ) as recent
    left join places as district
        on district.level = 'district'
        and district.code = recent.outcode
    left join places as area
        on area.level = 'area'
        and area.code = regexp_extract(recent.outcode, '^[A-Z]+')
    join rents
        on rents.region = coalesce(district.region, area.region)
        and rents.kind = 'home'
        and rents.bedrooms = least(recent.bedrooms, $max_bedroom_key)
    group by recent.outcode
    having count(*) >= $location_min_listings
),

local_yields as (
    select
        outcode,
        median_yield,
        listings,
        percent_rank() over (order by median_yield) as yield_percentile
    from market_yields
),

stated_rent as (
    select
        listing_key,
        regexp_extract(
            regexp_replace(listing_text, $charge_pattern, ' ', 'g'),
            $rent_pattern,
            ['amount', 'thousands', 'period']
        ) as found
    from listing_texts
    where listing_text like '%£%'
),

valued as (
    select
        shaped.*,
        tax_rules.tax_name,
        tax_rules.residential as residential_bands,
        tax_rules.higher as higher_bands,
        tax_rules.non_residential as non_residential_bands,
        tax_rules.supplement_rate,
        tax_rules.six_dwellings_non_residential,
        tax_rules.mdr_available,
        tax_rules.mdr_min_rate,
        tax_rules.mdr_min_share,
        $higher_rates and shaped.price >= tax_rules.higher_rates_threshold as higher_rates,
        case
            when unit_values.units_unpriced = 0 then round(unit_values.units_value)::bigint
        end as sum_of_parts_value,
        unit_values.units_counted,
        unit_values.mix_stated,
        case
            when nullif(stated_rent.found.amount, '') is not null
                then round(
                    replace(stated_rent.found.amount, ',', '')::double
                    * case when stated_rent.found.thousands <> '' then 1000 else 1 end
                    * case
                        when list_contains($monthly_periods, lower(stated_rent.found.period))
                            then 12
                        when list_contains($weekly_periods, lower(stated_rent.found.period))
                            then 52
                        else 1
                    end
                )::bigint
        end as stated_annual_rent,
        12 * case
            when shaped.is_hmo then shaped.unit_count * room_rent.monthly
            when shaped.is_multi_unit then unit_values.units_monthly_rent
            else home_rent.monthly
        end as table_annual_rent,
        coalesce(
            shaped.floor_area_sqm,
            unit_values.units_floor_area,
            $floor_area_base + $floor_area_per_bedroom * coalesce(shaped.bedrooms, 2)
        ) as works_floor_area,
        case
            when shaped.refurbishment_scope in ('none', 'light', 'full', 'structural')
                then shaped.refurbishment_scope
            -- A cosmetic refresh is priced as light works.
            when shaped.refurbishment_scope = 'cosmetic' then 'light'
            else coalesce(
                condition_scope.scope,
                case when list_contains(shaped.signals, 'needs_modernisation') then 'full' end,
                $default_scope
            )
        end as works_scope,
        local_yields.median_yield as outcode_median_yield,
        local_yields.yield_percentile,
        regional_yields.gross_yield as regional_yield
    from shaped
    left join tax_rules
        on tax_rules.nation = shaped.nation
    left join unit_values
        on unit_values.listing_key = shaped.listing_key
    left join stated_rent
        on stated_rent.listing_key = shaped.listing_key
    left join rents as home_rent
        on home_rent.region = shaped.region
        and home_rent.kind = 'home'
        and home_rent.bedrooms = least(shaped.bedrooms, $max_bedroom_key)
    left join rents as room_rent
        on room_rent.region = shaped.region
        and room_rent.kind = 'room'
    left join local_yields
        on local_yields.outcode = shaped.outcode
    left join regional_yields
        on regional_yields.region = shaped.region
    left join condition_scopes as condition_scope
        on condition_scope.condition = shaped.condition
),

-- Land tax as scoring/tax.py works it out: each allowed treatment, the cheapest chosen.
taxed as (
    select
        *,
        list_sum(
            list_transform(
                non_residential_bands,
                lambda b: greatest(0, least(price, coalesce(b.upper, price)) - b.lower) * b.rate
            )
        ) as tax_non_residential,
        list_sum(
            list_transform(
                case when higher_rates then higher_bands else residential_bands end,
                lambda b: greatest(0, least(price, coalesce(b.upper, price)) - b.lower) * b.rate
            )
        ) as tax_residential_bands,
        case
            when higher_rates and supplement_rate > 0 then price * supplement_rate else 0
        end as tax_supplement,
        -- The price per dwelling in whole pence, rounded half up as tax.py does.
        ((price * 200 + dwellings) // (2 * dwellings))::decimal(18, 0) * 0.01::decimal(3, 2)
            as price_per_dwelling
    from valued
),

tax_options as (
    select
        *,
        floor(tax_non_residential)::bigint as option_non_residential,
        floor(tax_residential_bands + tax_supplement)::bigint as option_residential,
        case
            when mdr_available and dwellings >= 2 then floor(
                greatest(
                    dwellings * list_sum(
                        list_transform(
                            case when higher_rates then higher_bands else residential_bands end,
                            lambda b: greatest(
                                0,
                                least(price_per_dwelling, coalesce(b.upper, price_per_dwelling))
                                - b.lower
                            ) * b.rate
                        )
                    ),
                    mdr_min_rate * price,
                    mdr_min_share * tax_residential_bands
                )
                + case
                    when dwellings >= 6 and six_dwellings_non_residential then 0
                    else tax_supplement
                end
            )::bigint
        end as option_relief
    from taxed
),

tax_chosen as (
    select
        *,
        case
            when price is null or nation is null or tax_name is null then null
            when is_mixed_use then 'non_residential'
            when dwellings >= 6 and six_dwellings_non_residential then
                case
                    when option_relief < option_non_residential then 'multiple_dwellings_relief'
                    else 'non_residential'
                end
            when option_relief < option_residential then 'multiple_dwellings_relief'
            when higher_rates and supplement_rate > 0 then 'residential_higher_ads'
            when higher_rates then 'residential_higher'
            else 'residential'
        end as tax_regime
    from tax_options
),

costed as (
    select
        *,
        case tax_regime
            when 'non_residential' then option_non_residential
            when 'multiple_dwellings_relief' then option_relief
            else option_residential
        end as tax,
        $legal + $legal_per_extra_unit * (dwellings - 1)
            + $survey + $survey_per_extra_unit * (dwellings - 1) as legal_and_survey,
        (
            case when listing_type = 'auction_lot' then $auction_buyers_fee else 0 end
            + case
                when list_contains(red_flags, 'auction_reservation_fee') then greatest(
                    $reservation_fee_minimum,
                    round(price * $reservation_fee_rate * (1 + $reservation_fee_vat))
                )
                else 0
            end
        )::bigint as auction_fees,
        round(
            works_floor_area * coalesce(region_rate.rate, default_rate.rate)
            * (1 + $contingency)
            + case when epc_rating in ('F', 'G') then $poor_epc_allowance * dwellings else 0 end
        )::bigint as refurbishment_cost,
        case when can_split then $split_fixed_cost + $split_cost_per_unit * dwellings else 0 end
            as title_split_cost,
        case
            when stated_annual_rent / nullif(price, 0)
                between $plausible_yield_min and $plausible_yield_max
                then stated_annual_rent
        end as plausible_stated_rent,
        case when is_multi_unit and sum_of_parts_value is not null then sum_of_parts_value
            else estimated_value
        end as value_for_discount,
        coalesce(scope_uplift.uplift, 0) as works_uplift
    from tax_chosen
    left join refurbishment_rates as region_rate
        on region_rate.region = tax_chosen.region
        and region_rate.scope = tax_chosen.works_scope
    left join refurbishment_rates as default_rate
        on default_rate.region = 'default'
        and default_rate.scope = tax_chosen.works_scope
    left join scope_uplifts as scope_uplift
        on scope_uplift.scope = tax_chosen.works_scope
),

measured as (
    select
        *,
        price + tax + legal_and_survey + auction_fees + refurbishment_cost + title_split_cost
            as all_in_cost,
        coalesce(plausible_stated_rent, round(table_annual_rent)::bigint)
            as estimated_annual_rent,
        case
            when plausible_stated_rent is not null then 'stated in the listing'
            when table_annual_rent is not null then 'regional table'
        end as rent_basis,
        case
            when value_for_discount is null then null
            when is_multi_unit and sum_of_parts_value is not null then 'sum_of_parts'
            else 'comparables'
        end as value_basis,
        1 - price / nullif(value_for_discount, 0) as discount_to_value,
        round(value_for_discount * (1 + works_uplift))::bigint as value_after_works,
        coalesce(outcode_median_yield, regional_yield) as local_median_yield
    from costed
),

benefits as (
    select
        *,
        estimated_annual_rent / nullif(price, 0) as gross_yield,
        value_after_works - all_in_cost as value_added,
        case
            when can_split and sum_of_parts_value is not null then round(
                sum_of_parts_value * (1 + works_uplift) * (1 - $resale_haircut_low)
                * (1 - $selling_costs) - all_in_cost
            )::bigint
        end as title_split_uplift_low,
        case
            when can_split and sum_of_parts_value is not null then round(
                sum_of_parts_value * (1 + works_uplift) * (1 - $resale_haircut_high)
                * (1 - $selling_costs) - all_in_cost
            )::bigint
        end as title_split_uplift_high,
        (
            coalesce(estimated_annual_rent, 0) * (1 - $running_costs)
            + coalesce(value_after_works - all_in_cost, 0)
        ) / nullif(all_in_cost, 0) as return_on_cash,
        list_filter(
            red_flags,
            lambda f: list_contains($major_flags, f) and not list_contains($deal_killers, f)
        ) as major_flags,
        list_filter(
            red_flags,
            lambda f: list_contains($minor_flags, f) and not list_contains($deal_killers, f)
        ) as minor_flags,
        list_transform(
            list_filter(red_flags, lambda f: list_contains($deal_killers, f)),
            lambda f: 'deal-killer: ' || replace(f, '_', ' ')
        ) || case
            when lease_years_remaining < $min_lease_years
                then [format('deal-killer: lease under {} years', $min_lease_years)]
            else []::varchar[]
        end as killer_caps,
        list_filter(
            [
                case when coalesce(comparables_count, 0) < $min_comparables
                    then 'few comparables' end,
                case when floor_area_sqm is null then 'no floor area' end,
                case when value_for_discount is null then 'no value estimate' end
            ],
            lambda reason: reason is not null
        ) as thin_caps
    from measured
),

sub_scored as (
    select
        *,
        -- DuckDB's least and greatest skip NULLs: missing evidence must stay NULL.
        case when discount_to_value is not null then greatest(0, least(1,
            (discount_to_value - $discount_zero_at) / ($discount_full_at - $discount_zero_at)
        )) end as s_discount,
        case when gross_yield is not null and local_median_yield is not null
            then greatest(0, least(1,
                (gross_yield - local_median_yield) / $yield_full_above_median
            ))
        end as s_yield,
        case when value_after_works is not null and all_in_cost > 0 then greatest(0, least(1,
            ((value_after_works - all_in_cost) / all_in_cost - $value_add_zero_at)
            / ($value_add_full_at - $value_add_zero_at)
        )) end as s_value_add,
        least(1,
            case when price_cut_pct >= $price_cut_at_least then $price_cut else 0 end
            + case when days_on_market >= $days_on_market_at_least then $long_on_market else 0 end
            + case when listing_status = 'relisted' then $relisted else 0 end
            + case
                when len(list_intersect(signals, $distress_signals)) > 0 then $distress else 0
            end
            + case when listing_type = 'auction_lot' then $auction else 0 end
        ) as s_motivation,
        least(1,
            case when is_multi_unit and tenure = 'freehold' then $multi_unit_freehold else 0 end
            + case
                when is_multi_unit and tenure = 'freehold' and property_type = 'block_of_flats'
                    then $unbroken_block
                else 0
            end
            + case
                when tax_regime in ('non_residential', 'multiple_dwellings_relief')
                    and (dwellings >= 2 or is_mixed_use)
                    then $tax_advantage
                else 0
            end
            + case
                when len(list_intersect(strategy_fit, $strategy_targets)) > 0 then $target_fit
                else 0
            end
        ) as s_strategy,
        yield_percentile as s_location
    from benefits
),

weighted as (
    select
        *,
        $w_discount * (s_discount is not null)::int
            + $w_yield * (s_yield is not null)::int
            + $w_value_add * (s_value_add is not null)::int
            + $w_motivation
            + $w_strategy
            + $w_location * (s_location is not null)::int as available_weight
    from sub_scored
),

pointed as (
    select
        *,
        coalesce(round(100.0 * $w_discount / available_weight * s_discount, 2), 0)::decimal(8, 2)
            as p_discount,
        coalesce(round(100.0 * $w_yield / available_weight * s_yield, 2), 0)::decimal(8, 2)
            as p_yield,
        coalesce(round(100.0 * $w_value_add / available_weight * s_value_add, 2), 0)
            ::decimal(8, 2) as p_value_add,
        round(100.0 * $w_motivation / available_weight * s_motivation, 2)::decimal(8, 2)
            as p_motivation,
        round(100.0 * $w_strategy / available_weight * s_strategy, 2)::decimal(8, 2)
            as p_strategy,
        coalesce(round(100.0 * $w_location / available_weight * s_location, 2), 0)
            ::decimal(8, 2) as p_location,
        -least(len(major_flags) * $penalty_major, $penalty_major_max)::decimal(8, 2)
            as p_major,
        -(len(minor_flags) * $penalty_minor)::decimal(8, 2) as p_minor,
        least(
            case when len(killer_caps) > 0 then $cap_deal_killer else 100 end,
            case when len(thin_caps) > 0 then $cap_thin_evidence else 100 end
        ) as cap_value
    from weighted
),

totalled as (
    select
        *,
        p_discount + p_yield + p_value_add + p_motivation + p_strategy + p_location
            + p_major + p_minor as after_penalties
    from pointed
),

clamped as (
    select
        *,
        greatest(0, least(100, after_penalties))::decimal(8, 2) as within_range
    from totalled
),

capped as (
    select
        *,
        least(within_range, cap_value)::decimal(8, 2) as after_caps
    from clamped
),

final_scores as (
    select
        *,
        round(after_caps)::integer as score,
        case
            when round(after_caps) >= $band_hot then 'hot'
            when round(after_caps) >= $band_good then 'good'
            when round(after_caps) >= $band_watchlist then 'watchlist'
            else 'pass'
        end as band
    from capped
),

-- Each property scored before today once: its latest day, and on that day its best listing
-- (ties by key), all three values from that one row so reruns rank the same.
earlier_properties as (
    select
        property_key,
        arg_max(
            {'listing_key': listing_key, 'score': score, 'discount_to_value': discount_to_value},
            (partition_date, score, listing_key)
        ) as latest
    from {{ ref('scored') }}
    where partition_date < $partition_date
    group by property_key
),

ranking_pool as (
    select
        listing_key,
        score,
        discount_to_value,
        true as is_today
    from final_scores
    union all
    select
        latest.listing_key,
        latest.score,
        latest.discount_to_value,
        false as is_today
    from earlier_properties
    where property_key not in (select property_key from final_scores)
),

-- Both ranks over these narrow rows: a window over the wide scored rows would sort them all.
ranked as (
    select
        listing_key,
        row_number() over (
            partition by is_today
            order by score desc, discount_to_value desc nulls last, listing_key
        ) as rank_in_partition,
        row_number() over (
            order by score desc, discount_to_value desc nulls last, listing_key
        ) as rank_overall
    from ranking_pool
    qualify is_today
),

-- Ranks and links joined before the text is written, so no join has to hold the text.
ranked_scores as (
    select
        final_scores.*,
        coalesce(property_urls.urls, []::varchar[]) as urls,
        ranked.rank_in_partition,
        ranked.rank_overall
    from final_scores
    left join property_urls
        on property_urls.property_key = final_scores.property_key
    left join ranked
        on ranked.listing_key = final_scores.listing_key
),

explained as (
    select
        *,
        -- One struct serialised once: nested JSON calls re-parse every inner object.
        to_json({
            'components': [
                {
                    'component': 'discount',
                    'weight': $w_discount,
                    'effective_weight': round(100.0 * $w_discount / available_weight
                        * (s_discount is not null)::int, 4),
                    'sub_score': round(s_discount, 4),
                    'points': p_discount,
                    'evidence': case
                        when value_for_discount is null
                            then 'no value estimate: weight shared out'
                        else format(
                            'asking £{:,} against {} value £{:,}: {:.1f}% {}',
                            price,
                            replace(value_basis, '_', ' '),
                            value_for_discount,
                            abs(100 * discount_to_value),
                            case when discount_to_value >= 0 then 'below' else 'above' end
                        )
                    end
                },
                {
                    'component': 'yield',
                    'weight': $w_yield,
                    'effective_weight': round(100.0 * $w_yield / available_weight
                        * (s_yield is not null)::int, 4),
                    'sub_score': round(s_yield, 4),
                    'points': p_yield,
                    'evidence': case
                        when s_yield is null then 'no rent or local yield: weight shared out'
                        else format(
                            'rent £{:,} a year ({}): {:.1f}% gross against {:.1f}% {}',
                            estimated_annual_rent,
                            rent_basis,
                            100 * gross_yield,
                            100 * local_median_yield,
                            case when outcode_median_yield is not null
                                then 'in ' || outcode else 'in the region' end
                        )
                    end
                },
                {
                    'component': 'value_add',
                    'weight': $w_value_add,
                    'effective_weight': round(100.0 * $w_value_add / available_weight
                        * (s_value_add is not null)::int, 4),
                    'sub_score': round(s_value_add, 4),
                    'points': p_value_add,
                    'evidence': case
                        when s_value_add is null then 'no value estimate: weight shared out'
                        else format(
                            'value after works ({} scope) £{:,} against all-in cost £{:,}',
                            works_scope,
                            value_after_works,
                            all_in_cost
                        )
                    end
                },
                {
                    'component': 'motivation',
                    'weight': $w_motivation,
                    'effective_weight': round(100.0 * $w_motivation / available_weight, 4),
                    'sub_score': round(s_motivation, 4),
                    'points': p_motivation,
                    'evidence': format(
                        '{} days on market, price cut {:.0f}%, status {}, signals: {}',
                        coalesce(days_on_market, 0),
                        100 * coalesce(price_cut_pct, 0),
                        coalesce(listing_status, 'unknown'),
                        coalesce(nullif(array_to_string(signals, ', '), ''), 'none')
                    )
                },
                {
                    'component': 'strategy',
                    'weight': $w_strategy,
                    'effective_weight': round(100.0 * $w_strategy / available_weight, 4),
                    'sub_score': round(s_strategy, 4),
                    'points': p_strategy,
                    'evidence': format(
                        '{} unit(s), {}, {} tax treatment',
                        unit_count,
                        replace(tenure, '_', ' '),
                        replace(coalesce(tax_regime, 'unknown'), '_', ' ')
                    )
                },
                {
                    'component': 'location',
                    'weight': $w_location,
                    'effective_weight': round(100.0 * $w_location / available_weight
                        * (s_location is not null)::int, 4),
                    'sub_score': round(s_location, 4),
                    'points': p_location,
                    'evidence': case
                        when s_location is null
                            then 'too few listings in ' || coalesce(outcode, 'the outcode')
                                || ': weight shared out'
                        else format(
                            '{} median yield {:.1f}%, above {:.0f}% of outcodes',
                            outcode,
                            100 * outcode_median_yield,
                            100 * yield_percentile
                        )
                    end
                }
            ],
            'penalties': [
                {'penalty': 'major red flags', 'flags': major_flags, 'points': p_major},
                {'penalty': 'minor red flags', 'flags': minor_flags, 'points': p_minor}
            ],
            'clamp': (within_range - after_penalties)::decimal(8, 2),
            'caps': [
                {
                    'cap': cap_value,
                    'reasons': killer_caps || thin_caps,
                    'points': (after_caps - within_range)::decimal(8, 2)
                }
            ],
            'rounding': (score - after_caps)::decimal(8, 2),
            'score': score
        })::varchar as score_breakdown,
        list_transform(
            list_filter(
                list_reverse_sort([
                    {'points': p_discount, 'phrase': case when discount_to_value >= 0.05
                        then format('{:.0f}% below the {} value', 100 * discount_to_value,
                            replace(value_basis, '_', ' ')) end},
                    {'points': p_yield, 'phrase': case when p_yield > 0
                        then format('{:.1f}% gross yield against {:.1f}% locally',
                            100 * gross_yield, 100 * local_median_yield) end},
                    {'points': p_value_add, 'phrase': case when p_value_add > 0
                        then format('£{:,} added after works', value_added) end},
                    {'points': p_motivation, 'phrase': case when p_motivation > 0
                        then 'motivated seller' || case when len(signals) > 0
                            then ': ' || array_to_string(signals, ', ') else '' end end},
                    {'points': p_strategy, 'phrase': case when p_strategy > 0 and is_multi_unit
                        then format('{} units on one {} title', unit_count,
                            replace(tenure, '_', ' '))
                        when p_strategy > 0 then 'fits the strategy' end},
                    {'points': p_location, 'phrase': case when s_location >= 0.75
                        then 'high-yield outcode ' || outcode end}
                ]),
                lambda r: r.phrase is not null and r.points > 0
            ),
            lambda r: r.phrase
        ) as positive_reasons
    from ranked_scores
),

worded as (
    select
        *,
        (
            killer_caps
            || positive_reasons
            || list_transform(major_flags, lambda f: 'red flag: ' || replace(f, '_', ' '))
            || thin_caps
            || [format('score {} of 100', score), format('asking £{:,}', coalesce(price, 0))]
        )[1:4] as top_reasons,
        concat_ws(
            ' ',
            case band
                when 'hot' then 'Hot: act now, view it and read the legal pack this week.'
                when 'good' then 'Good: worth a closer look before the daily digest moves on.'
                when 'watchlist' then 'Watchlist: interesting after a price cut or more evidence.'
                else 'Pass: the numbers or the red flags do not justify the time.'
            end,
            case
                when value_for_discount is null then 'There is no value estimate yet.'
                else format(
                    'Asking £{:,} against a {} value of £{:,}{}, {:.0f}% {}.',
                    price,
                    replace(value_basis, '_', ' '),
                    value_for_discount,
                    case when value_basis = 'comparables' and value_confidence is not null
                        then format(' (confidence {:.0f}%)', 100 * value_confidence) else '' end,
                    abs(100 * discount_to_value),
                    case when discount_to_value >= 0 then 'below' else 'above' end
                )
            end,
            case
                when gross_yield is not null then format(
                    'Rent of about £{:,} a year ({}) gives {:.1f}% gross against {:.1f}% locally.',
                    estimated_annual_rent,
                    rent_basis,
                    100 * gross_yield,
                    100 * local_median_yield
                )
            end,
            case
                when all_in_cost is not null then format(
                    'All-in cost about £{:,}, including £{:,} {} and £{:,} of works.',
                    all_in_cost,
                    tax,
                    tax_name,
                    refurbishment_cost
                )
            end,
            case
                when cap_value < 100 then format(
                    'Held at {} at most: {}.',
                    cap_value,
                    array_to_string(killer_caps || thin_caps, ', ')
                )
            end
        ) as recommendation,
        list_filter(
            list_transform(
                list_filter(red_flags, lambda f: list_contains($deal_killers, f)),
                lambda f: 'Confirm whether it really is ' || replace(f, '_', ' ')
                    || ': that rules it out'
            )
            || [
                case when lease_years_remaining < $min_lease_years
                    then format('Lease length: {} years is too short to lend on',
                        lease_years_remaining) end,
                case when list_contains(thin_caps, 'no value estimate')
                    then 'Sold prices nearby: there is no value estimate' end,
                case when list_contains(thin_caps, 'few comparables')
                    then 'More sold comparables before trusting the value' end,
                case when list_contains(thin_caps, 'no floor area')
                    then 'The floor area: no EPC gives it' end
            ]
            || list_transform(major_flags, lambda f: 'The ' || replace(f, '_', ' ')
                || ' problem and what it costs')
            || [
                case when can_split then 'The title register and any leases already granted' end,
                case when listing_type = 'auction_lot'
                    then 'The legal pack and special conditions before bidding' end,
                case when plausible_stated_rent is not null
                    then 'Tenancy agreements and rent received for the stated rent' end,
                case when works_scope in ('full', 'structural')
                    then 'A builder''s quote for the works' end,
                'The condition, at a viewing'
            ],
            lambda item: item is not null
        )[1:3] as check_first
    from explained
),

todays_scores as (
    select
        listing_key,
        property_key,
        'analysed' as status,
        score,
        band,
        recommendation,
        check_first,
        top_reasons,
        score_breakdown,
        killer_caps || thin_caps as evidence_caps,
        format(
            '{} in {}: £{:,}, score {} ({})',
            coalesce(title, replace(coalesce(property_type, 'property'), '_', ' ')),
            coalesce(outcode, 'unknown area'),
            coalesce(price, 0),
            score,
            band
        ) as headline,
        url,
        address,
        postcode,
        outcode,
        nation,
        region,
        listing_type,
        property_type,
        bedrooms,
        unit_count,
        tenure,
        agent,
        red_flags,
        signals,
        price,
        estimated_value,
        value_low,
        value_high,
        value_confidence,
        sum_of_parts_value,
        value_basis,
        discount_to_value,
        comparables_count,
        floor_area_sqm,
        tax,
        tax_regime,
        legal_and_survey,
        auction_fees,
        refurbishment_cost,
        works_scope as refurbishment_scope,
        title_split_cost,
        all_in_cost,
        estimated_annual_rent,
        rent_basis,
        gross_yield,
        local_median_yield,
        title_split_uplift_low,
        title_split_uplift_high,
        value_after_works,
        value_added,
        return_on_cash,
        len(thin_caps) > 0 as needs_review,
        urls,
        rank_in_partition,
        rank_overall
    from worded
)

select
    *,
    current_localtimestamp() as scored_at
from todays_scores
