-- 0001_init: projects, keys, settings, persons, identities, events.
--
-- Citus-ready (see docs/operations.md): events, persons and person_overrides
-- are distributed by person_id, so every PRIMARY KEY / UNIQUE below that lives
-- on them includes person_id and person_id is never UPDATEd. identities is
-- keyed by distinct_id (distributed on it); projects, api_keys and settings
-- are small reference tables.

CREATE TABLE projects (
    project_id  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name        text NOT NULL UNIQUE CHECK (name <> ''),
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE api_keys (
    key_id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    project_id  bigint NOT NULL REFERENCES projects,
    kind        text NOT NULL CHECK (kind IN ('write', 'read')),
    key_hash    bytea NOT NULL UNIQUE,          -- SHA-256 of the key; the key itself is never stored
    key_prefix  text NOT NULL,                  -- first characters, to tell keys apart in listings
    created_at  timestamptz NOT NULL DEFAULT now(),
    revoked_at  timestamptz
);

CREATE TABLE settings (
    project_id  bigint PRIMARY KEY REFERENCES projects,
    timezone    text NOT NULL DEFAULT 'UTC',
    currency    text NOT NULL DEFAULT 'USD',
    config      jsonb NOT NULL DEFAULT '{}'     -- event names and thresholds; see docs/api.md
);

CREATE SEQUENCE person_id_seq;

CREATE TABLE persons (
    project_id  bigint NOT NULL,
    person_id   bigint NOT NULL,
    first_seen  timestamptz NOT NULL,
    last_seen   timestamptz NOT NULL,
    traits      jsonb NOT NULL DEFAULT '{}',
    PRIMARY KEY (project_id, person_id)
);

-- Distinct id (userId or anonymousId, one namespace as in PostHog; order
-- sources add prefixed ids such as "email:a@b.c"; see docs/identity.md)
-- to person. Rows are only ever inserted, never changed.
CREATE TABLE identities (
    project_id  bigint NOT NULL,
    distinct_id text NOT NULL,
    person_id   bigint NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (project_id, distinct_id)
);
CREATE INDEX identities_person ON identities (project_id, person_id);

-- Two existing persons merged: every query maps old_person_id to person_id.
-- Chains are kept flat: when B merges into C, rows pointing at B move to C.
CREATE TABLE person_overrides (
    project_id     bigint NOT NULL,
    old_person_id  bigint NOT NULL,
    person_id      bigint NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (project_id, old_person_id)
);

-- type: 1 track, 2 identify, 3 page, 4 screen, 5 group, 6 alias.
-- event: the track event name; '$identify', '$page', '$screen', '$group',
-- '$alias' for the other types (page/screen names go to `name`).
CREATE TABLE events (
    project_id    bigint NOT NULL,
    person_id     bigint NOT NULL,
    message_id    text NOT NULL,
    type          smallint NOT NULL,
    event         text NOT NULL,
    name          text,
    user_id       text,
    anonymous_id  text,
    ts            timestamptz NOT NULL,
    received_at   timestamptz NOT NULL,
    properties    jsonb NOT NULL DEFAULT '{}',
    context       jsonb NOT NULL DEFAULT '{}',
    PRIMARY KEY (project_id, person_id, message_id)
);
-- Per person in time order (funnels, retention, lifecycle): covering on event.
CREATE INDEX events_person_ts ON events (project_id, person_id, ts) INCLUDE (event);
-- Per event name in a date range (counts, metrics, start events).
CREATE INDEX events_event_ts ON events (project_id, event, ts);
