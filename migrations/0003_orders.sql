-- 0003_orders: orders, their idempotency keys, currencies and FX rates,
-- webhook secrets and webhook delivery dedupe (docs/orders.md).
--
-- Citus layout (DESIGN.md §2): orders is distributed by person_id like events,
-- so its primary key must include person_id, and person_id can never change.
-- Idempotency is per (project, source, external id) though, which does not
-- include person_id. The bridge is order_keys: keyed (project, source,
-- external_id) -> person_id, distributed on external_id, insert-only. The
-- first delivery of an order fixes its person there; every later delivery
-- (an update, a retry, a refund) looks the person up first and so lands on
-- the same orders row. A later identity merge does not move the row: queries
-- map person_id through person_overrides, as for events. order_keys and
-- webhook_deliveries may be pruned only together with the orders they key.
-- currencies and fx_rates are small reference tables; webhook_secrets and
-- webhook_deliveries are keyed per project (reference / distributed on
-- delivery_id respectively).

-- ISO 4217 exponents; the same table is compiled into cohortd (model/money.c)
-- and tests/unit/test_money.c checks that both copies agree.
CREATE TABLE currencies (
    code      text PRIMARY KEY CHECK (code ~ '^[A-Z]{3}$'),
    exponent  smallint NOT NULL CHECK (exponent BETWEEN 0 AND 4)
);
INSERT INTO currencies (code, exponent) VALUES
    ('AED', 2), ('AFN', 2), ('ALL', 2), ('AMD', 2), ('ANG', 2), ('AOA', 2), ('ARS', 2), ('AUD', 2),
    ('AWG', 2), ('AZN', 2), ('BAM', 2), ('BBD', 2), ('BDT', 2), ('BGN', 2), ('BHD', 3), ('BIF', 0),
    ('BMD', 2), ('BND', 2), ('BOB', 2), ('BOV', 2), ('BRL', 2), ('BSD', 2), ('BTN', 2), ('BWP', 2),
    ('BYN', 2), ('BZD', 2), ('CAD', 2), ('CDF', 2), ('CHE', 2), ('CHF', 2), ('CHW', 2), ('CLF', 4),
    ('CLP', 0), ('CNY', 2), ('COP', 2), ('COU', 2), ('CRC', 2), ('CUP', 2), ('CVE', 2), ('CZK', 2),
    ('DJF', 0), ('DKK', 2), ('DOP', 2), ('DZD', 2), ('EGP', 2), ('ERN', 2), ('ETB', 2), ('EUR', 2),
    ('FJD', 2), ('FKP', 2), ('GBP', 2), ('GEL', 2), ('GHS', 2), ('GIP', 2), ('GMD', 2), ('GNF', 0),
    ('GTQ', 2), ('GYD', 2), ('HKD', 2), ('HNL', 2), ('HTG', 2), ('HUF', 2), ('IDR', 2), ('ILS', 2),
    ('INR', 2), ('IQD', 3), ('IRR', 2), ('ISK', 0), ('JMD', 2), ('JOD', 3), ('JPY', 0), ('KES', 2),
    ('KGS', 2), ('KHR', 2), ('KMF', 0), ('KPW', 2), ('KRW', 0), ('KWD', 3), ('KYD', 2), ('KZT', 2),
    ('LAK', 2), ('LBP', 2), ('LKR', 2), ('LRD', 2), ('LSL', 2), ('LYD', 3), ('MAD', 2), ('MDL', 2),
    ('MGA', 2), ('MKD', 2), ('MMK', 2), ('MNT', 2), ('MOP', 2), ('MRU', 2), ('MUR', 2), ('MVR', 2),
    ('MWK', 2), ('MXN', 2), ('MXV', 2), ('MYR', 2), ('MZN', 2), ('NAD', 2), ('NGN', 2), ('NIO', 2),
    ('NOK', 2), ('NPR', 2), ('NZD', 2), ('OMR', 3), ('PAB', 2), ('PEN', 2), ('PGK', 2), ('PHP', 2),
    ('PKR', 2), ('PLN', 2), ('PYG', 0), ('QAR', 2), ('RON', 2), ('RSD', 2), ('RUB', 2), ('RWF', 0),
    ('SAR', 2), ('SBD', 2), ('SCR', 2), ('SDG', 2), ('SEK', 2), ('SGD', 2), ('SHP', 2), ('SLE', 2),
    ('SOS', 2), ('SRD', 2), ('SSP', 2), ('STN', 2), ('SVC', 2), ('SYP', 2), ('SZL', 2), ('THB', 2),
    ('TJS', 2), ('TMT', 2), ('TND', 3), ('TOP', 2), ('TRY', 2), ('TTD', 2), ('TWD', 2), ('TZS', 2),
    ('UAH', 2), ('UGX', 0), ('USD', 2), ('USN', 2), ('UYI', 0), ('UYU', 2), ('UYW', 4), ('UZS', 2),
    ('VED', 2), ('VES', 2), ('VND', 0), ('VUV', 0), ('WST', 2), ('XAF', 0), ('XCD', 2), ('XCG', 2),
    ('XOF', 0), ('XPF', 0), ('YER', 2), ('ZAR', 2), ('ZMW', 2), ('ZWG', 2);

