-- 0006_ltv: predictive LTV model runs (docs/ltv-api.md).
--
-- One row per fit: requested by POST /v1/models/ltv/fit (trigger 'api'),
-- made by a scoring run (trigger 'scoring'), or on the way to a backtest
-- (trigger 'backtest'). A row is written 'running' when the fit starts and
-- completed in place; it is never deleted by cohortd, so the history of fits
-- (parameters drifting over time) stays queryable.
--
-- A running fit holds the session advisory lock (LTV_LOCK_KEY, run_id) on
-- its own connection (server/ltv_runs.c). A 'running' row whose lock is free
-- belongs to a process that died; readers mark it failed (db_ltv_run_json).
--
-- Citus: a small per-project table, distributable by project_id (the primary
-- key includes it) or kept local; run_id stays unique through its identity.

CREATE TABLE model_runs (
    project_id        bigint NOT NULL REFERENCES projects,
    run_id            bigint GENERATED ALWAYS AS IDENTITY,
    kind              text NOT NULL CHECK (kind IN ('bgnbd', 'paretonbd')),
    spend_model       text CHECK (spend_model IN ('gammagamma')),   -- NULL: no spend model
    trigger           text NOT NULL DEFAULT 'api' CHECK (trigger IN ('api', 'scoring', 'backtest')),
    status            text NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'done', 'failed')),
    -- the request: calibration_end, time_unit, penalizer, spend_penalizer,
    -- q_constraint, tz, currency (and the currency exponent used for money)
    params            jsonb NOT NULL,
    calibration_end   date NOT NULL,
    time_unit         text NOT NULL CHECK (time_unit IN ('day', 'week')),
    -- transaction model: {"r":..,"alpha":..,"a":..,"b":..} or {"r","alpha","s","beta"};
    -- alpha (and beta) are in time_unit
    parameters        jsonb,
    log_likelihood    double precision,   -- unpenalised, summed over persons
    iterations        int,
    evaluations       int,
    converged         boolean,
    reason            text,               -- why the optimiser stopped (also when converged)
    n_persons         bigint,             -- persons with a first net-paid order <= calibration_end
    n_patterns        bigint,             -- distinct (frequency, recency, T) fitted
    -- spend model result: parameters {p, q, gamma} (gamma in reporting-currency
    -- major units), log_likelihood, iterations, converged, reason, persons,
    -- frequency_monetary_correlation
    spend             jsonb,
    -- converged transaction model and (when requested) converged spend model
    -- with q > 1: only such runs serve predictions
    usable            boolean NOT NULL DEFAULT false,
    timings           jsonb NOT NULL DEFAULT '{}',   -- milliseconds per phase
    -- "score_persons": the write into person_scores after the fit:
    -- {"generation": score run id or null, "written": persons, "ms": ..} or {"error": ..}
    scores            jsonb,
    error             text,               -- our message when status = 'failed'
    created_at        timestamptz NOT NULL DEFAULT now(),
    finished_at       timestamptz,
    PRIMARY KEY (project_id, run_id)
);

-- "Latest usable fit of this model" (GET /v1/ltv, person predictions).
CREATE INDEX model_runs_usable ON model_runs (project_id, kind, run_id DESC) WHERE usable;
