-- Readings of listing text by a model, kept so the same text is never paid for twice. Not
-- partitioned: a reading stays valid for as long as the text, the model and the prompt are the
-- same, whichever day it was made. `cache_key` is the sha256 of the model, the prompt version
-- and the listing data sent (see enrichment/analysis.py). Failed readings are never stored.
-- Written by enrichment/analysis_cache.py, one row per insert statement.
create table if not exists listing_analyses (
    cache_key varchar primary key,
    model varchar not null,
    prompt_version varchar not null,
    source varchar not null,
    condition varchar not null,
    works_needed varchar[] not null,
    refurbishment_scope varchar not null,
    unit_breakdown varchar not null,
    strategy_fit varchar[] not null,
    risks varchar[] not null,
    analysis_summary varchar not null,
    prompt_tokens integer not null,
    completion_tokens integer not null,
    cost_usd double,
    created_at timestamp not null
);