-- Refunds reported one by one (Shopify refund ids, WooCommerce refunds, a
-- Segment "Order Refunded" messageId) live in orders.refunds as
-- {"<refund key>": minor units}; this sums them. IMMUTABLE so generated
-- columns can use it.
CREATE FUNCTION cohortd_refund_sum(r jsonb) RETURNS bigint
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT coalesce(sum(value::bigint), 0)::bigint FROM jsonb_each_text(r) $$;

-- Status from the reported state and the amounts: a paid order with refunds
-- is partially_refunded or refunded whatever the payload called it.
CREATE FUNCTION cohortd_order_status(state text, amount bigint, refunded bigint) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT CASE
        WHEN state IN ('pending', 'cancelled') THEN state
        WHEN refunded <= 0 THEN 'paid'
        WHEN refunded >= amount THEN 'refunded'
        ELSE 'partially_refunded' END $$;

-- Lifecycle rank: on equal updated_at the later stage wins, so "paid" and
-- "refunded" sent with the same timestamp end as refunded in any order.
CREATE FUNCTION cohortd_order_rank(status text) RETURNS int
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT CASE status WHEN 'pending' THEN 0 WHEN 'paid' THEN 1
        WHEN 'partially_refunded' THEN 2 WHEN 'refunded' THEN 3 ELSE 4 END $$;

CREATE TABLE order_keys (
    project_id   bigint NOT NULL,
    source       text NOT NULL,
    external_id  text NOT NULL,
    person_id    bigint NOT NULL,              -- raw person at first sight; never changed
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (project_id, source, external_id)
);

-- One row per (project, source, external order id). All money is integer
-- minor units of `currency`. `state` is what the source last reported;
-- refunded_minor, status and net_minor are derived so every writer (cohortd
-- or hand-written SQL) gets the same rules: net = amount - refunds, and
-- pending or cancelled orders are worth zero.
CREATE TABLE orders (
    project_id      bigint NOT NULL,
    person_id       bigint NOT NULL,
    source          text NOT NULL CHECK (source IN ('api', 'shopify', 'stripe', 'woocommerce')),
    external_id     text NOT NULL CHECK (external_id <> ''),
    state           text NOT NULL
                    CHECK (state IN ('pending', 'paid', 'partially_refunded', 'refunded', 'cancelled')),
    currency        text NOT NULL REFERENCES currencies,
    amount_minor    bigint NOT NULL CHECK (amount_minor >= 0),
    refunded_base   bigint NOT NULL DEFAULT 0 CHECK (refunded_base >= 0), -- refund total as reported
    refunds         jsonb NOT NULL DEFAULT '{}',                         -- refunds reported one by one
    refunded_minor  bigint GENERATED ALWAYS AS
                    (greatest(refunded_base, cohortd_refund_sum(refunds))) STORED,
    status          text GENERATED ALWAYS AS (cohortd_order_status(state, amount_minor,
                    greatest(refunded_base, cohortd_refund_sum(refunds)))) STORED,
    net_minor       bigint GENERATED ALWAYS AS (CASE WHEN state IN ('pending', 'cancelled') THEN 0
                    ELSE amount_minor - greatest(refunded_base, cohortd_refund_sum(refunds)) END) STORED,
    ts              timestamptz NOT NULL,      -- when the order was placed
    updated_at      timestamptz NOT NULL,      -- source's version time: newer wins
    received_at     timestamptz NOT NULL DEFAULT now(),
    user_id         text,
    email           text,
    items           jsonb NOT NULL DEFAULT '[]',
    properties      jsonb NOT NULL DEFAULT '{}',
    raw             jsonb NOT NULL,            -- the payload of the version stored, for audit
    PRIMARY KEY (project_id, person_id, source, external_id),
    CONSTRAINT orders_refund_within_amount CHECK (refunded_minor <= amount_minor)
);
CREATE INDEX orders_ts ON orders (project_id, ts);
CREATE INDEX orders_person_ts ON orders (project_id, person_id, ts);

