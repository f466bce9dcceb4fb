-- Tables of the notify stage.

-- What each day's digest contained: the good deals (70-84) of the day not sent before and, on
-- Mondays, the previous week's watchlist (60-69), as shown, so a rerun of the same day writes
-- the same files and queues nothing new. Built by notify/assets.py from
-- dbt_like_sql/notify/digests.sql. `band` and `url` remain from the first version's shape.
create table if not exists digests (
    partition_date date not null,
    band varchar not null,
    rank integer not null,
    listing_key varchar not null,
    score integer not null,
    headline varchar not null,
    url varchar,
    section varchar,
    scored_on date,
    price bigint,
    estimated_value bigint,
    discount_to_value double,
    gross_yield double,
    recommendation varchar,
    top_reasons varchar[],
    red_flags varchar[],
    urls varchar[],
    address varchar,
    agent varchar
);

-- Every Slack message the pipeline means to send, once per key (not partitioned: it is the
-- memory of what was sent). status: queued -> sending -> sent, or posted (the text is out, the
-- file upload is not), failed (a permanent Slack error, kept with the error), logged (no Slack
-- token: written to the log instead). Delivered oldest first by `id`.
create sequence if not exists notify_outbox_id;

create table if not exists notify_outbox (
    id bigint not null default nextval('notify_outbox_id'),
    message_key varchar primary key,
    channel varchar not null,
    text varchar not null,
    blocks varchar,
    file_path varchar,
    file_title varchar,
    status varchar not null,
    attempts integer not null,
    next_attempt_at timestamp not null,
    claimed_at timestamp,
    last_error varchar,
    slack_channel varchar,
    slack_ts varchar,
    queued_at timestamp not null,
    sent_at timestamp
);
