-- 0005_scores: scoring runs, per-person scores, and which run is current.
--
-- Crash safety by generations (docs/scoring.md): a run COPYs its rows under
-- its own run_id and, in the same transaction, points score_current at it.
-- A run that fails or is killed never reaches that commit, so readers keep
-- the previous generation. The previous generation is kept after a flip so
-- cursors pinned to it stay valid; older ones are deleted.
--
-- Citus: person_scores is distributed by person_id (its primary key includes
-- it); score_runs and score_current are small per-project tables.

CREATE TABLE score_runs (
    run_id       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    project_id   bigint NOT NULL REFERENCES projects,
    trigger      text NOT NULL CHECK (trigger IN ('api', 'schedule')),
    -- schedule: floor(epoch seconds / interval_s), one run per slot and project
    slot         bigint,
    interval_s   int,
    status       text NOT NULL DEFAULT 'queued'
                 CHECK (status IN ('queued', 'running', 'done', 'failed')),
    -- advisory-lock key held by the cohortd process that owns the run for as
    -- long as it lives; a queued/running run whose owner lock is free is dead
    owner        int NOT NULL,
    scored       bigint NOT NULL DEFAULT 0,
    total        bigint,
    created_at   timestamptz NOT NULL DEFAULT now(),
    started_at   timestamptz,
    finished_at  timestamptz,
    as_of        date,
    params       jsonb,
    timings      jsonb NOT NULL DEFAULT '{}',
    summary      json,        -- per kind, the segment sizes answered from stored scores
                              -- (json, not jsonb: keeps the key order of live answers)
    error        text
);
-- At most one queued or running run per project, whichever process owns it.
CREATE UNIQUE INDEX score_runs_active ON score_runs (project_id)
    WHERE status IN ('queued', 'running');
CREATE UNIQUE INDEX score_runs_slot ON score_runs (project_id, slot)
    WHERE trigger = 'schedule';
CREATE INDEX score_runs_project ON score_runs (project_id, run_id);

CREATE TABLE score_current (
    project_id       bigint PRIMARY KEY REFERENCES projects,
    run_id           bigint NOT NULL,
    previous_run_id  bigint,
    updated_at       timestamptz NOT NULL DEFAULT now()
);

-- Segment columns hold the stable codes of docs/segments.md ('champions',
-- 'important_value', 'mature', 'top_1pct', 'loyalty'); NULL = not scored.
CREATE TABLE person_scores (
    project_id        bigint NOT NULL,
    run_id            bigint NOT NULL,
    person_id         bigint NOT NULL,
    first_active      date,
    last_active       date,
    paid_orders       int NOT NULL DEFAULT 0,
    rfm_recency_days  int,          -- R value: days since the last net-paid order
    rfm_frequency     int NOT NULL DEFAULT 0,  -- F value: net-paid orders in the look-back
    rfm_monetary      bigint NOT NULL DEFAULT 0, -- M value: net revenue, minor units
    rfm_r             smallint,     -- quintile scores 1..5
    rfm_f             smallint,
    rfm_m             smallint,
    rfm_fm            smallint,
    rfm11             text,
    rfm8              text,
    lifecycle         text,
    value_tier        text,
    aipl              text,
    -- AARRR steps done, bits: 1 acquired in the window, 2 activation,
    -- 4 retention, 8 revenue, 16 referral
    aarrr             smallint NOT NULL DEFAULT 0,
    referrals         int NOT NULL DEFAULT 0,
    ltv_historical    bigint NOT NULL DEFAULT 0,  -- net revenue to date, minor units
    -- filled by the predictive LTV fit; carried forward by each scoring run
    p_alive                   double precision,
    expected_purchases_30d    double precision,
    expected_purchases_90d    double precision,
    expected_purchases_365d   double precision,
    clv_predicted             double precision,
    computed_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (project_id, run_id, person_id)
);

-- GET /v1/persons/{id} lists the raw persons merged into a person.
CREATE INDEX IF NOT EXISTS person_overrides_person ON person_overrides (project_id, person_id);