-- Rates per project: 1 unit of `currency` = rate units of `quote`, valid
-- from `day` (UTC) until the next row. Set with POST /v1/fx_rates or SQL.
CREATE TABLE fx_rates (
    project_id  bigint NOT NULL REFERENCES projects,
    currency    text NOT NULL REFERENCES currencies,
    quote       text NOT NULL REFERENCES currencies,
    day         date NOT NULL,
    rate        numeric NOT NULL CHECK (rate > 0),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (project_id, currency, quote, day),
    CHECK (currency <> quote)
);

-- Per-project webhook signing secrets (set by `cohortd secrets set`). They
-- must be stored in the clear to compute HMACs; no route ever returns them.
CREATE TABLE webhook_secrets (
    project_id  bigint NOT NULL REFERENCES projects,
    source      text NOT NULL CHECK (source IN ('shopify', 'stripe', 'woocommerce')),
    secret      text NOT NULL CHECK (secret <> ''),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (project_id, source)
);

-- Deliveries already processed: Shopify X-Shopify-Webhook-Id, Stripe event
-- id, WooCommerce "<order id>@<date_modified_gmt>". Inserted in the same
-- transaction as the order change, so a failed delivery is not remembered.
CREATE TABLE webhook_deliveries (
    project_id   bigint NOT NULL,
    source       text NOT NULL,
    delivery_id  text NOT NULL,
    received_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (project_id, source, delivery_id)
);

-- Orders as reporting sees them: the effective (merged) person, and the net
-- amount converted to the project's reporting currency (settings.currency)
-- with the latest rate on or before the order's UTC day. Without a rate the
-- converted amount is NULL and fx_missing is true: never silently mixed.
-- Rounding is half away from zero (numeric round()).
CREATE VIEW order_values AS
SELECT o.project_id, o.person_id,
       coalesce(po.person_id, o.person_id) AS effective_person_id,
       o.source, o.external_id, o.status, o.ts, o.currency,
       o.amount_minor, o.refunded_minor, o.net_minor,
       s.currency AS reporting_currency,
       CASE WHEN o.currency = s.currency THEN 1::numeric ELSE r.rate END AS fx_rate,
       CASE WHEN o.currency = s.currency THEN o.net_minor
            WHEN r.rate IS NOT NULL THEN
                round(o.net_minor * r.rate * power(10::numeric, rc.exponent - oc.exponent))::bigint
       END AS net_reporting_minor,
       (o.currency <> s.currency AND r.rate IS NULL) AS fx_missing
  FROM orders o
  JOIN settings s ON s.project_id = o.project_id
  JOIN currencies oc ON oc.code = o.currency
  JOIN currencies rc ON rc.code = s.currency
  LEFT JOIN person_overrides po ON po.project_id = o.project_id AND po.old_person_id = o.person_id
  LEFT JOIN LATERAL (
        SELECT f.rate FROM fx_rates f
         WHERE f.project_id = o.project_id AND f.currency = o.currency AND f.quote = s.currency
           AND f.day <= (o.ts AT TIME ZONE 'UTC')::date
         ORDER BY f.day DESC LIMIT 1) r ON true;
