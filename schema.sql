-- shopbus job store. Each migration below runs once, in order, inside one transaction; the number
-- after "migration:" is written to PRAGMA user_version when it commits. Never edit a migration that
-- has shipped: append a new one.

-- migration: 1

-- One row per accepted webhook (or reconciliation finding). Times are Unix milliseconds, UTC.
CREATE TABLE jobs (
    id              INTEGER PRIMARY KEY,
    source          TEXT    NOT NULL CHECK (source IN ('woocommerce', 'erpnext')),
    topic           TEXT    NOT NULL,
    -- What the job is about, e.g. 'order:812'; jobs of one entity run one at a time, in id order.
    entity          TEXT    NOT NULL,
    body_sha256     TEXT    NOT NULL,
    -- The raw webhook body; NULL once the retention period of a finished job has passed.
    payload         BLOB,
    delivery_id     TEXT,
    status          TEXT    NOT NULL DEFAULT 'queued'
                    CHECK (status IN ('queued', 'running', 'done', 'failed', 'cancelled')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    received_at     INTEGER NOT NULL,
    next_attempt_at INTEGER NOT NULL,
    lease_owner     TEXT,
    lease_expires_at INTEGER,
    last_error      TEXT,
    erp_name        TEXT,
    woo_id          TEXT,
    finished_at     INTEGER,
    payload_purged_at INTEGER
);

-- A redelivered webhook (same source, topic, entity and body) maps to the job it already created.
CREATE UNIQUE INDEX jobs_dedup ON jobs (source, topic, entity, body_sha256);
CREATE INDEX jobs_due ON jobs (status, next_attempt_at);
CREATE INDEX jobs_entity ON jobs (entity, status);

-- The audit trail: one row per stage outcome of every attempt, kept after the payload is purged.
CREATE TABLE attempts (
    id          INTEGER PRIMARY KEY,
    job_id      INTEGER NOT NULL REFERENCES jobs (id),
    attempt     INTEGER NOT NULL,
    stage       TEXT    NOT NULL CHECK (stage IN
                ('receive', 'verify', 'parse', 'validate', 'map', 'deliver', 'confirm')),
    outcome     TEXT    NOT NULL,
    http_status INTEGER,
    message     TEXT    NOT NULL DEFAULT '',
    started_at  INTEGER NOT NULL,
    finished_at INTEGER NOT NULL
);

CREATE INDEX attempts_job ON attempts (job_id, id);

-- WooCommerce ids and keys mapped to the ERPNext document names created for them.
CREATE TABLE links (
    kind        TEXT    NOT NULL,
    woo_key     TEXT    NOT NULL,
    erp_name    TEXT    NOT NULL,
    -- For orders: the date_modified_gmt of the newest snapshot written, to spot older deliveries.
    woo_modified TEXT,
    updated_at  INTEGER NOT NULL,
    PRIMARY KEY (kind, woo_key)
);

-- migration: 2

-- The date_modified_gmt of an order payload, so reconciliation can tell which snapshot of an
-- order a job carries.
ALTER TABLE jobs ADD COLUMN woo_modified TEXT;

-- The first row of a job's audit trail (which webhook, which secret), kept on the job itself so
-- that ingest writes one row per webhook.
ALTER TABLE jobs ADD COLUMN receive_note TEXT;

-- Retry limits count from the last replay: its time and the attempts made before it.
ALTER TABLE jobs ADD COLUMN retry_from INTEGER;
ALTER TABLE jobs ADD COLUMN attempts_before_replay INTEGER NOT NULL DEFAULT 0;

-- The SKUs of each order job: a stock job for a SKU waits while an order job with it is pending.
CREATE TABLE job_skus (
    sku     TEXT    NOT NULL,
    job_id  INTEGER NOT NULL REFERENCES jobs (id),
    PRIMARY KEY (sku, job_id)
);

-- Small named values that survive restarts, such as the reconciliation watermark.
CREATE TABLE state (
    key        TEXT    PRIMARY KEY,
    value      TEXT    NOT NULL,
    updated_at INTEGER NOT NULL
);
